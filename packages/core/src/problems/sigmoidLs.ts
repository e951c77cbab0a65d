import type { Dataset } from '../data/dataset.js';
import { boolOption, numberOption } from '../options.js';
import { fractionPositive, maxRowNormSq, requireShard, sigmoid } from './linalg.js';
import { smoothnessFromLi, type LocalProblem, type ProblemDef } from './types.js';

/**
 * SPEC D.3 (the MARINA paper's nonconvex binary classification), over a client's LIBSVM rows (labels ±1):
 *   f_i(x) = (1/m) Σ_k φ(y_k a_kᵀx) + (λ/2)‖x‖²,   φ(t) = σ(−t)² = (1 − 1/(1 + e^(−t)))²,   x⁰ = 0,
 * with a constant bias feature 1 appended to every row when `bias` is set (d = features + 1, the bias
 * weight at index `features`); it is implicit, never stored in the rows.
 *   φ'(t) = −2σ(−t)²σ(t),   ∇f_i(x) = (1/m) Σ_k φ'(y_k a_kᵀx) y_k a_k + λx.
 *
 * L_i = c·max_k ‖a_k‖² + λ (bias included in ‖a_k‖), c = sup|φ''| (SPEC D.3): each row's Hessian is
 * φ''(t)·a_k a_kᵀ with norm |φ''|·‖a_k‖². With s = σ(−t), φ'' = 4s² − 10s³ + 6s⁴, whose largest modulus is
 * at s = (15 − √33)/24: c = 0.154058570121… The paper's code writes 0.15405, which is 3.7e-5 relative *below*
 * the supremum, so not a bound; we use the exact value (LiKind 'bound'; step sizes differ by that 3.7e-5).
 */
export const SIGMOID_SQ_CURVATURE: number = (() => {
  const s = (15 - Math.sqrt(33)) / 24;
  return 4 * s * s - 10 * s ** 3 + 6 * s ** 4;
})();

export interface SigmoidLsOptions {
  /** Append a constant feature 1 (the bias) at index `features`. */
  bias: boolean;
  /** λ ≥ 0 of (λ/2)‖x‖², absolute. */
  lambda: number;
}

/** f_i of SPEC D.3 over `shard` (labels ±1), with its L_i bound. gradInto allocates nothing. */
export function sigmoidLeastSquares(shard: Dataset, opts: SigmoidLsOptions): LocalProblem {
  const { rows: m, features, labels, rowPtr, cols, vals } = shard;
  const { bias, lambda } = opts;
  const d = features + (bias ? 1 : 0);
  const inv = 1 / m;

  const margin = (x: Float64Array, r: number): number => {
    let t = bias ? x[features]! : 0;
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) t += vals[k]! * x[cols[k]!]!;
    return labels[r]! * t;
  };
  const halfNormSq = (x: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[j]! * x[j]!;
    return 0.5 * s;
  };

  const problem = {
    d,
    loss(x: Float64Array): number {
      let data = 0;
      for (let r = 0; r < m; r++) {
        const s = sigmoid(-margin(x, r));
        data += s * s;
      }
      return data * inv + lambda * halfNormSq(x);
    },
    accuracy: (x: Float64Array): number => fractionPositive(m, (r) => margin(x, r)),
    gradInto(out: Float64Array, x: Float64Array): void {
      for (let j = 0; j < d; j++) out[j] = lambda * x[j]!;
      for (let r = 0; r < m; r++) {
        const y = labels[r]!;
        const t = margin(x, r);
        // σ(−t) and σ(t) each from the stable sigmoid (1 − σ(−t) loses every digit when t ≪ 0).
        const s = sigmoid(-t);
        const c = -2 * s * s * sigmoid(t) * y * inv;
        for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) out[cols[k]!]! += c * vals[k]!;
        if (bias) out[features]! += c;
      }
    },
  };
  const Li = SIGMOID_SQ_CURVATURE * maxRowNormSq(shard, bias ? 1 : 0) + lambda;
  return { problem, Li, LiKind: 'bound' };
}

/** Registry entry `sigmoid-ls` (SPEC D.3). */
export const sigmoidLs: ProblemDef = {
  name: 'sigmoid-ls',
  description: 'SPEC D.3 (MARINA paper): mean σ(−y·aᵀx)² + (λ/2)‖x‖² (nonconvex) on LIBSVM data, labels ±1, bias feature; L_i = 0.15406·max‖a_k‖² + λ (bound)',
  data: 'libsvm',
  infimumBound: 0,
  options: {
    bias: { type: 'bool', default: true, help: 'sigmoid-ls: append a constant feature 1 to every row (d = features + 1, as the MARINA code does)' },
    lambda: {
      type: 'real',
      default: 0.001,
      min: 0,
      max: 1e6,
      help: 'sigmoid-ls: λ of (λ/2)‖x‖², absolute (the MARINA paper takes λ = L·1e-6, relative to L)',
    },
  },
  dim: (config, features) => features + (boolOption(config, 'bias') ? 1 : 0),
  local(config, _n, _rank, shard) {
    return sigmoidLeastSquares(requireShard('sigmoid-ls', shard, 'pm1'), {
      bias: boolOption(config, 'bias'),
      lambda: numberOption(config, 'lambda'),
    });
  },
  smoothness: (_config, facts) => smoothnessFromLi(facts),
  x0: (_config, d) => new Float64Array(d),
};
