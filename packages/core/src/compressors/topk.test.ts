import { describe, expect, it } from 'vitest';
import { BitWriter } from '@marina/protocol';
import { expectProtocolError } from '@marina/protocol/testing';
import { CounterRng } from '../rng.js';
import { createTopk, indexBits } from './topk.js';
import { compress, contextFor, encodeMessage, gaussian, sqNorm } from './testkit.js';

/** Test vectors of float32 values, so the kept values come back exactly. */
const float32Gaussian = (d: number, seed: number): Float64Array => gaussian(d, seed).map(Math.fround);

/** The reference TopK: sort indices by magnitude (descending), ties by index, keep K. */
function bruteTopK(a: Float64Array, K: number): Float64Array {
  const order = [...a.keys()].sort((i, j) => Math.abs(a[j]!) - Math.abs(a[i]!) || i - j);
  const out = new Float64Array(a.length);
  for (const j of order.slice(0, K)) out[j] = 0 + Math.fround(a[j]!); // the server adds into zeros: −0 arrives as +0
  return out;
}

/** A hand-made payload: K float32 values, then the given indices at ⌈log2 d⌉ bits. */
function payload(d: number, values: number[], indices: number[]): Uint8Array {
  const K = values.length;
  const b = indexBits(d);
  const out = new Uint8Array(4 * K + Math.ceil((K * b) / 8));
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setFloat32(4 * i, x, true));
  const w = new BitWriter(out, 4 * K);
  for (const j of indices) w.write(j, b);
  w.finish();
  return out;
}

describe('topk', () => {
  it('counts and sends 32K + K·⌈log2 d⌉ bits (decision 17)', () => {
    expect([1, 2, 3, 4, 5, 8, 9, 1024, 1025].map(indexBits)).toEqual([0, 1, 2, 2, 3, 3, 4, 10, 11]);
    for (const d of [1, 2, 3, 5, 7, 10, 64, 100, 1000, 1025]) {
      for (const n of [1, 2, 3, 7, 10, 1000]) {
        const q = createTopk({ k: null });
        const K = Math.max(1, Math.floor(d / n));
        const ctx = contextFor(d, n);
        const bits = 32 * K + K * Math.ceil(Math.log2(d));
        expect(q.bits(ctx)).toBe(bits);
        expect(q.payloadBits(ctx)).toBe(bits);
        expect(q.expectedBits(d, n)).toBe(bits);
        expect(encodeMessage(q, float32Gaussian(d, d), ctx).length).toBe(Math.ceil(bits / 8));
      }
    }
  });

  it('keeps exactly the K largest magnitudes, ties to the lower index, on random and adversarial inputs', () => {
    const rng = new CounterRng(3, 0, 0, 'topk-test');
    const cases: Float64Array[] = [];
    // From d = 4096 the K-th largest comes from a histogram of the magnitudes' top bits (topk.ts kthLargest).
    for (const d of [1, 2, 3, 8, 33, 100, 257, 4096, 10007]) {
      cases.push(float32Gaussian(d, d + 1));
      if (d > 1000) cases.push(Float64Array.from(float32Gaussian(d, d + 2), (x, j) => x * 2 ** ((j % 40) - 20))); // many buckets
      cases.push(Float64Array.from({ length: d }, () => rng.int(5) - 2)); // many ties, zeros, signs
      cases.push(Float64Array.from({ length: d }, (_, j) => j)); // sorted
      cases.push(Float64Array.from({ length: d }, (_, j) => -j)); // reversed magnitudes by sign
      cases.push(new Float64Array(d).fill(1.5)); // all equal
      cases.push(Float64Array.from({ length: d }, (_, j) => Math.min(j, d - 1 - j))); // organ pipe
    }
    for (const a of cases) {
      const d = a.length;
      for (const K of new Set([1, 2, Math.ceil(d / 3), d].filter((k) => k <= d))) {
        const y = compress(createTopk({ k: K }), createTopk({ k: K }), a, contextFor(d, 1));
        expect(Array.from(y)).toEqual(Array.from(bruteTopK(a, K)));
      }
    }
  });

  it('is contractive: ‖C(a) − a‖² ≤ (1 − K/d)‖a‖² (SPEC B.5)', () => {
    let worst = 0;
    for (let s = 0; s < 200; s++) {
      const d = 5 + (s % 60);
      const K = 1 + (s % d);
      const a = float32Gaussian(d, 100 + s);
      const q = createTopk({ k: K });
      const y = compress(q, createTopk({ k: K }), a, contextFor(d, 1, 0, s));
      let err = 0;
      for (let j = 0; j < d; j++) err += (y[j]! - a[j]!) ** 2;
      const bound = (1 - q.contraction(d, 1)) * sqNorm(a);
      expect(err).toBeLessThanOrEqual(bound * (1 + 1e-12));
      worst = Math.max(worst, err / (bound || 1));
    }
    expect(worst).toBeLessThanOrEqual(1 + 1e-12);
  });

  it('reports α = K/d and no ω or (A, B)', () => {
    const q = createTopk({ k: 25 });
    expect(q.contraction(1000, 10)).toBe(0.025);
    const c = q.constants(1000, 10, 'default');
    expect(Number.isNaN(c.omega) && Number.isNaN(c.A) && Number.isNaN(c.B)).toBe(true);
    expect(c.note).toContain('α = K/d = 0.025');
    expect(q.unbiased).toBe(false);
    expect(createTopk({ k: null }).contraction(1000, 10)).toBe(0.1);
  });

  it('rejects indices ≥ d, repeated or decreasing indices, and nonzero padding, before touching the sum', () => {
    const d = 10; // 4 bits per index
    const q = createTopk({ k: 3 });
    const ctx = contextFor(d, 1);
    const sum = new Float64Array(d).fill(3);
    expect(() => q.decodeInto(sum, payload(d, [1, 2, 3], [1, 4, 9]), ctx)).not.toThrow();
    sum.fill(3);
    expectProtocolError(() => q.decodeInto(sum, payload(d, [1, 2, 3], [1, 4, 10]), ctx), 'MARINA_ERR_OUT_OF_RANGE');
    expectProtocolError(() => q.decodeInto(sum, payload(d, [1, 2, 3], [1, 4, 4]), ctx), 'MARINA_ERR_OUT_OF_RANGE');
    expectProtocolError(() => q.decodeInto(sum, payload(d, [1, 2, 3], [5, 4, 6]), ctx), 'MARINA_ERR_OUT_OF_RANGE');
    expectProtocolError(() => q.decodeInto(sum, payload(d, [1, Infinity, 3], [1, 4, 6]), ctx), 'MARINA_ERR_NOT_FINITE');
    const padded = payload(d, [1, 2, 3], [1, 4, 6]); // 12 index bits: 4 padding bits in the last byte
    padded[padded.length - 1]! |= 0x80;
    expectProtocolError(() => q.decodeInto(sum, padded, ctx), 'MARINA_ERR_NONZERO_PADDING');
    expect(Array.from(sum)).toEqual(new Array(d).fill(3));
  });

  it('refuses k above d', () => {
    expect(() => createTopk({ k: 11 }).bits(contextFor(10, 1))).toThrow(RangeError);
    expect(() => createTopk({ k: -1 })).toThrow(RangeError);
  });
});
