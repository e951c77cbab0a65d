import type { RunConfig } from './config.js';
import type { TargetResult } from './records.js';

/** The targets between rounds, as plain values (a checkpoint's `targets`). */
export interface TargetsCheckpoint {
  results: TargetResult[];
  gradNormSq0: number | null;
  last?: { round: number; gradNormSq: number } | null;
  anchors?: (number | null)[];
  /** Infinity is written as null by JSON. */
  due?: number | null;
}

/** What rounds 0..t−1 cost: mean algorithm bits per client, and wire bytes over all sockets. */
export interface CumulativeCost {
  bitsPerClient: number;
  wireBytesUp: number;
  wireBytesDown: number;
}

/**
 * The run's targets on ‖∇f(x^t)‖² (`--target` absolute, `--target-rel` relative to ‖∇f(x⁰)‖²) and where each
 * was first met. x^t is produced by rounds 0..t−1, so reaching a target at round t costs what they sent. Only
 * evaluated rounds are seen: a target is reached at the first evaluated round that meets it (at the latest), and
 * `previousEvaluation` says which evaluated round came before it.
 */
export class Targets {
  readonly results: TargetResult[] = [];
  private gradNormSq0: number | null = null;
  /** The last evaluated round and its ‖∇f‖² (null before round 0's). */
  private last: { round: number; gradNormSq: number } | null = null;
  /** ‖∇f‖² at evaluated rounds 2^k (always on the `auto` schedule): the baselines of `dueFrom`'s rate. */
  private anchors: (number | null)[] = [];
  /** From this round on a target may be near: evaluate (Infinity: nothing predicted). */
  private due = Infinity;

  constructor(config: Pick<RunConfig, 'target' | 'targetRel'>) {
    if (config.target !== null) this.results.push(unreached('absolute', config.target, config.target));
    if (config.targetRel !== null) this.results.push(unreached('relative', config.targetRel, NaN));
  }

  /** Records an evaluated round: ‖∇f(x^t)‖², and the cost of rounds 0..t−1. */
  observe(t: number, gradNormSq: number, cost: CumulativeCost): void {
    this.gradNormSq0 ??= gradNormSq;
    for (const target of this.results) {
      if (target.kind === 'relative') target.threshold = target.value * this.gradNormSq0;
      if (!target.reached && gradNormSq <= target.threshold) {
        target.reached = true;
        target.round = t;
        target.previousEvaluation = this.last?.round ?? null;
        target.bitsPerClient = cost.bitsPerClient;
        target.wireBytesUp = cost.wireBytesUp;
        target.wireBytesDown = cost.wireBytesDown;
      }
    }
    this.last = { round: t, gradNormSq };
    if (t > 0 && (t & (t - 1)) === 0) {
      const k = 31 - Math.clz32(t);
      while (this.anchors.length < k) this.anchors.push(null);
      this.anchors[k] = gradNormSq;
    }
    this.due = this.predict(t, gradNormSq);
  }

  /**
   * The round from which to evaluate so that a target is seen when first met (`--eval-every auto`): halfway to
   * where ‖∇f‖² would cross the nearest unreached threshold at its log-linear rate since round 2^k ≤ t/2. Each
   * evaluation predicts again, so the steps halve down to single rounds at the crossing. A rate measured over
   * [t/4, t] or more is steady under round-to-round noise; where convergence slows (the usual case) it
   * over-estimates the rate, so evaluations come early, never late. Infinity when ‖∇f‖² has not decreased.
   */
  dueFrom(): number {
    return this.due;
  }

  private predict(t: number, v: number): number {
    if (t < 2 || !(v > 0) || !Number.isFinite(v)) return Infinity;
    const k = 31 - Math.clz32(t) - 1; // the last power of two ≤ t/2
    const a = this.anchors[k] ?? null;
    if (a === null || !(a > v)) return Infinity;
    const rate = Math.log(a / v) / (t - 2 ** k);
    let due = Infinity;
    for (const r of this.results) {
      if (r.reached || !(r.threshold > 0)) continue;
      const rounds = Math.log(v / r.threshold) / rate;
      due = Math.min(due, t + Math.max(1, Math.floor(rounds / 2)));
    }
    return due;
  }

  /** What a checkpoint keeps: every target's state, ‖∇f(x⁰)‖², and what the evaluation schedule goes on from. */
  snapshot(): TargetsCheckpoint {
    return { results: this.results.map((r) => ({ ...r })), gradNormSq0: this.gradNormSq0, last: this.last, anchors: [...this.anchors], due: this.due };
  }

  /** Restores a checkpoint (one written before the schedule's fields goes on from the grid alone). */
  restore(s: TargetsCheckpoint): void {
    if (s.results.length !== this.results.length) throw new RangeError('targets: the checkpoint has other targets than the run');
    s.results.forEach((r, i) => Object.assign(this.results[i]!, r));
    this.gradNormSq0 = s.gradNormSq0;
    this.last = s.last ?? null;
    this.anchors = (s.anchors ?? []).map((a) => (typeof a === 'number' ? a : null));
    this.due = typeof s.due === 'number' ? s.due : Infinity;
  }

  /** Whether there are targets and every one has been reached. */
  allReached(): boolean {
    return this.results.length > 0 && this.results.every((t) => t.reached);
  }
}

function unreached(kind: TargetResult['kind'], value: number, threshold: number): TargetResult {
  return { kind, value, threshold, reached: false, round: null, previousEvaluation: null, bitsPerClient: null, wireBytesUp: null, wireBytesDown: null };
}
