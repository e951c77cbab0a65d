import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Dataset } from '../data/dataset.js';
import { CounterRng } from '../rng.js';
import type { Problem } from './types.js';

/**
 * Shared fixtures of the data problems' tests (logreg, sigmoid-ls, mlp, autoencoder, linalg): seeded sparse
 * data sets, the head of the real a9a, central finite differences, a dense Jacobi eigen solver and an
 * allocation counter. Test-only (excluded from the build by the `*.testdata.ts` rule).
 */

/** A seeded sparse data set: each entry nonzero with probability `density`, N(0, 1)·scale; labels ±1. */
export function randomSparse(seed: number, rows: number, features: number, density: number, scale = 1): Dataset {
  const rng = new CounterRng(seed, 0, 0, 'test-data');
  const rowPtr = new Int32Array(rows + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  const labels = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < features; c++) {
      if (rng.float() < density) {
        cols.push(c);
        vals.push(scale * rng.normal());
      }
    }
    rowPtr[r + 1] = cols.length;
    labels[r] = rng.bernoulli(0.5) ? 1 : -1;
  }
  return { rows, features, labels, rowPtr, cols: Int32Array.from(cols), vals: Float64Array.from(vals) };
}

/** N(0, scale²) entries keyed by (seed, purpose). */
export function randomVector(d: number, seed: number, purpose: string, scale = 1): Float64Array {
  const rng = new CounterRng(seed, 0, 0, purpose);
  const x = new Float64Array(d);
  for (let j = 0; j < d; j++) x[j] = scale * rng.normal();
  return x;
}

/** The shared a9a beside the repository (../shared/datasets). */
export const A9A_PATH = fileURLToPath(new URL('../../../../../shared/datasets/a9a.gz', import.meta.url));
export const A9A_FEATURES = 123;

/**
 * The first `rows` rows of a gzipped LIBSVM file, by a tiny parser of our own (the real one is written
 * elsewhere): labels > 0 → +1, else −1; indices 1-based in the file, 0-based here. Null if the file is absent.
 */
export function libsvmHead(path: string, rows: number, features: number): Dataset | null {
  if (!existsSync(path)) return null;
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '').slice(0, rows);
  const rowPtr = new Int32Array(lines.length + 1);
  const labels = new Float64Array(lines.length);
  const cols: number[] = [];
  const vals: number[] = [];
  lines.forEach((line, r) => {
    const [label, ...pairs] = line.trim().split(/\s+/);
    labels[r] = Number(label) > 0 ? 1 : -1;
    for (const pair of pairs) {
      const [i, v] = pair.split(':');
      cols.push(Number(i) - 1);
      vals.push(Number(v));
    }
    rowPtr[r + 1] = cols.length;
  });
  return { rows: lines.length, features, labels, rowPtr, cols: Int32Array.from(cols), vals: Float64Array.from(vals) };
}

/**
 * Largest |∇f(x)_j − FD_j| / (1 + |∇f(x)_j|) over all coordinates, FD the central difference
 * (f(x + h e_j) − f(x − h e_j))/(2h). Its error is h²|f'''|/6 (truncation) plus about ε|f|/h (rounding,
 * ε = 2.2e-16): both ≈ 1e-11 for h = 1e-5 and O(1) values, so callers assert 1e-7, leaving a wide margin for
 * curvature without letting a wrong term (an error of O(|g|)) through.
 */
export function gradientError(problem: Problem, x: Float64Array, h = 1e-5): number {
  const g = new Float64Array(problem.d);
  problem.gradInto(g, x);
  const y = Float64Array.from(x);
  let worst = 0;
  for (let j = 0; j < problem.d; j++) {
    y[j] = x[j]! + h;
    const up = problem.loss(y);
    y[j] = x[j]! - h;
    const down = problem.loss(y);
    y[j] = x[j]!;
    const fd = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(g[j]! - fd) / (1 + Math.abs(g[j]!)));
  }
  return worst;
}

/** Dense AᵀA/m (row-major features × features). */
export function denseGram(data: Dataset, extraOne = false): Float64Array {
  const p = data.features + (extraOne ? 1 : 0);
  const G = new Float64Array(p * p);
  const row = new Float64Array(p);
  for (let r = 0; r < data.rows; r++) {
    row.fill(0);
    for (let k = data.rowPtr[r]!; k < data.rowPtr[r + 1]!; k++) row[data.cols[k]!] = data.vals[k]!;
    if (extraOne) row[p - 1] = 1;
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) G[i * p + j]! += (row[i]! * row[j]!) / data.rows;
  }
  return G;
}

