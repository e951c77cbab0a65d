import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pool, runMarina } from '../sweep/pool.js';
import { marinaJson } from './child.js';
import { missing } from './data.js';
import { renderLoss } from './figures.js';
import { failedSeries, measureSweep, type SeriesResult } from './measure.js';
import { sizeLabel, type ExperimentPlan, type PagePlan, type PanelPlan, type TheoryCell } from './plan.js';
import { runTheoryGrid, theoryFigures } from './theoryGrid.js';
import type { Verdict } from './verdict.js';

/** What a panel produced: its series, the report files copied beside the page, and notes on resolved values. */
export interface PanelResult {
  plan: PanelPlan;
  series: SeriesResult[];
  /** Folder of the panel's figures, relative to the output folder ('cq-marina/a-quadratics/s0'). */
  dir: string;
  /** Files in `dir` (grad-vs-bits.svg …, table.md). */
  files: string[];
  /** The report's table.md, or null when no series kept a run. */
  table: string | null;
  /** Values resolved at run time (λ = L·10⁻⁶, p taken from CQ's theory). */
  notes: string[];
  error?: string;
}

export interface ExperimentResult {
  plan: ExperimentPlan;
  /** Why it did not run (a data file is absent). */
  skipped?: string;
  panels: PanelResult[];
  theory: TheoryCell[];
  /** Theory heatmaps, relative to the output folder. */
  figures: string[];
  verdict: Verdict;
  seconds: number;
}

export interface PageResult {
  plan: PagePlan;
  experiments: ExperimentResult[];
}

export interface RunOptions {
  bin: string;
  out: string;
  work: string;
  jobs: number;
  say: (line: string) => void;
  signal: AbortSignal;
}

/** The report outputs copied into the output folder (index.html is left out: it repeats the SVGs). */
const REPORT_FILES = ['grad-vs-bits.svg', 'grad-vs-rounds.svg', 'grad-vs-wire.svg', 'table.md'];

/**
 * Runs one experiment: its sweeps (one child `marina sweep` per series, `jobs` at a time, each with --jobs 1),
 * one `marina report` per panel, the theory grid if it has one, and the verdict. Raw runs stay in the work folder;
 * only report outputs are written below `out`.
 */
