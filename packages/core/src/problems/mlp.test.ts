import { describe, expect, it } from 'vitest';
import { CounterRng } from '../rng.js';
import { log1pExp } from './linalg.js';
import { MLP_L_DELTA, MLP_L_DIRECTIONS, MLP_L_SAFETY, mlp, mlpDim, mlpInit, mlpObjective, mlpProblem, secantLipschitzEstimate } from './mlp.js';
import { A9A_FEATURES, A9A_PATH, fdHessianNorm, gradientError, libsvmHead, randomSparse, randomVector, repeatGradient } from './dataProblems.testdata.js';

/**
 * SPEC D.4's network (architecture ours, decision 8): features → h (tanh) → 1, logistic loss. Gradient checks:
 * central differences in float64, h = 1e-5, 1e-7 relative (see `gradientError`); activations are float64 so
 * the backward pass is as exact as the loss.
 */

const FD_TOL = 1e-7;

describe('mlp: loss and gradient', () => {
  it('gradient equals central finite differences on seeded sparse data, at x⁰ and at random points', () => {
    const data = randomSparse(31, 25, 8, 0.4);
    for (const h of [1, 5]) {
      const problem = mlpObjective(data, h);
      expect(problem.d).toBe(mlpDim(8, h));
      expect(gradientError(problem, mlpInit(8, h, 3))).toBeLessThan(FD_TOL);
      for (const scale of [0.3, 1.5]) expect(gradientError(problem, randomVector(problem.d, 9, `x${scale}`, scale))).toBeLessThan(FD_TOL);
    }
  });

  it('gradient equals central finite differences on the first 50 rows of a9a', (ctx) => {
    const data = libsvmHead(A9A_PATH, 50, A9A_FEATURES);
    if (!data) {
      console.log(`skipped: ${A9A_PATH} is absent`);
      return ctx.skip();
    }
    const problem = mlpObjective(data, 4);
    expect(gradientError(problem, mlpInit(A9A_FEATURES, 4, 1))).toBeLessThan(FD_TOL);
  });

  it('matches a direct dense forward pass in the documented layout (W1 row-major, b1, w2, b2)', () => {
    const data = randomSparse(32, 6, 4, 0.6);
    const h = 3;
    const x = randomVector(mlpDim(4, h), 4, 'x');
    let expected = 0;
    for (let r = 0; r < 6; r++) {
      const a = new Float64Array(4);
      for (let k = data.rowPtr[r]!; k < data.rowPtr[r + 1]!; k++) a[data.cols[k]!] = data.vals[k]!;
      let o = x[h * 4 + 2 * h]!;
      for (let j = 0; j < h; j++) {
        let pre = x[h * 4 + j]!;
        for (let c = 0; c < 4; c++) pre += x[j * 4 + c]! * a[c]!;
        o += x[h * 4 + h + j]! * Math.tanh(pre);
      }
      expected += log1pExp(-data.labels[r]! * o) / 6;
    }
    expect(mlpObjective(data, h).loss(x)).toBeCloseTo(expected, 14);
  });

  it('loss and gradient are finite for large weights', () => {
    const problem = mlpObjective(randomSparse(33, 20, 6, 0.5), 4);
    const x = randomVector(problem.d, 1, 'big', 1e4);
    const g = new Float64Array(problem.d);
    problem.gradInto(g, x);
    expect(Number.isFinite(problem.loss(x))).toBe(true);
    expect(g.every(Number.isFinite)).toBe(true);
  });

  it('gradInto allocates nothing and is deterministic over 1000 calls', () => {
    const problem = mlpObjective(randomSparse(34, 40, 15, 0.3), 8);
    expect(repeatGradient(problem, mlpInit(15, 8, 2))).toEqual({ allocations: 0, stable: true });
  });
});

