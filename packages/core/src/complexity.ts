import type { ConstantsConvention } from './compressors/types.js';
import type { RunConfig } from './config.js';
import { createCompressor } from './compressors/registry.js';
import { compressorOptions } from './compressors/options.js';
import type { QuadraticFamily } from './problems/quadratic.js';
import type { RunSetup } from './setup.js';
import { marinaCost, minimiseOverP, type Theory } from './theory.js';

/**
 * Predicted communication complexity (SPEC A.4 "Communication complexity per client = rounds × expected
 * bits per round") and SPEC C's C_ind/C_cor ratio, in closed form: nothing here builds an iterate or does
 * O(n·d) work, so `marina theory` answers for any d.
 */

// ---------------------------------------------------------------------------------------------------
// Δ0 of the default quadratic

export { solveTridiagonal } from './problems/linalg.js';

/** f(x⁰), f* (or a lower bound on it), Δ0 and ‖∇f(x⁰)‖² of a run's problem: what a prediction to ε needs. */
export interface Landscape {
  f0: number;
  /** f*, or a lower bound on it (`fStarKind`). */
  fStar: number;
  fStarKind: 'exact' | 'lower bound';
  /** Δ0 = f(x⁰) − f* (an upper bound when f* is a lower bound; Infinity when f is unbounded below). */
  delta0: number;
  gradNormSq0: number;
}

/** f(x⁰), f* and ‖∇f(x⁰)‖² of the default quadratic (SPEC A.1, D.1). */
export interface QuadraticOptimum extends Landscape {
  /** f(x⁰), x⁰ = √d·e_1. */
  f0: number;
  /** f* = min f = −½ b̄ᵀx*, x* = Ā⁻¹b̄; −Infinity when Ā is singular (λ = 0). */
  fStar: number;
  /** Δ0 = f(x⁰) − f* (Infinity when f is unbounded below). */
  delta0: number;
  /** ‖∇f(x⁰)‖², what `--target-rel` is relative to. */
  gradNormSq0: number;
  /** x*_1: the only coordinate of x* that f* needs (b̄ is a multiple of e_1). */
  xStar1: number;
}

/**
 * Δ0 = f(x⁰) − f* of the default quadratic, exactly: f = ½xᵀĀx − b̄ᵀx with Ā = a·T + c·I (a = mean ν_i/4,
 * T = tridiag(−1, 2, −1), c the family's shift) and b̄ = β̄·e_1 (β̄ = mean ν_i(β_i − 1)/4). Then
 * f* = −½ b̄ᵀx* = −½ β̄·x*_1 with Āx* = b̄, solved by the Thomas algorithm run from the last row up: the
 * right-hand side is zero below row 1, so the sweep keeps one pivot and no arrays (O(d) time, O(1) memory,
 * for any d the configuration allows).
 */
export function quadraticOptimum(family: QuadraticFamily): QuadraticOptimum {
  const { dim: d, lambda } = family.spec;
  const n = family.nu.length;
  let nuSum = 0;
  let bSum = 0;
  for (let i = 0; i < n; i++) {
    nuSum += family.nu[i]!;
    bSum += family.nu[i]! * (family.beta[i]! - 1);
  }
  const a = nuSum / n / 4;
  const b1 = bSum / n / 4;
  const c = family.shift;
  const diag = 2 * a + c;
  // Upward elimination: pivot_j = diag − a²/pivot_{j+1}, pivot_d = diag; row 1 then reads pivot_1·x_1 = b̄_1.
  let pivot = diag;
  for (let j = d - 1; j >= 1; j--) pivot = diag - (a * a) / pivot;
  const sqrtD = Math.sqrt(d);
  const f0 = 0.5 * d * diag - b1 * sqrtD;
  const g1 = sqrtD * diag - b1;
  const gradNormSq0 = g1 * g1 + (d >= 2 ? d * a * a : 0);
  if (!(lambda > 0) || !(pivot > 0)) {
    // λ = 0: Ā is singular and b̄ is not orthogonal to its kernel, so f is unbounded below.
    return { f0, fStar: -Infinity, fStarKind: 'exact', delta0: Infinity, gradNormSq0, xStar1: NaN };
  }
  const xStar1 = b1 / pivot;
  const fStar = -0.5 * b1 * xStar1;
  return { f0, fStar, fStarKind: 'exact', delta0: f0 - fStar, gradNormSq0, xStar1 };
}

// ---------------------------------------------------------------------------------------------------
// Rounds and bits to ε

/** The accuracy ε of a prediction (‖∇f‖² ≤ ε²) and where it came from. */
export interface Accuracy {
  eps: number;
  epsSq: number;
  source: string;
}

