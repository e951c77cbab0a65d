import { cqShift, cqStream, CqStreamSlot, rangeKernels } from '../kernels/range.js';
import type { Compressor } from './types.js';
import { rangeQuantizer, type RangeMode } from './rangeQuantizer.js';

/**
 * Correlated quantizer CQ (Suresh et al. 2022; CQ-MARINA Def. 7; SPEC B.4 and decision 4).
 *
 * At coordinate j the n clients take the n slots {0..n−1} in a shared random arrangement; client at slot
 * i uses the threshold U_ij = (((s_j + ρ(i)) mod n) + γ_ij)/n, s_j a shared uniform integer in [0, n), ρ a
 * shared permutation of slots, γ_ij a private uniform jitter. Each U_ij is marginally U[0, 1) (unbiased);
 * across clients the slots are a permutation, so the rounding errors cancel. Cost O(d) per client, plus O(n)
 * per round per process: ρ is drawn once for all the clients a process hosts (kernels/rangeJs.ts `cqStream`).
 */
export function createCq(options: { range?: RangeMode } = {}): Compressor {
  const stream = new CqStreamSlot(); // rewritten each call: an encode allocates nothing
  return {
    ...rangeQuantizer('cq', options.range ?? 'client', (a, ctx, out, at, r) => {
      rangeKernels.cqBits(a, ctx.d, out, r, cqStream(ctx.seed, ctx.round, ctx.n, ctx.slot, ctx.rank, stream), at);
    }),
    correlated: true,
    constants: (d, n, convention) => ({
      omega: d - 1,
      A: convention === 'paper' ? d / (4 * n * n) : d / (n * n),
      B: 0,
      note:
        convention === 'paper'
          ? 'A = d/(4n²): the constants behind the C_ind/C_cor formula (SPEC F.1); homogeneous data'
          : 'A = d/n²: the homogeneous MSE bound (decision 5); no theory covers L_± > 0',
    }),
  };
}

/**
 * The slots of the client at position `slot` (0..n−1) in round `round`: out[j] = (s_j + ρ(slot)) mod n for
 * j < d (decision 4), s_j the shared per-coordinate shifts and ρ the shared permutation of positions, both
 * keyed by (seed, round) alone (kernels/rangeJs.cqShift: two 16-bit draws per hash for n ≤ 2^16, protocol 3).
 * Every client computes its own row in O(d + n); at each coordinate the rows of the n clients form a
 * permutation of 0..n−1, which is what makes the rounding errors cancel. The encoder computes the same
 * slots inline.
 */
export function cqSlots(seed: number, round: number, n: number, slot: number, out: Int32Array, d = out.length): void {
  const q = cqStream(seed, round, n, slot, 0);
  for (let j = 0; j < d; j++) {
    const s = cqShift(q, j) + q.mine;
    out[j] = s >= n ? s - n : s;
  }
}
