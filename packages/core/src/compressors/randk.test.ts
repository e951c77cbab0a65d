import { describe, expect, it } from 'vitest';
import { expectProtocolError } from '@marina/protocol/testing';
import { createRandk } from './randk.js';
import { compress, contextFor, decodeMessage, encodeMessage, gaussian, maxZScore, moments, sqNorm } from './testkit.js';

describe('randk', () => {
  it('counts 32K bits, K = max(1, ⌊d/n⌋) by default, and sends exactly 4K bytes', () => {
    const q = createRandk({ k: null });
    for (const d of [1, 2, 3, 5, 7, 10, 64, 100, 1000]) {
      for (const n of [1, 2, 3, 7, 10, 64, 1000]) {
        const K = Math.max(1, Math.floor(d / n));
        const ctx = contextFor(d, n);
        expect(q.bits(ctx)).toBe(32 * K);
        expect(q.payloadBits(ctx)).toBe(32 * K);
        expect(q.expectedBits(d, n)).toBe(32 * K);
        expect(q.zeta(d, n)).toBe(K);
        expect(encodeMessage(q, gaussian(d, 1), ctx).length).toBe(4 * K);
      }
    }
    expect(createRandk({ k: 5 }).bits(contextFor(100, 3))).toBe(160);
  });

  it('decodes to (d/K)·float32(a_j) on exactly K coordinates drawn from the rank, not sent', () => {
    const d = 50;
    const K = 7;
    const a = gaussian(d, 2);
    const supports = new Set<string>();
    for (const rank of [0, 1, 2, 3]) {
      const ctx = contextFor(d, 4, rank, 3);
      const y = compress(createRandk({ k: K }), createRandk({ k: K }), a, ctx);
      const support: number[] = [];
      for (let j = 0; j < d; j++) {
        if (y[j] !== 0) {
          support.push(j);
          expect(y[j]).toBe((d / K) * Math.fround(a[j]!));
        }
      }
      expect(support).toHaveLength(K);
      supports.add(support.join(','));
    }
    expect(supports.size).toBe(4); // independent across ranks (decision 18)
  });

  it('is unbiased with MSE exactly (d/K − 1)‖a‖² (SPEC B.1)', () => {
    const d = 40;
    const K = 4;
    const a = gaussian(d, 3);
    const q = createRandk({ k: K });
    const server = createRandk({ k: K });
    const m = moments(a, 6000, (round) => compress(q, server, a, contextFor(d, 10, 0, round)));
    // Unbiased: every coordinate's mean within 5 standard errors (plus float32 rounding of the values).
    expect(maxZScore(m, a, 1e-6)).toBeLessThan(5);
    // E‖Q(a) − a‖² = (d/K − 1)‖a‖² holds with equality for RandK; two-sided, 5 standard errors.
    const formula = (d / K - 1) * sqNorm(a);
    expect(Math.abs(m.mse - formula)).toBeLessThan(5 * m.mseStdErr + 1e-5 * formula);
  });

  it('reports ω = d/K − 1 and (A, B) = (ω/n, 0)', () => {
    const c = createRandk({ k: 10 }).constants(100, 5, 'default');
    expect(c.omega).toBe(9);
    expect(c.A).toBeCloseTo(9 / 5, 15);
    expect(c.B).toBe(0);
  });

  it('rejects a non-finite value without touching the sum', () => {
    const ctx = contextFor(20, 2);
    const q = createRandk({ k: 3 });
    const payload = encodeMessage(q, gaussian(20, 4), ctx);
    new DataView(payload.buffer).setFloat32(4, NaN, true);
    const sum = new Float64Array(20).fill(7);
    expectProtocolError(() => q.decodeInto(sum, payload, ctx), 'MARINA_ERR_NOT_FINITE');
    expect(Array.from(sum)).toEqual(new Array(20).fill(7));
  });

  it('refuses k above d and non-positive k', () => {
    expect(() => createRandk({ k: 0 })).toThrow(RangeError);
    expect(() => createRandk({ k: 2.5 })).toThrow(RangeError);
    expect(() => createRandk({ k: 11 }).bits(contextFor(10, 1))).toThrow(/exceeds the dimension d = 10/);
  });

  it('keeps K = d exact: every coordinate once, scale 1', () => {
    const a = gaussian(9, 5);
    const ctx = contextFor(9, 1);
    const y = decodeMessage(createRandk({ k: 9 }), encodeMessage(createRandk({ k: 9 }), a, ctx), ctx);
    expect(Array.from(y)).toEqual(Array.from(a, Math.fround));
  });
});
