import { describe, expect, it } from 'vitest';
import { pNorm } from './dithering.js';
import { createQsgd, qsgdOmega } from './qsgd.js';
import { compress, contextFor, gaussian, maxZScore, moments, roundingVariances, sqNorm } from './testkit.js';

const standardLevels = (s: number): number[] => Array.from({ length: s + 1 }, (_, l) => l / s);

/** One coordinate 1, the rest 1/(2s): every small coordinate has the largest rounding variance 1/(4s²). */
function halfStep(d: number, s: number): Float64Array {
  const a = new Float64Array(d).fill(1 / (2 * s));
  a[0] = 1;
  return a;
}

describe('qsgd', () => {
  it('sends values on a level exactly (the deterministic round trip)', () => {
    const a = Float64Array.from([1, -0.75, 0.5, 0, -0.25]);
    const q = createQsgd({ levels: 4, norm: Infinity });
    for (const round of [1, 2]) expect(Array.from(compress(q, q, a, contextFor(5, 1, 0, round)))).toEqual(Array.from(a, (x) => x + 0));
  });

  // For each (p, s, a): unbiased (5 standard errors per coordinate), Monte-Carlo MSE equal to the exact
  // rounding variance Σ r²(u − l/s)((l+1)/s − u) within 5 standard errors, and that variance ≤ ω‖a‖² with
  // ω of decision 19 (p = 2: min(d/s², √d/s); p = ∞: d/(4s²)) or qsgd.ts's derived bound (other p).
  for (const [p, s, a] of [
    [2, 4, gaussian(48, 1)],
    [2, 1, gaussian(48, 2)],
    [2, 4, new Float64Array(48).fill(1)],
    [Infinity, 4, gaussian(48, 3)],
    [Infinity, 2, halfStep(48, 2)],
    [1, 4, gaussian(48, 4)],
    [1, 1, halfStep(48, 1)],
    [3, 16, gaussian(48, 5)],
    [1.5, 2, new Float64Array(48).fill(-2)],
  ] as [number, number, Float64Array][]) {
    it(`is unbiased with MSE ≤ ω‖a‖², p = ${p}, s = ${s}`, () => {
      const d = a.length;
      const q = createQsgd({ levels: s, norm: p });
      const m = moments(a, 3000, (round) => compress(q, createQsgd({ levels: s, norm: p }), a, contextFor(d, 2, 0, round)));
      const r = Math.fround(pNorm(a, d, p));
      const perCoordinate = roundingVariances(a, r, standardLevels(s));
      const exact = perCoordinate.reduce((x, y) => x + y, 0);
      expect(maxZScore(m, a, 1e-6 * r, perCoordinate)).toBeLessThan(5);
      expect(Math.abs(m.mse - exact)).toBeLessThan(5 * m.mseStdErr + 1e-9);
      expect(exact).toBeLessThanOrEqual(q.constants(d, 2, 'default').omega * sqNorm(a));
    });
  }

  it('reports decision 19 for p = 2 and ∞, the derived bound otherwise', () => {
    expect(qsgdOmega(1024, 4, 2).omega).toBe(8); // min(64, 8)
    expect(qsgdOmega(64, 16, 2).omega).toBe(0.25); // min(0.25, 0.5)
    expect(qsgdOmega(1024, 4, Infinity).omega).toBe(16); // d/(4s²)
    expect(qsgdOmega(64, 4, 1).omega).toBe(16); // min(64²/64, 64/4)
    expect(qsgdOmega(64, 4, 3).omega).toBe(1); // r = 2: min(64/64, 8/4)
    const c = createQsgd({ levels: 4, norm: 2 }).constants(1024, 16, 'default');
    expect(c).toMatchObject({ omega: 8, A: 0.5, B: 0 });
  });
});
