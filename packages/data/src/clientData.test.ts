import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '@marina/core';
import { loadAllShards, loadClientData, SharedRead } from './clientData.js';

const A9A = fileURLToPath(new URL('../../../../shared/datasets/a9a.gz', import.meta.url));

describe('SharedRead: the run file parsed once for the clients of a process', () => {
  it('parses once for its readers, then drops the parse (a later reader parses again)', async () => {
    let parses = 0;
    const shared = new SharedRead(3);
    const parse = async () => ({ parsed: ++parses }) as never;
    const got = await Promise.all([0, 1, 2].map(() => shared.read('f', parse)));
    expect(parses).toBe(1);
    expect(new Set(got).size).toBe(1);
    await shared.read('f', parse);
    expect(parses).toBe(2);
  });

  it('gives every rank the rows of the one-pass split and of the two-pass read of its part', async () => {
    for (const shard of ['contiguous', 'shuffled'] as const) {
      const config = resolveConfig({ problem: 'logreg', data: A9A, clients: 5, seed: 3, shard });
      const all = await loadAllShards(config);
      const shared = new SharedRead(5);
      for (let rank = 0; rank < 5; rank++) {
        const alone = await loadClientData(config, rank, null);
        const together = await loadClientData(config, rank, null, shared);
        expect(together).toEqual(all[rank]);
        expect(together).toEqual(alone);
      }
    }
  });
});
