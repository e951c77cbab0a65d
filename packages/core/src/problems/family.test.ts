import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectProtocolError } from '@marina/protocol/testing';
import { resolveConfig } from '../config.js';
import type { Dataset } from '../data/dataset.js';
import { parseOption } from '../options.js';
import { checkFacts, clientShard } from '../setup.js';
import { gradientError, randomSparse, randomVector } from './dataProblems.testdata.js';
import { problems } from './registry.js';
import type { ShardFacts } from './types.js';

/**
 * Rules over the whole problem registry (STYLE lesson 12), so a new entry is checked without a test of its
 * own: declared options, d, x⁰, gradients against finite differences, a finite L_i of a known kind, and the
 * server's constants from two clients' reports (decision 10: L− ≤ L+, L± ≤ L+).
 */
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A small shard the entry can read: sparse ±1-labelled rows, or image-like rows in [0, 1]. */
function shardFor(kind: 'none' | 'libsvm' | 'idx', seed: number): Dataset | null {
  if (kind === 'none') return null;
  const data = randomSparse(seed, 12, 7, 0.5);
  if (kind === 'libsvm') return data;
  return { ...data, vals: data.vals.map((v) => Math.abs(v) % 1) };
}

const small = { dim: 8, hidden: 3, clients: 2, homogeneity: 0.5 };

describe('problem registry', () => {
  it('holds the five problems, quadratic (generated) first', () => {
    expect(Object.keys(problems)).toEqual(['quadratic', 'logreg', 'sigmoid-ls', 'mlp', 'autoencoder']);
    expect(problems['quadratic']!.data).toBe('none');
  });

  for (const [name, def] of Object.entries(problems)) {
    describe(name, () => {
      const config = resolveConfig({ problem: name, ...small });

      it('declares every option with help, and its default passes its own parser', () => {
        expect(def.name).toBe(name);
        expect(def.description.length).toBeGreaterThan(10);
        for (const [option, spec] of Object.entries(def.options)) {
          expect(spec.help.length, option).toBeGreaterThan(5);
          expect(parseOption(option, spec, spec.default)).toEqual(spec.default);
        }
      });

      it('builds f_i of dimension d = dim(features), x⁰ of length d, and a gradient equal to central differences', () => {
        const shard = shardFor(def.data, 3);
        const { problem, facts } = clientShard(config, 0, shard, sha256);
        expect(problem.d).toBe(def.dim(config, shard?.features ?? 0));
        expect(facts.d).toBe(problem.d);
        expect(facts.fingerprint).toMatch(/^[0-9a-f]{64}$/);
        expect(Number.isFinite(facts.Li) && facts.Li > 0).toBe(true);
        expect(['exact', 'bound', 'estimate']).toContain(facts.LiKind);
        const x0 = def.x0(config, problem.d);
        expect(x0.length).toBe(problem.d);
        // Away from x⁰ = 0 (a stationary point of some losses' terms): x⁰ + a fixed perturbation.
        const x = x0.map((v, j) => v + 0.3 * randomVector(problem.d, 5, 'family-x')[j]!);
        expect(Number.isFinite(problem.loss(x))).toBe(true);
        // Central differences with h = 1e-5: truncation O(h²·f''') and rounding O(ε/h) are both ≪ 1e-6.
        expect(gradientError(problem, x)).toBeLessThan(1e-6);
      });

      it("resolves L−, L+, L± from two clients' reports (decision 10)", () => {
        const facts = [0, 1].map((rank) => clientShard(config, rank, shardFor(def.data, 10 + rank), sha256).facts);
        const s = def.smoothness(config, facts);
        expect(s.Li).toEqual(facts.map((f) => f.Li));
        expect(s.Lminus).toBeLessThanOrEqual(s.Lplus * (1 + 1e-12));
        expect(s.Lpm).toBeLessThanOrEqual(s.Lplus * (1 + 1e-12));
        if (def.data !== 'none') expect(s.exact).toEqual({ Lminus: false, Lplus: false, Lpm: false });
      });
    });
  }
});

describe('checkFacts: the server side of the join phase', () => {
  const logreg = resolveConfig({ problem: 'logreg', clients: 3 });
  const facts: ShardFacts = { rows: 10, features: 7, d: 7, Li: 0.5, LiKind: 'bound', fingerprint: 'a'.repeat(64) };

  it('accepts an agreeing report, and one from the rank that first reported the same shard', () => {
    expect(() => checkFacts(logreg, 1, facts, facts, null)).not.toThrow();
    expect(() => checkFacts(logreg, 1, facts, facts, facts)).not.toThrow();
  });

  it('refuses another d, an empty shard, another feature count than --features, a non-finite L_i and another shard on rejoin, naming the rank', () => {
    expectProtocolError(() => checkFacts(logreg, 2, { ...facts, d: 8, features: 8 }, facts, null), 'MARINA_ERR_BAD_SHARD', 'rank 2: its model has d = 8, the run\'s clients d = 7 (features 8 vs 7; give every party the same --features)');
    expectProtocolError(() => checkFacts(logreg, 2, { ...facts, rows: 0 }, facts, null), 'MARINA_ERR_BAD_SHARD', 'rank 2: its shard is empty (no rows); fewer clients, or more data');
    expectProtocolError(() => checkFacts(resolveConfig({ problem: 'logreg', features: 9 }), 0, facts, null, null), 'MARINA_ERR_BAD_SHARD', 'rank 0: its data has 7 features, the run 9 (--features)');
    expectProtocolError(() => checkFacts(logreg, 0, { ...facts, Li: NaN }, null, null), 'MARINA_ERR_BAD_SHARD', 'rank 0: L_i = NaN is not a finite nonnegative number');
    expectProtocolError(
      () => checkFacts(logreg, 1, { ...facts, fingerprint: 'b'.repeat(64) }, facts, facts),
      'MARINA_ERR_BAD_SHARD',
      `rank 1: it rejoined with another shard (fingerprint ${'b'.repeat(16)}…, first reported ${'a'.repeat(16)}…): a rank must bring back the rows it started with`,
    );
  });

  it('checks d against the configuration where it fixes d, whoever reports first (the generated quadratic)', () => {
    const quad = resolveConfig({ dim: 32, clients: 3 });
    const q = clientShard(quad, 0, null, sha256).facts;
    expectProtocolError(() => checkFacts(quad, 0, { ...q, d: 33 }, null, null), 'MARINA_ERR_BAD_SHARD', "rank 0: its model has d = 33, the run's d = 32");
  });
});
