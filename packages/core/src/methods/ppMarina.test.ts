import { createHash } from 'node:crypto';
import { expectProtocolError } from '@marina/protocol/testing';
import { describe, expect, it } from 'vitest';
import { compressors, createCompressor } from '../compressors/registry.js';
import { resolveConfig } from '../config.js';
import { runInProcess } from '../engine.js';
import { methodEnv, setupRun } from '../setup.js';
import { ppMarinaPlan } from './ppMarina.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const runOf = (cfg: Record<string, unknown>) => {
  const setup = setupRun(resolveConfig(cfg));
  return runInProcess(setup, setup.problems, { runId: 'pp', sha256, now: () => 0 });
};

describe('pp-marina', () => {
  it('the ledger shows only r senders on compressed rounds, each with the compressor\'s bits; all n otherwise', () => {
    const d = 64;
    const n = 8;
    const r = 3;
    for (const compressor of ['cq', 'iq']) {
      const { records } = runOf({ method: 'pp-marina', compressor, participants: r, p: '0.1', rounds: 300, stopAtTarget: false });
      const bQ = createCompressor(compressor).bits({ d, n: r, slot: 0, rank: 0, seed: 1, round: 1 }); // 32 + d
      const compressed = records.filter((x) => x.kind === 'compressed');
      expect(compressed.length).toBeGreaterThan(200);
      for (const rec of compressed) {
        expect(rec.senders).toBe(r);
        expect(rec.bitsUp).toBe(r * bQ);
        expect(rec.bitsUpPerClient).toBe(bQ);
      }
      for (const rec of records.filter((x) => x.kind !== 'compressed')) {
        expect(rec.senders).toBe(n);
        expect(rec.bitsUp).toBe(n * 32 * d);
      }
    }
  });

  it.skipIf(!('permk' in compressors))('the sampled clients compress together as r slots (PermK splits d among r, not n)', () => {
    const { records } = runOf({ method: 'pp-marina', compressor: 'permk', participants: 4, p: '0.1', rounds: 100, stopAtTarget: false });
    for (const rec of records.filter((x) => x.kind === 'compressed')) {
      expect(rec.senders).toBe(4);
      expect(rec.bitsUp).toBe(32 * 64); // 4 blocks of 16 float32 values cover d = 64 once
    }
  });

  it('samples r distinct clients, ascending, uniformly over the r-subsets (keyed by seed and round only)', () => {
    const setup = setupRun(resolveConfig({ method: 'pp-marina', participants: 3, p: '0.01' }));
    const env = methodEnv(setup.config, setup.environment);
    const counts = new Array<number>(8).fill(0);
    const subsets = new Map<string, number>();
    let rounds = 0;
    for (let t = 1; t <= 4000; t++) {
      const plan = ppMarinaPlan(env, t);
      if (plan.kind !== 'compressed') continue;
      rounds++;
      const s = Array.from(plan.senders);
      expect(s.length).toBe(3);
      expect(s.every((v, i) => v >= 0 && v < 8 && (i === 0 || v > s[i - 1]!))).toBe(true);
      for (const v of s) counts[v]!++;
      subsets.set(s.join(','), (subsets.get(s.join(',')) ?? 0) + 1);
      expect(Array.from(ppMarinaPlan(methodEnv(setup.config, setup.environment), t).senders)).toEqual(s); // any party derives the same plan
    }
    // Each client is in a sample with probability r/n = 3/8; counts are binomial, sd = sqrt(N·(3/8)(5/8)) ≈ 30
    // for N ≈ 3960 rounds: allow 5 sd. All C(8, 3) = 56 subsets appear (≈ 70 expected each).
    const expected = (rounds * 3) / 8;
    const sd = Math.sqrt(rounds * (3 / 8) * (5 / 8));
    for (const c of counts) expect(Math.abs(c - expected)).toBeLessThan(5 * sd);
    expect(subsets.size).toBe(56);
    // A chi-square over the 56 subsets (55 degrees of freedom): 99.99th percentile ≈ 100.
    const e = rounds / 56;
    let chi2 = 0;
    for (const c of subsets.values()) chi2 += (c - e) ** 2 / e;
    expect(chi2).toBeLessThan(100);
  });

  it('evaluation is telemetry: evaluating every 7th round gives the same iterates (unsampled clients get x^{t−1} from the server or keep it)', () => {
    const base = { method: 'pp-marina', compressor: 'cq', participants: 3, rounds: 400, stopAtTarget: false };
    const every = runOf({ ...base, evalEvery: 1 }).records.map((r) => r.xHash);
    const sparse = runOf({ ...base, evalEvery: 7 }).records.map((r) => r.xHash);
    const never = runOf({ ...base, evalEvery: 100000 }).records.map((r) => r.xHash);
    expect(sparse).toEqual(every);
    expect(never).toEqual(every);
  });

  it('theory: r < n gives a smaller step than r = n; zeta gives ζ_Q·r/(d·n); r is recorded', () => {
    const th = (cfg: Record<string, unknown>) => setupRun(resolveConfig({ method: 'pp-marina', noise: 0.5, ...cfg })).theory;
    const full = th({ p: '0.05' });
    const half = th({ p: '0.05', participants: 4 });
    expect(half.gamma).toBeLessThan(full.gamma);
    expect(half.params).toEqual({ participants: 4 });
    expect(full.params).toEqual({ participants: 8 });
    expect(th({ p: 'zeta', participants: 2 }).p).toBe((64 * 2) / (64 * 8));
    // Expected bits per client and round average over all n: p·32d + (1−p)·(r/n)·b_Q.
    expect(half.expectedBitsPerRound).toBeCloseTo(0.05 * 32 * 64 + 0.95 * (4 / 8) * (32 + 64), 9);
  });

  it('refuses more participants than clients, naming the field and the range', () => {
    const bad = () => resolveConfig({ method: 'pp-marina', clients: 8, participants: 9 });
    expectProtocolError(bad, 'MARINA_ERR_BAD_CONFIG', 'config field "participants" is 9; expected an integer in [1, clients = 8]');
  });
});
