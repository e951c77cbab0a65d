import { describe, expect, it } from 'vitest';
import { canonicalBytes, selectRows, type Dataset } from '../data/dataset.js';
import { autoencoder, autoencoderDim, autoencoderInit, autoencoderObjective, homogeneitySplit, linearAutoencoder } from './autoencoder.js';
import { fdHessianNorm, gradientError, randomSparse, randomVector, repeatGradient } from './dataProblems.testdata.js';

/**
 * SPEC D.5's linear autoencoder and homogeneity split. Gradient checks: central differences in float64,
 * h = 1e-5, 1e-7 relative (see `gradientError`; the loss is a quartic, whose third derivatives stay O(10)
 * at these scales, so truncation is ≈ 1e-10).
 */

const FD_TOL = 1e-7;
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const same = (a: Dataset, b: Dataset) => Buffer.from(canonicalBytes(a)).equals(Buffer.from(canonicalBytes(b)));

/** Dense W_e (h×p) and W_d (p×h) from x, per the documented layout. */
function unpack(x: Float64Array, p: number, h: number) {
  const We = (j: number, c: number) => x[j * p + c]!;
  const Wd = (c: number, j: number) => x[h * p + c * h + j]!;
  return { We, Wd };
}

describe('autoencoder: loss and gradient', () => {
  it('gradient equals central finite differences, with and without the λ term', () => {
    const data = randomSparse(41, 12, 7, 0.5);
    for (const lambda of [0, 0.3]) {
      const problem = autoencoderObjective(data, 3, lambda);
      expect(problem.d).toBe(42);
      expect(gradientError(problem, autoencoderInit(7, 3, 1))).toBeLessThan(FD_TOL);
      expect(gradientError(problem, randomVector(42, 2, 'x', 0.8))).toBeLessThan(FD_TOL);
    }
  });

  it('matches a dense evaluation of (1/m) Σ‖W_dW_e a − a‖² + λ‖W_eᵀW_dᵀ − I‖_F² in the documented layout', () => {
    const p = 5;
    const h = 2;
    const data = randomSparse(42, 8, p, 0.6);
    const x = randomVector(autoencoderDim(p, h), 3, 'x');
    const { We, Wd } = unpack(x, p, h);
    let recon = 0;
    for (let r = 0; r < 8; r++) {
      const a = new Float64Array(p);
      for (let k = data.rowPtr[r]!; k < data.rowPtr[r + 1]!; k++) a[data.cols[k]!] = data.vals[k]!;
      for (let c = 0; c < p; c++) {
        let out = 0;
        for (let j = 0; j < h; j++) for (let q = 0; q < p; q++) out += Wd(c, j) * We(j, q) * a[q]!;
        recon += (out - a[c]!) ** 2 / 8;
      }
    }
    // (W_eᵀW_dᵀ)[c][q] = Σ_j W_e[j][c]·W_d[q][j].
    let orth = 0;
    for (let c = 0; c < p; c++) {
      for (let q = 0; q < p; q++) {
        let s = 0;
        for (let j = 0; j < h; j++) s += We(j, c) * Wd(q, j);
        orth += (s - (c === q ? 1 : 0)) ** 2;
      }
    }
    const lambda = 0.7;
    const problem = autoencoderObjective(data, h, lambda);
    expect(problem.reconstruction(x)).toBeCloseTo(recon, 12);
    expect(problem.orthogonality(x)).toBeCloseTo(orth, 12);
    expect(problem.loss(x)).toBeCloseTo(recon + lambda * orth, 12);
    expect(autoencoderObjective(data, h, 0).loss(x)).toBe(problem.reconstruction(x));
  });

  it('gradInto allocates nothing and is deterministic over 1000 calls (λ = 0 and λ > 0)', () => {
    const data = randomSparse(43, 20, 12, 0.3);
    for (const lambda of [0, 0.01]) {
      const problem = autoencoderObjective(data, 4, lambda);
      expect(repeatGradient(problem, autoencoderInit(12, 4, 1))).toEqual({ allocations: 0, stable: true });
    }
  });
});

