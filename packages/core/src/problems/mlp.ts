import type { Dataset } from '../data/dataset.js';
import { numberOption } from '../options.js';
import { CounterRng } from '../rng.js';
import { fractionPositive, log1pExp, requireShard, sigmoid, xavierNormalInto } from './linalg.js';
import { smoothnessFromLi, type LocalProblem, type Problem, type ProblemDef } from './types.js';

/**
 * SPEC D.4: a small neural network on LIBSVM data (a9a, 131 clients in the CQ-MARINA paper). The paper does
 * not give the architecture (SPEC D.4 "Unknown", decision 8); ours is one hidden layer with biases:
 *   z = tanh(W1 a + b1) ∈ R^h,   o = w2ᵀz + b2,   f_i(x) = (1/m) Σ_k log(1 + exp(−y_k o_k)),
 * the logistic loss on labels ±1, averaged over the shard (full local gradients, no batches).
 *
 * Layout of x (d = h·p + h + h + 1, p = features, h = `hidden`):
 *   x[0 .. h·p)            W1, row-major (h × p): W1[j][c] = x[j·p + c];
 *   x[h·p .. h·p + h)      b1;
 *   x[h·p + h .. h·p + 2h) w2;
 *   x[h·p + 2h]            b2.
 *
 * x⁰: W1 and w2 Xavier-normal (N(0, 2/(p + h)) and N(0, 2/(h + 1))) from CounterRng(seed, 0, 0, 'mlp-init'),
 * W1 first in storage order, then w2; biases 0. Every party computes the same x⁰ from the run seed.
 *
 * L_i: f_i has no computable global smoothness constant, so L_i is an ESTIMATE (LiKind 'estimate') of the
 * curvature at x⁰: 2 × the largest secant slope ‖∇f_i(x⁰ + δv) − ∇f_i(x⁰)‖/δ (δ = 1e-3) over 8 unit
 * directions v. The first direction is random, from CounterRng(seed, 0, rank, 'mlp-L'); each next one is the
 * normalised gradient difference of the previous (power iteration on the finite-difference Hessian), so the
 * slopes climb to ‖∇²f_i(x⁰)‖. Independent random directions would not do: in d ≈ 4 000 a random direction
 * sees the root-mean-square curvature √(tr H²/d), not ‖H‖ (on a9a, h = 32, 248 rows: 0.11 against 3.32, so
 * "2 × max of 8 random slopes" gave 0.26, a step size 13× too large). It measures curvature near x⁰ only;
 * the factor 2 is a safety margin, not a proof. smoothness() turns the L_i into decision 10's bounds
 * (flagged not exact).
 */
export interface MlpOptions {
  /** h: hidden units. */
  hidden: number;
  /** Run seed (x⁰ and the L_i directions). */
  seed: number;
  /** The client's rank (keys the L_i directions). */
  rank: number;
}

/** Finite-difference step δ of the L_i estimate. */
export const MLP_L_DELTA = 1e-3;
/** Secant directions of the L_i estimate (the first random, the others power-iterated). */
export const MLP_L_DIRECTIONS = 8;
/** Safety factor on the largest secant slope. */
export const MLP_L_SAFETY = 2;

/** d of the network over `features` inputs with `hidden` units. */
export const mlpDim = (features: number, hidden: number): number => hidden * features + 2 * hidden + 1;

/** x⁰ of the network (see the layout above). */
export function mlpInit(features: number, hidden: number, seed: number): Float64Array {
  const x = new Float64Array(mlpDim(features, hidden));
  const rng = new CounterRng(seed, 0, 0, 'mlp-init');
  xavierNormalInto(x, 0, features, hidden, rng);
  xavierNormalInto(x, hidden * features + hidden, hidden, 1, rng);
  return x;
}

/**
 * The network's f_i over `shard` (labels ±1) without its L_i. Forward and backward are fused per row, so
 * the only scratch is two length-h float64 vectors, allocated here once; gradInto allocates nothing and
 * costs O(nnz·h + m·h).
 */