describe('mlp: x⁰ and the L_i estimate', () => {
  it('x⁰ is Xavier-normal for W1 and w2, zero biases, and depends on the seed only', () => {
    const p = 200;
    const h = 50;
    const x = mlpInit(p, h, 7);
    expect(x).toEqual(mlpInit(p, h, 7));
    expect(x).not.toEqual(mlpInit(p, h, 8));
    const b1 = x.subarray(h * p, h * p + h);
    expect(b1.every((v) => v === 0)).toBe(true);
    expect(x[h * p + 2 * h]).toBe(0);
    let s2 = 0;
    for (let j = 0; j < h * p; j++) s2 += x[j]! ** 2;
    // 10 000 draws of N(0, 2/(p + h)): the sample variance is within 5% (its relative sd is ≈ 1.4%).
    expect(Math.abs(s2 / (h * p) / (2 / (p + h)) - 1)).toBeLessThan(0.05);
    const w2 = x.subarray(h * p + h, h * p + 2 * h);
    expect(w2.some((v) => v !== 0)).toBe(true);
  });

  it('L_i is 2 × the largest of 8 power-iterated secant slopes at x⁰ (δ = 1e-3, first direction keyed by rank)', () => {
    const data = randomSparse(35, 30, 6, 0.5);
    const h = 4;
    const seed = 5;
    const rank = 3;
    const problem = mlpObjective(data, h);
    const x0 = mlpInit(6, h, seed);
    const d = problem.d;
    const g0 = new Float64Array(d);
    const g1 = new Float64Array(d);
    problem.gradInto(g0, x0);
    const rng = new CounterRng(seed, 0, rank, 'mlp-L');
    let v = Array.from({ length: d }, () => rng.normal());
    let best = 0;
    for (let i = 0; i < MLP_L_DIRECTIONS; i++) {
      const norm = Math.hypot(...v);
      problem.gradInto(
        g1,
        x0.map((xj, j) => xj + (MLP_L_DELTA * v[j]!) / norm),
      );
      v = Array.from(g1, (gj, j) => gj - g0[j]!);
      best = Math.max(best, Math.hypot(...v) / MLP_L_DELTA);
    }
    const local = mlpProblem(data, { hidden: h, seed, rank });
    expect(local.LiKind).toBe('estimate');
    expect(local.Li).toBeCloseTo(MLP_L_SAFETY * best, 12);
    expect(local.Li).toBeGreaterThan(0);
  });

  it('L_i lies between ‖∇²f_i(x⁰)‖ (dense finite-difference Hessian, Jacobi) and 2.2 × it, for every rank', () => {
    const data = randomSparse(37, 40, 5, 0.6);
    const h = 3;
    const problem = mlpObjective(data, h);
    const x0 = mlpInit(5, h, 6);
    const norm = fdHessianNorm(problem, x0);
    for (let rank = 0; rank < 4; rank++) {
      const { Li } = mlpProblem(data, { hidden: h, seed: 6, rank });
      // Power-iterated slopes approach ‖H‖ from below (8 steps), δ = 1e-3 adds O(δ) curvature change: the
      // safety factor 2 puts L_i above ‖H‖ and below 2‖H‖ up to those.
      expect(Li).toBeGreaterThanOrEqual(norm);
      expect(Li).toBeLessThan(2.2 * norm);
    }
  });
});

describe('mlp: the L_i estimate on a9a (SPEC D.4 scale: 248 rows, h = 32, d = 4 001)', () => {
  it('exceeds the curvature ‖∇²f_i(x⁰)‖ that 40 power steps find (8 independent random slopes would be 13× below)', (ctx) => {
    const data = libsvmHead(A9A_PATH, 248, A9A_FEATURES);
    if (!data) {
      console.log(`skipped: ${A9A_PATH} is absent`);
      return ctx.skip();
    }
    const { problem, Li } = mlpProblem(data, { hidden: 32, seed: 1, rank: 0 });
    const curvature = secantLipschitzEstimate(problem, mlpInit(A9A_FEATURES, 32, 1), new CounterRng(1, 0, 7, 'test'), 40, MLP_L_DELTA, 1);
    expect(Li).toBeGreaterThanOrEqual(curvature);
    expect(Li).toBeLessThanOrEqual(2 * curvature * (1 + 1e-6));
  });
});

describe('mlp: registry entry', () => {
  const config = { hidden: 32, seed: 3 };

  it('declares hidden (int, 32); d = h·features + 2h + 1; x⁰ from the seed', () => {
    expect(mlp.name).toBe('mlp');
    expect(mlp.data).toBe('libsvm');
    expect(mlp.options['hidden']).toMatchObject({ type: 'int', default: 32 });
    expect(mlp.dim(config, 123)).toBe(32 * 123 + 65);
    expect(mlp.x0(config, 32 * 123 + 65)).toEqual(mlpInit(123, 32, 3));
    expect(() => mlp.x0(config, 100)).toThrow(/not h·features/);
  });

  it('local builds the network with its estimate, and refuses a missing shard', () => {
    const data = randomSparse(36, 20, 5, 0.5);
    const local = mlp.local({ hidden: 3, seed: 2 }, 4, 1, data);
    expect(local.problem.d).toBe(mlpDim(5, 3));
    expect(local.Li).toBe(mlpProblem(data, { hidden: 3, seed: 2, rank: 1 }).Li);
    expect(() => mlp.local(config, 4, 0, null)).toThrow(/needs a data shard/);
  });
});