describe('autoencoder: L_i (curvature bound at x⁰, LiKind estimate)', () => {
  it('bounds ‖∇²f_i(x⁰)‖ computed densely (finite-difference Hessian, Jacobi)', () => {
    const data = randomSparse(44, 10, 6, 0.5);
    for (const lambda of [0, 0.2]) {
      const { problem, Li, LiKind } = linearAutoencoder(data, { hidden: 2, lambda, seed: 4 });
      expect(LiKind).toBe('estimate');
      const x0 = autoencoderInit(6, 2, 4);
      const norm = fdHessianNorm(problem, x0);
      expect(norm).toBeGreaterThan(0);
      expect(norm).toBeLessThanOrEqual(Li);
      // A bound, not a wild one: within a small factor of the true curvature at x⁰.
      expect(Li / norm).toBeLessThan(20);
    }
  });
});

describe('autoencoder: homogeneity split (SPEC D.5)', () => {
  const all = randomSparse(45, 53, 6, 0.5); // n = 4: parts of ⌊53/5⌋ = 10 rows, 3 dropped
  const n = 4;
  const holdOut = selectRows(all, range(0, 10));

  it('q = 1 gives every client the hold-out part exactly (identical clients)', () => {
    for (let rank = 0; rank < n; rank++) expect(same(homogeneitySplit(all, n, rank, 1, 9), holdOut)).toBe(true);
  });

  it('q = 0 gives client i the plain part i + 1; the remainder is dropped', () => {
    for (let rank = 0; rank < n; rank++) {
      const part = homogeneitySplit(all, n, rank, 0, 9);
      expect(part.rows).toBe(10);
      expect(same(part, selectRows(all, range((rank + 1) * 10, (rank + 2) * 10)))).toBe(true);
    }
  });

  it('0 < q < 1 replaces row k by hold-out row k only, by a seeded per-rank coin', () => {
    const big = randomSparse(46, 1001, 3, 0.7);
    const size = Math.floor(1001 / 5);
    const part = homogeneitySplit(big, 4, 2, 0.5, 9);
    expect(same(part, homogeneitySplit(big, 4, 2, 0.5, 9))).toBe(true);
    let replaced = 0;
    for (let k = 0; k < size; k++) {
      const mine = selectRows(part, [k]);
      const isHold = same(mine, selectRows(big, [k]));
      const isOwn = same(mine, selectRows(big, [3 * size + k]));
      expect(isHold || isOwn).toBe(true);
      if (isHold) replaced++;
    }
    // 200 fair coins: within ±4.5 sd (sd = √50 ≈ 7.1) of 100.
    expect(Math.abs(replaced - 100)).toBeLessThan(32);
    expect(same(part, homogeneitySplit(big, 4, 1, 0.5, 9))).toBe(false);
  });

  it('refuses parts that would be empty and out-of-range arguments', () => {
    expect(() => homogeneitySplit(all, 60, 0, 0.5, 1)).toThrow(/cannot be cut/);
    expect(() => homogeneitySplit(all, n, n, 0.5, 1)).toThrow(/rank/);
    expect(() => homogeneitySplit(all, n, 0, 1.5, 1)).toThrow(/homogeneity/);
  });
});

describe('autoencoder: registry entry', () => {
  const config = { hidden: 16, lambda: 0, homogeneity: 1, seed: 2 };

  it('declares hidden (16), lambda (0), homogeneity ([0, 1], 0.5); reads IDX data; d = 2·features·h', () => {
    expect(autoencoder.name).toBe('autoencoder');
    expect(autoencoder.data).toBe('idx');
    expect(autoencoder.options['hidden']).toMatchObject({ type: 'int', default: 16 });
    expect(autoencoder.options['lambda']).toMatchObject({ type: 'real', default: 0, min: 0 });
    expect(autoencoder.options['homogeneity']).toMatchObject({ type: 'real', default: 0.5, min: 0, max: 1 });
    expect(autoencoder.dim(config, 784)).toBe(25_088);
    expect(autoencoder.x0(config, 2 * 6 * 16)).toEqual(autoencoderInit(6, 16, 2));
  });

  it('split and local follow the options; a missing shard is refused', () => {
    const all = randomSparse(47, 30, 6, 0.5);
    const cfg = { hidden: 2, lambda: 0.1, homogeneity: 1, seed: 2 };
    const shard = autoencoder.split!(cfg, all, 2, 1);
    expect(same(shard, selectRows(all, range(0, 10)))).toBe(true);
    const local = autoencoder.local(cfg, 2, 1, shard);
    expect(local.problem.d).toBe(24);
    expect(local.Li).toBe(linearAutoencoder(shard, { hidden: 2, lambda: 0.1, seed: 2 }).Li);
    expect(() => autoencoder.local(config, 2, 0, null)).toThrow(/needs a data shard/);
  });
});
