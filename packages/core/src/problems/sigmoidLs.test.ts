import { describe, expect, it } from 'vitest';
import { sigmoid } from './linalg.js';
import { SIGMOID_SQ_CURVATURE, sigmoidLeastSquares, sigmoidLs } from './sigmoidLs.js';
import {
  A9A_FEATURES,
  A9A_PATH,
  gradientDescent,
  gradientError,
  libsvmHead,
  randomSparse,
  randomVector,
  repeatGradient,
  secantSlope,
} from './dataProblems.testdata.js';

/**
 * SPEC D.3 (MARINA paper): mean σ(−y aᵀx)² + (λ/2)‖x‖² with a bias feature. Gradient checks: central
 * differences in float64, h = 1e-5, 1e-7 relative (see `gradientError` for why).
 */

const FD_TOL = 1e-7;
const a9a = libsvmHead(A9A_PATH, 200, A9A_FEATURES);

describe('sigmoid-ls: loss and gradient', () => {
  it('gradient equals central finite differences on seeded sparse data, with and without the bias', () => {
    const data = randomSparse(21, 30, 10, 0.4);
    for (const bias of [true, false]) {
      for (const lambda of [0, 0.001, 0.3]) {
        const { problem } = sigmoidLeastSquares(data, { bias, lambda });
        expect(problem.d).toBe(bias ? 11 : 10);
        for (const scale of [0.1, 1, 3]) expect(gradientError(problem, randomVector(problem.d, 5, `x${scale}`, scale))).toBeLessThan(FD_TOL);
      }
    }
  });

  it('gradient equals central finite differences on the first 200 rows of a9a', (ctx) => {
    if (!a9a) {
      console.log(`skipped: ${A9A_PATH} is absent`);
      return ctx.skip();
    }
    const { problem } = sigmoidLeastSquares(a9a, { bias: true, lambda: 0.001 });
    expect(problem.d).toBe(124);
    expect(gradientError(problem, randomVector(124, 3, 'x', 0.5))).toBeLessThan(FD_TOL);
  });

  it('the bias is a constant feature 1 at index `features`', () => {
    const data = randomSparse(22, 12, 4, 0.5);
    const { problem } = sigmoidLeastSquares(data, { bias: true, lambda: 0 });
    // Only the bias weight set: every margin is y·b, so the loss is the mean of σ(−y b)².
    const x = new Float64Array(5);
    x[4] = 0.7;
    let expected = 0;
    for (let r = 0; r < 12; r++) expected += sigmoid(-data.labels[r]! * 0.7) ** 2 / 12;
    expect(problem.loss(x)).toBeCloseTo(expected, 15);
  });

  it('loss and gradient stay finite for huge margins; f(0) = ¼', () => {
    const { problem } = sigmoidLeastSquares(randomSparse(23, 20, 8, 0.5), { bias: true, lambda: 0.01 });
    const g = new Float64Array(9);
    for (const scale of [1e3, 1e6]) {
      const x = randomVector(9, 1, 'big', scale);
      expect(Number.isFinite(problem.loss(x))).toBe(true);
      problem.gradInto(g, x);
      expect(g.every(Number.isFinite)).toBe(true);
    }
    expect(problem.loss(new Float64Array(9))).toBe(0.25);
  });

  it('gradInto allocates nothing and is deterministic over 1000 calls', () => {
    const { problem } = sigmoidLeastSquares(randomSparse(24, 50, 20, 0.3), { bias: true, lambda: 0.001 });
    expect(repeatGradient(problem, randomVector(21, 2, 'x'))).toEqual({ allocations: 0, stable: true });
  });
});

