import { streamKeys } from '../rng.js';
import { addNaturalFields, encodeNaturalFields, readNaturalFields } from '../kernels/natural.js';
import type { Compressor } from './types.js';
import { expectLength } from './floats.js';

/**
 * Natural compression C_nat (Horváth et al. 2019; SPEC B.6 last paragraph): each coordinate rounds at
 * random to one of the two powers of two around it, 2^e ≤ |a_j| < 2^{e+1}, up with probability
 * |a_j|/2^e − 1, keeping its sign: unbiased, with E(Q_j − a_j)² ≤ a_j²/8 (the worst ratio is at
 * |a_j| = (4/3)·2^e), so ω = 1/8. Private randomness: up iff h_j < (|a_j|/2^e − 1)·2^32, h_j = hash32 of
 * the stream (seed, round, rank, "natural") at j (protocol 3; kernels/natural.ts).
 *
 * Wire and algorithm bits: 9 per coordinate, LSB first: bit 0 the sign, bits 1–8 the float32 biased
 * exponent c, the value being ±2^{c−127} for c in 1..254, and 0 for c = 0 (sign 0). So the levels are the
 * normal float32 powers of two; magnitudes below 2^−126 round between 0 and 2^−126 (still unbiased, but
 * ω = 1/8 does not cover them: the error there is at most 2^−254/4 per coordinate). A magnitude that
 * rounds to 2^128 or more, or NaN, is sent as c = 255 and refused by the server as not finite, as a dense
 * float32 message carrying it would be.
 */
export function createNatural(): Compressor {
  let fields = new Uint16Array(0);
  return {
    name: 'natural',
    unbiased: true,
    correlated: false,
    bits: (ctx) => 9 * ctx.d,
    expectedBits: (d) => 9 * d,
    payloadBits: (ctx) => 9 * ctx.d,
    encode(a, ctx, out) {
      const [k0, k1] = streamKeys(ctx.seed, ctx.round, ctx.rank, 'natural');
      encodeNaturalFields(a, ctx.d, k0, k1, out);
    },
    decodeInto(sum, payload, ctx) {
      const { d } = ctx;
      expectLength(payload, Math.ceil((9 * d) / 8), 'natural update');
      if (fields.length < d) fields = new Uint16Array(d);
      readNaturalFields(payload, d, fields, 'natural update'); // throws before the sum is touched
      addNaturalFields(sum, d, fields);
    },
    constants: (_d, n) => ({ omega: 1 / 8, A: 1 / (8 * n), B: 0, note: 'natural compression: ω = 1/8; independent clients (A, B) = (ω/n, 0)' }),
    zeta: (d) => d,
  };
}
