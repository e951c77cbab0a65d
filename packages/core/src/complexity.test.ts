import { describe, expect, it } from 'vitest';
import {
  communicationRatio,
  cqRunP,
  quadraticOptimum,
  ratioAtOptimum,
  ratioAtP,
  solveTridiagonal,
  theoryReport,
} from './complexity.js';
import { compressors } from './compressors/registry.js';
import { resolveConfig } from './config.js';
import { methods } from './methods/registry.js';
import { quadraticFamily } from './problems/quadratic.js';
import { setupRun } from './setup.js';
import { quadraticFamilyOf } from './problems/quadratic.js';
import type { RunConfig } from './config.js';

/** The quadratic's theory report, as `marina theory` builds it. */
const report = (config: RunConfig, eps?: number) => theoryReport(setupRun(config), quadraticOptimum(quadraticFamilyOf(config, config.clients)), eps);
import { SPEC_C_FIXED_P } from './specC.testdata.js';
import type { ProtocolError } from '@marina/protocol';
import { marinaCost, minimiseOverP } from './theory.js';

/** `value` rounded to as many decimals as SPEC printed in `printed` ("0.0004" → 4, "12.1" → 1, "1" → 0). */
const asPrinted = (value: number, printed: string): string => value.toFixed(printed.split('.')[1]?.length ?? 0);

describe('solveTridiagonal (Thomas algorithm)', () => {
  it('solves a random diagonally dominant system to 1e-12 (residual)', () => {
    const d = 50;
    const sub = Array.from({ length: d }, (_, j) => -1 - (j % 3) * 0.25);
    const sup = Array.from({ length: d }, (_, j) => -0.5 + (j % 5) * 0.1);
    const diag = Array.from({ length: d }, (_, j) => 4 + (j % 7));
    const rhs = Array.from({ length: d }, (_, j) => Math.sin(j + 1));
    const x = solveTridiagonal(sub, diag, sup, rhs);
    for (let j = 0; j < d; j++) {
      const r = (j > 0 ? sub[j]! * x[j - 1]! : 0) + diag[j]! * x[j]! + (j < d - 1 ? sup[j]! * x[j + 1]! : 0) - rhs[j]!;
      expect(Math.abs(r)).toBeLessThan(1e-12);
    }
  });
});

describe('quadraticOptimum: Δ0 of the default quadratic', () => {
  it.each([
    [8, 64, 0, 0.001],
    [8, 64, 0.5, 0.001],
    [5, 7, 1, 0.1],
    [3, 1, 0.2, 0.01],
    [16, 4, 0, 0.001], // c < 0 (λ below λ_min of the mean T part): still SPD
  ])('n = %i, d = %i, s = %f, λ = %f: agrees with the full Thomas solve and the clients\' losses', (n, d, s, lambda) => {
    const family = quadraticFamily({ clients: n, dim: d, noise: s, lambda, seed: 3 });
    const opt = quadraticOptimum(family);
    // Mean Hessian and linear term from the shards themselves (gradients at 0 and at unit vectors).
    const shards = Array.from({ length: n }, (_, i) => family.shard(i));
    const meanGrad = (x: Float64Array): Float64Array => {
      const g = new Float64Array(d);
      const gi = new Float64Array(d);
      for (const sh of shards) {
        sh.gradInto(gi, x);
        for (let j = 0; j < d; j++) g[j]! += gi[j]! / n;
      }
      return g;
    };
    const minusB = meanGrad(new Float64Array(d)); // ∇f(0) = −b̄
    const col = (j: number) => {
      const e = new Float64Array(d);
      e[j] = 1;
      const g = meanGrad(e);
      for (let k = 0; k < d; k++) g[k]! -= minusB[k]!;
      return g; // column j of Ā
    };
    const diag = new Float64Array(d);
    const sub = new Float64Array(d);
    const sup = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      const c = col(j);
      diag[j] = c[j]!;
      if (j > 0) sup[j - 1] = c[j - 1]!;
      if (j < d - 1) sub[j + 1] = c[j + 1]!;
    }
    const xStar = solveTridiagonal(sub, diag, sup, minusB.map((v) => -v));
    expect(opt.xStar1).toBeCloseTo(xStar[0]!, 9);
    // ∇f(x*) = 0 and f(x*) = f*.
    const gStar = meanGrad(xStar);
    for (let j = 0; j < d; j++) expect(Math.abs(gStar[j]!)).toBeLessThan(1e-9 * (1 + Math.abs(opt.fStar)));
    const f = (x: Float64Array) => shards.reduce((acc, sh) => acc + sh.loss(x), 0) / n;
    const x0 = family.x0();
    expect(opt.f0).toBeCloseTo(f(x0), 9);
    expect(opt.fStar).toBeCloseTo(f(xStar), 9);
    expect(opt.delta0).toBeCloseTo(f(x0) - f(xStar), 9);
    const g0 = meanGrad(x0);
    expect(opt.gradNormSq0).toBeCloseTo(g0.reduce((acc, v) => acc + v * v, 0), 9);
    expect(opt.delta0).toBeGreaterThan(0);
  });

  it('λ = 0 leaves f unbounded below: Δ0 = ∞', () => {
    const opt = quadraticOptimum(quadraticFamily({ clients: 4, dim: 16, noise: 0, lambda: 0, seed: 1 }));
    expect(opt.delta0).toBe(Infinity);
  });

  it('runs in O(1) memory for the largest d the configuration allows', () => {
    const opt = quadraticOptimum(quadraticFamily({ clients: 4, dim: 1 << 24, noise: 0, lambda: 0.001, seed: 1 }));
    expect(Number.isFinite(opt.delta0) && opt.delta0 > 0).toBe(true);
  });
});

