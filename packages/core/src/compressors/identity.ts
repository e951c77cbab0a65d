import type { Compressor } from './types.js';
import { expectLength, readFloat32s, writeFloat32s } from './floats.js';

/** The dense float32 message: 32 bits per coordinate (SPEC B table, "Identity"). Also MARINA's coin-round message. */
export function createIdentity(): Compressor {
  let scratch = new Float32Array(0);
  return {
    name: 'identity',
    unbiased: true,
    correlated: false,
    bits: (ctx) => 32 * ctx.d,
    expectedBits: (d) => 32 * d,
    payloadBits: (ctx) => 32 * ctx.d,
    encode(a, ctx, out) {
      writeFloat32s(a, out, 0, ctx.d);
    },
    decodeInto(sum, payload, ctx) {
      expectLength(payload, 4 * ctx.d, 'dense update');
      if (scratch.length < ctx.d) scratch = new Float32Array(ctx.d);
      const v = readFloat32s(payload, 0, ctx.d, scratch, 'dense update');
      for (let j = 0; j < ctx.d; j++) sum[j]! += v[j]!;
    },
    constants: () => ({ omega: 0, A: 0, B: 0, note: 'exact: no compression' }),
    zeta: (d) => d,
  };
}
