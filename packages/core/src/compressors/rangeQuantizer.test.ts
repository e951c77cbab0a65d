import { describe, expect, it } from 'vitest';
import { type ProtocolErrorCode } from '@marina/protocol';
import { expectProtocolError } from '@marina/protocol/testing';
import { createCq } from './cq.js';
import { createIq } from './iq.js';
import { decodeRangeManyInto } from './rangeQuantizer.js';
import { contextFor, encodeMessage, gaussian, rangeBit, sqNorm } from './testkit.js';

/**
 * What CQ and IQ share, checked for both (rangeQuantizer.ts; SPEC B.3, B.4, decisions 3 and 11): 32 + d
 * bits, the float32 radius r = fround(‖a‖₂) then one bit per coordinate decoding to ±r, zero vectors, every
 * malformed payload refused before the sum is touched, and per-client unbiasedness (each threshold is
 * marginally U[0, 1)). Each case runs every input either file used before they were merged. What differs,
 * the thresholds, is tested in cq.test.ts and iq.test.ts, which use the same seed.
 */

const SEED = 7;
const radiusOf = (payload: Uint8Array): number => new DataView(payload.buffer, payload.byteOffset, 4).getFloat32(0, true);

/** `a` with a[j] = value. */
function withEntry(a: Float64Array, j: number, value: number): Float64Array {
  a[j] = value;
  return a;
}

describe.each([
  { name: 'cq', create: createCq },
  { name: 'iq', create: createIq },
])('$name (range quantizer)', ({ name, create }) => {
  const q = create();

  it('counts exactly 32 + d bits, and the payload is 4 + ceil(d/8) bytes with zero padding', () => {
    for (const d of [1, 7, 8, 9, 13, 64, 1000, 1023]) {
      for (const n of [1, 2, 3, 128]) {
        for (const slot of new Set([0, n - 1])) {
          const ctx = contextFor(d, n, slot, 3, SEED);
          expect(q.bits(ctx)).toBe(32 + d);
          expect(q.payloadBits(ctx)).toBe(32 + d);
          expect(q.expectedBits(d, n)).toBe(32 + d);
          // The encoder writes exactly ceil((32 + d)/8) bytes: a sentinel after them survives.
          const bytes = Math.ceil((32 + d) / 8);
          const out = new Uint8Array(bytes + 3).fill(0xa5);
          q.encode(gaussian(d, d), ctx, out);
          expect(Array.from(out.subarray(bytes))).toEqual([0xa5, 0xa5, 0xa5]);
          if (d % 8 !== 0) expect(out[bytes - 1]! >>> d % 8).toBe(0);
        }
      }
    }
  });

  it('decodes every coordinate to +r or −r as its bit says, r = fround(‖a‖₂) (decision 11)', () => {
    for (const [a, ctx] of [
      [withEntry(gaussian(100, 1, 0.3), 0, 1 / 3), contextFor(100, 4, 2, 9, SEED)], // a norm that float32 cannot hold exactly
      [withEntry(gaussian(77, 2, 1e-3), 5, Math.PI), contextFor(77, 2, 1, 4, SEED)], // one coordinate dominates
    ] as const) {
      const payload = encodeMessage(q, a, ctx);
      const r = radiusOf(payload);
      expect(r).toBe(Math.fround(Math.sqrt(sqNorm(a))));
      expect(r).not.toBe(Math.sqrt(sqNorm(a)));
      const sum = new Float64Array(ctx.d);
      q.decodeInto(sum, payload, ctx);
      for (let j = 0; j < ctx.d; j++) expect(sum[j]).toBe(rangeBit(payload, j) ? r : -r);
      // decodeInto adds: a second message doubles.
      q.decodeInto(sum, payload, ctx);
      for (let j = 0; j < ctx.d; j++) expect(sum[j]).toBe(2 * (rangeBit(payload, j) ? r : -r));
    }
  });

  it('sends r = 0 for a zero vector (still 32 + d bits), which decodes to zeros', () => {
    for (const d of [1, 13, 64]) {
      const ctx = contextFor(d, 3, 1, 2, SEED);
      const payload = encodeMessage(q, new Float64Array(d), ctx);
      expect(payload.length).toBe(Math.ceil((32 + d) / 8));
      expect(Array.from(payload)).toEqual(new Array(payload.length).fill(0));
      const zeros = new Float64Array(d);
      q.decodeInto(zeros, payload, ctx);
      expect(Array.from(zeros)).toEqual(new Array(d).fill(0)); // +0, not −0
      const sum = gaussian(d, 5);
      const before = sum.slice();
      q.decodeInto(sum, payload, ctx);
      expect(sum).toEqual(before);
    }
  });

  it('rejects bad payloads with a ProtocolError before touching the sum', () => {
    // d = 13: 45 bits, 6 bytes, 3 padding bits; d = 10: 42 bits, 6 bytes, 6 padding bits.
    for (const [d, n] of [
      [13, 2],
      [10, 1],
    ] as const) {
      const ctx = contextFor(d, n, 0, 1, SEED);
      const good = encodeMessage(q, gaussian(d, 3), ctx);
      expect(good.length).toBe(6);
      const sum = gaussian(d, 4);
      const before = sum.slice();
      const attempt = (payload: Uint8Array, code: ProtocolErrorCode, message: string): void => {
        expectProtocolError(() => q.decodeInto(sum, payload, ctx), code, message);
        expect(sum).toEqual(before);
      };
      for (let k = 0; k < good.length; k++) attempt(good.subarray(0, k), 'MARINA_ERR_TRUNCATED', `${name} update: payload of ${k} bytes, expected 6`);
      attempt(Uint8Array.of(...good, 0), 'MARINA_ERR_TRAILING_BYTES', `${name} update: payload of 7 bytes, expected 6`);
      attempt(Uint8Array.of(...good, 0, 0), 'MARINA_ERR_TRAILING_BYTES', `${name} update: payload of 8 bytes, expected 6`);
      for (let padBit = (32 + d) % 8; padBit < 8; padBit++) {
        const p = good.slice();
        p[5]! |= 1 << padBit;
        attempt(p, 'MARINA_ERR_NONZERO_PADDING', `${name} update: padding bits of the last byte are not zero`);
      }
      for (const [radius, shown] of [
        [-1, '-1'],
        [-2.5, '-2.5'],
        [-(2 ** -149), '-1.401298464324817e-45'], // the smallest negative float32
        [NaN, 'NaN'],
        [Infinity, 'Infinity'],
        [-Infinity, '-Infinity'],
      ] as const) {
        const p = good.slice();
        new DataView(p.buffer).setFloat32(0, radius, true);
        attempt(p, 'MARINA_ERR_OUT_OF_RANGE', `${name} update: scale must be finite and ≥ 0, got ${shown}`);
      }
    }
  });

  it('is unbiased per client: E Q_i(a) = a (5 standard errors, Var Q_ij = r² − a_j²)', () => {
    // Each threshold U_ij is marginally U[0, 1), so Q_ij = ±r with P(+r) = y_j: E = a_j, Var = r² − a_j².
    const R = 4000;
    const skewed = gaussian(64, 13);
    skewed[0] = 0;
    skewed[1] = -Math.sqrt(sqNorm(skewed)) * 0.5;
    for (const [a, n, slots] of [
      [gaussian(32, 21), 5, [0, 4]],
      [skewed, 1, [0]], // a zero coordinate and one of half the norm
    ] as const) {
      const d = a.length;
      const r = Math.fround(Math.sqrt(sqNorm(a)));
      for (const slot of slots) {
        const mean = new Float64Array(d);
        for (let t = 0; t < R; t++) {
          const ctx = contextFor(d, n, slot, t, SEED);
          q.decodeInto(mean, encodeMessage(q, a, ctx), ctx);
        }
        for (let j = 0; j < d; j++) {
          const se = Math.sqrt((r * r - a[j]! ** 2) / R);
          expect(Math.abs(mean[j]! / R - a[j]!)).toBeLessThan(5 * se);
        }
      }
    }
  });
});

