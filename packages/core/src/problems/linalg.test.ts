import { describe, expect, it } from 'vitest';
import { csrMul, csrMulT, gramLambdaMax, log1pExp, maxRowNormSq, POWER_MAX_ITER, powerIteration, sigmoid, xavierNormalInto } from './linalg.js';
import { A9A_FEATURES, A9A_PATH, countAllocations, denseGram, jacobiEigenvalues, libsvmHead, randomSparse, randomVector } from './dataProblems.testdata.js';
import { CounterRng } from '../rng.js';

/** The shared numerics of the data problems: power iteration against a dense eigen solver, CSR products, logistic helpers. */

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('gramLambdaMax (power iteration, fixed start, 1e-12 relative stop)', () => {
  it('equals the largest eigenvalue of the dense AᵀA/m (Jacobi) within 1e-9 relative', () => {
    for (const [seed, rows, features, density] of [
      [1, 40, 12, 0.4],
      [2, 15, 20, 0.3],
      [3, 100, 6, 0.8],
    ] as const) {
      const data = randomSparse(seed, rows, features, density);
      const exact = Math.max(...jacobiEigenvalues(denseGram(data), features));
      const got = gramLambdaMax(data);
      expect(got.converged).toBe(true);
      expect(relErr(got.value, exact)).toBeLessThan(1e-9);
    }
  });

  it('equals the dense solution on the first 200 rows of a9a (nonnegative data) within 1e-9 relative', (ctx) => {
    const data = libsvmHead(A9A_PATH, 200, A9A_FEATURES);
    if (!data) {
      console.log(`skipped: ${A9A_PATH} is absent`);
      ctx.skip();
      return;
    }
    const exact = Math.max(...jacobiEigenvalues(denseGram(data), A9A_FEATURES));
    const got = gramLambdaMax(data);
    expect(got.converged).toBe(true);
    expect(relErr(got.value, exact)).toBeLessThan(1e-9);
  });

  it('is deterministic and gives 0 for an all-zero data set', () => {
    const data = randomSparse(4, 30, 9, 0.5);
    expect(Object.is(gramLambdaMax(data).value, gramLambdaMax(data).value)).toBe(true);
    const zero = { ...data, vals: new Float64Array(data.vals.length) };
    expect(gramLambdaMax(zero).value).toBe(0);
  });

  it('with nearly equal top eigenvalues stops early, within the gap of λ_max (the documented limit)', () => {
    // B = diag(1, 1 − 1e-7): each step changes the quotient by ~1e-14 < 1e-12·ρ, so the rule fires at once,
    // with ρ ≈ 1 − 5e-8: the error is below the gap λ₁ − λ₂ = 1e-7, not below 1e-12.
    const slow = powerIteration(2, (out, v) => {
      out[0] = v[0]!;
      out[1] = (1 - 1e-7) * v[1]!;
    });
    expect(slow.converged).toBe(true);
    expect(slow.iterations).toBeLessThan(POWER_MAX_ITER);
    expect(slow.value).toBeLessThanOrEqual(1);
    expect(relErr(slow.value, 1)).toBeLessThan(1e-7);
  });
});

describe('CSR products', () => {
  it('A v and Aᵀw agree with the dense products', () => {
    const data = randomSparse(5, 7, 5, 0.5);
    const dense = new Float64Array(7 * 5);
    for (let r = 0; r < 7; r++) for (let k = data.rowPtr[r]!; k < data.rowPtr[r + 1]!; k++) dense[r * 5 + data.cols[k]!] = data.vals[k]!;
    const v = randomVector(5, 1, 'v');
    const w = randomVector(7, 1, 'w');
    const av = new Float64Array(7);
    const atw = new Float64Array(5);
    csrMul(data, v, av);
    csrMulT(data, w, atw);
    for (let r = 0; r < 7; r++) {
      let s = 0;
      for (let c = 0; c < 5; c++) s += dense[r * 5 + c]! * v[c]!;
      expect(av[r]).toBeCloseTo(s, 14);
    }
    for (let c = 0; c < 5; c++) {
      let s = 0;
      for (let r = 0; r < 7; r++) s += dense[r * 5 + c]! * w[r]!;
      expect(atw[c]).toBeCloseTo(s, 14);
    }
    expect(countAllocations(() => csrMul(data, v, av))).toBe(0);
    // The counter itself sees an allocation (negative control for every "allocates nothing" test).
    expect(countAllocations(() => void new Float64Array(3))).toBe(1);
  });

  it('maxRowNormSq counts the extra (bias) feature', () => {
    const data = randomSparse(6, 10, 4, 0.6);
    let best = 0;
    for (let r = 0; r < 10; r++) {
      let s = 1;
      for (let k = data.rowPtr[r]!; k < data.rowPtr[r + 1]!; k++) s += data.vals[k]! ** 2;
      best = Math.max(best, s);
    }
    expect(maxRowNormSq(data, 1)).toBe(best);
  });
});

describe('logistic helpers', () => {
  it('log1pExp and sigmoid are finite and accurate for large |u|', () => {
    expect(log1pExp(1000)).toBe(1000);
    expect(log1pExp(-1000)).toBe(0);
    expect(log1pExp(-40)).toBeCloseTo(Math.exp(-40), 30);
    expect(relErr(log1pExp(0.5), Math.log(1 + Math.exp(0.5)))).toBeLessThan(1e-15);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(relErr(sigmoid(-30), Math.exp(-30) / (1 + Math.exp(-30)))).toBeLessThan(1e-15);
    expect(sigmoid(0)).toBe(0.5);
  });

  it('xavierNormalInto has variance 2/(fanIn + fanOut)', () => {
    const x = new Float64Array(200 * 300);
    xavierNormalInto(x, 0, 200, 300, new CounterRng(1, 0, 0, 'test'));
    let s2 = 0;
    for (const v of x) s2 += v * v;
    // 60 000 draws: the sample variance is within a few % of 2/500 (its relative sd is √(2/60 000) ≈ 0.6%).
    expect(relErr(s2 / x.length, 2 / 500)).toBeLessThan(0.03);
  });
});
