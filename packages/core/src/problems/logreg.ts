import type { Dataset } from '../data/dataset.js';
import { numberOption } from '../options.js';
import { fractionPositive, gramLambdaMax, log1pExp, requireShard, sigmoid } from './linalg.js';
import { smoothnessFromLi, type LocalProblem, type ProblemDef } from './types.js';

/**
 * SPEC D.2: logistic regression with a nonconvex regulariser, over a client's LIBSVM rows (labels ±1):
 *   f_i(x) = (1/m) Σ_k log(1 + exp(−y_k a_kᵀx)) + λ Σ_j x_j²/(1 + x_j²),   x ∈ R^features, x⁰ = 0.
 *   ∇f_i(x) = −(1/m) Σ_k y_k σ(−y_k a_kᵀx) a_k + λ·2x_j/(1 + x_j²)² (coordinate j).
 *
 * L_i = ¼·λ_max(A_iᵀA_i/m_i) + 2λ (SPEC D.2): the logistic loss has φ'' = σ(1 − σ) ≤ ¼, and the regulariser
 * r(t) = t²/(1 + t²) has r'' = (2 − 6t²)/(1 + t²)³, |r''| ≤ 2 (at t = 0). λ_max is found by `gramLambdaMax`
 * (power iteration from a fixed start, tolerance 1e-12 relative on the Rayleigh quotient), so L_i is an
 * upper bound up to that tolerance: LiKind 'bound'.
 */
export interface LogRegOptions {
  /** λ ≥ 0: weight of the nonconvex regulariser. */
  lambda: number;
}

/** f_i of SPEC D.2 over `shard` (labels ±1), with its L_i bound. gradInto allocates nothing. */
export function logisticRegression(shard: Dataset, opts: LogRegOptions): LocalProblem {
  const { rows: m, features: d, labels, rowPtr, cols, vals } = shard;
  const { lambda } = opts;
  const inv = 1 / m;

  const margin = (x: Float64Array, r: number): number => {
    let t = 0;
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) t += vals[k]! * x[cols[k]!]!;
    return labels[r]! * t;
  };

  const problem = {
    d,
    loss(x: Float64Array): number {
      let data = 0;
      // log(1 + e^(−t)) through log1pExp: finite for any margin t (e^(−t) overflows for t < −709).
      for (let r = 0; r < m; r++) data += log1pExp(-margin(x, r));
      let reg = 0;
      if (lambda !== 0) {
        for (let j = 0; j < d; j++) {
          const x2 = x[j]! * x[j]!;
          reg += x2 / (1 + x2);
        }
      }
      return data * inv + lambda * reg;
    },
    accuracy: (x: Float64Array): number => fractionPositive(m, (r) => margin(x, r)),
    gradInto(out: Float64Array, x: Float64Array): void {
      out.fill(0, 0, d);
      for (let r = 0; r < m; r++) {
        const y = labels[r]!;
        // d/dt log(1 + e^(−t)) = −σ(−t); the chain rule through t = y aᵀx gives the row's coefficient.
        const c = -y * sigmoid(-margin(x, r)) * inv;
        for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) out[cols[k]!]! += c * vals[k]!;
      }
      if (lambda !== 0) {
        for (let j = 0; j < d; j++) {
          const xj = x[j]!;
          const q = 1 + xj * xj;
          out[j]! += (2 * lambda * xj) / (q * q);
        }
      }
    },
  };
  const Li = 0.25 * gramLambdaMax(shard).value + 2 * lambda;
  return { problem, Li, LiKind: 'bound' };
}

/** Registry entry `logreg` (SPEC D.2). */
export const logreg: ProblemDef = {
  name: 'logreg',
  description: 'SPEC D.2: logistic regression + λ·Σx²/(1+x²) (nonconvex) on LIBSVM data, labels ±1; L_i = ¼λ_max(AᵀA/m) + 2λ (bound)',
  data: 'libsvm',
  infimumBound: 0,
  options: {
    lambda: {
      type: 'real',
      default: 0.001,
      min: 0,
      max: 1e6,
      help: 'logreg: weight λ of the nonconvex regulariser λ·Σ_j x_j²/(1+x_j²) (SPEC D.2; the papers do not give it, decision 8)',
    },
  },
  dim: (_config, features) => features,
  local(config, _n, _rank, shard) {
    return logisticRegression(requireShard('logreg', shard, 'pm1'), { lambda: numberOption(config, 'lambda') });
  },
  smoothness: (_config, facts) => smoothnessFromLi(facts),
  x0: (_config, d) => new Float64Array(d),
};