describe('every method × compressor pair', () => {
  const pairs = Object.keys(methods).flatMap((m) => Object.keys(compressors).map((c) => [m, c] as const));
  it.each(pairs)('%s + %s has a finite positive step and p in [0, 1], or is refused naming a field', (method, compressor) => {
    const config = resolveConfig({ method, compressor, clients: 6, dim: 40, noise: 0.3, seed: 2 });
    let theory;
    try {
      theory = setupRun(config).theory;
    } catch (e) {
      // A pair the method's analysis does not cover (a biased compressor for MARINA) is refused up front.
      expect((e as ProtocolError).code).toBe('MARINA_ERR_BAD_CONFIG');
      expect((e as Error).message).toMatch(/^config field "(compressor|method)"/);
      return;
    }
    expect(theory.gamma > 0 && Number.isFinite(theory.gamma)).toBe(true);
    expect(theory.p >= 0 && theory.p <= 1).toBe(true);
    expect(theory.expectedBitsPerRound > 0).toBe(true);
  });
});

describe('theoryReport', () => {
  it('predicts rounds = ⌈2Δ0/(γε²)⌉ and bits = 32d + rounds × E[bits/round] (MARINA+CQ, default target)', () => {
    const config = resolveConfig({ clients: 8, dim: 64 });
    const r = report(config);
    expect(r.accuracy.epsSq).toBeCloseTo(1e-6 * r.problem.gradNormSq0, 15);
    const rounds = Math.ceil((2 * r.problem.delta0) / (r.theory.gammaTheory * r.accuracy.epsSq));
    expect(r.atTheoryStep.rounds).toBe(rounds);
    expect(r.atTheoryStep.bitsPerClient).toBe(32 * 64 + rounds * r.theory.expectedBitsPerRound);
    expect(r.atRunStep).toBeNull();
  });

  it('uses --eps and drops the round-0 cost for methods without an init round (DCGD)', () => {
    const r = report(resolveConfig({ method: 'dcgd', compressor: 'iq' }), 0.01);
    expect(r.accuracy.epsSq).toBeCloseTo(1e-4, 18);
    expect(r.atTheoryStep.round0Bits).toBe(0);
  });

  it('refuses a biased compressor with a method whose theory needs an unbiased one (MARINA + TopK: no (A, B))', () => {
    expect(() => report(resolveConfig({ method: 'marina', compressor: 'topk' }))).toThrow(
      'config field "compressor" is "topk", a biased compressor; method "marina" needs an unbiased one (use ef21 for topk)',
    );
  });

  it('reports the run step when it is below the theory, and warns when above', () => {
    const half = report(resolveConfig({ step: '0.5x' }));
    expect(half.atRunStep!.rounds).toBeGreaterThanOrEqual(2 * half.atTheoryStep.rounds - 1);
    const big = report(resolveConfig({ step: '4x' }));
    expect(big.atRunStep).toBeNull();
    expect(big.notes.join(' ')).toMatch(/no guarantee/);
  });
});

