import { parseIntList } from '../sweep/grid.js';
import type { Measured, Verdict } from './verdict.js';

/**
 * What `marina results` runs: pages (one per paper), each a list of experiments, each a list of panels (one
 * setting, one report: a noise level, a data set), each a list of series (one `marina sweep` each: one method +
 * compressor under the panel's configuration). Plans are data; `run.ts` executes them.
 */

/** smoke: tiny sizes exercising every path (tests); quick: the default, minutes on 2 cores; full: the papers' sizes. */
export type Mode = 'smoke' | 'quick' | 'full';

/** One series: one `marina sweep` (a method + compressor over the panel's step multipliers and seeds). */
export interface SeriesPlan {
  /** The key the experiment's verdict looks the series up by ('cq', 'iq-common', 'diana-k1' …). */
  role: string;
  /** As the page names it ("MARINA+CQ"). */
  name: string;
  method: string;
  compressor: string;
  /** Run flags of this series only (`--range shared`, `--k 10`, `--p 0.1`). */
  flags: string[];
  /**
   * Decision 24: take p from this method + compressor's theoretical (auto) p under the same configuration, so the
   * series sends as many bits per round as that one ("MARINA+IQ at CQ's p").
   */
  pOf?: { method: string; compressor: string; flags: string[] };
}

/** One setting of an experiment: its series share the run flags and the sweep's step grid, and one report. */
export interface PanelPlan {
  /** Folder name below the experiment ('s0', 'n10-s0.2', 'mushrooms'). */
  id: string;
  /** Heading on the page ("s = 0 (L± = 0)"). */
  title: string;
  /** Run flags shared by every series (problem, data, sizes, budget, rounds, eval-every). */
  run: string[];
  /** Sweep flags: --steps, --seeds, --keep. */
  sweep: string[];
  series: SeriesPlan[];
  /** Set λ to this factor × L = max_i L_i, found with `marina theory` at λ = 0 (SPEC D.3: λ = L·10⁻⁶). */
  lambdaTimesL?: number;
  /** The panel's own values (s, n, q, K …), for verdicts and tables. */
  params: Record<string, number | string>;
}

/** SPEC C's maps: `marina theory --ratio --json` over a (d, n) grid and along d = n, for both constant conventions. */
export interface TheoryPlan {
  dims: number[];
  clients: number[];
  diagonal: number[];
}

/** One cell of the theory grid (the fields of `marina theory --ratio --json` the page shows). */
export interface TheoryCell {
  convention: 'default' | 'paper';
  d: number;
  n: number;
  ratio: number;
  ifIQ: number;
  ifCQ: number;
  pIQ: number;
  pCQ: number;
}

/** What an experiment measured: per panel, per role, the series; and the theory cells (page 1d). */
export interface ExperimentMeasure {
  panels: Map<string, Map<string, Measured>>;
  theory: TheoryCell[];
}

export interface ExperimentPlan {
  /** Folder name below the page ('a-quadratics'). */
  id: string;
  title: string;
  /** The paper's claim in our words, quoted on the page. */
  claim: string;
  /** Where the setting comes from (SPEC section). */
  source: string;
  /** This mode's sizes in one line, for the index's quick-versus-full table. */
  size: string;
  /** The setting as table rows (what ran in this mode). */
  setting: [string, string][];
  /** Decision 8: what the paper leaves open and what we chose. */
  choices: string[];
  /** Data files the experiment needs; if one is absent the experiment is skipped and the page says so. */
  needs: string[];
  panels: PanelPlan[];
  theory?: TheoryPlan;
  /** Also draw f(xᵗ) against bits (loss-vs-bits.svg), for claims about the loss (SPEC D.4). */
  lossFigure?: boolean;
  /** Writes what the experiment's runs read before they start (a scaled-down data file). */
  prepare?: () => void;
  /** The verdict from what was measured. */
  judge: (m: ExperimentMeasure) => Verdict;
  /** How a measured series is shown in the panel table: which columns are meaningful. */
  keep: 'best' | 'largest-converging' | 'theory';
}

/** What the page builders need: the mode, the data files, and the work folder (for prepared data). */
export interface PlanContext {
  mode: Mode;
  data: import('./data.js').DataPaths;
  work: string;
}

export interface PagePlan {
  /** File name without .md, and the folder of its figures. */
  id: string;
  title: string;
  /** Paper reference, one line. */
  paper: string;
  experiments: ExperimentPlan[];
}

/** A series of a panel, or a "not measured" stand-in (so a verdict can still say what is missing). */
export function seriesOf(m: ExperimentMeasure, panel: string, role: string): Measured {
  return m.panels.get(panel)?.get(role) ?? { name: role, final: null, stepExp: null, gamma: null, p: null, grad: [], loss: [] };
}

/** Flags of the sweep grid: `--steps a..b --seeds … --keep …`. */
export function sweepFlags(steps: string, seeds: string, keep: 'best' | 'largest-converging'): string[] {
  return ['--steps', steps, '--seeds', seeds, '--keep', keep];
}

/** How many runs (sweep points) or theory calls an experiment makes: its cost in processes. */
export function runCount(e: ExperimentPlan): number {
  const flag = (flags: string[], name: string) => {
    const i = flags.indexOf(name);
    return i >= 0 ? parseIntList(name.slice(2), flags[i + 1]!).length : 1;
  };
  const runs = e.panels.reduce((a, p) => a + p.series.length * flag(p.sweep, '--steps') * flag(p.sweep, '--seeds'), 0);
  if (!e.theory) return runs;
  const pairs = new Set([...e.theory.dims.flatMap((d) => e.theory!.clients.map((n) => `${d} ${n}`)), ...e.theory.diagonal.map((d) => `${d} ${d}`)]);
  return runs + 2 * pairs.size;
}

/** A size as typed: 1.5e5, 4e6, 1e8. */
export function sizeLabel(x: number): string {
  return x.toExponential().replace('e+', 'e');
}
