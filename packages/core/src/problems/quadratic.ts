import { CounterRng } from '../rng.js';
import { failOption, numberOption, type ConfigValues } from '../options.js';
import { solveTridiagonal } from './linalg.js';
import type { FiniteSum, Problem, ProblemDef, Smoothness } from './types.js';

/**
 * The default problem: SPEC D.1's quadratics with controlled Hessian variance.
 *   T = tridiag(−1, 2, −1); ν_i = 1 + s·ξ_s, β_i = s·ξ_b (ξ ~ N(0, 1));
 *   A_i = (ν_i/4)·T + c·I,  b_i = (ν_i/4)·(β_i − 1)·e_1,  c = λ − λ_min(mean_i (ν_i/4)·T);
 *   f_i(x) = ½ xᵀA_i x − b_iᵀx,  x⁰ = √d·e_1.
 * ν_j and β_j are keyed by (run seed, j, "problem"), so any party computes all n of them in O(n)
 * (ARCHITECTURE "Numbers and determinism"); a client's shard needs no data file.
 * With `samples` set, every shard is also a finite sum (decision 22; `Problem.components`).
 */
export interface QuadraticSpec {
  clients: number;
  dim: number;
  /** s: spread of the clients' curvatures (0 ⇒ identical clients, L_± = 0). */
  noise: number;
  /** λ: smallest eigenvalue of the mean Hessian. */
  lambda: number;
  /**
   * σ_b: spread of the linear terms alone, β_i = s·ξ_b + σ_b·ξ'_b (default 0). With s = 0 the clients share
   * their curvature (L± = 0) but not their minimisers (∇f_i(x*) ≠ 0): the case where DCGD stalls and MARINA
   * does not (the CQ paper's "MARINA+CQ beats DCGD").
   */
  linearNoise?: number;
  seed: number;
  /**
   * Decision 22: when given, each f_i is also the mean of m = `samples` (even) components
   * f_ik(x) = ½xᵀ(A_i + σ·ε_k·T/4)x − b_iᵀx with ε_k = +1 for even k, −1 for odd k (so they average to f_i)
   * and σ = `componentNoise` (default 0). The full gradient ∇f_i stays A_i x − b_i, computed directly.
   */
  samples?: number;
  componentNoise?: number;
}

export interface QuadraticFamily {
  readonly spec: QuadraticSpec;
  readonly nu: Float64Array;
  readonly beta: Float64Array;
  /** The common diagonal shift c. */
  readonly shift: number;
  shard(rank: number): Problem;
  /** L_i of client i, exactly, in O(1). */
  lipschitz(rank: number): number;
  x0(): Float64Array;
  smoothness(): Smoothness;
}

/** Eigenvalue k (1..d) of tridiag(−1, 2, −1) of size d. */
const tridiagEigen = (k: number, d: number): number => 2 - 2 * Math.cos((k * Math.PI) / (d + 1));

