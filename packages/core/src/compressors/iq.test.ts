import { describe, expect, it } from 'vitest';
import { createIq } from './iq.js';
import { contextFor, encodeMessage, gaussian, homogeneousMse, iqExactError, rangeBit, sqNorm } from './testkit.js';

/**
 * IQ (SPEC B.3, decisions 3 and 11). Statistical checks use fixed seeds and tolerances of 5 standard errors
 * computed from the exact distribution: per coordinate Q_j = +r w.p. y_j = (a_j + r)/(2r), else −r, with
 * r = fround(‖a‖₂), independently across coordinates, clients and rounds. The wire form IQ shares with CQ
 * and per-client unbiasedness are in rangeQuantizer.test.ts.
 */

const SEED = 7;

describe('IQ randomness', () => {
  const q = createIq();

  it('is private to the rank (the MiniFL pitfall of SPEC B.3): same input and round, other rank, other bits', () => {
    const d = 256;
    const a = gaussian(d, 8);
    const p0 = encodeMessage(q, a, contextFor(d, 4, 0, 5, SEED));
    const p1 = encodeMessage(q, a, contextFor(d, 4, 1, 5, SEED));
    let same = 0;
    for (let j = 0; j < d; j++) if (rangeBit(p0, j) === rangeBit(p1, j)) same++;
    // Independent clients agree at coordinate j w.p. y_j² + (1 − y_j)² ≈ 1/2 here; identical thresholds would agree always.
    expect(same).toBeLessThan(d * 0.7);
    // Keyed by rank, not by slot.
    expect(encodeMessage(q, a, contextFor(d, 4, 3, 5, SEED, 0))).toEqual(p0);
  });
});

describe('IQ statistics', () => {
  const q = createIq();

  it('has per-client error Σ_j (a_j − l)(r − a_j) = d·r² − ‖a‖² ≈ (d − 1)‖a‖²', () => {
    // e_j² = (r − a_j)² w.p. y_j, (r + a_j)² otherwise: mean r² − a_j², variance y_j(1 − y_j)(4 r a_j)².
    const d = 128;
    const R = 2000;
    const a = gaussian(d, 31, 2);
    const a2 = sqNorm(a);
    const r = Math.fround(Math.sqrt(a2));
    let exact = 0;
    let variance = 0;
    for (let j = 0; j < d; j++) {
      const x = a[j]!;
      const y = (x + r) / (2 * r);
      exact += (x + r) * (r - x);
      variance += y * (1 - y) * (4 * r * x) ** 2;
    }
    expect(Math.abs(exact / ((d - 1) * a2) - 1)).toBeLessThan(1e-6); // r = fround(‖a‖) is within 2^-24 of ‖a‖
    let total = 0;
    for (let t = 0; t < R; t++) {
      const ctx = contextFor(d, 1, 0, t, SEED);
      const sum = new Float64Array(d);
      q.decodeInto(sum, encodeMessage(q, a, ctx), ctx);
      for (let j = 0; j < d; j++) total += (sum[j]! - a[j]!) ** 2;
    }
    expect(Math.abs(total / R - exact)).toBeLessThan(5 * Math.sqrt(variance / R));
  });

  it('averaged over n independent clients has MSE (d·r² − ‖a‖²)/n ≈ (d − 1)‖a‖²/n ≤ d‖a‖²/n', () => {
    // Per coordinate X_i = Q_ij − a_j are independent, mean 0, variance v_j = r² − a_j², fourth moment
    // m4_j = y_j(r − a_j)⁴ + (1 − y_j)(r + a_j)⁴; e_j = (1/n)Σ_i X_i has E e_j² = v_j/n and
    // Var e_j² = (m4_j + (2n − 3)v_j²)/n³. Perfectly correlated clients would give n times the error.
    const d = 256;
    const R = 300;
    const a = gaussian(d, 17);
    const a2 = sqNorm(a);
    for (const n of [2, 8, 32]) {
      const { mse: exact, variance } = iqExactError(a, n);
      const mse = homogeneousMse(createIq(), createIq(), a, n, R, 99);
      expect(Math.abs(mse - exact)).toBeLessThan(5 * Math.sqrt(variance / R));
      expect(Math.abs(exact / (((d - 1) * a2) / n) - 1)).toBeLessThan(1e-6);
      expect(exact).toBeLessThan((d * a2) / n); // the slide's bound (SPEC B.3), on the expectation
    }
  });
});
