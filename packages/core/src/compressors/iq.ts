import { streamKey0, streamKey1 } from '../rng.js';
import { rangeKernels } from '../kernels/range.js';
import type { Compressor } from './types.js';
import { rangeQuantizer, type RangeMode } from './rangeQuantizer.js';

/**
 * Independent quantizer IQ (CQ-MARINA Def. 6, SPEC B.3): each coordinate rounds to ±r with a private
 * uniform threshold, keyed by the client's own rank (never shared: the MiniFL pitfall of B.3): u_j = h_j/2^32,
 * h_j = hash32 of the stream (seed, round, rank, 'iq') at j (protocol 3; kernels/rangeJs.iqBits).
 * ω = d − 1 exactly for l = −‖a‖, r = ‖a‖; (A, B) = (d/n, 0) by default, (d/(4n), 0) under `paper` (decision 5).
 */
export function createIq(options: { range?: RangeMode } = {}): Compressor {
  return {
    ...rangeQuantizer('iq', options.range ?? 'client', (a, ctx, out, at, r) => {
      const k0 = streamKey0(ctx.seed, ctx.round, ctx.rank, 'iq'); // the two words without streamKeys' array
      rangeKernels.iqBits(a, ctx.d, out, r, k0, streamKey1(k0), at);
    }),
    correlated: false,
    constants: (d, n, convention) => ({
      omega: d - 1,
      A: convention === 'paper' ? d / (4 * n) : d / n,
      B: 0,
      note: convention === 'paper' ? 'A = d/(4n): the constants behind the C_ind/C_cor formula (SPEC F.1)' : 'A = d/n: the MSE bound of Table 2 (decision 5)',
    }),
  };
}