describe('decodeRangeManyInto (a round\'s payloads in one pass over the sum)', () => {
  it('gives the same sums as one decodeInto per payload in order, for both range modes', () => {
    for (const [name, create] of [
      ['cq', createCq],
      ['iq', createIq],
    ] as const) {
      for (const d of [1, 13, 1000, 9000]) {
        const n = 5;
        const q = create();
        const inputs = Array.from({ length: n }, (_, i) => gaussian(d, 40 + i, 1 + i));
        const payloads = inputs.map((a, i) => encodeMessage(q, a, contextFor(d, n, i, 3, SEED)));
        const each = gaussian(d, 99);
        const many = each.slice();
        payloads.forEach((p, i) => q.decodeInto(each, p, contextFor(d, n, i, 3, SEED)));
        decodeRangeManyInto(many, payloads, d, `${name} update`, null);
        expect(many).toEqual(each);
        // Shared range: bits alone, one R for all.
        const bits = payloads.map((p) => p.subarray(4));
        const a = gaussian(d, 7);
        const b = a.slice();
        for (const p of bits) decodeRangeManyInto(a, [p], d, `${name} update`, 2.5);
        decodeRangeManyInto(b, bits, d, `${name} update`, 2.5);
        expect(b).toEqual(a);
      }
    }
  });

  it('validates every payload before touching the sum', () => {
    const d = 13;
    const q = createIq();
    const good = encodeMessage(q, gaussian(d, 3), contextFor(d, 2, 0, 1, SEED));
    const bad = good.slice();
    bad[bad.length - 1]! |= 0x80; // a padding bit
    const sum = gaussian(d, 4);
    const before = sum.slice();
    expectProtocolError(() => decodeRangeManyInto(sum, [good, good, bad], d, 'iq update', null), 'MARINA_ERR_NONZERO_PADDING', 'iq update: padding bits of the last byte are not zero');
    expectProtocolError(() => decodeRangeManyInto(sum, [good, good.subarray(1)], d, 'iq update', null), 'MARINA_ERR_TRUNCATED', 'iq update: payload of 5 bytes, expected 6');
    expect(sum).toEqual(before);
  });
});

