import { createHash } from 'node:crypto';
import { ProtocolError } from '@marina/protocol';
import { describe, expect, it } from 'vitest';
import type { Compressor } from '../compressors/types.js';
import { resolveConfig } from '../config.js';
import { runInProcess } from '../engine.js';
import { methodEnv, setupRun, type InProcessRun } from '../setup.js';

/**
 * Equivalences between methods (SPEC decision 23, STYLE lesson 12). Bit for bit where two methods do the same
 * arithmetic in the same order; to 1e-12 relative where only the order differs.
 */

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Runs in process; returns the records and x^0..x^T (every iterate the coordinator hashes). */
function run(setup: InProcessRun) {
  const xs: Float64Array[] = [];
  const hook = (b: Uint8Array): string => {
    xs.push(new Float64Array(b.slice().buffer));
    return sha256(b);
  };
  const { records, summary } = runInProcess(setup, setup.problems, { runId: 'test', sha256: hook, now: () => 0 });
  return { records, summary, xs };
}

const setupOf = (cfg: Record<string, unknown>) => setupRun(resolveConfig(cfg));

/**
 * A test double, not a product compressor: float64 on the wire, so "compression" is exact and the only
 * differences between methods left are those of their own arithmetic (decision 23's "in float64").
 */
function exact64(): Compressor {
  return {
    name: 'exact64',
    unbiased: true,
    correlated: false,
    bits: (c) => 64 * c.d,
    expectedBits: (d) => 64 * d,
    payloadBits: (c) => 64 * c.d,
    encode(a, ctx, out) {
      const v = new DataView(out.buffer, out.byteOffset, 8 * ctx.d);
      for (let j = 0; j < ctx.d; j++) v.setFloat64(8 * j, a[j]!, true);
    },
    decodeInto(sum, payload, ctx) {
      if (payload.length !== 8 * ctx.d) throw new ProtocolError('MARINA_ERR_TRUNCATED', 'exact64: bad length');
      const v = new DataView(payload.buffer, payload.byteOffset, 8 * ctx.d);
      for (let j = 0; j < ctx.d; j++) sum[j]! += v.getFloat64(8 * j, true);
    },
    constants: () => ({ omega: 0, A: 0, B: 0, note: 'test double' }),
    zeta: (d) => d,
  };
}

/** The same run with every message (compressed and dense) sent as exact float64. */
const withExact = (s: InProcessRun): InProcessRun => ({ ...s, envFactory: () => ({ ...methodEnv(s.config, s.environment), compressor: exact64(), dense: exact64() }) });

/** max_t ‖a_t − b_t‖ / ‖b_t‖ over two trajectories of equal length. */
function maxRelErr(a: Float64Array[], b: Float64Array[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let t = 0; t < a.length; t++) {
    let num = 0;
    let den = 0;
    for (let j = 0; j < b[t]!.length; j++) {
      num += (a[t]![j]! - b[t]![j]!) ** 2;
      den += b[t]![j]! ** 2;
    }
    worst = Math.max(worst, Math.sqrt(num / den));
  }
  return worst;
}

/** Fixed number of rounds, no early stop, so trajectories have equal length. */
const FIXED = { rounds: 400, stopAtTarget: false };
/** GD's theoretical step (1/L_-) on the default problem, given as a number so every method uses it. */
const gdStep = String(setupOf({ method: 'gd' }).theory.gamma);

