import type { Compressor, ConstantsConvention } from './compressors/types.js';
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
}

export interface TheoryInput {
  method: string;
  compressor: Compressor;
  smoothness: Smoothness;
  d: number;
  n: number;
  convention: ConstantsConvention;
  step: string;
  p: string;
  /** Whether the clients' data are identical (L_± = 0). */
  homogeneous: boolean;
}

export function computeTheory(t: TheoryInput): Theory {
  const { compressor: q, smoothness: s, d, n } = t;
  const c = q.constants(d, n, t.convention);
  const bQ = q.expectedBits(d, n);
  const notes: string[] = [];
  let p: number;
  let pRule: string;
  let gammaTheory: number;
  let expectedBitsPerRound: number;
  if (t.method === 'gd') {
    p = 1;
    pRule = 'gd: every round dense';
    gammaTheory = 1 / s.Lminus;
    expectedBitsPerRound = 32 * d;
  } else if (t.method === 'dcgd') {
    p = 0;
    pRule = 'dcgd: no coin';
    // SPEC A.5 (homogeneous SGD analysis): γ = 1/(L(1 + A − B)).
    gammaTheory = 1 / (s.Lminus * (1 + c.A - c.B));
    expectedBitsPerRound = bQ;
    if (!t.homogeneous) notes.push('DCGD with heterogeneous clients reaches only a neighbourhood of a stationary point (SPEC A.5).');
  } else {
    const cost = (pp: number) => marinaCost(s, c.A, c.B, d, bQ, pp);
    if (t.p === 'auto') {
      p = minimiseOverP(cost);
      pRule = 'auto: minimises [p·32d + (1−p)·b_Q]/γ(p) (decision 9)';
    } else if (t.p === 'zeta') {
      p = Math.min(1, q.zeta(d, n) / d);
      pRule = 'zeta: ζ_Q/d (MARINA)';
    } else {
      p = Number(t.p);
      pRule = 'given';
    }
    gammaTheory = marinaGamma(s, c.A, c.B, p);
    expectedBitsPerRound = p * 32 * d + (1 - p) * bQ;
    if (q.correlated && q.name === 'cq' && !t.homogeneous) {
      notes.push('s > 0 is outside CQ theory (L_± > 0): p and γ use CQ\'s homogeneous constants (decision 9).');
    }
  }
  let gamma = gammaTheory;
  let stepRule = 'theory';
  if (t.step.endsWith('x')) {
    gamma = gammaTheory * Number(t.step.slice(0, -1));
    stepRule = `${t.step} theory`;
  } else if (t.step !== 'theory') {
    gamma = Number(t.step);
    stepRule = 'given';
  }
  return {
    Lminus: s.Lminus,
    Lplus: s.Lplus,
    Lpm: s.Lpm,
    exact: s.exact,
    omega: c.omega,
    A: c.A,
    B: c.B,
    convention: t.convention,
    constantsNote: c.note,
    p,
    pRule,
    gammaTheory,
    gamma,
    stepRule,
    bitsPerMessage: bQ,
    expectedBitsPerRound,
    notes,
  };
}
