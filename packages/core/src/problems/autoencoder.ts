import { selectRows, type Dataset } from '../data/dataset.js';
import { numberOption } from '../options.js';
import { CounterRng } from '../rng.js';
import { gramLambdaMax, powerIteration, requireShard, xavierNormalInto } from './linalg.js';
import { smoothnessFromLi, type LocalProblem, type Problem, type ProblemDef } from './types.js';

/**
 * SPEC D.5 (PermK paper): a linear autoencoder on images (IDX, MNIST), no biases,
 *   f_i(x) = (1/m) Σ_k ‖W_d W_e a_k − a_k‖² + λ‖W_eᵀW_dᵀ − I‖_F²,
 * W_e ∈ R^{h×p} (encoder), W_d ∈ R^{p×h} (decoder), p = features, h = `hidden`, d = 2·p·h.
 * Layout of x: x[0 .. hp) is W_e row-major (W_e[j][c] = x[j·p + c]); x[hp .. 2hp) is W_d row-major
 * (W_d[c][j] = x[hp + c·h + j]). x⁰: both Xavier-normal, N(0, 2/(p + h)), W_e then W_d in storage order, from
 * CounterRng(seed, 0, 0, 'autoencoder-init').
 *
 * Scale: this is the sum over pixels of the squared error (as SPEC D.5 states it); the reference code
 * (Tyurin's, torch `MSELoss`) averages over pixels too, so its λ corresponds to ours divided by p.
 *
 * L_i (LiKind 'estimate'): f_i is a quartic polynomial in x, so ∇f_i has no global Lipschitz constant and any
 * L_i is local. We use a proven bound on the curvature at x⁰, ‖∇²f_i(x⁰)‖ ≤ L_i with
 *   L_i = 2(σ_e² + σ_d²)(λ_A + λ) + 2√(g(x⁰)·λ_A) + 2λ‖W_dW_e − I‖_F,
 * σ_e = ‖W_e‖₂, σ_d = ‖W_d‖₂ at x⁰, λ_A = λ_max(A_iᵀA_i/m), g = the reconstruction term at x⁰ (derivation at
 * `curvatureBoundAt`). It holds at x⁰ only and grows with the weights along the run; hence 'estimate'.
 */
export interface AutoencoderOptions {
  hidden: number;
  /** λ ≥ 0 of λ‖W_eᵀW_dᵀ − I‖_F² (0: the term is skipped). */
  lambda: number;
  seed: number;
}

/** d of the autoencoder over `features` inputs with `hidden` units. */
export const autoencoderDim = (features: number, hidden: number): number => 2 * features * hidden;

/** x⁰: W_e and W_d Xavier-normal (see the layout above). */
export function autoencoderInit(features: number, hidden: number, seed: number): Float64Array {
  const x = new Float64Array(autoencoderDim(features, hidden));
  const rng = new CounterRng(seed, 0, 0, 'autoencoder-init');
  xavierNormalInto(x, 0, features, hidden, rng); // W_e: fan-in p, fan-out h
  xavierNormalInto(x, features * hidden, hidden, features, rng); // W_d: fan-in h, fan-out p
  return x;
}

/** The autoencoder's f_i with the pieces its L_i needs. */
export interface AutoencoderObjective extends Problem {
  /** (1/m) Σ_k ‖W_d W_e a_k − a_k‖² alone. */
  reconstruction(x: Float64Array): number;
  /** ‖W_dW_e − I‖_F² alone (without λ), O(p·h²). */
  orthogonality(x: Float64Array): number;
}

/**
 * f_i over `shard`. Per row: z = W_e a (O(nnz·h)), r = W_d z − a (O(p·h)), then ∇_{W_d} += (2/m) r zᵀ and
 * ∇_{W_e} += (2/m)(W_dᵀr) aᵀ (O(p·h + nnz·h)). The λ term uses ‖P − I‖² = ⟨G_d, G_e⟩ − 2 tr(W_eW_d) + p with
 * P = W_dW_e, G_e = W_eW_eᵀ and G_d = W_dᵀW_d (h×h), so it costs O(p·h²) and never forms the p×p matrix; its
 * gradient is 2λ(G_dW_e − W_dᵀ) for W_e and 2λ(W_dG_e − W_eᵀ) for W_d. All scratch is allocated here once.
 */