describe('equivalences (decision 23)', () => {
  it('MARINA with p = 1 is GD bit for bit: the same xHash every round', () => {
    const gd = run(setupOf({ method: 'gd', ...FIXED }));
    const marina = run(setupOf({ method: 'marina', p: '1', ...FIXED }));
    expect(marina.records.map((r) => r.xHash)).toEqual(gd.records.map((r) => r.xHash));
    expect(marina.summary.final.xHash).toBe(gd.summary.final.xHash);
    expect(marina.records.every((r) => r.kind !== 'compressed')).toBe(true);
  });

  it('PP-MARINA with r = n is MARINA bit for bit (same p, γ, coins, senders, bits and xHash)', () => {
    for (const compressor of ['cq', 'iq']) {
      const base = { compressor, noise: 0.5, rounds: 1500, p: compressor === 'iq' ? '0.05' : 'auto' };
      const m = setupOf({ method: 'marina', ...base });
      const pp = setupOf({ method: 'pp-marina', participants: 8, ...base });
      expect(pp.theory.p).toBe(m.theory.p);
      expect(pp.theory.gamma).toBe(m.theory.gamma);
      const a = run(m);
      const b = run(pp);
      expect(b.records.map((r) => [r.kind, r.senders, r.bitsUp, r.xHash])).toEqual(a.records.map((r) => [r.kind, r.senders, r.bitsUp, r.xHash]));
      expect(a.records.some((r) => r.kind === 'compressed')).toBe(true);
    }
  });

  it('VR-MARINA with σ = 0 and b\' = 1 is MARINA bit for bit at the same p and γ (every component is f_i)', () => {
    const base = { componentNoise: 0, batch: 1, p: '0.05', step: '0.1', ...FIXED };
    const a = run(setupOf({ method: 'marina', ...base }));
    const b = run(setupOf({ method: 'vr-marina', ...base }));
    expect(b.records.map((r) => r.xHash)).toEqual(a.records.map((r) => r.xHash));
  });

  // MARINA's compressed rounds form g^t = g^{t−1} + mean_i(∇f_i(x^t) − ∇f_i(x^{t−1})), GD forms
  // mean_i ∇f_i(x^t): equal in exact arithmetic, rounded differently (the differences are subtracted and
  // re-added), so with exact float64 messages the iterates agree to a few ulps per round, far below 1e-12.
  it('MARINA with an exact identity equals GD to 1e-12 relative in float64', () => {
    const cfg = { compressor: 'identity', step: gdStep, ...FIXED };
    const gd = run(withExact(setupOf({ method: 'gd', ...cfg })));
    const marina = run(withExact(setupOf({ method: 'marina', p: '0.2', ...cfg })));
    expect(marina.records.filter((r) => r.kind === 'compressed').length).toBeGreaterThan(100);
    expect(maxRelErr(marina.xs, gd.xs)).toBeLessThan(1e-12);
  });

  // DIANA with ω = 0 has α = 1, so h = mean_i h_i and g^k = h + mean_i(∇f_i(x^k) − h_i), which is
  // mean_i ∇f_i(x^k) in exact arithmetic; float64 rounds the subtraction and the re-addition of h_i (and h is
  // accumulated separately from the h_i), so the iterates agree with GD's to rounding, not bit for bit.
  it('DIANA with an exact identity equals GD to 1e-12 relative in float64', () => {
    const cfg = { compressor: 'identity', step: gdStep, ...FIXED };
    const gd = run(withExact(setupOf({ method: 'gd', ...cfg })));
    const diana = run(withExact(setupOf({ method: 'diana', ...cfg })));
    expect(setupOf({ method: 'diana', ...cfg }).theory.params?.alpha).toBe(1);
    expect(maxRelErr(diana.xs, gd.xs)).toBeLessThan(1e-12);
  });

  it('EF21 with an exact identity (α = 1, scale 1) equals GD to 1e-12 relative in float64', () => {
    const cfg = { compressor: 'identity', ...FIXED };
    const s = setupOf({ method: 'ef21', ...cfg });
    expect(s.theory.gamma).toBe(Number(gdStep)); // α = 1: θ = 1, β = 0, γ = 1/L_-
    const gd = run(withExact(setupOf({ method: 'gd', ...cfg })));
    const ef21 = run(withExact(s));
    expect(maxRelErr(ef21.xs, gd.xs)).toBeLessThan(1e-12);
  });

  // With the product's identity, messages are float32 (the 32 bits per coordinate that are counted): GD rounds
  // ∇f_i(x^t), MARINA and DIANA round differences, so each step differs by up to 2^−24 relative of what was
  // rounded. The iterates then agree to the float32 level only: 1e-5 relative bounds it (measured over 400
  // rounds: 8e-8 for MARINA, 2e-8 for DIANA; the float64 runs above measure 4e-16 and 8e-15).
  it('with the float32 identity of the wire, MARINA and DIANA equal GD to float32 rounding (1e-5 relative)', () => {
    const cfg = { compressor: 'identity', step: gdStep, ...FIXED };
    const gd = run(setupOf({ method: 'gd', ...cfg }));
    const marina = run(setupOf({ method: 'marina', p: '0.2', ...cfg }));
    const diana = run(setupOf({ method: 'diana', ...cfg }));
    const em = maxRelErr(marina.xs, gd.xs);
    const ed = maxRelErr(diana.xs, gd.xs);
    expect(em).toBeLessThan(1e-5);
    expect(ed).toBeLessThan(1e-5);
    expect(Math.max(em, ed)).toBeGreaterThan(0); // not bit for bit: the rounding points differ
  });
});