/** Eigenvalues of a symmetric d×d matrix (row-major) by cyclic Jacobi rotations, until the off-diagonal vanishes. */
export function jacobiEigenvalues(M: Float64Array, d: number): number[] {
  const a = Float64Array.from(M);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        total += a[i * d + j]! ** 2;
        if (i !== j) off += a[i * d + j]! ** 2;
      }
    }
    if (off === 0 || off <= 1e-32 * total) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q]!;
        if (apq === 0) continue;
        // t = tan θ, the smaller root of t² + 2τt − 1 = 0, zeroes a[p][q].
        const tau = (a[q * d + q]! - a[p * d + p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p]!;
          const akq = a[k * d + q]!;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k]!;
          const aqk = a[q * d + k]!;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: d }, (_, i) => a[i * d + i]!);
}

const TYPED = ['Float64Array', 'Float32Array', 'Int32Array', 'Uint32Array', 'Uint8Array'] as const;

/**
 * How many typed arrays `fn` constructs: the globals are swapped for counting subclasses
 * while it runs. Module code looks the constructors up on the global object at call time, so an allocation
 * inside gradInto is seen. (Plain arrays, objects and closures are not counted; the determinism check covers the rest.)
 */
export function countAllocations(fn: () => void): number {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = TYPED.map((name) => g[name]);
  let count = 0;
  try {
    TYPED.forEach((name, i) => {
      const Base = saved[i] as new (...args: unknown[]) => object;
      g[name] = class extends Base {
        constructor(...args: unknown[]) {
          super(...args);
          count++;
        }
      };
    });
    fn();
  } finally {
    TYPED.forEach((name, i) => {
      g[name] = saved[i];
    });
  }
  return count;
}

/** Calls gradInto `times` times at x; returns the allocation count and whether every result equals the first, bit for bit. */
export function repeatGradient(problem: Problem, x: Float64Array, times = 1000): { allocations: number; stable: boolean } {
  const first = new Float64Array(problem.d);
  const out = new Float64Array(problem.d);
  problem.gradInto(first, x);
  let stable = true;
  const allocations = countAllocations(() => {
    for (let t = 0; t < times; t++) {
      problem.gradInto(out, x);
      for (let j = 0; j < problem.d; j++) if (!Object.is(out[j], first[j])) stable = false;
    }
  });
  return { allocations, stable };
}

/** ‖∇f(x) − ∇f(y)‖ / ‖x − y‖ for a pair of points. */
export function secantSlope(problem: Problem, x: Float64Array, y: Float64Array): number {
  const gx = new Float64Array(problem.d);
  const gy = new Float64Array(problem.d);
  problem.gradInto(gx, x);
  problem.gradInto(gy, y);
  let num = 0;
  let den = 0;
  for (let j = 0; j < problem.d; j++) {
    num += (gx[j]! - gy[j]!) ** 2;
    den += (x[j]! - y[j]!) ** 2;
  }
  return Math.sqrt(num / den);
}

/** Losses of `steps` gradient steps x ← x − γ∇f(x) from x0 (the first entry is f(x0)). */
export function gradientDescent(problem: Problem, x0: Float64Array, gamma: number, steps: number): number[] {
  const x = Float64Array.from(x0);
  const g = new Float64Array(problem.d);
  const losses = [problem.loss(x)];
  for (let t = 0; t < steps; t++) {
    problem.gradInto(g, x);
    for (let j = 0; j < problem.d; j++) x[j]! -= gamma * g[j]!;
    losses.push(problem.loss(x));
  }
  return losses;
}

/**
 * ‖∇²f(x)‖₂ of a small problem: Hessian columns by central differences of the gradient (error ≈ 1e-10 at
 * step 1e-5), symmetrised, then the largest |eigenvalue| by Jacobi.
 */
export function fdHessianNorm(problem: Problem, x: Float64Array): number {
  const d = problem.d;
  const H = new Float64Array(d * d);
  const gp = new Float64Array(d);
  const gm = new Float64Array(d);
  const y = Float64Array.from(x);
  for (let j = 0; j < d; j++) {
    y[j] = x[j]! + 1e-5;
    problem.gradInto(gp, y);
    y[j] = x[j]! - 1e-5;
    problem.gradInto(gm, y);
    y[j] = x[j]!;
    for (let i = 0; i < d; i++) H[i * d + j] = (gp[i]! - gm[i]!) / 2e-5;
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) H[i * d + j] = H[j * d + i] = (H[i * d + j]! + H[j * d + i]!) / 2;
  return Math.max(...jacobiEigenvalues(H, d).map(Math.abs));
}
