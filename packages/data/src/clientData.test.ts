import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '@marina/core';
import { loadAllShards, loadClientData, SharedRead } from './clientData.js';

const A9A = fileURLToPath(new URL('../../../../shared/datasets/a9a.gz', import.meta.url));

describe('SharedRead: the run file parsed once for the clients of a process', () => {
  it('parses once for its readers and drops the parse once each has read or left; a second read parses again', async () => {
    let parses = 0;
    const parse = async () => ({ parsed: ++parses }) as never;
    const shared = new SharedRead(4);
    const got = await Promise.all([0, 1, 2].map((i) => shared.reader(i).read('f', parse)));
    expect(parses).toBe(1);
    expect(new Set(got).size).toBe(1);
    // Reader 0 reads again (another rank after a reconnect): its own parse, the shared one untouched.
    await shared.reader(0).read('f', parse);
    expect(parses).toBe(2);
    expect(await shared.reader(3).read('f', parse)).toBe(got[0]);
    // All four have read: the parse is gone, whoever comes next parses.
    const late = new SharedRead(2);
    late.leave(1); // failed before reading
    await late.reader(0).read('f', parse);
    expect(parses).toBe(3);
    expect(await new SharedRead(1).reader(0).read('f', parse)).not.toBe(got[0]);
  });

  it('does not keep a parse that failed', async () => {
    const shared = new SharedRead(3);
    const bad = () => Promise.reject(new Error('unreadable'));
    await expect(shared.reader(0).read('f', bad)).rejects.toThrow('unreadable');
    await new Promise((r) => setTimeout(r, 0));
    let parses = 0;
    await shared.reader(1).read('f', async () => ({ parsed: ++parses }) as never);
    expect(parses).toBe(1);
  });

  it('gives every rank the rows of the one-pass split and of the two-pass read of its part', async () => {
    for (const shard of ['contiguous', 'shuffled'] as const) {
      const config = resolveConfig({ problem: 'logreg', data: A9A, clients: 5, seed: 3, shard });
      const all = await loadAllShards(config);
      const shared = new SharedRead(5);
      for (let rank = 0; rank < 5; rank++) {
        const alone = await loadClientData(config, rank, null);
        const together = await loadClientData(config, rank, null, shared.reader(rank));
        expect(together).toEqual(all[rank]);
        expect(together).toEqual(alone);
      }
    }
  });
});
