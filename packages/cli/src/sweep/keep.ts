import type { GridPlace } from './grid.js';

/** What a sweep remembers of one finished run (sweep.json): its place in the grid and how it ended. */
export interface RunOutcome extends GridPlace {
  /** Relative to the sweep folder. */
  dir: string;
  stopReason: string;
  /** ‖∇f‖² at the run's end (at the budget), null if never evaluated. */
  finalGradNormSq: number | null;
  /** ‖∇f(x⁰)‖². */
  initialGradNormSq: number | null;
  bitsPerClient: number;
  /** Exit status of the run's process (0 finished, 3 diverged). */
  status: number;
}

/**
 * How a sweep picks each (problem, method, compressor)'s step multiplier, as the papers do:
 * - `best`: the 2^k whose median over seeds of ‖∇f‖² at the budget is smallest (SPEC D.1: "best kept");
 * - `largest-converging`: the largest 2^k whose median run still converges (did not diverge and ended below
 *   its ‖∇f(x⁰)‖²) (SPEC D.4: "the largest step for which the median of five runs still converged").
 */
export type KeepRule = 'best' | 'largest-converging';

export interface Kept {
  problem: string;
  method: string;
  compressor: string;
  stepExp: number;
  /** Median over seeds of ‖∇f‖² at the budget, for the kept step. */
  medianFinal: number;
  /** The kept step's run for the first seed (what `marina report` plots). */
  dir: string;
  seeds: number;
}

export function keepSteps(outcomes: RunOutcome[], rule: KeepRule): Kept[] {
  const groups = new Map<string, RunOutcome[]>();
  for (const o of outcomes) {
    const key = JSON.stringify([o.problem, o.method, o.compressor]);
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  const kept: Kept[] = [];
  for (const runs of groups.values()) {
    const byStep = new Map<number, RunOutcome[]>();
    for (const r of runs) byStep.set(r.stepExp, [...(byStep.get(r.stepExp) ?? []), r]);
    let best: { stepExp: number; median: number; runs: RunOutcome[] } | null = null;
    for (const [stepExp, rs] of [...byStep].sort((a, b) => a[0] - b[0])) {
      const median = medianOf(rs.map(finalOrInfinity));
      const converged = median < Infinity && median < medianOf(rs.map((r) => r.initialGradNormSq ?? Infinity));
      const better = rule === 'best' ? best === null || median < best.median : converged;
      if (better) best = { stepExp, median, runs: rs };
    }
    if (!best) continue;
    const first = [...best.runs].sort((a, b) => a.seed - b.seed)[0]!;
    kept.push({ problem: first.problem, method: first.method, compressor: first.compressor, stepExp: best.stepExp, medianFinal: best.median, dir: first.dir, seeds: best.runs.length });
  }
  return kept;
}

/** A diverged or unevaluated run counts as +∞ (never the best, never converged). */
function finalOrInfinity(r: RunOutcome): number {
  return r.stopReason.startsWith('diverged') || r.finalGradNormSq === null || !Number.isFinite(r.finalGradNormSq) ? Infinity : r.finalGradNormSq;
}

/** The median (the lower middle for an even count, so a tie never averages with +∞). */
export function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Infinity;
}
