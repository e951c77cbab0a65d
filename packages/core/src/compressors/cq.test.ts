import { describe, expect, it } from 'vitest';
import { cqSlots, createCq } from './cq.js';
import { createIq } from './iq.js';
import { contextFor, encodeMessage, gaussian, homogeneousMse, iqExactError, rangeBit, sqNorm } from './testkit.js';

/**
 * CQ (SPEC B.4, decisions 3, 4, 11). Statistical checks use fixed seeds and tolerances of 5 standard errors
 * computed from the exact distributions derived in each test's comment. The wire form CQ shares with IQ
 * (bits, ±r, zero vectors, malformed payloads) and per-client unbiasedness are in rangeQuantizer.test.ts.
 */

const SEED = 7;

/**
 * Exact homogeneous CQ error (SPEC B.4): with y_j = (a_j + r)/(2r) the n slots ⌊n y_j⌋ below the threshold
 * always send r, the slot ⌊n y_j⌋ itself sends r iff its private jitter is below f_j = frac(n y_j), the rest
 * send −r. So e_j = (2r/n)(B_j − f_j), B_j ~ Bernoulli(f_j) independent across j (each depends only on one
 * private jitter): E‖e‖² = (4r²/n²) Σ f_j(1 − f_j), and Var‖e‖² = (2r/n)⁴ Σ f_j(1 − f_j)(1 − 2f_j)²
 * (for a Bernoulli(f) B, Var (B − f)² = f(1 − f)(1 − 2f)²).
 */
function cqExact(a: Float64Array, n: number): { mse: number; variance: number; sumF: number } {
  const r = Math.fround(Math.sqrt(sqNorm(a)));
  let s = 0;
  let v = 0;
  for (let j = 0; j < a.length; j++) {
    const y = (a[j]! + r) * (1 / (2 * r));
    const f = n * y - Math.floor(n * y);
    s += f * (1 - f);
    v += f * (1 - f) * (1 - 2 * f) ** 2;
  }
  return { mse: ((4 * r * r) / (n * n)) * s, variance: ((2 * r) / n) ** 4 * v, sumF: s };
}