/** ε from `--eps`, else the run's target: ε² = `target`, or `targetRel`·‖∇f(x⁰)‖². */
export function accuracyOf(config: RunConfig, gradNormSq0: number, eps?: number): Accuracy {
  if (eps !== undefined) {
    if (!(Number.isFinite(eps) && eps > 0)) throw new RangeError(`eps must be a positive number, got ${eps}`);
    return { eps, epsSq: eps * eps, source: 'given (--eps)' };
  }
  if (config.target !== null) return { eps: Math.sqrt(config.target), epsSq: config.target, source: `the run's target: ‖∇f‖² ≤ ${config.target}` };
  if (config.targetRel !== null) {
    const epsSq = config.targetRel * gradNormSq0;
    return { eps: Math.sqrt(epsSq), epsSq, source: `the run's target: ‖∇f‖² ≤ ${config.targetRel}·‖∇f(x⁰)‖²` };
  }
  throw new RangeError('no accuracy: the configuration has no target; give --eps');
}

/** SPEC A.4's prediction: E‖∇f(x̂)‖² ≤ 2Δ0/(γT), so T = 2Δ0/(γε²) rounds after round 0. */
export interface ComplexityPrediction {
  /** γ the rounds are computed with. */
  gamma: number;
  /** ⌈2Δ0/(γε²)⌉ (Infinity when Δ0 is). */
  rounds: number;
  /** Round 0's dense gradients (32d per client) for methods with an init round (decision 2), else 0. */
  round0Bits: number;
  /** Expected algorithm bits per client per round after round 0. */
  bitsPerRound: number;
  /** round0Bits + rounds × bitsPerRound: bits per client to reach ‖∇f‖² ≤ ε². */
  bitsPerClient: number;
}

export function predictComplexity(delta0: number, gamma: number, epsSq: number, bitsPerRound: number, round0Bits: number): ComplexityPrediction {
  const rounds = Number.isFinite(delta0) ? Math.ceil((2 * delta0) / (gamma * epsSq)) : Infinity;
  return { gamma, rounds, round0Bits, bitsPerRound, bitsPerClient: round0Bits + rounds * bitsPerRound };
}

/** Everything `marina theory` reports for one configuration. */
export interface TheoryReport {
  method: string;
  compressor: string;
  unbiased: boolean;
  correlated: boolean;
  d: number;
  n: number;
  theory: Theory;
  problem: Landscape;
  accuracy: Accuracy;
  /** At the theoretical step size. */
  atTheoryStep: ComplexityPrediction;
  /** At the step size the run would use, when it differs from the theory and is no larger (else null). */
  atRunStep: ComplexityPrediction | null;
  notes: string[];
}

/** The theory of a configuration and its predicted communication complexity to ε (O(n + d), no iterate). */
export function theoryReport(setup: RunSetup, problem: Landscape, eps?: number): TheoryReport {
  const { config, method, theory, d } = setup;
  const accuracy = accuracyOf(config, problem.gradNormSq0, eps);
  const round0Bits = method.initRound ? 32 * d : 0;
  const atTheoryStep = predictComplexity(problem.delta0, theory.gammaTheory, accuracy.epsSq, theory.expectedBitsPerRound, round0Bits);
  const differs = !Object.is(theory.gamma, theory.gammaTheory);
  const atRunStep = differs && theory.gamma < theory.gammaTheory ? predictComplexity(problem.delta0, theory.gamma, accuracy.epsSq, theory.expectedBitsPerRound, round0Bits) : null;
  const q = createCompressor(config.compressor, compressorOptions(config, d, setup.n));
  const notes = [
    'rounds = ⌈2Δ0/(γε²)⌉ from E‖∇f(x̂)‖² ≤ 2Δ0/(γT) (SPEC A.4): the guarantee of MARINA and its variants, GD, and EF21 with g_i⁰ = ∇f_i(x⁰); ' +
      "DIANA's and DCGD's guarantees carry further terms, so for them it is indicative.",
    'the rate is the nonconvex worst case: it does not use λ > 0 (strong convexity), so runs on the quadratic usually need far fewer rounds.',
  ];
  if (problem.fStarKind === 'lower bound') notes.push(`f* is unknown: Δ0 uses the lower bound f* ≥ ${problem.fStar}, so the prediction is an upper bound.`);
  if (differs && !atRunStep) notes.push(`the run's step ${theory.gamma} exceeds the theoretical ${theory.gammaTheory}: no guarantee at that step.`);
  if (!(theory.gammaTheory > 0 && Number.isFinite(theory.gammaTheory))) {
    notes.push(`${method.name}'s theory gives no step size with ${q.name} (ω = ${theory.omega}, A = ${theory.A}, B = ${theory.B}${q.unbiased ? '' : ': a biased compressor'}), so nothing is predicted.`);
  }
  if (!Number.isFinite(problem.delta0)) notes.push('f is unbounded below (Δ0 = ∞; the quadratic with λ = 0), so no number of rounds reaches ε.');
  return {
    method: method.name,
    compressor: q.name,
    unbiased: q.unbiased,
    correlated: q.correlated,
    d,
    n: setup.n,
    theory,
    problem,
    accuracy,
    atTheoryStep,
    atRunStep,
    notes: [...theory.notes, ...notes],
  };
}

