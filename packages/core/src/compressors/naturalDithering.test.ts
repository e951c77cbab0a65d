import { describe, expect, it } from 'vitest';
import { CounterRng } from '../rng.js';
import { pNorm } from './dithering.js';
import { createNaturalDithering } from './naturalDithering.js';
import { compress, contextFor, maxZScore, moments, roundingVariances, sqNorm } from './testkit.js';

const naturalLevels = (s: number): number[] => [0, ...Array.from({ length: s }, (_, l) => 2 ** (l + 1 - s))];

/** A test vector mixing scales, so every branch of the rounding (below 2^{1−s}, between levels, u = 1) is hit. */
function mixed(d: number, seed: number): Float64Array {
  const rng = new CounterRng(seed, 0, 0, 'test-vector');
  return Float64Array.from({ length: d }, (_, j) => rng.normal() * 10 ** -(j % 4));
}

describe('natural-dithering', () => {
  it('sends values on a level exactly (the deterministic round trip)', () => {
    const a = Float64Array.from([1, -0.5, 0.25, 0, -0.125, 0.125]);
    const q = createNaturalDithering({ levels: 4, norm: Infinity });
    for (const round of [1, 2, 3]) {
      const y = compress(q, createNaturalDithering({ levels: 4, norm: Infinity }), a, contextFor(6, 1, 0, round));
      expect(Array.from(y)).toEqual(Array.from(a, (x) => x + 0));
    }
  });

  it('rounds each coordinate to one of the two adjacent levels of |a_j|/‖a‖_p, keeping its sign', () => {
    const s = 3;
    const levels = naturalLevels(s);
    const a = mixed(50, 1);
    const r = Math.fround(pNorm(a, 50, 2));
    const q = createNaturalDithering({ levels: s, norm: 2 });
    for (const round of [1, 2, 3, 4]) {
      const y = compress(q, q, a, contextFor(50, 1, 0, round));
      for (let j = 0; j < 50; j++) {
        const u = Math.abs(a[j]!) / r;
        const hi = levels.find((l) => l >= u)!;
        const lo = [...levels].reverse().find((l) => l <= u)!;
        const got = Math.abs(y[j]!) / r;
        expect(got === lo || got === hi).toBe(true);
        if (y[j] !== 0) expect(Math.sign(y[j]!)).toBe(Math.sign(a[j]!));
      }
    }
  });

  // For each (p, s): unbiased (every coordinate within 5 standard errors), the Monte-Carlo MSE equals the
  // exact rounding variance Σ r²(u − lo)(hi − u) within 5 standard errors, and that variance is at most
  // SPEC B.6's ω·‖a‖², ω = 1/8 + d^{1/r}/2^{s−1}·min(1, d^{1/r}/2^{s−1}), r = min(p, 2).
  const flat = new Float64Array(32).fill(1); // u_j = d^{−1/p}: the worst case of the second term
  for (const [p, s, a] of [
    [2, 4, mixed(32, 2)],
    [2, 4, flat],
    [Infinity, 4, mixed(32, 3)],
    [1, 2, mixed(32, 4)],
    [3, 3, mixed(32, 5)],
    [2, 1, mixed(32, 6)],
    [2, 8, mixed(32, 7)],
  ] as [number, number, Float64Array][]) {
    it(`is unbiased with MSE ≤ ω‖a‖², p = ${p}, s = ${s}${a === flat ? ', flat vector' : ''}`, () => {
      const d = a.length;
      const q = createNaturalDithering({ levels: s, norm: p });
      const server = createNaturalDithering({ levels: s, norm: p });
      const m = moments(a, 3000, (round) => compress(q, server, a, contextFor(d, 4, 1, round)));
      const r = Math.fround(pNorm(a, d, p));
      const perCoordinate = roundingVariances(a, r, naturalLevels(s));
      const exact = perCoordinate.reduce((x, y) => x + y, 0);
      const bound = q.constants(d, 4, 'default').omega * sqNorm(a);
      expect(maxZScore(m, a, 1e-6 * r, perCoordinate)).toBeLessThan(5);
      expect(Math.abs(m.mse - exact)).toBeLessThan(5 * m.mseStdErr + 1e-9);
      expect(exact).toBeLessThanOrEqual(bound);
    });
  }

  it('reports ω of SPEC B.6 and (A, B) = (ω/n, 0)', () => {
    expect(createNaturalDithering({ levels: 4, norm: 2 }).constants(64, 8, 'default')).toMatchObject({ omega: 1.125, A: 1.125 / 8, B: 0 });
    // p = ∞ uses r = 2: d = 1024, s = 4: t = 32/8 = 4, ω = 1/8 + 4.
    expect(createNaturalDithering({ levels: 4, norm: Infinity }).constants(1024, 1, 'default').omega).toBe(4.125);
    // p = 1: t = d/2^{s−1} = 64/8 = 8.
    expect(createNaturalDithering({ levels: 4, norm: 1 }).constants(64, 1, 'default').omega).toBe(8.125);
  });

  it('handles levels far below double range (s = 1100) without overflow', () => {
    const a = Float64Array.from([1, 1e-300, -1e-310, 3e-200, -7e-5]);
    const q = createNaturalDithering({ levels: 1100, norm: Infinity });
    // Every output is r·(±2^e or ±2^{e+1}) around a_j, r = 1; unbiasedness is checked on y_j/a_j (target 1)
    // because squares of 1e-300 underflow.
    const ones = new Float64Array(5).fill(1);
    const m = moments(ones, 2000, (round) => {
      const y = compress(q, q, a, contextFor(5, 1, 0, round));
      return Float64Array.from(y, (v, j) => {
        const x = Math.abs(a[j]!);
        let e = Math.floor(Math.log2(x));
        if (2 ** e > x) e--;
        if (2 ** (e + 1) <= x) e++;
        expect([2 ** e, 2 ** (e + 1)]).toContain(Math.abs(v));
        expect(Math.sign(v)).toBe(Math.sign(a[j]!));
        return v / a[j]!;
      });
    });
    expect(maxZScore(m, ones, 1e-6)).toBeLessThan(5);
  });
});
