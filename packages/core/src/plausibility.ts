import { ProtocolError } from '@marina/protocol';
import type { ConstantKind, ShardFacts } from './problems/types.js';

/**
 * What a sender's vector v_i is in a round, which bounds its norm from the client's own smoothness:
 * - `gradient`: ∇f_i(x^t), at most G_i(t) (below);
 * - `difference`: ∇f_i(x^t) − ∇f_i(x^{t−1}), at most L_i·‖x^t − x^{t−1}‖ (MARINA's compressed rounds);
 * - `minibatch-difference`: a mean of component differences, at most ℒ·‖x^t − x^{t−1}‖ (VR-MARINA);
 * - `shifted`: ∇f_i(x^t) − s_i with the client state s_i the server mirrors (DIANA's h_i, EF21's g_i), at most
 *   G_i(t) + ‖s_i‖.
 */
export type SentVector = 'gradient' | 'difference' | 'minibatch-difference' | 'shifted';

/**
 * Honest slack over the bounds: float32 rounding and float64 sums are far inside 8×. An estimated L_i
 * (decision 10: power iteration at x⁰ of a neural network) bounds nothing away from x⁰: such a model is not
 * globally smooth (a diverging autoencoder's gradient grew 10¹²× in one round past its estimate), so its
 * clients' messages are not checked (Infinity): the rule must never refuse an honest run.
 */
const SLACK: Record<ConstantKind, number> = { exact: 8, bound: 8, estimate: Number.POSITIVE_INFINITY };

/**
 * The plausibility rule (issue 11; README "Security"): a well-formed message whose values are absurd for its
 * sender is refused (MARINA_ERR_IMPLAUSIBLE), not summed. It bounds what an honest client can send from what
 * the server knows: the client's reported L_i, the iterates, and the client's own dense gradients.
 *
 * G_i(t) ≥ ‖∇f_i(x^t)‖ is kept per rank: set from the first dense gradient the rank sends (an evaluation report,
 * or an init or coin round's update), lowered by every later one (min: an honest observation is itself a valid
 * bound), and carried from round to round by smoothness, G_i(t+1) = G_i(t) + L_i·‖x^{t+1} − x^t‖. Checked:
 * - an update: ‖decode(m)‖ ≤ slack·gain·B, with B the bound on ‖v_i‖ for what the round sends (SentVector) and
 *   gain = 2·max(d, n), above every compressor's worst ‖C(a)‖/‖a‖ (RandK d/K, PermK n, ℓ_p dithering ≤ d,
 *   CQ, IQ, DRIVE and the other scaled sign or level codes √d, natural compression 2, dense float32 1);
 * - a shared-range norm: ≤ slack·B;
 * - an evaluation report: ‖∇f_i(x^t)‖ ≤ slack·G_i(t).
 * Until a rank's first dense gradient, its G_i is unknown and its gradient-based messages are not checked (a
 * client consistent from its first message on is Byzantine, which this rule does not claim to catch).
 * It never changes an honest run: every bound holds for honest values with the slack to spare.
 */
export class Plausibility {
  /** G_i(t): a bound on ‖∇f_i(x^t)‖ (NaN: no dense gradient seen yet). */
  private readonly grad: Float64Array;
  /** ‖x^t − x^{t−1}‖ (NaN before the first step). */
  private step = Number.NaN;
  private readonly gain: number;

  constructor(
    private readonly facts: readonly ShardFacts[],
    d: number,
    /** ℒ of VR-MARINA's components, where the problem is a finite sum. */
    private readonly Lcomp: number | null,
  ) {
    this.grad = new Float64Array(facts.length).fill(Number.NaN);
    this.gain = 2 * Math.max(d, facts.length);
  }

