import type { LoadedRun } from './load.js';
import { shown } from './paths.js';

/** One evaluated iterate x^t of a run, with what producing it cost. */
export interface Point {
  round: number;
  /** ‖∇f(x^t)‖² (> 0: a log axis cannot show 0). */
  gradNormSq: number;
  /**
   * Algorithm bits per client spent on rounds 0..t−1 (Σ bitsUp / n), the rounds that produced x^t: the
   * convention of summary.json's `targets` (packages/core/src/targets.ts). Round 0's full gradients count.
   */
  bitsPerClient: number;
  /** Uplink WebSocket frame bytes of rounds 0..t−1 over all sockets, divided by n (same convention). */
  wireBytesPerClient: number;
}

/** A run as one line of the figures and one row of the table. */
export interface Series {
  label: string;
  run: LoadedRun;
  points: Point[];
}

/** The runs as series, labelled by `seriesLabels`, each with its evaluated points. */
export function buildSeries(runs: readonly LoadedRun[]): Series[] {
  const labels = seriesLabels(runs);
  return runs.map((run, i) => ({ label: labels[i]!, run, points: points(run) }));
}

/**
 * The points of a run. Rounds with `gradNormSq: null` (not evaluated, `--eval-every`) are skipped, and so is
 * an exact 0, which a log axis cannot place. Costs are summed in the order the ledger sums them (bits over
 * all clients, then divided by n), so a reached target's point equals summary.json's numbers exactly.
 */
export function points(run: LoadedRun): Point[] {
  const n = run.summary.config.clients;
  const out: Point[] = [];
  let bits = 0;
  let wire = 0;
  for (const r of run.rounds) {
    if (r.gradNormSq !== null && r.gradNormSq > 0) out.push({ round: r.round, gradNormSq: r.gradNormSq, bitsPerClient: bits / n, wireBytesPerClient: wire / n });
    bits += r.bitsUp;
    wire += r.wireBytesUp;
  }
  return out;
}

/** summary.json config fields that name where a run's files went, not what ran. */
const NOT_DISTINGUISHING = new Set(['out', 'force']);

/**
 * "method + compressor on problem" for each run; when runs share that, the config fields in which they differ
 * are appended ("(p=0.1, seed=2)"), and when their configurations are identical, the run folder.
 */
export function seriesLabels(runs: readonly LoadedRun[]): string[] {
  const base = runs.map(({ summary: { config: c } }) => `${c.method} + ${c.compressor} on ${c.problem}`);
  const groups = new Map<string, number[]>();
  base.forEach((b, i) => groups.set(b, [...(groups.get(b) ?? []), i]));
  const labels = [...base];
  for (const [b, members] of groups) {
    if (members.length < 2) continue;
    const configs = members.map((i) => runs[i]!.summary.config as unknown as Record<string, unknown>);
    const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))].filter(
      (k) => !NOT_DISTINGUISHING.has(k) && new Set(configs.map((c) => JSON.stringify(c[k]))).size > 1,
    );
    for (const i of members) {
      const c = runs[i]!.summary.config as unknown as Record<string, unknown>;
      const extras = keys.map((k) => `${k}=${c[k] === undefined ? '-' : String(c[k])}`);
      labels[i] = extras.length > 0 ? `${b} (${extras.join(', ')})` : b;
    }
    // Identical configurations (a repeated run) or fields that render alike: tell them apart by folder.
    const counts = new Map<string, number>();
    for (const i of members) counts.set(labels[i]!, (counts.get(labels[i]!) ?? 0) + 1);
    for (const i of members) {
      if (counts.get(labels[i]!)! > 1) labels[i] = `${labels[i]} [${shown(runs[i]!.dir)}]`;
    }
  }
  return labels;
}
