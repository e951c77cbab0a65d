import type { Dataset } from '../data/dataset.js';
import type { CounterRng } from '../rng.js';

/**
 * Numerical helpers shared by the data problems (logreg, sigmoid-ls, mlp, autoencoder): the power iteration
 * behind their smoothness constants, CSR products, Xavier initialisation and overflow-safe logistic
 * functions. Everything here is plain float64 arithmetic in a fixed order, so every party that runs it on
 * the same rows gets the same bits.
 */

/** Stopping rule of `powerIteration`: relative change of the Rayleigh quotient below this. */
export const POWER_TOL = 1e-12;
/** Iteration cap of `powerIteration`. */
export const POWER_MAX_ITER = 10_000;

/** What `powerIteration` found. */
export interface PowerResult {
  /** The last Rayleigh quotient vᵀBv (‖v‖ = 1): an estimate of λ_max(B) from below (see `powerIteration`). */
  value: number;
  iterations: number;
  /** False when the iteration cap was reached before the stopping rule held. */
  converged: boolean;
}

/**
 * λ_max of a symmetric positive semidefinite d×d operator B, given as `apply(out, v)`: out ← B v (it may
 * keep scratch of its own; `out` and `v` never alias).
 *
 * Deterministic: the start is the fixed unit vector 1/√d (no randomness, so every client and the server
 * get the same number), each step is v ← Bv/‖Bv‖, and the iteration stops once the Rayleigh quotient
 * ρ_k = v_kᵀBv_k changes by less than `POWER_TOL` relative (|ρ_k − ρ_{k−1}| < 1e-12·ρ_k), or after
 * `POWER_MAX_ITER` steps (then `converged` is false and the last ρ is returned).
 *
 * Accuracy (why the constants that use it are still called bounds): for PSD B the quotients increase
 * towards λ_max from below. When the two largest eigenvalues are well separated the error at stop is of the
 * order of the last change (≤ 1e-12 relative); with a ratio λ₂/λ₁ = r it is about change·r/(1 − r), so 1e-9
 * relative needs 1 − r ≳ 1e-3. A start orthogonal to the top eigenvector would miss it; for entrywise
 * nonnegative data (a9a, MNIST) Perron–Frobenius gives a nonnegative top eigenvector, which the all-ones
 * start cannot be orthogonal to, and rounding breaks exact orthogonality in practice otherwise.
 */
export function powerIteration(d: number, apply: (out: Float64Array, v: Float64Array) => void): PowerResult {
  if (d === 0) return { value: 0, iterations: 0, converged: true };
  const v = new Float64Array(d).fill(1 / Math.sqrt(d));
  const w = new Float64Array(d);
  let rho = 0;
  for (let it = 1; it <= POWER_MAX_ITER; it++) {
    apply(w, v);
    let dot = 0;
    let norm2 = 0;
    for (let j = 0; j < d; j++) {
      dot += v[j]! * w[j]!;
      norm2 += w[j]! * w[j]!;
    }
    // B v = 0: v lies in the null space; for the PSD Gram matrices used here that means B = 0 along every
    // direction the start reaches (an all-zero shard), so λ_max = 0.
    if (norm2 === 0) return { value: 0, iterations: it, converged: true };
    const prev = rho;
    rho = dot;
    const scale = 1 / Math.sqrt(norm2);
    for (let j = 0; j < d; j++) v[j] = w[j]! * scale;
    if (it > 1 && Math.abs(rho - prev) < POWER_TOL * Math.abs(rho)) return { value: rho, iterations: it, converged: true };
  }
  return { value: rho, iterations: POWER_MAX_ITER, converged: false };
}

/**
 * λ_max(AᵀA/m) of a data set's rows A (m × features, CSR) by `powerIteration`, each step O(nnz): w = A v,
 * then Aᵀw/m, never forming AᵀA. SPEC D.2's L_i uses it (logistic curvature ≤ ¼ times this).
 */
export function gramLambdaMax(data: Dataset): PowerResult {
  if (data.rows === 0) throw new RangeError('gramLambdaMax: the data set has no rows');
  const av = new Float64Array(data.rows);
  const inv = 1 / data.rows;
  return powerIteration(data.features, (out, v) => {
    csrMul(data, v, av);
    csrMulT(data, av, out);
    for (let j = 0; j < out.length; j++) out[j] = out[j]! * inv;
  });
}