  /** Bound on ‖v_i‖ for `rank` sending `kind` this round, or NaN where none is known yet. */
  vectorBound(rank: number, kind: SentVector, stateNorm: number): number {
    const L = this.facts[rank]!.Li;
    switch (kind) {
      case 'gradient':
        return this.grad[rank]!;
      case 'difference':
        return L * this.step;
      case 'minibatch-difference':
        return (this.Lcomp ?? Number.NaN) * this.step;
      case 'shifted':
        return this.grad[rank]! + stateNorm;
    }
  }

  /** Refuses an update whose decoded norm is beyond `slack·gain·bound` (no check while the bound is unknown). */
  checkUpdate(rank: number, round: number, kind: SentVector, decodedNorm: number, bound: number, compressed: boolean): void {
    const limit = this.slack(rank) * (compressed ? this.gain : 1) * bound;
    if (decodedNorm > limit) {
      throw new ProtocolError(
        'MARINA_ERR_IMPLAUSIBLE',
        `rank ${rank}'s update in round ${round} decodes to norm ${decodedNorm.toExponential(3)}, above ${limit.toExponential(3)}: what its ${kind} can be (bound ${bound.toExponential(3)} from L_i = ${this.facts[rank]!.Li} and the iterates, times ${this.slack(rank)}${compressed ? ` × ${this.gain}` : ''})`,
        { rank },
      );
    }
  }

  /** Refuses a shared-range norm beyond `slack·bound`. */
  checkNorm(rank: number, round: number, norm: number, bound: number): void {
    const limit = this.slack(rank) * bound;
    if (norm > limit) {
      throw new ProtocolError('MARINA_ERR_IMPLAUSIBLE', `rank ${rank}'s norm in round ${round} is ${norm.toExponential(3)}, above ${limit.toExponential(3)} (bound ${bound.toExponential(3)} × ${this.slack(rank)})`, { rank });
    }
  }

  /**
   * A dense ∇f_i(x^t) of norm `norm` from `rank` (an evaluation report, or a dense update whose float32 values
   * `float32` says): checked against G_i(t), then G_i(t) = min(G_i(t), norm).
   */
  observeGradient(rank: number, round: number, norm: number, float32: boolean): void {
    const G = this.grad[rank]!;
    // A float32 value is within a relative 2⁻²⁴ of the float64 one: the bound covers the unrounded norm.
    const upper = float32 ? norm * (1 + 2 ** -23) : norm;
    if (!Number.isNaN(G) && norm > this.slack(rank) * G) {
      throw new ProtocolError('MARINA_ERR_IMPLAUSIBLE', `rank ${rank}'s gradient in round ${round} has norm ${norm.toExponential(3)}, above ${(this.slack(rank) * G).toExponential(3)} (its smoothness bound ${G.toExponential(3)} × ${this.slack(rank)})`, { rank });
    }
    if (Number.isNaN(G) || upper < G) this.grad[rank] = upper;
  }

  /** The iterate moved by `stepNorm` = ‖x^{t+1} − x^t‖: every G_i grows by L_i times it. */
  stepped(stepNorm: number): void {
    this.step = stepNorm;
    for (let i = 0; i < this.grad.length; i++) this.grad[i]! += this.facts[i]!.Li * stepNorm;
  }

  snapshot(): { grad: number[]; step: number | null } {
    return { grad: Array.from(this.grad, (g) => (Number.isNaN(g) ? -1 : g)), step: Number.isNaN(this.step) ? null : this.step };
  }

  restore(s: { grad: number[]; step: number | null }): void {
    if (s.grad.length !== this.grad.length) throw new RangeError(`restore: ${s.grad.length} gradient bounds for ${this.grad.length} clients`);
    s.grad.forEach((g, i) => (this.grad[i] = g < 0 ? Number.NaN : g));
    this.step = s.step ?? Number.NaN;
  }

  private slack(rank: number): number {
    return SLACK[this.facts[rank]!.LiKind];
  }
}

/** ‖v‖₂. */
export function norm2(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j]! * v[j]!;
  return Math.sqrt(s);
}
