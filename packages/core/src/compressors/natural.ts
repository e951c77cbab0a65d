import { BitReader, BitWriter, ProtocolError } from '@marina/protocol';
import { CounterRng } from '../rng.js';
import type { Compressor } from './types.js';
import { ExponentReader, expectLength } from './floats.js';

/** 2^−126, the smallest positive normal float32: the lowest nonzero level. */
const MIN_LEVEL = 2 ** -126;
/** 2^128: magnitudes from here on (and NaN) have no float32 exponent. */
const OVERFLOW = 2 ** 128;

/**
 * Natural compression C_nat (Horváth et al. 2019; SPEC B.6 last paragraph): each coordinate rounds at
 * random to one of the two powers of two around it, 2^e ≤ |a_j| < 2^{e+1}, up with probability
 * |a_j|/2^e − 1, keeping its sign: unbiased, with E(Q_j − a_j)² ≤ a_j²/8 (the worst ratio is at
 * |a_j| = (4/3)·2^e), so ω = 1/8. Private randomness from (seed, round, rank, "natural").
 *
 * Wire and algorithm bits: 9 per coordinate, LSB first: bit 0 the sign, bits 1–8 the float32 biased
 * exponent c, the value being ±2^{c−127} for c in 1..254, and 0 for c = 0 (sign 0). So the levels are the
 * normal float32 powers of two; magnitudes below 2^−126 round between 0 and 2^−126 (still unbiased, but
 * ω = 1/8 does not cover them: the error there is at most 2^−254/4 per coordinate). A magnitude that
 * rounds to 2^128 or more, or NaN, is sent as c = 255 and refused by the server as not finite, as a dense
 * float32 message carrying it would be.
 */
/** POW2[c] = 2^(c − 127) for c in 0..254 (exact in float64): the level of exponent code c; 2^−e is POW2[127 − e]. */
const POW2 = Float64Array.from({ length: 255 }, (_, c) => 2 ** (c - 127));

export function createNatural(): Compressor {
  let scratch = new Float64Array(0);
  const exponent = new ExponentReader();
  return {
    name: 'natural',
    unbiased: true,
    correlated: false,
    bits: (ctx) => 9 * ctx.d,
    expectedBits: (d) => 9 * d,
    payloadBits: (ctx) => 9 * ctx.d,
    encode(a, ctx, out) {
      const rng = new CounterRng(ctx.seed, ctx.round, ctx.rank, 'natural');
      const w = new BitWriter(out, 0);
      for (let j = 0; j < ctx.d; j++) {
        const x = a[j]!;
        const U = rng.float();
        const neg = x < 0 ? 1 : 0;
        const m = Math.abs(x);
        let code: number;
        if (m === 0) code = 0;
        else if (!(m < OVERFLOW)) code = 255;
        else if (m < MIN_LEVEL) code = U < m / MIN_LEVEL ? 1 : 0;
        else {
          const e = exponent.floorLog2(m); // 2^e ≤ m < 2^{e+1}
          code = Math.min(255, e + 127 + (U < m * POW2[127 - e]! - 1 ? 1 : 0));
        }
        w.write((code === 0 ? 0 : neg) | (code << 1), 9);
      }
      w.finish();
    },
    decodeInto(sum, payload, ctx) {
      const { d } = ctx;
      expectLength(payload, Math.ceil((9 * d) / 8), 'natural update');
      if (scratch.length < d) scratch = new Float64Array(d);
      const r = new BitReader(payload, 0);
      for (let j = 0; j < d; j++) {
        const field = r.read(9);
        const code = field >>> 1;
        const neg = field & 1;
        if (code === 255) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `natural update: coordinate ${j} has exponent code 255 (infinite or NaN)`);
        if (code === 0) {
          if (neg) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `natural update: coordinate ${j} is a negative zero (not a canonical encoding)`);
          scratch[j] = 0;
        } else {
          const v = POW2[code]!;
          scratch[j] = neg ? -v : v;
        }
      }
      r.finish();
      for (let j = 0; j < d; j++) sum[j]! += scratch[j]!;
    },
    constants: (_d, n) => ({ omega: 1 / 8, A: 1 / (8 * n), B: 0, note: 'natural compression: ω = 1/8; independent clients (A, B) = (ω/n, 0)' }),
    zeta: (d) => d,
  };
}
