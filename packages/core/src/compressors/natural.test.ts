import { describe, expect, it } from 'vitest';
import { BitWriter } from '@marina/protocol';
import { protocolErrorCode } from '@marina/protocol/testing';
import { CounterRng } from '../rng.js';
import { createNatural } from './natural.js';
import { compress, contextFor, decodeMessage, encodeMessage, maxZScore, moments, sqNorm } from './testkit.js';

/** 2^e ≤ |x| < 2^{e+1}. */
function exponent(x: number): number {
  const m = Math.abs(x);
  let e = Math.floor(Math.log2(m));
  if (2 ** e > m) e--;
  if (2 ** (e + 1) <= m) e++;
  return e;
}

/** Exact per-coordinate variance of the rounding between 2^e and 2^{e+1}: (m − 2^e)(2^{e+1} − m). */
function variances(a: Float64Array): Float64Array {
  return Float64Array.from(a, (x) => {
    if (x === 0) return 0;
    const m = Math.abs(x);
    const lo = m < 2 ** -126 ? 0 : 2 ** exponent(m);
    const hi = m < 2 ** -126 ? 2 ** -126 : 2 * lo;
    return (m - lo) * (hi - m);
  });
}

/** A payload of 9-bit fields (sign | code << 1). */
function fields(values: number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((9 * values.length) / 8));
  const w = new BitWriter(out);
  for (const f of values) w.write(f, 9);
  w.finish();
  return out;
}

describe('natural', () => {
  it('counts and sends 9 bits per coordinate (sign + 8 exponent bits)', () => {
    const q = createNatural();
    for (const d of [1, 2, 7, 8, 9, 15, 16, 100, 1001]) {
      const ctx = contextFor(d, 4);
      expect(q.bits(ctx)).toBe(9 * d);
      expect(q.payloadBits(ctx)).toBe(9 * d);
      expect(q.expectedBits(d, 4)).toBe(9 * d);
      expect(encodeMessage(q, new Float64Array(d).fill(-3.3), ctx).length).toBe(Math.ceil((9 * d) / 8));
    }
  });

  it('sends powers of two and zero exactly (the deterministic round trip)', () => {
    const a = Float64Array.from([1, -1, 0.5, 2 ** -126, -(2 ** 127), 1024, 0, -0]);
    const q = createNatural();
    for (const round of [1, 2, 3]) expect(Array.from(compress(q, q, a, contextFor(8, 1, 0, round)))).toEqual(Array.from(a, (x) => x + 0));
  });

  it('rounds each coordinate to one of the two powers of two around it, keeping its sign', () => {
    const rng = new CounterRng(2, 0, 0, 'test-vector');
    const a = Float64Array.from({ length: 200 }, () => rng.normal() * 10 ** (rng.int(20) - 10));
    const q = createNatural();
    for (const round of [1, 2]) {
      const y = compress(q, q, a, contextFor(200, 1, 0, round));
      for (let j = 0; j < 200; j++) {
        const e = exponent(a[j]!);
        expect([2 ** e, 2 ** (e + 1)]).toContain(Math.abs(y[j]!));
        expect(Math.sign(y[j]!)).toBe(Math.sign(a[j]!));
      }
    }
  });

  // Unbiased (every coordinate within 5 standard errors of a_j), Monte-Carlo MSE within 5 standard errors
  // of the exact Σ(m − 2^e)(2^{e+1} − m), which is ≤ ‖a‖²/8 (ω = 1/8, with equality at m = (4/3)·2^e).
  for (const [label, a] of [
    ['mixed vector', Float64Array.from({ length: 40 }, (_, j) => Math.sin(1 + j) * 3 ** (j % 5))],
    ['worst case (4/3)·2^e', Float64Array.from({ length: 40 }, (_, j) => ((j % 2 ? -4 : 4) / 3) * 2 ** (j - 20))],
  ] as [string, Float64Array][]) {
    it(`is unbiased with MSE ≤ ‖a‖²/8, ${label}`, () => {
      const q = createNatural();
      const m = moments(a, 4000, (round) => compress(q, createNatural(), a, contextFor(40, 2, 1, round)));
      const perCoordinate = variances(a);
      const exact = perCoordinate.reduce((x, y) => x + y, 0);
      expect(maxZScore(m, a, 0, perCoordinate)).toBeLessThan(5);
      expect(Math.abs(m.mse - exact)).toBeLessThan(5 * m.mseStdErr);
      const bound = q.constants(40, 2, 'default').omega * sqNorm(a);
      expect(exact).toBeLessThanOrEqual(bound * (1 + 1e-12));
      if (label.startsWith('worst')) expect(exact / bound).toBeCloseTo(1, 12);
    });
  }

  it('rounds magnitudes below 2^−126 between 0 and 2^−126, unbiased', () => {
    const a = Float64Array.from([2 ** -127, -3e-39, 1e-45]);
    const q = createNatural();
    const scaled = Float64Array.from(a, (x) => x * 2 ** 126);
    const m = moments(scaled, 4000, (round) => Float64Array.from(compress(q, q, a, contextFor(3, 1, 0, round)), (v) => v * 2 ** 126));
    expect(maxZScore(m, scaled, 0, Float64Array.from(scaled, (u) => Math.abs(u) * (1 - Math.abs(u))))).toBeLessThan(5);
  });

  it('sends a magnitude beyond float32 (or NaN) as exponent code 255, which the server refuses as not finite', () => {
    const q = createNatural();
    for (const x of [2 ** 128, -Infinity, NaN]) {
      const ctx = contextFor(2, 1);
      const p = encodeMessage(q, Float64Array.from([1, x]), ctx);
      expect(protocolErrorCode(() => decodeMessage(q, p, ctx))).toBe('MARINA_ERR_NOT_FINITE');
    }
  });

  it('refuses code 255, a negative zero and nonzero padding, before touching the sum', () => {
    const q = createNatural();
    const ctx = contextFor(3, 1);
    const sum = new Float64Array(3).fill(2);
    expect(protocolErrorCode(() => q.decodeInto(sum, fields([127 << 1, (128 << 1) | 1, 0]), ctx))).toBeUndefined();
    expect(Array.from(sum)).toEqual([3, 0, 2]);
    sum.fill(2);
    expect(protocolErrorCode(() => q.decodeInto(sum, fields([127 << 1, 255 << 1, 0]), ctx))).toBe('MARINA_ERR_NOT_FINITE');
    expect(protocolErrorCode(() => q.decodeInto(sum, fields([127 << 1, 1, 0]), ctx))).toBe('MARINA_ERR_OUT_OF_RANGE');
    const padded = fields([127 << 1, 0, 0]); // 27 bits: 5 padding bits
    padded[3]! |= 0x40;
    expect(protocolErrorCode(() => q.decodeInto(sum, padded, ctx))).toBe('MARINA_ERR_NONZERO_PADDING');
    expect(Array.from(sum)).toEqual([2, 2, 2]);
  });

  it('reports ω = 1/8 and (A, B) = (ω/n, 0)', () => {
    expect(createNatural().constants(100, 4, 'default')).toMatchObject({ omega: 0.125, A: 0.03125, B: 0 });
  });
});
