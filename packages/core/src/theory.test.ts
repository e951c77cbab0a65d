import { describe, expect, it } from 'vitest';
import { createCq } from './compressors/cq.js';
import { createIq } from './compressors/iq.js';
import { SPEC_C_FIXED_P } from './specC.testdata.js';
import { marinaCost, marinaGamma, minimiseOverP } from './theory.js';

/** MARINA's step size and decision 9's choice of p (SPEC A.4, section C). */

const rel = (got: number, want: number): number => Math.abs(got - want) / Math.abs(want);

describe('marinaGamma (SPEC A.4.2)', () => {
  const heterogeneous = { Lminus: 1.3, Lplus: 2.1, Lpm: 0.9 };
  const ps = [1e-4, 0.01, 0.3, 0.9];

  it('reduces to 1/(L_- + L_+·sqrt((1−p)ω/(pn))) for independent compressors (A = ω/n, B = 0)', () => {
    for (const p of ps) {
      for (const [omega, n] of [
        [99, 10],
        [3, 1000],
        [0, 4],
      ] as const) {
        const want = 1 / (heterogeneous.Lminus + heterogeneous.Lplus * Math.sqrt(((1 - p) * omega) / (p * n)));
        expect(rel(marinaGamma(heterogeneous, omega / n, 0, p), want)).toBeLessThan(1e-14);
      }
    }
  });

  it('reduces to 1/(L_- + L_±·sqrt((1−p)/p)) for PermK with d ≥ n (A = B = 1)', () => {
    for (const p of ps) {
      const want = 1 / (heterogeneous.Lminus + heterogeneous.Lpm * Math.sqrt((1 - p) / p));
      expect(rel(marinaGamma(heterogeneous, 1, 1, p), want)).toBeLessThan(1e-14);
    }
  });

  it('reduces to 1/(L_- + L_±·sqrt((1−p)/p·(d−1)/(n−1))) for PermK with d < n (A = B = (d−1)/(n−1))', () => {
    const [d, n] = [10, 1000];
    const AB = (d - 1) / (n - 1);
    for (const p of ps) {
      const want = 1 / (heterogeneous.Lminus + heterogeneous.Lpm * Math.sqrt(((1 - p) / p) * AB));
      expect(rel(marinaGamma(heterogeneous, AB, AB, p), want)).toBeLessThan(1e-14);
    }
  });

  it('reduces to 1/(L(1 + sqrt((1−p)/p·(A−B)))) on homogeneous data (L_- = L_+ = L, L_± = 0)', () => {
    for (const L of [1, 0.25, 7]) {
      for (const p of ps) {
        for (const [A, B] of [
          [2, 0],
          [0.0156, 0],
          [1, 1],
          [3, 0.5],
        ] as const) {
          const want = 1 / (L * (1 + Math.sqrt(((1 - p) / p) * (A - B))));
          expect(rel(marinaGamma({ Lminus: L, Lplus: L, Lpm: 0 }, A, B, p), want)).toBeLessThan(1e-14);
        }
      }
      // PermK on homogeneous data: A = B, so γ = 1/L whatever p.
      expect(marinaGamma({ Lminus: L, Lplus: L, Lpm: 0 }, 1, 1, 1e-6)).toBe(1 / L);
    }
  });

  it('is GD’s 1/L_- at p = 1 and grows with p', () => {
    expect(marinaGamma(heterogeneous, 5, 0, 1)).toBe(1 / 1.3);
    let previous = 0;
    for (const p of [1e-6, 1e-3, 0.01, 0.1, 0.5, 0.99, 1]) {
      const g = marinaGamma(heterogeneous, 5, 0.5, p);
      expect(g).toBeGreaterThan(previous);
      previous = g;
    }
  });

  it('prices a round as [p·32d + (1−p)·b_Q]/γ (decision 9)', () => {
    const [d, bQ, p] = [1000, 1032, 0.02];
    expect(rel(marinaCost(heterogeneous, 2, 0, d, bQ, p), (p * 32 * d + (1 - p) * bQ) / marinaGamma(heterogeneous, 2, 0, p))).toBeLessThan(1e-15);
  });
});