export function quadraticFamily(spec: QuadraticSpec): QuadraticFamily {
  const { clients: n, dim: d, noise: s, lambda } = spec;
  const linearNoise = spec.linearNoise ?? 0;
  const nu = new Float64Array(n);
  const beta = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const rng = new CounterRng(spec.seed, 0, j, 'problem');
    nu[j] = 1 + s * rng.normal();
    beta[j] = s * rng.normal();
    // A third draw of the same stream: σ_b = 0 leaves every earlier run bit for bit as it was.
    if (linearNoise > 0) beta[j]! += linearNoise * rng.normal();
  }
  const nuMean = mean(nu);
  const muMin = tridiagEigen(1, d);
  const muMax = tridiagEigen(d, d);
  const lambdaMin = Math.min((nuMean / 4) * muMin, (nuMean / 4) * muMax);
  const shift = lambda - lambdaMin;
  const m = spec.samples;
  const sigma = spec.componentNoise ?? 0;
  if (m !== undefined && !(Number.isInteger(m) && m >= 2 && m % 2 === 0)) {
    throw new RangeError(`quadratic components: samples must be an even integer ≥ 2, got ${m}`);
  }

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
    // Component k: a_k = a + σ·ε_k/4 on T, same shift and linear term (decision 22).
    const components: FiniteSum | undefined =
      m === undefined
        ? undefined
        : {
            m,
            gradInto(out, x, k) {
              if (!(Number.isInteger(k) && k >= 0 && k < m)) throw new RangeError(`component index ${k} is outside [0, ${m})`);
              const ak = a + (sigma * (k % 2 === 0 ? 1 : -1)) / 4;
              for (let j = 0; j < d; j++) {
                const left = j > 0 ? x[j - 1]! : 0;
                const right = j < d - 1 ? x[j + 1]! : 0;
                out[j] = ak * (2 * x[j]! - left - right) + shift * x[j]!;
              }
              out[0]! -= b1;
            },
          };
    return {
      d,
      ...(components ? { components } : {}),
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

  /**
   * ζ² = (1/n)Σ‖∇f_i(x*) − ∇f(x*)‖², exactly: with c_i = (ν_i − ν̄)/4 and δ_i = b_i1 − b̄_1,
   * ∇f_i(x*) − ∇f(x*) = c_i·T x* − δ_i·e_1, so ζ² = mean(c²)‖Tx*‖² − 2·mean(c·δ)(Tx*)_1 + mean(δ²), with x* from
   * Ā x* = b̄ (Thomas algorithm, O(d)). Null when Ā is singular (λ = 0: no minimiser).
   */
  function dissimilarityAtOptimum(): number | null {
    // O(d) memory for x*: left out (null) beyond 2^20 coordinates, where theory answers without building x.
    if (!(lambda > 0) || d > 1 << 20) return null;
    const a = nuMean / 4;
    let bMean = 0;
    for (let i = 0; i < n; i++) bMean += (nu[i]! / 4) * (beta[i]! - 1);
    bMean /= n;
    const rhs = new Float64Array(d);
    rhs[0] = bMean;
    const xs = solveTridiagonal(new Float64Array(d).fill(-a), new Float64Array(d).fill(2 * a + shift), new Float64Array(d).fill(-a), rhs);
    let tNormSq = 0;
    let t1 = 0;
    for (let j = 0; j < d; j++) {
      const tj = 2 * xs[j]! - (j > 0 ? xs[j - 1]! : 0) - (j < d - 1 ? xs[j + 1]! : 0);
      tNormSq += tj * tj;
      if (j === 0) t1 = tj;
    }
    let cc = 0;
    let cd = 0;
    let dd = 0;
    for (let i = 0; i < n; i++) {
      const c = (nu[i]! - nuMean) / 4;
      const delta = (nu[i]! / 4) * (beta[i]! - 1) - bMean;
      cc += c * c;
      cd += c * delta;
      dd += delta * delta;
    }
    return Math.max(0, (cc * tNormSq - 2 * cd * t1 + dd) / n);
  }

  /** L_i = ‖A_i‖₂: A_i's eigenvalues are ν_iμ_k/4 + c, extreme at μ_min or μ_max (O(1)). */
  function lipschitz(i: number): number {
    const v = nu[i]!;
    return Math.max(Math.abs((v * muMin) / 4 + shift), Math.abs((v * muMax) / 4 + shift));
  }

  return {
    spec,
    nu,
    lipschitz,
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
        return { m1, m2 };
      };
      const lo = atMu(muMin);
      const hi = atMu(muMax);
      // L_±² = max_k var_i(e_ik) = (μ_max/4)²·var(ν): c cancels. Taken from ν in two passes, not as
      // mean e² − (mean e)², whose cancellation gave L_± ≈ 1e-8 instead of 0 for identical clients (s = 0).
      let varNu = 0;
      for (let i = 0; i < n; i++) varNu += (nu[i]! - nuMean) ** 2;
      varNu /= n;
      const Li = Array.from(nu, (_, i) => lipschitz(i));
      // Components (decision 22): on mode k client i's component j has eigenvalue e_ik + σ·ε_j·μ_k/4; the ε_j
      // average to 0 and square to 1, so (1/m)Σ_j of the squares is e_ik² + (σμ_k/4)², again convex in μ.
      const comp = (mu: number, m2: number) => m2 + ((sigma * mu) / 4) ** 2;
      return {
        dissimilarity: dissimilarityAtOptimum(),
        Lminus: Math.max(Math.abs(lo.m1), Math.abs(hi.m1)),
        Lplus: Math.sqrt(Math.max(lo.m2, hi.m2)),
        Lpm: (muMax / 4) * Math.sqrt(varNu),
        Li,
        exact: { Lminus: true, Lplus: true, Lpm: true },
        ...(m === undefined ? {} : { components: { m, Lcomp: Math.sqrt(Math.max(comp(muMin, lo.m2), comp(muMax, hi.m2))), exact: true } }),
      };
    },
  };
}

