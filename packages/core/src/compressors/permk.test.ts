import { describe, expect, it } from 'vitest';
import { createPermk, permkConstant } from './permk.js';
import type { Compressor } from './types.js';
import { compress, contextFor, encodeMessage, gaussian, maxZScore, moments, serverMean, sqNorm } from './testkit.js';

/** Each slot's decoded Q_slot(a_slot), client and server being separate instances. */
function perSlot(d: number, n: number, round: number, inputs: Float64Array[], server: Compressor = createPermk()): Float64Array[] {
  const client = createPermk();
  return inputs.map((a, slot) => compress(client, server, a, contextFor(d, n, slot, round)));
}

const SIZES: [number, number][] = [
  [1, 1], [5, 1], [6, 3], [7, 3], [10, 4], [13, 5], [64, 8], [100, 7], [1000, 10], [1000, 999],
  [1, 2], [2, 5], [3, 5], [4, 8], [5, 12], [7, 100], [10, 1000],
];

describe('permk', () => {
  it('counts 32 bits per value actually sent: ⌊d/n⌋ or ⌈d/n⌉ per slot for d ≥ n, 1 for d < n (decision 13)', () => {
    const q = createPermk();
    for (const [d, n] of SIZES) {
      const a = gaussian(d, 1);
      for (const round of [1, 2, 3]) {
        let total = 0;
        let large = 0;
        for (let slot = 0; slot < n; slot++) {
          const ctx = contextFor(d, n, slot, round);
          const bits = q.bits(ctx);
          expect(q.payloadBits(ctx)).toBe(bits);
          expect(encodeMessage(q, a, ctx).length).toBe(bits / 8);
          if (d >= n) {
            expect([32 * Math.floor(d / n), 32 * Math.ceil(d / n)]).toContain(bits);
            if (bits === 32 * Math.ceil(d / n) && d % n !== 0) large++;
          } else {
            expect(bits).toBe(32);
          }
          total += bits;
        }
        if (d >= n) {
          expect(total).toBe(32 * d); // every coordinate sent once
          expect(large).toBe(d % n);
        }
        expect(total / n).toBeCloseTo(q.expectedBits(d, n), 9);
      }
    }
  });

  it('d ≥ n: the blocks partition the coordinates; each is sent once, scaled by n', () => {
    for (const [d, n] of SIZES.filter(([d, n]) => d >= n)) {
      const a = Float64Array.from({ length: d }, (_, j) => j + 1);
      const ys = perSlot(d, n, 4, new Array(n).fill(a));
      for (let j = 0; j < d; j++) {
        const owners = ys.filter((y) => y[j] !== 0);
        expect(owners).toHaveLength(1);
        expect(owners[0]![j]).toBe(n * (j + 1));
      }
    }
  });

  it('d < n: every coordinate is covered ⌊n/d⌋ or ⌈n/d⌉ times, n mod d of them ⌈n/d⌉ times, scaled by n/c_j', () => {
    for (const [d, n] of SIZES.filter(([d, n]) => d < n)) {
      const a = Float64Array.from({ length: d }, (_, j) => j + 1);
      const ys = perSlot(d, n, 5, new Array(n).fill(a));
      const cover = new Array(d).fill(0);
      for (const y of ys) {
        const nz = [...y.keys()].filter((j) => y[j] !== 0);
        expect(nz).toHaveLength(1);
        cover[nz[0]!]++;
      }
      const q = Math.floor(n / d);
      expect(cover.every((c) => c === q || c === q + 1)).toBe(true);
      expect(cover.filter((c) => c === q + 1).length).toBe(n % d === 0 ? 0 : n % d);
      for (const y of ys) for (let j = 0; j < d; j++) if (y[j] !== 0) expect(y[j]).toBeCloseTo((n / cover[j]) * (j + 1), 12);
    }
  });

  it('reconstructs identical inputs exactly: (1/n)ΣQ_i(a) = a (homogeneous data, L_± = 0)', () => {
    for (const [d, n] of SIZES) {
      const a = Float64Array.from(gaussian(d, 2), Math.fround);
      const mean = serverMean(createPermk(), createPermk(), new Array(n).fill(a), 6);
      for (let j = 0; j < d; j++) expect(mean[j]).toBeCloseTo(a[j]!, 12);
    }
  });

  it('draws a fresh arrangement every round from the shared seed only', () => {
    const d = 40;
    const n = 4;
    const a = Float64Array.from({ length: d }, (_, j) => j + 1);
    const support = (round: number, seed: number): string => {
      const ctx = contextFor(d, n, 0, round, seed);
      const y = compress(createPermk(), createPermk(), a, ctx);
      return [...y.keys()].filter((j) => y[j] !== 0).join(',');
    };
    expect(support(1, 1)).not.toBe(support(2, 1));
    expect(support(1, 1)).not.toBe(support(1, 2));
    // The rank does not enter: the arrangement is shared by all senders of the round.
    const c1 = contextFor(d, n, 0, 1, 1, 0);
    const c2 = contextFor(d, n, 0, 1, 1, 3);
    expect(Array.from(encodeMessage(createPermk(), a, c1))).toEqual(Array.from(encodeMessage(createPermk(), a, c2)));
  });

  // The AB inequality of SPEC A.3 holds with equality for PermK:
  // E‖(1/n)ΣQ_i(a_i) − ā‖² = A·(1/n)Σ‖a_i‖² − B·‖ā‖², A = B = 1 (d ≥ n) or F (d < n).
  for (const [d, n] of [[20, 6], [12, 4], [3, 5], [4, 8], [5, 12]] as [number, number][]) {
    it(`satisfies the (A, B) relation with equality in expectation, d = ${d}, n = ${n}`, () => {
      const inputs = Array.from({ length: n }, (_, i) => {
        const a = gaussian(d, 10 + i);
        for (let j = 0; j < d; j++) a[j] = Math.fround(a[j]! + 0.5 * j);
        return a;
      });
      const abar = new Float64Array(d);
      for (const a of inputs) for (let j = 0; j < d; j++) abar[j]! += a[j]! / n;
      const { A, B } = createPermk().constants(d, n, 'default');
      const predicted = A * inputs.reduce((s, a) => s + sqNorm(a), 0) / n - B * sqNorm(abar);
      const m = moments(abar, 4000, (round) => serverMean(createPermk(), createPermk(), inputs, round));
      expect(maxZScore(m, abar, 1e-9)).toBeLessThan(5);
      expect(Math.abs(m.mse - predicted)).toBeLessThan(5 * m.mseStdErr);
      if (d >= n) expect([A, B]).toEqual([1, 1]);
    });
  }

  it("one client's Q is unbiased with ω = n − 1 (d ≥ n) or d − 1 (d < n, d | n)", () => {
    for (const [d, n, omega] of [[14, 4, 3], [4, 8, 3], [3, 5, permkConstant(3, 5) * 4]] as [number, number, number][]) {
      const a = Float64Array.from(gaussian(d, 20), Math.fround);
      const client = createPermk();
      const server = createPermk();
      const m = moments(a, 5000, (round) => compress(client, server, a, contextFor(d, n, 1, round)));
      expect(maxZScore(m, a, 1e-9)).toBeLessThan(5);
      // E‖Q_i(a) − a‖² = ω‖a‖² exactly (ownership probability 1/n, scale n).
      expect(Math.abs(m.mse - omega * sqNorm(a))).toBeLessThan(5 * m.mseStdErr);
      expect(createPermk().constants(d, n, 'default').omega).toBeCloseTo(omega, 12);
    }
  });

  it('reports (d − 1)/(n − 1) when d divides n and the exact, larger F otherwise', () => {
    expect(createPermk().constants(4, 8, 'default').A).toBeCloseTo(3 / 7, 15);
    expect(createPermk().constants(100, 1000, 'default').A).toBeCloseTo(99 / 999, 15);
    // d = 3, n = 5: c ∈ {1, 2}, E[1/c] = (2/3)(1/2) + (1/3)(1) = 2/3, F = (5·2/3 − 1)/4 = 7/12 > 2/4.
    expect(permkConstant(3, 5)).toBeCloseTo(7 / 12, 15);
    expect(createPermk().zeta(1000, 10)).toBe(100);
    expect(createPermk().zeta(3, 5)).toBe(1);
  });
});