describe('minimiseOverP (decision 9)', () => {
  /** Brute force: the best of 200 001 log-spaced points over [1e-9, 1] (spacing 4.5e-5 decades), p = 1 included. */
  function gridMinimum(cost: (p: number) => number): { p: number; cost: number } {
    let best = { p: 1, cost: cost(1) };
    const K = 200_000;
    for (let k = 0; k <= K; k++) {
      const p = 10 ** (-9 + (9 * k) / K);
      const c = cost(p);
      if (c < best.cost) best = { p, cost: c };
    }
    return best;
  }

  const homogeneous = { Lminus: 1, Lplus: 1, Lpm: 0 };
  const cases: [string, (p: number) => number][] = [];
  for (const [d, n] of [
    [60, 60],
    [1000, 1000],
    [1024, 128],
    [100, 10_000],
  ] as const) {
    cases.push([`IQ d = ${d}, n = ${n}`, (p) => marinaCost(homogeneous, d / (4 * n), 0, d, 32 + d, p)]);
    cases.push([`CQ d = ${d}, n = ${n}`, (p) => marinaCost(homogeneous, d / (4 * n * n), 0, d, 32 + d, p)]);
  }
  cases.push(['heterogeneous, A = 3, B = 0.5', (p) => marinaCost({ Lminus: 1.3, Lplus: 2.1, Lpm: 0.9 }, 3, 0.5, 500, 532, p)]);

  for (const [name, cost] of cases) {
    it(`finds the minimum a fine grid finds (${name})`, () => {
      const p = minimiseOverP(cost);
      const grid = gridMinimum(cost);
      expect(p > 0 && p < 1).toBe(true);
      // At least as good as the grid, up to rounding, and at the same place (the grid point is within
      // half a spacing, 5e-5 in ln p, of the true minimiser; allow a flat bottom 20 times wider).
      expect(cost(p)).toBeLessThanOrEqual(grid.cost * (1 + 1e-12));
      expect(Math.abs(Math.log(p / grid.p))).toBeLessThan(1e-3);
    });
  }

  it('reproduces SPEC C’s optimal p with the /4 constants (d = n = 1000: p*_IQ = 0.022, p*_CQ = 0.0038, ratio 5.14)', () => {
    const d = 1000;
    const n = 1000;
    const iq = (p: number): number => marinaCost(homogeneous, d / (4 * n), 0, d, 32 + d, p);
    const cq = (p: number): number => marinaCost(homogeneous, d / (4 * n * n), 0, d, 32 + d, p);
    const pIq = minimiseOverP(iq);
    const pCq = minimiseOverP(cq);
    expect(pIq.toFixed(3)).toBe('0.022');
    expect(pCq.toFixed(4)).toBe('0.0038');
    expect((iq(pIq) / cq(pCq)).toFixed(2)).toBe('5.14');
  });

  it('returns exactly 1 when GD is optimal', () => {
    // Dense messages cost as much as compressed ones (identity compressor): γ grows with p, so p = 1.
    expect(minimiseOverP((p) => marinaCost({ Lminus: 1, Lplus: 2, Lpm: 1 }, 0.5, 0, 100, 3200, p))).toBe(1);
    // SPEC C: IQ with d = 10⁶, n = 10⁴ (A_IQ = 25 with the /4 constants) "defaults to GD"; so does
    // d = 10⁸, n = 10⁶; CQ at d = 10⁶, n = 10⁴ does not (p* = 0.0073).
    for (const [d, n] of [
      [1e6, 1e4],
      [1e8, 1e6],
    ] as const) {
      expect(minimiseOverP((p) => marinaCost(homogeneous, d / (4 * n), 0, d, 32 + d, p))).toBe(1);
    }
    expect(minimiseOverP((p) => marinaCost(homogeneous, 1e6 / (4 * 1e8), 0, 1e6, 32 + 1e6, p)).toFixed(4)).toBe('0.0073');
    // A cost that only falls as p grows.
    expect(minimiseOverP((p) => 1 / p)).toBe(1);
  });
});

describe('SPEC C: C_ind/C_cor at fixed p from marinaGamma (L = 1, L_± = 0, equal bits per message)', () => {
  // At equal p both methods send the same expected bits per round, so the cost ratio is γ_CQ/γ_IQ:
  // (1 + sqrt((1−p)/p·A_IQ))/(1 + sqrt((1−p)/p·A_CQ)).
  const L = { Lminus: 1, Lplus: 1, Lpm: 0 };
  const ratio = (d: number, n: number, p: number, convention: 'paper' | 'default'): number => {
    const iq = createIq().constants(d, n, convention);
    const cq = createCq().constants(d, n, convention);
    return marinaGamma(L, cq.A, cq.B, p) / marinaGamma(L, iq.A, iq.B, p);
  };

  it('uses A_IQ = d/(4n), A_CQ = d/(4n²) under `paper` and d/n, d/n² by default (decision 5)', () => {
    expect(createIq().constants(1000, 10, 'paper')).toMatchObject({ A: 25, B: 0, omega: 999 });
    expect(createCq().constants(1000, 10, 'paper')).toMatchObject({ A: 2.5, B: 0, omega: 999 });
    expect(createIq().constants(1000, 10, 'default')).toMatchObject({ A: 100, B: 0 });
    expect(createCq().constants(1000, 10, 'default')).toMatchObject({ A: 10, B: 0 });
  });

  for (const [d, n, p, paper, dflt] of SPEC_C_FIXED_P) {
    it(`d = ${d}, n = ${n}, p = ${p.toPrecision(3)}: ${paper} (paper constants), ${dflt} (default)`, () => {
      const decimals = paper.split('.')[1]!.length;
      expect(ratio(d, n, p, 'paper').toFixed(decimals)).toBe(paper);
      expect(ratio(d, n, p, 'default').toFixed(decimals)).toBe(dflt);
    });
  }

  it('tends to √n as p → 0 (31.6 at d = n = 1000)', () => {
    expect(ratio(1000, 1000, 1e-14, 'paper')).toBeCloseTo(Math.sqrt(1000), 3);
    expect(Math.sqrt(1000).toFixed(1)).toBe('31.6');
  });
});