function mean(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/** SPEC D.1's quadratics with the run's options: everything is generated, so any party builds the family in O(n). */
/** One family per configuration object: building it is O(n), and every rank's shard needs it (O(n²) otherwise). */
const families = new WeakMap<ConfigValues, QuadraticFamily>();

export function quadraticFamilyOf(config: ConfigValues, n: number): QuadraticFamily {
  const known = families.get(config);
  if (known && known.spec.clients === n) return known;
  const family = buildFamily(config, n);
  families.set(config, family);
  return family;
}

function buildFamily(config: ConfigValues, n: number): QuadraticFamily {
  return quadraticFamily({
    clients: n,
    dim: numberOption(config, 'dim'),
    noise: numberOption(config, 'noise'),
    lambda: numberOption(config, 'lambda'),
    linearNoise: numberOption(config, 'linearNoise'),
    seed: numberOption(config, 'seed'),
    // Decision 22: each f_i is also a finite sum of m components (used by VR-MARINA only).
    samples: numberOption(config, 'samples'),
    componentNoise: numberOption(config, 'componentNoise'),
  });
}

/** The default problem (registry entry): generated, no data file; constants exact (decision 10). */
export const quadratic: ProblemDef = {
  name: 'quadratic',
  description: 'SPEC D.1: generated quadratics with controlled Hessian variance (no data; constants exact)',
  data: 'none',
  options: {
    dim: { type: 'int', default: 64, min: 1, max: 1 << 24, help: 'dimension d of the generated quadratic' },
    noise: { type: 'real', default: 0, min: 0, max: 100, help: 's of SPEC D.1: spread of client curvatures (0: identical clients, L± = 0)' },
    linearNoise: {
      type: 'real',
      default: 0,
      min: 0,
      max: 100,
      help: "σ_b: spread of the clients' linear terms alone (same curvature, L± = 0, but different minimisers: DCGD stalls, MARINA does not)",
    },
    lambda: { type: 'real', default: 0.001, min: 0, max: 1e6, help: 'quadratic: smallest eigenvalue λ of the mean Hessian' },
    samples: {
      type: 'int',
      default: 8,
      min: 2,
      max: 1 << 20,
      expects: 'an even integer in [2, 1048576]',
      parse: (v, field) => {
        const x = typeof v === 'number' ? v : String(v).trim() === '' ? NaN : Number(v);
        return Number.isInteger(x) && x >= 2 && x <= 1 << 20 && x % 2 === 0 ? x : failOption(field, v, 'an even integer ≥ 2 (the components come in ±σ pairs, decision 22)');
      },
      help: 'quadratic as a finite sum (VR-MARINA): components per client m, even (decision 22)',
    },
    componentNoise: { type: 'real', default: 0.5, min: 0, max: 100, help: 'quadratic as a finite sum (VR-MARINA): component spread σ (decision 22)' },
  },
  dim: (config) => numberOption(config, 'dim'),
  local(config, n, rank) {
    const family = quadraticFamilyOf(config, n);
    return { problem: family.shard(rank), Li: family.lipschitz(rank), LiKind: 'exact' };
  },
  smoothness: (config, facts) => quadraticFamilyOf(config, facts.length).smoothness(),
  x0: (_config, d) => {
    const x = new Float64Array(d);
    x[0] = Math.sqrt(d);
    return x;
  },
};
