import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { runInProcess } from './engine.js';
import { setupRun } from './setup.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('more clients than 4096 (the PermK paper\'s n > d case)', () => {
  it('n = 6000, d = 100, MARINA+PermK runs in-process: compressed rounds cost 32 bits per client (decision 13: d < n)', () => {
    const config = resolveConfig({ clients: 6000, dim: 100, compressor: 'permk', p: '0.01', rounds: 4, seed: 2, evalEvery: 3 });
    const setup = setupRun(config);
    const { records } = runInProcess(setup, setup.problems, { runId: 'scale', sha256, now: () => 0 });
    expect(records).toHaveLength(4);
    expect(records[0]!.bitsUpPerClient).toBe(32 * 100);
    const compressed = records.filter((r) => r.kind === 'compressed');
    expect(compressed.length).toBeGreaterThan(0);
    for (const r of compressed) expect(r.bitsUpPerClient).toBe(32);
    expect(Number.isFinite(records[3]!.gradNormSq!)).toBe(true);
  });

  it('accepts up to 2^20 clients and refuses more, naming the range', () => {
    expect(resolveConfig({ clients: 1 << 20 }).clients).toBe(1 << 20);
    expect(() => resolveConfig({ clients: (1 << 20) + 1 })).toThrow('config field "clients" is 1048577; expected an integer in [1, 1048576]');
  });
});