describe('sigmoid-ls: L_i = sup|φ″|·max‖a_k‖² + λ (bound)', () => {
  it('sup|φ″| is the closed form 0.1540585701…, above every sampled |φ″| (the paper writes 0.15405)', () => {
    expect(SIGMOID_SQ_CURVATURE).toBeCloseTo(0.15405857012, 11);
    let sampled = 0;
    for (let t = -20; t <= 20; t += 1e-4) {
      const s = sigmoid(-t);
      sampled = Math.max(sampled, Math.abs(4 * s * s - 10 * s ** 3 + 6 * s ** 4));
    }
    expect(sampled).toBeLessThanOrEqual(SIGMOID_SQ_CURVATURE);
    expect(SIGMOID_SQ_CURVATURE - sampled).toBeLessThan(1e-9);
    expect(SIGMOID_SQ_CURVATURE).toBeGreaterThan(0.15405);
  });

  it('φ″ in closed form matches second differences of φ(t) = σ(−t)²', () => {
    const phi = (t: number) => sigmoid(-t) ** 2;
    for (const t of [-3, -0.4, 0, 0.46, 2.5]) {
      const s = sigmoid(-t);
      const h = 1e-4;
      const fd = (phi(t + h) - 2 * phi(t) + phi(t - h)) / (h * h);
      // Second differences: truncation h²|φ⁗|/12 ≈ 1e-9, rounding 4ε/h² ≈ 1e-7.
      expect(Math.abs(fd - (4 * s * s - 10 * s ** 3 + 6 * s ** 4))).toBeLessThan(1e-6);
    }
  });

  it('uses the bias in ‖a_k‖² and is LiKind bound; bounds every secant slope', () => {
    const data = randomSparse(25, 25, 6, 0.6);
    let maxNorm = 0;
    for (let r = 0; r < 25; r++) {
      let s = 1;
      for (let k = data.rowPtr[r]!; k < data.rowPtr[r + 1]!; k++) s += data.vals[k]! ** 2;
      maxNorm = Math.max(maxNorm, s);
    }
    const lambda = 0.2;
    const { problem, Li, LiKind } = sigmoidLeastSquares(data, { bias: true, lambda });
    expect(LiKind).toBe('bound');
    expect(Li).toBe(SIGMOID_SQ_CURVATURE * maxNorm + lambda);
    expect(sigmoidLeastSquares(data, { bias: false, lambda }).Li).toBeLessThan(Li);
    for (let i = 0; i < 20; i++) {
      expect(secantSlope(problem, randomVector(7, i, 'x'), randomVector(7, i, 'y'))).toBeLessThanOrEqual(Li);
    }
  });

  it('gradient descent with step 1/L_i decreases the loss at every one of 50 steps', () => {
    const cases = [randomSparse(26, 60, 15, 0.3), ...(a9a ? [a9a] : [])];
    for (const data of cases) {
      const { problem, Li } = sigmoidLeastSquares(data, { bias: true, lambda: 0.001 });
      const losses = gradientDescent(problem, new Float64Array(problem.d), 1 / Li, 50);
      for (let t = 1; t < losses.length; t++) expect(losses[t]).toBeLessThanOrEqual(losses[t - 1]!);
      expect(losses[50]).toBeLessThan(losses[0]!);
    }
  });
});

describe('sigmoid-ls: registry entry', () => {
  it('declares bias (bool, true) and lambda (real ≥ 0, 0.001); d = features + bias', () => {
    expect(sigmoidLs.name).toBe('sigmoid-ls');
    expect(sigmoidLs.data).toBe('libsvm');
    expect(sigmoidLs.options['bias']).toMatchObject({ type: 'bool', default: true });
    expect(sigmoidLs.options['lambda']).toMatchObject({ type: 'real', default: 0.001, min: 0 });
    expect(sigmoidLs.dim({ bias: true, lambda: 0 }, 123)).toBe(124);
    expect(sigmoidLs.dim({ bias: false, lambda: 0 }, 123)).toBe(123);
    expect(sigmoidLs.x0({ bias: true, lambda: 0 }, 124)).toEqual(new Float64Array(124));
  });

  it('local reads the options and refuses a missing shard', () => {
    const data = randomSparse(27, 20, 5, 0.5);
    const local = sigmoidLs.local({ bias: false, lambda: 0.2, seed: 1 }, 4, 2, data);
    expect(local.problem.d).toBe(5);
    expect(local.Li).toBe(sigmoidLeastSquares(data, { bias: false, lambda: 0.2 }).Li);
    expect(() => sigmoidLs.local({ bias: true, lambda: 0, seed: 1 }, 4, 0, null)).toThrow(/needs a data shard/);
  });
});