/** SPEC C, optimal-p table: d, n, p*_IQ, p*_CQ (paper), ratio (paper), ratio (default), IF_IQ, IF_CQ (paper). */
const OPTIMAL_P: [number, number, string, string, string, string, string, string][] = [
  [60, 60, '0.031', '0.012', '3.12', '3.99', '3.40', '10.6'],
  [123, 123, '0.026', '0.0082', '3.70', '4.92', '3.83', '14.2'],
  [500, 500, '0.022', '0.0048', '4.72', '6.78', '4.23', '20.0'],
  [1000, 1000, '0.022', '0.0038', '5.14', '7.64', '4.31', '22.2'],
  [1e4, 1e4, '0.021', '0.0018', '6.17', '9.94', '4.38', '27.0'],
  [1e6, 1e6, '0.021', '0.0004', '7.02', '12.1', '4.39', '30.8'],
  [1024, 128, '0.028', '0.012', '5.92', '7.08', '1.81', '10.7'],
  [1e6, 1e4, '1', '0.0073', '16.5', '12.3', '1.00', '16.5'],
  [1e8, 1e6, '1', '0.0018', '27.1', '24.8', '1.00', '27.1'],
  [100, 1e4, '0.009', '0.0005', '1.78', '2.31', '13.2', '23.4'],
];

/**
 * SPEC C figures that do not reproduce at the printed digits, each off by one unit in the last digit:
 * key `d,n,field` → the value computed here and why it differs. Each is checked both ways: our value at
 * SPEC's digits, and within one unit of the last printed digit of SPEC's.
 */
const OFF_BY_LAST_DIGIT: Record<string, { ours: string; why: string }> = {
  // 32d/C_cor = 14.1467; SPEC's 14.2 is 3.70 × 3.83 (ratio × IF_IQ from rounded figures = 14.17).
  '123,123,ifCQ': { ours: '14.1', why: 'IF_CQ = 14.1467' },
  // A = d/n: C_ind/C_cor = 12.249977 (IQ at p = 1 exactly, so only CQ's minimum matters); 12.3 is 12.25 rounded twice.
  '1000000,10000,ratioDefault': { ours: '12.2', why: 'ratio (A = d/n, d/n²) = 12.249977' },
  // C_GD/C_ind = 13.1495; SPEC's 13.2 is IF_CQ/ratio = 23.44/1.78 = 13.17 from rounded figures.
  '100,10000,ifIQ': { ours: '13.1', why: 'IF_IQ = 13.1495' },
};

/** Asserts `value` prints as SPEC's `printed`, or as a listed discrepancy within one last-digit unit of it. */
function expectSpec(value: number, printed: string, key: string): void {
  const off = OFF_BY_LAST_DIGIT[key];
  if (!off) {
    expect(asPrinted(value, printed), key).toBe(printed);
    return;
  }
  const unit = 10 ** -(printed.split('.')[1]?.length ?? 0);
  expect(asPrinted(value, printed), `${key}: ${off.why}`).toBe(off.ours);
  expect(Math.abs(value - Number(printed))).toBeLessThanOrEqual(unit);
}