export function autoencoderObjective(shard: Dataset, hidden: number, lambda: number): AutoencoderObjective {
  const { rows: m, features: p, rowPtr, cols, vals } = shard;
  const h = hidden;
  const d = autoencoderDim(p, h);
  const oD = h * p;
  const inv = 1 / m;
  const z = new Float64Array(h);
  const u = new Float64Array(h);
  const res = new Float64Array(p);
  const Ge = new Float64Array(h * h);
  const Gd = new Float64Array(h * h);

  /** z ← W_e a_r; res ← W_d z − a_r; returns ‖res‖². */
  const residual = (x: Float64Array, r: number): number => {
    z.fill(0);
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) {
      const a = vals[k]!;
      for (let j = 0, at = cols[k]!; j < h; j++, at += p) z[j]! += x[at]! * a;
    }
    for (let c = 0, at = oD; c < p; c++) {
      let s = 0;
      for (let j = 0; j < h; j++, at++) s += x[at]! * z[j]!;
      res[c] = s;
    }
    for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) res[cols[k]!]! -= vals[k]!;
    let e = 0;
    for (let c = 0; c < p; c++) e += res[c]! * res[c]!;
    return e;
  };

  /** Ge ← W_eW_eᵀ, Gd ← W_dᵀW_d; returns tr(W_eW_d) = Σ_{j,c} W_e[j][c]·W_d[c][j]. O(p·h²). */
  const grams = (x: Float64Array): number => {
    for (let j = 0; j < h; j++) {
      for (let l = 0; l <= j; l++) {
        let se = 0;
        let sd = 0;
        for (let c = 0; c < p; c++) {
          se += x[j * p + c]! * x[l * p + c]!;
          sd += x[oD + c * h + j]! * x[oD + c * h + l]!;
        }
        Ge[j * h + l] = Ge[l * h + j] = se;
        Gd[j * h + l] = Gd[l * h + j] = sd;
      }
    }
    let tr = 0;
    for (let j = 0; j < h; j++) for (let c = 0; c < p; c++) tr += x[j * p + c]! * x[oD + c * h + j]!;
    return tr;
  };

  const orthogonality = (x: Float64Array): number => {
    const tr = grams(x);
    let inner = 0;
    for (let q = 0; q < h * h; q++) inner += Gd[q]! * Ge[q]!;
    return inner - 2 * tr + p;
  };

  const reconstruction = (x: Float64Array): number => {
    let s = 0;
    for (let r = 0; r < m; r++) s += residual(x, r);
    return s * inv;
  };

  return {
    d,
    reconstruction,
    orthogonality,
    loss(x) {
      // λ = 0: the O(p·h²) term is skipped entirely, not multiplied by zero.
      return lambda === 0 ? reconstruction(x) : reconstruction(x) + lambda * orthogonality(x);
    },
    gradInto(out, x) {
      out.fill(0, 0, d);
      const two = 2 * inv;
      for (let r = 0; r < m; r++) {
        residual(x, r);
        // ∇_{W_d}[c][j] += (2/m)·res_c·z_j, and u = W_dᵀres in the same pass over W_d.
        u.fill(0);
        for (let c = 0, at = oD; c < p; c++) {
          const rc = res[c]!;
          const g = two * rc;
          for (let j = 0; j < h; j++, at++) {
            out[at]! += g * z[j]!;
            u[j]! += x[at]! * rc;
          }
        }
        // ∇_{W_e}[j][c] += (2/m)·u_j·a_c over the row's nonzeros.
        for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) {
          const a = two * vals[k]!;
          for (let j = 0, at = cols[k]!; j < h; j++, at += p) out[at]! += u[j]! * a;
        }
      }
      if (lambda === 0) return;
      grams(x);
      const l2 = 2 * lambda;
      // W_e: 2λ(G_d W_e − W_dᵀ);  W_d: 2λ(W_d G_e − W_eᵀ).
      for (let j = 0; j < h; j++) {
        for (let c = 0; c < p; c++) {
          let s = 0;
          for (let l = 0; l < h; l++) s += Gd[j * h + l]! * x[l * p + c]!;
          out[j * p + c]! += l2 * (s - x[oD + c * h + j]!);
        }
      }
      for (let c = 0; c < p; c++) {
        for (let j = 0; j < h; j++) {
          let s = 0;
          for (let l = 0; l < h; l++) s += x[oD + c * h + l]! * Ge[l * h + j]!;
          out[oD + c * h + j]! += l2 * (s - x[j * p + c]!);
        }
      }
    },
  };
}