describe('CQ shared randomness (decision 4)', () => {
  it('gives the n clients of a round a permutation of the slots 0..n−1 at every coordinate', () => {
    for (const [n, d, seed, round] of [
      [1, 10, 1, 0],
      [2, 100, 2, 5],
      [7, 300, 3, 17],
      [128, 64, 0xffffffff, 123456],
      [1000, 8, 9, 1],
    ] as const) {
      const rows = Array.from({ length: n }, (_, i) => {
        const out = new Int32Array(d);
        cqSlots(seed, round, n, i, out);
        return out;
      });
      for (let j = 0; j < d; j++) {
        const seen = new Uint8Array(n);
        for (let i = 0; i < n; i++) seen[rows[i]![j]!]!++;
        expect(seen.every((c) => c === 1)).toBe(true);
      }
    }
  });

  it('gives each client uniformly distributed slots (so every threshold is marginally U[0, 1))', () => {
    // Client 2 of n = 7 over d = 7000 coordinates: chi-square with df = 6 below χ²_{0.999}(6) = 22.46.
    const n = 7;
    const d = 7000;
    const out = new Int32Array(d);
    cqSlots(11, 4, n, 2, out);
    const counts = new Float64Array(n);
    for (const s of out) counts[s]!++;
    const chi2 = counts.reduce((x, c) => x + (c - d / n) ** 2 / (d / n), 0);
    expect(chi2).toBeLessThan(22.46);
  });

  it('depends on (seed, round, slot) only', () => {
    const d = 50;
    const a = new Int32Array(d);
    const b = new Int32Array(d);
    cqSlots(1, 2, 8, 3, a);
    cqSlots(1, 3, 16, 3, b); // another round and n in between: the cached shared part is rebuilt, the same
    cqSlots(1, 2, 8, 3, b, d);
    expect(b).toEqual(a);
    cqSlots(1, 3, 8, 3, b);
    expect(b).not.toEqual(a);
    cqSlots(2, 2, 8, 3, b);
    expect(b).not.toEqual(a);
  });

  it('is what the encoder uses: away from the jittered slot, bit_j = [slot_j < ⌊n·y_j⌋] whatever the rank', () => {
    // U_j = (slot_j + γ_j)/n with γ_j ∈ [0, 1): if slot_j < ⌊n y_j⌋ then U_j < y_j, if slot_j > ⌊n y_j⌋ then
    // U_j > y_j; only slot_j = ⌊n y_j⌋ consults the private jitter (keyed by rank).
    const q = createCq();
    const d = 400;
    const n = 8;
    const slot = 3;
    const a = gaussian(d, 9);
    const r = Math.fround(Math.sqrt(sqNorm(a)));
    const slots = new Int32Array(d);
    cqSlots(1, 2, n, slot, slots);
    let decided = 0;
    for (const rank of [3, 40, 1000]) {
      const p = encodeMessage(q, a, contextFor(d, n, slot, 2, 1, rank));
      for (let j = 0; j < d; j++) {
        const k = Math.floor(n * ((a[j]! + r) * (1 / (2 * r))));
        if (slots[j] === k) continue;
        expect(rangeBit(p, j)).toBe(slots[j]! < k ? 1 : 0);
        decided++;
      }
    }
    expect(decided).toBeGreaterThan(3 * d * 0.8);
  });

  it('lets the bits of n clients with the same input sum to ⌊n·y_j⌋ or ⌊n·y_j⌋ + 1 at every coordinate', () => {
    const q = createCq();
    for (const [n, d] of [
      [2, 64],
      [8, 100],
      [32, 256],
      [100, 40],
    ] as const) {
      const a = gaussian(d, n);
      const r = Math.fround(Math.sqrt(sqNorm(a)));
      const counts = new Int32Array(d);
      for (let i = 0; i < n; i++) {
        const p = encodeMessage(q, a, contextFor(d, n, i, 6, SEED));
        for (let j = 0; j < d; j++) counts[j]! += rangeBit(p, j);
      }
      for (let j = 0; j < d; j++) {
        const ny = n * ((a[j]! + r) * (1 / (2 * r)));
        expect(counts[j]! - Math.floor(ny)).toBeGreaterThanOrEqual(0);
        expect(counts[j]! - Math.floor(ny)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('CQ statistics', () => {
  const q = createCq();

  it('is unbiased for heterogeneous inputs: E (1/n)Σ Q_i(a_i) = ā', () => {
    // Standard error bound without assuming independence: Var(Σ_i X_i) ≤ n Σ_i Var X_i (Cauchy–Schwarz),
    // Var X_i = r_i² − a_ij²; so SE ≤ sqrt(n Σ_i (r_i² − a_ij²))/(n sqrt(R)).
    const d = 24;
    const n = 5;
    const R = 4000;
    const inputs = Array.from({ length: n }, (_, i) => gaussian(d, 100 + i, 1 + i));
    const radii = inputs.map((a) => Math.fround(Math.sqrt(sqNorm(a))));
    const abar = new Float64Array(d);
    for (const a of inputs) for (let j = 0; j < d; j++) abar[j]! += a[j]! / n;
    const total = new Float64Array(d);
    for (let t = 0; t < R; t++) {
      for (let i = 0; i < n; i++) {
        const ctx = contextFor(d, n, i, t, SEED);
        q.decodeInto(total, encodeMessage(q, inputs[i]!, ctx), ctx);
      }
    }
    for (let j = 0; j < d; j++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += radii[i]! ** 2 - inputs[i]![j]! ** 2;
      const se = Math.sqrt(n * v) / (n * Math.sqrt(R));
      expect(Math.abs(total[j]! / (n * R) - abar[j]!)).toBeLessThan(5 * se);
    }
  });

  it('on homogeneous inputs has MSE (4‖a‖²/n²)·Σ f_j(1 − f_j) ≤ d‖a‖²/n² (d = 256, n = 32)', () => {
    const d = 256;
    const n = 32;
    const R = 400;
    const a = gaussian(d, 77);
    const exact = cqExact(a, n);
    const mse = homogeneousMse(createCq(), createCq(), a, n, R, 3);
    const a2 = sqNorm(a);
    // SPEC B.4's simulation at this size: 0.171‖a‖² (bound 0.25‖a‖²).
    expect(exact.mse / a2).toBeGreaterThan(0.15);
    expect(exact.mse / a2).toBeLessThan(0.19);
    expect(Math.abs(mse - exact.mse)).toBeLessThan(5 * Math.sqrt(exact.variance / R));
    expect(mse).toBeLessThanOrEqual((d * a2) / (n * n));
  });

  it('beats IQ by a factor that grows like n on homogeneous inputs (n = 2, 8, 32, 128)', () => {
    // ratio = MSE_IQ/MSE_CQ = n·(d − ‖a‖²/r²)/(4 Σ_j f_j(1 − f_j)) with the exact formulas above. Since
    // f(1 − f) ≤ 1/4, ratio/n ≥ (d − 1)/d for every input (CQ's worst case, all f_j = 1/2). For Gaussian a,
    // n·y_j = n/2 + (n/2)(a_j/r) with a_j/r ≈ N(0, 1/d): once (n/2)/√d ≥ 1 (n ≥ 32 at d = 256) the f_j are
    // uniform to within 1e-8, so Σ f(1 − f) = d/6 ± 5·sqrt(d/180) (E U(1−U) = 1/6, Var = 1/180) and
    // ratio/n ∈ [(d − 1)/(4(d/6 + 5√(d/180))), (d − 1)/(4(d/6 − 5√(d/180)))] = [1.31, 1.74] at d = 256.
    // For smaller n the f_j crowd near 0 and 1 and the ratio exceeds n more. Each measured MSE has relative
    // standard error sqrt(Var/R)/MSE; the ratio's is the root sum of squares, and bands widen by 5 of them.
    const d = 256;
    const R = 200;
    const a = gaussian(d, 5);
    const lower = (d - 1) / d;
    const spread = 5 * Math.sqrt(d / 180);
    const band = [(d - 1) / (4 * (d / 6 + spread)), (d - 1) / (4 * (d / 6 - spread))] as const;
    let previous = 0;
    for (const n of [2, 8, 32, 128]) {
      const ce = cqExact(a, n);
      const ie = iqExactError(a, n);
      const cq = homogeneousMse(createCq(), createCq(), a, n, R, 40 + n);
      const iqMse = homogeneousMse(createIq(), createIq(), a, n, R, 40 + n);
      const rel = Math.sqrt(ce.variance / R / ce.mse ** 2 + ie.variance / R / ie.mse ** 2);
      const ratio = iqMse / cq;
      // Each MSE matches its exact value, hence the ratio matches the exact ratio.
      expect(Math.abs(cq - ce.mse)).toBeLessThan(5 * Math.sqrt(ce.variance / R));
      expect(Math.abs(iqMse - ie.mse)).toBeLessThan(5 * Math.sqrt(ie.variance / R));
      expect(Math.abs(ratio / (ie.mse / ce.mse) - 1)).toBeLessThan(5 * rel);
      expect(ratio / n).toBeGreaterThan(lower * (1 - 5 * rel));
      if (n >= 32) {
        expect(ratio / n).toBeGreaterThan(band[0] * (1 - 5 * rel));
        expect(ratio / n).toBeLessThan(band[1] * (1 + 5 * rel));
      }
      expect(ratio).toBeGreaterThan(previous);
      previous = ratio;
    }
  });
});
