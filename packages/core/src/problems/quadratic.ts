import { CounterRng } from '../rng.js';
import type { Problem, Smoothness } from './types.js';

/**
 * The default problem: SPEC D.1's quadratics with controlled Hessian variance.
 *   T = tridiag(−1, 2, −1); ν_i = 1 + s·ξ_s, β_i = s·ξ_b (ξ ~ N(0, 1));
 *   A_i = (ν_i/4)·T + c·I,  b_i = (ν_i/4)·(β_i − 1)·e_1,  c = λ − λ_min(mean_i (ν_i/4)·T);
 *   f_i(x) = ½ xᵀA_i x − b_iᵀx,  x⁰ = √d·e_1.
 * ν_j and β_j are keyed by (run seed, j, "problem"), so any party computes all n of them in O(n)
 * (ARCHITECTURE "Numbers and determinism"); a client's shard needs no data file.
 */
export interface QuadraticSpec {
  clients: number;
  dim: number;
  /** s: spread of the clients' curvatures (0 ⇒ identical clients, L_± = 0). */
  noise: number;
  /** λ: smallest eigenvalue of the mean Hessian. */
  lambda: number;
  seed: number;
}

export interface QuadraticFamily {
  readonly spec: QuadraticSpec;
  readonly nu: Float64Array;
  readonly beta: Float64Array;
  /** The common diagonal shift c. */
  readonly shift: number;
  shard(rank: number): Problem;
  x0(): Float64Array;
  smoothness(): Smoothness;
}

/** Eigenvalue k (1..d) of tridiag(−1, 2, −1) of size d. */
const tridiagEigen = (k: number, d: number): number => 2 - 2 * Math.cos((k * Math.PI) / (d + 1));

export function quadraticFamily(spec: QuadraticSpec): QuadraticFamily {
  const { clients: n, dim: d, noise: s, lambda } = spec;
  const nu = new Float64Array(n);
  const beta = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const rng = new CounterRng(spec.seed, 0, j, 'problem');
    nu[j] = 1 + s * rng.normal();
    beta[j] = s * rng.normal();
  }
  const nuMean = mean(nu);
  const muMin = tridiagEigen(1, d);
  const muMax = tridiagEigen(d, d);
  const lambdaMin = Math.min((nuMean / 4) * muMin, (nuMean / 4) * muMax);
  const shift = lambda - lambdaMin;

  function shard(rank: number): Problem {
    const a = nu[rank]! / 4;
    const b1 = a * (beta[rank]! - 1);
    // A_i x = a·(T x) + c·x, computed in O(d) without forming the matrix.
    const applyA = (out: Float64Array, x: Float64Array): void => {
      for (let j = 0; j < d; j++) {
        const left = j > 0 ? x[j - 1]! : 0;
        const right = j < d - 1 ? x[j + 1]! : 0;
        out[j] = a * (2 * x[j]! - left - right) + shift * x[j]!;
      }
    };
    return {
      d,
      loss(x) {
        let q = 0;
        for (let j = 0; j < d; j++) {
          const left = j > 0 ? x[j - 1]! : 0;
          const right = j < d - 1 ? x[j + 1]! : 0;
          q += x[j]! * (a * (2 * x[j]! - left - right) + shift * x[j]!);
        }
        return 0.5 * q - b1 * x[0]!;
      },
      gradInto(out, x) {
        applyA(out, x);
        out[0]! -= b1;
      },
    };
  }

  return {
    spec,
    nu,
    beta,
    shift,
    shard,
    x0() {
      const x = new Float64Array(d);
      x[0] = Math.sqrt(d);
      return x;
    },
    smoothness() {
      // Every A_i is a polynomial in T, so all share T's eigenvectors; on mode k client i has eigenvalue
      // e_ik = ν_i μ_k/4 + c. The maxima over k of |mean e|, mean e² and var e are convex in μ, hence
      // attained at μ_min or μ_max: the constants are exact (SPEC A.2, decision 10).
      const atMu = (mu: number) => {
        let m1 = 0;
        let m2 = 0;
        for (let i = 0; i < n; i++) {
          const e = (nu[i]! * mu) / 4 + shift;
          m1 += e;
          m2 += e * e;
        }
        m1 /= n;
        m2 /= n;
        return { m1, m2, v: Math.max(0, m2 - m1 * m1) };
      };
      const lo = atMu(muMin);
      const hi = atMu(muMax);
      const Li = Array.from(nu, (v) => Math.max(Math.abs((v * muMin) / 4 + shift), Math.abs((v * muMax) / 4 + shift)));
      return {
        Lminus: Math.max(Math.abs(lo.m1), Math.abs(hi.m1)),
        Lplus: Math.sqrt(Math.max(lo.m2, hi.m2)),
        Lpm: Math.sqrt(Math.max(lo.v, hi.v)),
        Li,
        exact: { Lminus: true, Lplus: true, Lpm: true },
      };
    },
  };
}

function mean(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}