/**
 * A proven bound on ‖∇²f_i(x)‖ at the point x (the autoencoder's L_i, taken at x⁰). Along a unit direction
 * v = (E, D) (‖E‖_F² + ‖D‖_F² = 1) the product moves as W_dW_e + tM + t²N with M = DW_e + W_dE, N = DE, so with
 * R_k = W_dW_e a_k − a_k:
 *   reconstruction: vᵀ∇²g v = (2/m) Σ_k (‖M a_k‖² + 2R_kᵀN a_k)
 *                   ≤ 2‖M‖_F² λ_A + 4√g·‖N‖_F·√λ_A          (Cauchy–Schwarz over k and over rows of M)
 *   regulariser:    vᵀ∇²ρ v = 2λ(‖M‖_F² + 2⟨W_dW_e − I, N⟩) ≤ 2λ‖M‖_F² + 4λ‖W_dW_e − I‖_F‖N‖_F
 * and ‖M‖_F ≤ ‖D‖_F σ_e + σ_d‖E‖_F ≤ √(σ_e² + σ_d²), ‖N‖_F ≤ ‖D‖_F‖E‖_F ≤ ½. σ_e², σ_d² and λ_A come from
 * `powerIteration` (tolerance 1e-12 relative, from below), the only slack in "proven".
 */
export function curvatureBoundAt(objective: AutoencoderObjective, shard: Dataset, hidden: number, lambda: number, x: Float64Array): number {
  const p = shard.features;
  const h = hidden;
  const oD = h * p;
  const lambdaA = gramLambdaMax(shard).value;
  // σ_e² = λ_max(W_eW_eᵀ), σ_d² = λ_max(W_dᵀW_d), both h×h, applied without forming them: O(p·h) a step.
  const tmp = new Float64Array(p);
  const sigmaE2 = powerIteration(h, (out, v) => {
    for (let c = 0; c < p; c++) {
      let s = 0;
      for (let j = 0; j < h; j++) s += x[j * p + c]! * v[j]!;
      tmp[c] = s; // W_eᵀv
    }
    for (let j = 0; j < h; j++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += x[j * p + c]! * tmp[c]!;
      out[j] = s;
    }
  }).value;
  const sigmaD2 = powerIteration(h, (out, v) => {
    for (let c = 0; c < p; c++) {
      let s = 0;
      for (let j = 0; j < h; j++) s += x[oD + c * h + j]! * v[j]!;
      tmp[c] = s; // W_d v
    }
    for (let j = 0; j < h; j++) {
      let s = 0;
      for (let c = 0; c < p; c++) s += x[oD + c * h + j]! * tmp[c]!;
      out[j] = s;
    }
  }).value;
  const g = objective.reconstruction(x);
  const s2 = sigmaE2 + sigmaD2;
  const reg = lambda === 0 ? 0 : 2 * lambda * s2 + 2 * lambda * Math.sqrt(Math.max(0, objective.orthogonality(x)));
  return 2 * s2 * lambdaA + 2 * Math.sqrt(g * lambdaA) + reg;
}

