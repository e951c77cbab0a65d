import { ProtocolError } from '@marina/protocol';
import type { Compressor, CompressorConstants, ConstantsConvention } from './compressors/types.js';
import type { ConfigValues } from './options.js';
import type { MethodDef, MethodParams } from './methods/types.js';
import type { Smoothness } from './problems/types.js';

/**
 * Step sizes and p from the theory (SPEC A.4, A.5, decisions 5, 9 and 10).
 */

/** MARINA's step for AB compressors (SPEC A.4.2): 1/(L_- + sqrt((1−p)/p·((A−B)L_+² + B·L_±²))). */
export function marinaGamma(s: Pick<Smoothness, 'Lminus' | 'Lplus' | 'Lpm'>, A: number, B: number, p: number): number {
  const K = (A - B) * s.Lplus * s.Lplus + B * s.Lpm * s.Lpm;
  return 1 / (s.Lminus + Math.sqrt(((1 - p) / p) * K));
}

/** Decision 9's predicted uplink cost per unit of progress: [p·32d + (1−p)·b_Q] / γ(p). */
export function marinaCost(s: Pick<Smoothness, 'Lminus' | 'Lplus' | 'Lpm'>, A: number, B: number, d: number, bQ: number, p: number): number {
  return (p * 32 * d + (1 - p) * bQ) / marinaGamma(s, A, B, p);
}

/** The p in (0, 1] minimising `cost` (decision 9): a log-spaced grid, then golden-section refinement. */
export function minimiseOverP(cost: (p: number) => number): number {
  const lo = -9;
  const steps = 2000;
  let best = 1;
  let bestCost = cost(1);
  let bestK = steps;
  for (let k = 0; k < steps; k++) {
    const p = 10 ** (lo + (-lo * k) / steps);
    const c = cost(p);
    if (c < bestCost) {
      bestCost = c;
      best = p;
      bestK = k;
    }
  }
  if (bestK === steps) return 1;
  let a = lo + (-lo * Math.max(0, bestK - 1)) / steps;
  let b = lo + (-lo * Math.min(steps, bestK + 1)) / steps;
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 80; it++) {
    const c1 = b - phi * (b - a);
    const c2 = a + phi * (b - a);
    if (cost(10 ** c1) <= cost(10 ** c2)) b = c2;
    else a = c1;
  }
  const p = 10 ** ((a + b) / 2);
  return cost(p) <= bestCost ? p : best;
}

export interface Theory {
  Lminus: number;
  Lplus: number;
  Lpm: number;
  exact: Smoothness['exact'];
  omega: number;
  A: number;
  B: number;
  convention: ConstantsConvention;
  constantsNote: string;
  /** MARINA's coin probability (1 for GD; 0 for DCGD, which has no coin). */
  p: number;
  pRule: string;
  /** The theoretical step size, and the one used (theory × multiple, or given). */
  gammaTheory: number;
  gamma: number;
  stepRule: string;
  /** b_Q: expected algorithm bits of one compressed message. */
  bitsPerMessage: number;
  /** Expected algorithm bits per client per round after round 0. */
  expectedBitsPerRound: number;
  notes: string[];
  /** Method-specific parameters (DIANA's α, PP-MARINA's r, VR-MARINA's b', EF21's scale); absent for MARINA/DCGD/GD. */
  params?: MethodParams;
}

/** What a method's step-size rule sees. */
export interface MethodTheoryInput {
  smoothness: Smoothness;
  constants: CompressorConstants;
  compressor: Compressor;
  /** b_Q: expected bits of one compressed message. */
  bQ: number;
  d: number;
  n: number;
  config: TheoryConfig;
}

/** What the theory reads of a run's configuration: p, the step rule, the constants convention and the method's own options. */
export type TheoryConfig = ConfigValues & { readonly p: string; readonly step: string; readonly constants: ConstantsConvention };

/** A method's step-size rule: p (where the method has a coin), γ, and expected bits per round. */
export interface MethodTheory {
  p: number;
  pRule: string;
  gammaTheory: number;
  expectedBitsPerRound: number;
  notes: string[];
  params?: MethodParams;
}

/** Resolves p for MARINA-family methods (decision 9: `auto`, `zeta`, or a given number). */
export function resolveP(input: MethodTheoryInput, cost: (p: number) => number): { p: number; pRule: string } {
  const { config, compressor, d, n } = input;
  if (config.p === 'auto') return { p: minimiseOverP(cost), pRule: 'auto: minimises [p·32d + (1−p)·b_Q]/γ(p) (decision 9)' };
  if (config.p === 'zeta') return { p: Math.min(1, compressor.zeta(d, n) / d), pRule: 'zeta: ζ_Q/d (MARINA)' };
  return { p: Number(config.p), pRule: 'given' };
}

export function computeTheory(method: MethodDef, input: Omit<MethodTheoryInput, 'constants' | 'bQ'>): Theory {
  const { compressor: q, smoothness: s, d, n, config } = input;
  const constants = q.constants(d, n, config.constants);
  const bQ = q.expectedBits(d, n);
  if (!q.unbiased && !method.acceptsBiased) {
    throw new ProtocolError(
      'MARINA_ERR_BAD_CONFIG',
      `config field "compressor" is "${q.name}", a biased compressor; method "${method.name}" needs an unbiased one (use ef21 for ${q.name})`,
      { field: 'compressor', value: q.name },
    );
  }
  const m = method.theory({ ...input, constants, bQ });
  let gamma = m.gammaTheory;
  let stepRule = 'theory';
  if (config.step.endsWith('x')) {
    gamma = m.gammaTheory * Number(config.step.slice(0, -1));
    stepRule = `${config.step} theory`;
  } else if (config.step !== 'theory') {
    gamma = Number(config.step);
    stepRule = 'given';
  }
  return {
    Lminus: s.Lminus,
    Lplus: s.Lplus,
    Lpm: s.Lpm,
    exact: s.exact,
    omega: constants.omega,
    A: constants.A,
    B: constants.B,
    convention: config.constants,
    constantsNote: constants.note,
    p: m.p,
    pRule: m.pRule,
    gammaTheory: m.gammaTheory,
    gamma,
    stepRule,
    bitsPerMessage: bQ,
    expectedBitsPerRound: m.expectedBitsPerRound,
    notes: m.notes,
    ...(m.params ? { params: m.params } : {}),
  };
}