// ---------------------------------------------------------------------------------------------------
// SPEC C: C_ind / C_cor

/** SPEC C's regime: L_- = L_+ = L = 1, L_± = 0 (homogeneous data); costs are then in units of L·2Δ0/ε². */
const HOMOGENEOUS = { Lminus: 1, Lplus: 1, Lpm: 0 } as const;

/** One compressor's side of the ratio: its constants, bits and predicted cost. */
export interface RatioSide {
  compressor: string;
  A: number;
  B: number;
  /** b_Q: expected bits of a compressed message (32 + d for IQ and CQ). */
  bitsPerMessage: number;
  /** The p the cost is taken at. */
  p: number;
  /** C(p) = [p·32d + (1−p)·b_Q]·(1 + sqrt((1−p)/p·(A − B))): bits per client per unit of L·2Δ0/ε². */
  cost: number;
}

/** C_ind/C_cor at one p shared by both (SPEC C's fixed-p table). */
export interface RatioAtP {
  p: number;
  iq: RatioSide;
  cq: RatioSide;
  /** C_ind/C_cor = (1 + sqrt((1−p)/p·A_IQ))/(1 + sqrt((1−p)/p·A_CQ)) when the bits per message agree. */
  ratio: number;
}

/** C_ind/C_cor with each at its own optimal p (SPEC C's second table). */
export interface RatioAtOptimum {
  iq: RatioSide;
  cq: RatioSide;
  ratio: number;
  /** C_GD = 32d (every round dense, γ = 1/L). */
  costGD: number;
  /** IF_IQ = C_GD/C_ind: improvement factor of MARINA+IQ over GD. */
  ifIQ: number;
  /** IF_CQ = C_GD/C_cor. */
  ifCQ: number;
}

/** SPEC C for (d, n) under a constants convention (decision 5). */
export interface CommunicationRatio {
  d: number;
  n: number;
  convention: ConstantsConvention;
  atP: RatioAtP;
  atOptimum: RatioAtOptimum;
}

/** One side of the ratio from the compressor registry's entry `name` (its constants and bits), at p. */
const side = (name: string, d: number, n: number, convention: ConstantsConvention, p: number): RatioSide => {
  const q = createCompressor(name);
  const { A, B } = q.constants(d, n, convention);
  const bitsPerMessage = q.expectedBits(d, n);
  return { compressor: name, A, B, bitsPerMessage, p, cost: marinaCost(HOMOGENEOUS, A, B, d, bitsPerMessage, p) };
};

/** p minimising C(p) for a compressor (decision 9's rule, SPEC C). */
const optimalP = (name: string, d: number, n: number, convention: ConstantsConvention): number => {
  const q = createCompressor(name);
  const { A, B } = q.constants(d, n, convention);
  const bQ = q.expectedBits(d, n);
  return minimiseOverP((p) => marinaCost(HOMOGENEOUS, A, B, d, bQ, p));
};

/** C_ind/C_cor at one p for both (SPEC C, fixed-p table). */
export function ratioAtP(d: number, n: number, p: number, convention: ConstantsConvention): RatioAtP {
  checkRatioArgs(d, n, p);
  const iq = side('iq', d, n, convention, p);
  const cq = side('cq', d, n, convention, p);
  return { p, iq, cq, ratio: iq.cost / cq.cost };
}

/** C_ind/C_cor with each at the p minimising its own C(p) (SPEC C, second table). */
export function ratioAtOptimum(d: number, n: number, convention: ConstantsConvention): RatioAtOptimum {
  checkRatioArgs(d, n, 1);
  const iq = side('iq', d, n, convention, optimalP('iq', d, n, convention));
  const cq = side('cq', d, n, convention, optimalP('cq', d, n, convention));
  const costGD = 32 * d;
  return { iq, cq, ratio: iq.cost / cq.cost, costGD, ifIQ: costGD / iq.cost, ifCQ: costGD / cq.cost };
}

/**
 * The p of a MARINA+CQ run in SPEC C's regime (L_± = 0; for s = 0 this is the run's own p): `auto` minimises
 * C(p), `zeta` is ζ_Q/d, a number is itself.
 */
export function cqRunP(d: number, n: number, p: string, convention: ConstantsConvention): number {
  if (p === 'auto') return optimalP('cq', d, n, convention);
  if (p === 'zeta') return Math.min(1, createCompressor('cq').zeta(d, n) / d);
  return Number(p);
}

/** SPEC C at a given p (both methods) and at each method's optimal p. */
export function communicationRatio(d: number, n: number, p: number, convention: ConstantsConvention): CommunicationRatio {
  return { d, n, convention, atP: ratioAtP(d, n, p, convention), atOptimum: ratioAtOptimum(d, n, convention) };
}

function checkRatioArgs(d: number, n: number, p: number): void {
  if (!(Number.isInteger(d) && d >= 1)) throw new RangeError(`d must be a positive integer, got ${d}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(p > 0 && p <= 1)) throw new RangeError(`p must be in (0, 1], got ${p}`);
}
