import { CounterRng } from '../rng.js';
import type { Compressor } from './types.js';
import { rangeQuantizer, thresholdBits, type RangeMode } from './rangeQuantizer.js';

/**
 * Independent quantizer IQ (CQ-MARINA Def. 6, SPEC B.3): each coordinate rounds to ±r with a private
 * uniform threshold, keyed by the client's own rank (never shared: the MiniFL pitfall of B.3).
 * ω = d − 1 exactly for l = −‖a‖, r = ‖a‖; (A, B) = (d/n, 0) by default, (d/(4n), 0) under `paper` (decision 5).
 */
export function createIq(options: { range?: RangeMode } = {}): Compressor {
  let u = new Float64Array(0);
  return {
    ...rangeQuantizer('iq', options.range ?? 'client', (a, ctx, out, r) => {
      if (u.length < ctx.d) u = new Float64Array(ctx.d);
      const rng = new CounterRng(ctx.seed, ctx.round, ctx.rank, 'iq');
      for (let j = 0; j < ctx.d; j++) u[j] = rng.float();
      thresholdBits(a, u, ctx.d, out, r);
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
