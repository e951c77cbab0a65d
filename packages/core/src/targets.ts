import type { RunConfig } from './config.js';
import type { TargetResult } from './records.js';

/** What rounds 0..t−1 cost: mean algorithm bits per client, and wire bytes over all sockets. */
export interface CumulativeCost {
  bitsPerClient: number;
  wireBytesUp: number;
  wireBytesDown: number;
}

/**
 * The run's targets on ‖∇f(x^t)‖² (`--target` absolute, `--target-rel` relative to ‖∇f(x⁰)‖²) and where each
 * was first met. x^t is produced by rounds 0..t−1, so reaching a target at round t costs what they sent.
 */
export class Targets {
  readonly results: TargetResult[] = [];
  private gradNormSq0: number | null = null;

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
        target.bitsPerClient = cost.bitsPerClient;
        target.wireBytesUp = cost.wireBytesUp;
        target.wireBytesDown = cost.wireBytesDown;
      }
    }
  }

  /** What a checkpoint keeps: every target's state and ‖∇f(x⁰)‖². */
  snapshot(): { results: TargetResult[]; gradNormSq0: number | null } {
    return { results: this.results.map((r) => ({ ...r })), gradNormSq0: this.gradNormSq0 };
  }

  restore(s: { results: TargetResult[]; gradNormSq0: number | null }): void {
    if (s.results.length !== this.results.length) throw new RangeError('targets: the checkpoint has other targets than the run');
    s.results.forEach((r, i) => Object.assign(this.results[i]!, r));
    this.gradNormSq0 = s.gradNormSq0;
  }

  /** Whether there are targets and every one has been reached. */
  allReached(): boolean {
    return this.results.length > 0 && this.results.every((t) => t.reached);
  }
}

function unreached(kind: TargetResult['kind'], value: number, threshold: number): TargetResult {
  return { kind, value, threshold, reached: false, round: null, bitsPerClient: null, wireBytesUp: null, wireBytesDown: null };
}