/** f_i of the autoencoder over `shard`, with its L_i (curvature bound at x⁰, LiKind 'estimate'). */
export function linearAutoencoder(shard: Dataset, opts: AutoencoderOptions): LocalProblem {
  const problem = autoencoderObjective(shard, opts.hidden, opts.lambda);
  const x0 = autoencoderInit(shard.features, opts.hidden, opts.seed);
  const Li = curvatureBoundAt(problem, shard, opts.hidden, opts.lambda, x0);
  return { problem, Li, LiKind: 'estimate' };
}

/**
 * SPEC D.5's homogeneity-controlled split: the rows cut into n + 1 equal contiguous parts of ⌊N/(n+1)⌋ (the
 * remainder dropped); part 0 is the hold-out. Client `rank` gets part rank + 1, except that its k-th row is
 * replaced by hold-out row k with probability q, the coins from CounterRng(seed, 0, rank, 'autoencoder-split')
 * (one draw per row, in order). q = 1: every client holds the hold-out part (identical clients, L_± = 0);
 * q = 0: the plain parts.
 */
export function homogeneitySplit(all: Dataset, n: number, rank: number, q: number, seed: number): Dataset {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`autoencoder split: n must be a positive integer, got ${n}`);
  if (!(Number.isInteger(rank) && rank >= 0 && rank < n)) throw new RangeError(`autoencoder split: rank ${rank} is outside [0, ${n})`);
  if (!(q >= 0 && q <= 1)) throw new RangeError(`autoencoder split: homogeneity q must be in [0, 1], got ${q}`);
  const size = Math.floor(all.rows / (n + 1));
  if (size === 0) throw new RangeError(`autoencoder split: ${all.rows} rows cannot be cut into n + 1 = ${n + 1} non-empty parts (hold-out + one per client)`);
  const rng = new CounterRng(seed, 0, rank, 'autoencoder-split');
  const take = new Int32Array(size);
  const base = (rank + 1) * size;
  for (let k = 0; k < size; k++) take[k] = rng.bernoulli(q) ? k : base + k;
  return selectRows(all, take);
}

/** Registry entry `autoencoder` (SPEC D.5). */
export const autoencoder: ProblemDef = {
  name: 'autoencoder',
  description:
    'SPEC D.5: linear autoencoder h×features/features×h, no biases, Σ‖W_dW_e a − a‖² + λ‖W_eᵀW_dᵀ − I‖², homogeneity split of IDX images; L_i is a curvature bound at x⁰ (an estimate: f_i is quartic)',
  data: 'idx',
  infimumBound: 0,
  options: {
    hidden: { type: 'int', default: 16, min: 1, max: 4096, help: 'autoencoder: code size h (d = 2·features·h; SPEC D.5 uses 16)' },
    lambda: { type: 'real', default: 0, min: 0, max: 1e6, help: 'autoencoder: λ of λ‖W_eᵀW_dᵀ − I‖_F² (0 skips the term; SPEC D.5 uses 0, 1e-5, 1e-3 against a per-pixel mean)' },
    homogeneity: {
      type: 'real',
      default: 0.5,
      min: 0,
      max: 1,
      help: 'autoencoder: q, the probability that a client row is replaced by the hold-out row of the same index (1: identical clients)',
    },
  },
  dim: (config, features) => autoencoderDim(features, numberOption(config, 'hidden')),
  split: (config, all, n, rank) => homogeneitySplit(all, n, rank, numberOption(config, 'homogeneity'), numberOption(config, 'seed')),
  local(config, _n, _rank, shard) {
    return linearAutoencoder(requireShard('autoencoder', shard, 'any'), {
      hidden: numberOption(config, 'hidden'),
      lambda: numberOption(config, 'lambda'),
      seed: numberOption(config, 'seed'),
    });
  },
  smoothness: (_config, facts) => smoothnessFromLi(facts),
  x0: (config, d) => {
    const h = numberOption(config, 'hidden');
    const p = d / (2 * h);
    if (!(Number.isInteger(p) && p >= 1)) throw new RangeError(`autoencoder x0: d = ${d} is not 2·features·h for h = ${h}`);
    return autoencoderInit(p, h, numberOption(config, 'seed'));
  },
};
