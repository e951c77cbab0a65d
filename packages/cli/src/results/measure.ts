import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRun } from '../report/load.js';
import { points } from '../report/series.js';
import type { SweepRecord } from '../sweep/folder.js';
import { medianOf } from '../sweep/keep.js';
import type { Curve } from './curves.js';
import type { SeriesPlan } from './plan.js';
import type { Measured } from './verdict.js';

/** A series as measured by its sweep: what the verdicts read, plus what the page's tables show. */
export interface SeriesResult extends Measured {
  role: string;
  /**
   * Median ‖∇f‖² at the end per step multiplier 2^k (null when the median run diverged), how many diverged, and
   * with the loss rule the median final f and f(x⁰).
   */
  steps: { stepExp: number; median: number | null; diverged: number; runs: number; loss?: { final: number | null; initial: number | null } }[];
  /** The step the sweep itself kept, when the loss rule kept another. */
  sweepKept?: number | null;
  /** Runs whose process failed (neither finished nor diverged), as "label (status): why". */
  failed: string[];
  /** The sweep itself could not run (bad flags): why. */
  error?: string;
  /** The kept run's folder (in the work folder), for the report. */
  keptDir: string | null;
}

/**
 * Reads `dir`/sweep.json and the kept run of a one-series sweep. With `byLoss`, the step is chosen again by the
 * loss: the largest 2^k whose median final f over the seeds is below the median f(x⁰), no median run diverged
 * (SPEC D.4 judges convergence on the loss it plots; the sweep's own rule looks at ‖∇f‖², which also falls when a
 * network runs into a flat region of saturated units with a higher loss).
 */
export function measureSweep(plan: SeriesPlan, dir: string, byLoss = false): SeriesResult {
  const record = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as SweepRecord;
  const byStep = new Map<number, SweepRecord['runs']>();
  for (const r of record.runs) byStep.set(r.stepExp, [...(byStep.get(r.stepExp) ?? []), r]);
  const diverged = (r: SweepRecord['runs'][number]) => r.stopReason.startsWith('diverged');
  const steps: SeriesResult['steps'] = [...byStep]
    .sort((a, b) => a[0] - b[0])
    .map(([stepExp, runs]) => {
      const median = medianOf(runs.map((r) => (diverged(r) || r.finalGradNormSq === null ? Infinity : r.finalGradNormSq)));
      const row = { stepExp, median: Number.isFinite(median) ? median : null, diverged: runs.filter(diverged).length, runs: runs.length };
      if (!byLoss) return row;
      const ends = runs.map((r) => (diverged(r) ? { first: null, last: null } : lossEnds(join(dir, r.dir, 'rounds.jsonl'))));
      const final = medianOf(ends.map((e) => e.last ?? Infinity));
      const initial = medianOf(ends.map((e) => e.first ?? Infinity));
      return { ...row, loss: { final: Number.isFinite(final) ? final : null, initial: Number.isFinite(initial) ? initial : null } };
    });
  const failed = record.failed.map((f) => `${f.label} (${f.status}): ${f.why}`);
  const base = { role: plan.role, name: plan.name, steps, failed };
  const sweepKept = record.keptSteps[0] ?? null;
  let kept: { stepExp: number; medianFinal: number; dir: string } | null = sweepKept;
  if (byLoss) {
    const converged = steps.filter((s) => s.median !== null && s.loss?.final != null && s.loss.initial != null && s.loss.final < s.loss.initial);
    const top = converged[converged.length - 1];
    const first = top ? [...byStep.get(top.stepExp)!].sort((a, b) => a.seed - b.seed)[0]! : null;
    kept = top && first ? { stepExp: top.stepExp, medianFinal: top.median!, dir: first.dir } : null;
  }
  const moved = byLoss && (sweepKept?.stepExp ?? null) !== (kept?.stepExp ?? null) ? { sweepKept: sweepKept?.stepExp ?? null } : {};
  if (!kept) return { ...base, ...moved, final: null, stepExp: null, gamma: null, p: null, grad: [], loss: [], keptDir: null };
  const keptDir = join(dir, kept.dir);
  const run = loadRun(keptDir);
  return {
    ...base,
    ...moved,
    final: kept.medianFinal,
    stepExp: kept.stepExp,
    gamma: run.summary.theory?.gamma ?? null,
    p: run.summary.theory?.p ?? null,
    grad: points(run).map((p) => ({ bits: p.bitsPerClient, value: p.gradNormSq })),
    loss: lossCurve(join(keptDir, 'rounds.jsonl'), run.summary.config.clients),
    keptDir,
  };
}

/** A series whose sweep could not run at all. */
export function failedSeries(plan: SeriesPlan, why: string): SeriesResult {
  return { role: plan.role, name: plan.name, steps: [], failed: [], error: why, final: null, stepExp: null, gamma: null, p: null, grad: [], loss: [], keptDir: null };
}

/** The first and last evaluated f of a run (null when none was evaluated). */
function lossEnds(file: string): { first: number | null; last: number | null } {
  const losses = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { loss?: number | null }).loss)
        .filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    : [];
  return { first: losses[0] ?? null, last: losses[losses.length - 1] ?? null };
}

/**
 * f(xᵗ) against bits per client (rounds 0..t−1, divided by n: the report's convention), at the evaluated rounds
 * with f > 0 (a log axis). rounds.jsonl's `loss` field (README "Outputs").
 */
export function lossCurve(file: string, clients: number): Curve {
  if (!existsSync(file)) return [];
  const out: { bits: number; value: number }[] = [];
  let bits = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as { loss?: number | null; bitsUp?: number };
    if (typeof r.loss === 'number' && r.loss > 0 && Number.isFinite(r.loss)) out.push({ bits: bits / clients, value: r.loss });
    bits += r.bitsUp ?? 0;
  }
  return out;
}