export function mlpObjective(shard: Dataset, hidden: number): Problem {
  const { rows: m, features: p, labels, rowPtr, cols, vals } = shard;
  const h = hidden;
  const d = mlpDim(p, h);
  const oB1 = h * p;
  const oW2 = oB1 + h;
  const oB2 = oW2 + h;
  const inv = 1 / m;
  // Activations in float64, not float32: they are O(h) (no per-row storage), so float32 would save nothing
  // and would add ~1e-7 relative noise to ∇f_i, which the secant L_i estimate divides by δ = 1e-3.
  const z = new Float64Array(h);
  const delta = new Float64Array(h);

  /** z ← tanh(W1 a_r + b1), returns o = w2ᵀz + b2. O(nnz_r·h + h). */
  const forward = (x: Float64Array, r: number): number => {
    for (let j = 0; j < h; j++) z[j] = x[oB1 + j]!;
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) {
      const c = cols[k]!;
      const a = vals[k]!;
      for (let j = 0, at = c; j < h; j++, at += p) z[j]! += x[at]! * a;
    }
    let o = x[oB2]!;
    for (let j = 0; j < h; j++) {
      const t = Math.tanh(z[j]!);
      z[j] = t;
      o += x[oW2 + j]! * t;
    }
    return o;
  };

  return {
    d,
    loss(x) {
      let s = 0;
      for (let r = 0; r < m; r++) s += log1pExp(-labels[r]! * forward(x, r));
      return s * inv;
    },
    accuracy: (x) => fractionPositive(m, (r) => labels[r]! * forward(x, r)),
    gradInto(out, x) {
      out.fill(0, 0, d);
      for (let r = 0; r < m; r++) {
        const y = labels[r]!;
        const o = forward(x, r);
        // ∂/∂o of log(1 + e^(−y·o)) = −y·σ(−y·o), averaged over the shard.
        const g = -y * sigmoid(-y * o) * inv;
        out[oB2]! += g;
        for (let j = 0; j < h; j++) {
          out[oW2 + j]! += g * z[j]!;
          // Back through tanh: tanh' = 1 − tanh².
          const dj = g * x[oW2 + j]! * (1 - z[j]! * z[j]!);
          delta[j] = dj;
          out[oB1 + j]! += dj;
        }
        for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) {
          const c = cols[k]!;
          const a = vals[k]!;
          for (let j = 0, at = c; j < h; j++, at += p) out[at]! += delta[j]! * a;
        }
      }
    },
  };
}

/**
 * The L_i estimate at x⁰ (see the module comment): `safety` × the largest of `directions` secant slopes
 * ‖∇f(x⁰ + δv) − ∇f(x⁰)‖/δ, v₀ a random unit vector from `rng` and v_{k+1} = (∇f(x⁰ + δv_k) − ∇f(x⁰))
 * normalised. Done once per client at join; allocates its own O(d) scratch.
 */
export function secantLipschitzEstimate(problem: Problem, x0: Float64Array, rng: CounterRng, directions: number, delta: number, safety: number): number {
  const d = problem.d;
  const g0 = new Float64Array(d);
  const g1 = new Float64Array(d);
  const v = new Float64Array(d);
  const xs = new Float64Array(d);
  problem.gradInto(g0, x0);
  let n2 = 0;
  for (let j = 0; j < d; j++) {
    v[j] = rng.normal();
    n2 += v[j]! * v[j]!;
  }
  let norm = Math.sqrt(n2);
  let best = 0;
  for (let i = 0; i < directions; i++) {
    const scale = delta / norm;
    for (let j = 0; j < d; j++) xs[j] = x0[j]! + scale * v[j]!;
    problem.gradInto(g1, xs);
    let diff = 0;
    for (let j = 0; j < d; j++) {
      v[j] = g1[j]! - g0[j]!;
      diff += v[j]! * v[j]!;
    }
    norm = Math.sqrt(diff);
    best = Math.max(best, norm / delta);
    // Zero curvature along v (a flat direction): the next direction would be 0/0, and nothing larger is reachable.
    if (norm === 0) break;
  }
  return safety * best;
}

/** f_i of the network over `shard`, with its L_i estimate. */
export function mlpProblem(shard: Dataset, opts: MlpOptions): LocalProblem {
  const problem = mlpObjective(shard, opts.hidden);
  const x0 = mlpInit(shard.features, opts.hidden, opts.seed);
  const rng = new CounterRng(opts.seed, 0, opts.rank, 'mlp-L');
  const Li = secantLipschitzEstimate(problem, x0, rng, MLP_L_DIRECTIONS, MLP_L_DELTA, MLP_L_SAFETY);
  return { problem, Li, LiKind: 'estimate' };
}

/** Registry entry `mlp` (SPEC D.4; architecture ours, decision 8). */
export const mlp: ProblemDef = {
  name: 'mlp',
  description:
    'SPEC D.4: MLP features→hidden (tanh)→1 with biases, logistic loss on labels ±1 (architecture ours, decision 8); L_i is an estimate: 2 × the largest of 8 power-iterated secant slopes at x⁰',
  data: 'libsvm',
  infimumBound: 0,
  options: {
    hidden: { type: 'int', default: 32, min: 1, max: 4096, help: 'mlp: hidden units h of the one-hidden-layer tanh network (d = h·features + 2h + 1)' },
  },
  dim: (config, features) => mlpDim(features, numberOption(config, 'hidden')),
  local(config, _n, rank, shard) {
    return mlpProblem(requireShard('mlp', shard, 'pm1'), { hidden: numberOption(config, 'hidden'), seed: numberOption(config, 'seed'), rank });
  },
  smoothness: (_config, facts) => smoothnessFromLi(facts),
  x0: (config, d) => {
    const h = numberOption(config, 'hidden');
    // d = h·p + 2h + 1 fixes p; x⁰ depends on p only through the fan-in of W1.
    const p = (d - 2 * h - 1) / h;
    if (!(Number.isInteger(p) && p >= 1)) throw new RangeError(`mlp x0: d = ${d} is not h·features + 2h + 1 for h = ${h}`);
    return mlpInit(p, h, numberOption(config, 'seed'));
  },
};
