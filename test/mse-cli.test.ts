import { describe, expect, it } from 'vitest';
import { compressors, createCompressor } from '@marina/core';
import { marina } from './helpers/cli.js';

/**
 * `marina mse` as built (npm test builds first): a table by default, one JSON object with --json, the
 * registry's unbiased compressors unless --compressors names others. The statistics themselves are checked
 * in packages/core/src/mse.test.ts.
 */
describe('marina mse', () => {
  it('prints a table with a row per unbiased registered compressor', async () => {
    const r = await marina(['mse', '--dim', '32', '--clients', '4', '--trials', '20']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toContain('d = 32, n = 4, 20 trials, homogeneous inputs');
    const header = lines.findIndex((l) => l.startsWith('compressor'));
    expect(lines[header]).toMatch(/compressor\s+kind\s+bits\/msg\s+empirical ± s\.e\.\s+exact\s+bound\s+empirical\/bound/);
    expect(lines[header + 1]).toMatch(/^-+( +-+)+$/);
    const unbiased = Object.keys(compressors).filter((c) => createCompressor(c).unbiased);
    const rows = lines.slice(header + 2, header + 2 + unbiased.length).map((l) => l.split(/\s+/)[0]);
    expect(rows).toEqual(unbiased);
  });

  it('--json: one object; CQ and IQ carry exact values, their bounds are d/n² and d/n', async () => {
    const r = await marina(['mse', '--compressors', 'cq,iq,topk', '--dim', '64', '--clients', '8', '--trials', '50', '--seed', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { spec: Record<string, unknown>; results: Record<string, any>[] };
    expect(o.spec).toMatchObject({ d: 64, n: 8, trials: 50, input: 'homogeneous', seed: 3, convention: 'default' });
    expect(o.results.map((x) => x['compressor'])).toEqual(['cq', 'iq', 'topk']);
    const [cq, iq, topk] = o.results;
    expect(cq!['bound']).toBeCloseTo(64 / 64, 12);
    expect(iq!['bound']).toBeCloseTo(64 / 8, 12);
    expect(cq!['exact']).toBeGreaterThan(0);
    expect(Math.abs(cq!['mse'] - cq!['exact'])).toBeLessThan(4 * cq!['stdErr']);
    expect(Math.abs(iq!['mse'] - iq!['exact'])).toBeLessThan(4 * iq!['stdErr']);
    expect(topk!['unbiased']).toBe(false);
    expect(topk!['bound']).toBeNull(); // NaN: TopK has no (A, B)
  });

  it('heterogeneous inputs with --spread and the paper convention', async () => {
    const r = await marina(['mse', '--compressors', 'iq', '--input', 'heterogeneous', '--spread', '0.5', '--constants', 'paper', '--dim', '16', '--clients', '4', '--trials', '10', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { spec: Record<string, unknown>; results: Record<string, any>[]; meanSqNorm: number; meanVecSqNorm: number };
    expect(o.spec['spread']).toBe(0.5);
    expect(o.results[0]!['bound']).toBeCloseTo(16 / (4 * 4), 12);
    expect(o.meanSqNorm).toBeGreaterThan(o.meanVecSqNorm);
  });

  it('refuses an unknown compressor and too few trials (exit 2)', async () => {
    const bad = await marina(['mse', '--compressors', 'cq,nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown compressor "nope"');
    const few = await marina(['mse', '--trials', '1']);
    expect(few.code).toBe(2);
    expect(few.stderr).toContain('--trials is 1; expected an integer ≥ 2');
  });
});