describe('SPEC C: C_ind/C_cor', () => {
  it.each(SPEC_C_FIXED_P)('fixed p: d = %d, n = %d, p = %f → %s (/4) and %s (A = d/n, d/n²)', (d, n, p, paper, dflt) => {
    const a = ratioAtP(d, n, p, 'paper');
    const b = ratioAtP(d, n, p, 'default');
    expect(asPrinted(a.ratio, paper)).toBe(paper);
    expect(asPrinted(b.ratio, dflt)).toBe(dflt);
    // The slide formula, with equal bits per message (32 + d) for both.
    const f = (A: number) => 1 + Math.sqrt(((1 - p) / p) * A);
    expect(a.ratio).toBeCloseTo(f(d / (4 * n)) / f(d / (4 * n * n)), 12);
    expect(b.ratio).toBeCloseTo(f(d / n) / f(d / (n * n)), 12);
  });

  it.each(OPTIMAL_P)('optimal p: d = %d, n = %d → p*_IQ %s, p*_CQ %s, ratio %s / %s, IF_IQ %s, IF_CQ %s', (d, n, pIQ, pCQ, ratio, ratioDefault, ifIQ, ifCQ) => {
    const r = ratioAtOptimum(d, n, 'paper');
    const key = (field: string) => `${d},${n},${field}`;
    expectSpec(r.iq.p, pIQ, key('pIQ'));
    expectSpec(r.cq.p, pCQ, key('pCQ'));
    expectSpec(r.ratio, ratio, key('ratio'));
    expectSpec(r.ifIQ, ifIQ, key('ifIQ'));
    expectSpec(r.ifCQ, ifCQ, key('ifCQ'));
    expectSpec(ratioAtOptimum(d, n, 'default').ratio, ratioDefault, key('ratioDefault'));
    // IF_CQ/IF_IQ is the ratio (same C_GD).
    expect(r.ifCQ / r.ifIQ).toBeCloseTo(r.ratio, 10);
  });

  it('d = n = 10⁸ with /4 constants is near the 7.29 limit, and the limit itself is 7.29', () => {
    const r = ratioAtOptimum(1e8, 1e8, 'paper');
    expect(r.ratio).toBeGreaterThan(7.2);
    expect(r.ratio).toBeLessThan(7.3);
    // d = n → ∞: C_ind/(32d) → min_p [p + (1−p)/32]·(1 + sqrt((1−p)/(4p))), C_cor/(32d) → 1/32.
    const limitInd = (p: number) => (p + (1 - p) / 32) * (1 + Math.sqrt((1 - p) / (4 * p)));
    const pStar = minimiseOverP(limitInd);
    expect(limitInd(pStar)).toBeCloseTo(0.2277, 4);
    expect((32 * limitInd(pStar)).toFixed(2)).toBe('7.29');
    expect(pStar).toBeCloseTo(0.021, 3);
  });

  it('the optimal p minimises C(p) and the ratio at p = 1 is 1 (both are GD)', () => {
    const r = ratioAtOptimum(1000, 100, 'default');
    for (const side of [r.iq, r.cq]) {
      for (const f of [0.9, 1.1]) {
        const p = Math.min(1, side.p * f);
        expect(marinaCost({ Lminus: 1, Lplus: 1, Lpm: 0 }, side.A, side.B, 1000, side.bitsPerMessage, p)).toBeGreaterThanOrEqual(side.cost * (1 - 1e-12));
      }
    }
    expect(ratioAtP(1000, 100, 1, 'default').ratio).toBe(1);
  });

  it('the default p is the CQ run\'s p: for s = 0, MARINA+CQ\'s auto p on the quadratic', () => {
    for (const convention of ['default', 'paper'] as const) {
      const runP = setupRun(resolveConfig({ clients: 16, dim: 200, constants: convention })).theory.p;
      expect(cqRunP(200, 16, 'auto', convention)).toBeCloseTo(runP, 6);
    }
    expect(cqRunP(200, 16, 'zeta', 'default')).toBe(1);
    expect(cqRunP(200, 16, '0.25', 'default')).toBe(0.25);
    const all = communicationRatio(200, 16, 0.25, 'default');
    expect(all.atP.p).toBe(0.25);
    expect(all.atOptimum.ratio).toBeGreaterThan(1);
  });
});