/** out (rows) ← A v, A the data set's rows (CSR); O(nnz). */
export function csrMul(data: Dataset, v: Float64Array, out: Float64Array): void {
  const { rowPtr, cols, vals } = data;
  for (let r = 0; r < data.rows; r++) {
    let s = 0;
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) s += vals[k]! * v[cols[k]!]!;
    out[r] = s;
  }
}

/** out (features) ← Aᵀ w, A the data set's rows (CSR); O(nnz + features). */
export function csrMulT(data: Dataset, w: Float64Array, out: Float64Array): void {
  const { rowPtr, cols, vals } = data;
  out.fill(0, 0, data.features);
  for (let r = 0; r < data.rows; r++) {
    const wr = w[r]!;
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) out[cols[k]!]! += vals[k]! * wr;
  }
}

/** max_k ‖a_k‖² over the rows, with `extra` added to every row's squared norm (a constant bias feature: 1). */
export function maxRowNormSq(data: Dataset, extra = 0): number {
  let best = 0;
  for (let r = 0; r < data.rows; r++) {
    let s = extra;
    for (let k = data.rowPtr[r]!; k < data.rowPtr[r + 1]!; k++) s += data.vals[k]! * data.vals[k]!;
    if (s > best) best = s;
  }
  return best;
}

/** log(1 + eᵘ) without overflow for large u or loss of digits for very negative u. */
export function log1pExp(u: number): number {
  return u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u));
}

/** σ(u) = 1/(1 + e⁻ᵘ), computed from e^(−|u|) so that neither branch overflows. */
export function sigmoid(u: number): number {
  if (u >= 0) return 1 / (1 + Math.exp(-u));
  const e = Math.exp(u);
  return e / (1 + e);
}

/**
 * Xavier-normal (Glorot) initialisation of a fanOut × fanIn weight block: out[offset .. offset + fanIn·fanOut)
 * ← N(0, 2/(fanIn + fanOut)) draws, in storage order, from `rng`.
 */
export function xavierNormalInto(out: Float64Array, offset: number, fanIn: number, fanOut: number, rng: CounterRng): void {
  const std = Math.sqrt(2 / (fanIn + fanOut));
  const end = offset + fanIn * fanOut;
  for (let j = offset; j < end; j++) out[j] = std * rng.normal();
}

/** Checks that a data problem got a non-empty shard whose labels are ±1 (when `labels` asks for it). */
export function requireShard(problem: string, shard: Dataset | null, labels: 'pm1' | 'any'): Dataset {
  if (shard === null) throw new Error(`problem "${problem}" needs a data shard (a --data file); it got none`);
  if (shard.rows === 0) throw new Error(`problem "${problem}": this client's shard has no rows (more clients than data rows?)`);
  if (labels === 'pm1') {
    for (let r = 0; r < shard.rows; r++) {
      const y = shard.labels[r]!;
      if (y !== 1 && y !== -1) throw new Error(`problem "${problem}" needs labels ±1; row ${r} of the shard has label ${y}`);
    }
  }
  return shard;
}

/** Accuracy of a ±1 classifier: the fraction of rows r in [0, m) whose margin y_r·score_r is positive. */
export function fractionPositive(m: number, margin: (r: number) => number): number {
  let right = 0;
  for (let r = 0; r < m; r++) if (margin(r) > 0) right++;
  return right / m;
}

/**
 * Thomas algorithm: solves the tridiagonal system sub[j]·x[j−1] + diag[j]·x[j] + sup[j]·x[j+1] = rhs[j]
 * (sub[0] and sup[d−1] are ignored). No pivoting: exact in exact arithmetic and stable for symmetric
 * positive definite or diagonally dominant matrices, which is what it is used for here.
 */
export function solveTridiagonal(sub: ArrayLike<number>, diag: ArrayLike<number>, sup: ArrayLike<number>, rhs: ArrayLike<number>): Float64Array {
  const d = diag.length;
  if (sub.length !== d || sup.length !== d || rhs.length !== d) throw new RangeError(`solveTridiagonal: sub, diag, sup and rhs must all have length ${d}`);
  const c = new Float64Array(d);
  const x = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const m = diag[j]! - (j > 0 ? sub[j]! * c[j - 1]! : 0);
    if (m === 0 || !Number.isFinite(m)) throw new RangeError(`solveTridiagonal: zero pivot at row ${j}`);
    c[j] = j < d - 1 ? sup[j]! / m : 0;
    x[j] = (rhs[j]! - (j > 0 ? sub[j]! * x[j - 1]! : 0)) / m;
  }
  for (let j = d - 2; j >= 0; j--) x[j]! -= c[j]! * x[j + 1]!;
  return x;
}