export async function runExperiment(page: PagePlan, plan: ExperimentPlan, o: RunOptions): Promise<ExperimentResult> {
  const started = performance.now();
  const rel = join(page.id, plan.id);
  const absent = missing(plan.needs);
  if (absent.length > 0) {
    const why = `skipped: ${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} absent (give --datasets DIR)`;
    o.say(`results: ${rel}: ${why}`);
    return { plan, skipped: why, panels: [], theory: [], figures: [], verdict: { outcome: 'not measured', why: `Not run: ${why}.` }, seconds: 0 };
  }
  plan.prepare?.();
  const panels = await Promise.all(plan.panels.map((p) => resolvePanel(p, o)));
  const tasks = panels.flatMap(({ panel, run, notes }) =>
    panel.series.map((s) => async (): Promise<SeriesResult> => {
      const dir = join(o.work, rel, panel.id, s.role);
      try {
        const flags = [...run, ...s.flags];
        if (s.pOf) {
          const t = await theoryOf(o.bin, [...run, '--method', s.pOf.method, '--compressor', s.pOf.compressor, ...s.pOf.flags], o.signal);
          // Four digits: the bits per round agree to 0.1%, and the report's series labels stay readable.
          const p = t.theory.p.toPrecision(4);
          flags.push('--p', p);
          notes.push(`${s.name}: p = ${p}, ${s.pOf.method} + ${s.pOf.compressor}'s theoretical p under this configuration (decision 24), to 4 digits.`);
        }
        const args = ['sweep', '--out', dir, '--methods', s.method, '--compressors', s.compressor, ...panel.sweep, ...flags, '--jobs', '1', '--quiet'];
        const r = await runMarina(o.bin, args, o.signal);
        if (!existsSync(join(dir, 'sweep.json'))) throw new Error(`marina sweep exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
        const m = measureSweep(s, dir, plan.keep === 'largest-converging');
        o.say(`results: ${rel}/${panel.id} ${s.name}: ${m.final === null ? 'no step kept' : `kept 2^${m.stepExp}, ‖∇f‖² ${m.final.toExponential(2)}`}`);
        return m;
      } catch (e) {
        o.say(`results: ${rel}/${panel.id} ${s.name}: failed: ${(e as Error).message}`);
        return failedSeries(s, (e as Error).message);
      }
    }),
  );
  const measured = await pool(tasks, o.jobs);
  const results: PanelResult[] = [];
  let i = 0;
  for (const { panel, notes } of panels) {
    const series = measured.slice(i, i + panel.series.length);
    i += panel.series.length;
    results.push(await reportPanel(rel, panel, series, notes, plan.lossFigure === true, o));
  }
  let theory: TheoryCell[] = [];
  const figures: string[] = [];
  if (plan.theory) {
    theory = await runTheoryGrid(o.bin, plan.theory, o.jobs);
    mkdirSync(join(o.out, rel), { recursive: true });
    for (const [file, svg] of await theoryFigures(plan.theory, theory)) {
      writeFileSync(join(o.out, rel, file), svg);
      figures.push(join(rel, file));
    }
  }
  const verdict = plan.judge({ panels: new Map(results.map((r) => [r.plan.id, new Map(r.series.map((s) => [s.role, s]))])), theory });
  const seconds = (performance.now() - started) / 1000;
  o.say(`results: ${rel}: ${verdict.outcome} (${seconds.toFixed(0)} s)`);
  return { plan, panels: results, theory, figures, verdict, seconds };
}

/** The panel's run flags with λ resolved (SPEC D.3's λ = L·10⁻⁶ needs L, which `marina theory` reports). */
async function resolvePanel(panel: PanelPlan, o: RunOptions): Promise<{ panel: PanelPlan; run: string[]; notes: string[] }> {
  const notes: string[] = [];
  if (panel.lambdaTimesL === undefined) return { panel, run: panel.run, notes };
  const t = await marinaJson<{ shards: { Li: number }[] }>(o.bin, ['theory', ...panel.run, '--lambda', '0', '--json'], o.signal);
  const L = Math.max(...t.shards.map((s) => s.Li));
  const lambda = panel.lambdaTimesL * L;
  notes.push(`λ = ${sizeLabel(panel.lambdaTimesL)}·L = ${lambda.toExponential(3).replace('e+', 'e')} (L = max_i L_i = ${L.toPrecision(5)} at λ = 0).`);
  return { panel, run: [...panel.run, '--lambda', String(lambda)], notes };
}

function theoryOf(bin: string, flags: string[], signal: AbortSignal): Promise<{ theory: { p: number } }> {
  return marinaJson(bin, ['theory', ...flags, '--json'], signal);
}

/** `marina report` over the panel's kept runs (one per series); copies its figures and table beside the page. */
async function reportPanel(rel: string, panel: PanelPlan, series: SeriesResult[], notes: string[], loss: boolean, o: RunOptions): Promise<PanelResult> {
  const dir = join(rel, panel.id);
  const kept = series.flatMap((s) => (s.keptDir === null ? [] : [s.keptDir]));
  const result: PanelResult = { plan: panel, series, dir, files: [], table: null, notes };
  if (kept.length === 0) return { ...result, error: 'no series kept a run: nothing to draw' };
  const reportDir = join(o.work, rel, panel.id, 'report');
  const r = await runMarina(o.bin, ['report', ...kept, '--out', reportDir], o.signal);
  if (r.code !== 0) return { ...result, error: `marina report exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}` };
  mkdirSync(join(o.out, dir), { recursive: true });
  for (const f of REPORT_FILES) {
    if (!existsSync(join(reportDir, f))) continue;
    copyFileSync(join(reportDir, f), join(o.out, dir, f));
    result.files.push(f);
  }
  if (result.files.includes('table.md')) result.table = readFileSync(join(reportDir, 'table.md'), 'utf8');
  if (loss) {
    const lines = series.filter((s) => s.loss.length > 0).map((s) => ({ label: s.name, curve: s.loss }));
    writeFileSync(join(o.out, dir, 'loss-vs-bits.svg'), await renderLoss(`f(xᵗ) against algorithm bits per client (${panel.title})`, lines));
    result.files.push('loss-vs-bits.svg');
  }
  return result;
}
