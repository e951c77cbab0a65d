import { describe, expect, it } from 'vitest';
import { createTernary } from './ternary.js';
import { compress, contextFor, encodeMessage, gaussian, maxZScore, moments, roundingVariances, sqNorm } from './testkit.js';

/** The maximiser of ‖a‖_∞‖a‖₁/‖a‖₂²: one coordinate 1, the others 1/(1 + √d); there ω(a) = (√d − 1)/2. */
function extremal(d: number): Float64Array {
  const a = new Float64Array(d).fill(1 / (1 + Math.sqrt(d)));
  a[0] = 1;
  return a;
}

describe('ternary', () => {
  it('sends ‖a‖_∞·sign(a_j)·b_j, b_j ∈ {0, 1}', () => {
    const a = gaussian(30, 1);
    const r = Math.fround(Math.max(...a.map(Math.abs)));
    const q = createTernary();
    for (const round of [1, 2, 3]) {
      const y = compress(q, q, a, contextFor(30, 1, 0, round));
      for (let j = 0; j < 30; j++) expect([0, Math.sign(a[j]!) * r]).toContain(y[j]);
    }
  });

  it('packs 20 trits per 32-bit word: d = 20 takes one word, d = 21 two', () => {
    const q = createTernary();
    expect(encodeMessage(q, new Float64Array(20).fill(1), contextFor(20, 1)).length).toBe(8);
    expect(encodeMessage(q, new Float64Array(21).fill(1), contextFor(21, 1)).length).toBe(12);
    expect(q.bits(contextFor(20, 1))).toBeCloseTo(31 + 20 * Math.log2(3), 12);
  });

  // E‖Q(a) − a‖² = ‖a‖_∞‖a‖₁ − ‖a‖₂² ≤ (√d − 1)/2·‖a‖₂² (decision 16), with equality at `extremal`:
  // unbiased within 5 standard errors per coordinate, Monte-Carlo MSE within 5 standard errors of it.
  for (const [label, a] of [
    ['extremal vector', extremal(64)],
    ['gaussian vector', Float64Array.from({ length: 64 }, (_, j) => Math.sin(j * 1.7) * (1 + j / 10))],
  ] as [string, Float64Array][]) {
    it(`is unbiased with MSE ≤ (√d − 1)/2·‖a‖², ${label}`, () => {
      const d = a.length;
      const q = createTernary();
      const m = moments(a, 3000, (round) => compress(q, createTernary(), a, contextFor(d, 3, 2, round)));
      const r = Math.fround(Math.max(...a.map(Math.abs)));
      const perCoordinate = roundingVariances(a, r, [0, 1]);
      const exact = perCoordinate.reduce((x, y) => x + y, 0);
      const bound = q.constants(d, 3, 'default').omega * sqNorm(a);
      expect(q.constants(d, 3, 'default').omega).toBe(3.5);
      expect(maxZScore(m, a, 1e-6 * r, perCoordinate)).toBeLessThan(5);
      expect(Math.abs(m.mse - exact)).toBeLessThan(5 * m.mseStdErr + 1e-9);
      expect(exact).toBeLessThanOrEqual(bound * (1 + 1e-6));
      if (label === 'extremal vector') expect(exact / bound).toBeGreaterThan(1 - 1e-6);
    });
  }
});
