import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { shardRows, shardSizes, type ShardMode } from './shard.js';

/** Every shard of (total, n) concatenated, each checked ascending. */
function allShards(total: number, n: number, mode: ShardMode, seed: number): Int32Array[] {
  return Array.from({ length: n }, (_, rank) => {
    const rows = shardRows(total, n, rank, mode, seed);
    for (let k = 1; k < rows.length; k++) expect(rows[k]!).toBeGreaterThan(rows[k - 1]!);
    return rows;
  });
}

describe('shardSizes', () => {
  it('equal blocks, the first total mod n one row larger', () => {
    expect(shardSizes(10, 3)).toEqual([4, 3, 3]);
    expect(shardSizes(12, 4)).toEqual([3, 3, 3, 3]);
    expect(shardSizes(32561, 10)).toEqual([3257, 3256, 3256, 3256, 3256, 3256, 3256, 3256, 3256, 3256]);
    expect(shardSizes(2, 5)).toEqual([1, 1, 0, 0, 0]);
    expect(shardSizes(0, 2)).toEqual([0, 0]);
  });

  it('refuses bad counts', () => {
    expect(() => shardSizes(-1, 2)).toThrow(RangeError);
    expect(() => shardSizes(10, 0)).toThrow(RangeError);
    expect(() => shardSizes(1.5, 2)).toThrow(RangeError);
  });
});

describe('shardRows', () => {
  it('contiguous: consecutive blocks in rank order', () => {
    expect(allShards(10, 3, 'contiguous', 0).map((s) => Array.from(s))).toEqual([[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(Array.from(shardRows(2, 5, 4, 'contiguous', 0))).toEqual([]);
  });

  for (const mode of ['contiguous', 'shuffled'] as const) {
    it(`${mode}: the shards have the sizes of shardSizes and cover every row exactly once`, () => {
      for (const [total, n] of [[32561, 10], [10, 3], [7, 7], [3, 5], [1000, 1]] as const) {
        const shards = allShards(total, n, mode, 42);
        expect(shards.map((s) => s.length)).toEqual(shardSizes(total, n));
        const seen = new Uint8Array(total);
        for (const s of shards) for (const r of s) seen[r]!++;
        expect(seen.every((c) => c === 1)).toBe(true);
      }
    });
  }

  it('shuffled is deterministic in the seed, differs between seeds and from contiguous', () => {
    const a = allShards(32561, 10, 'shuffled', 1);
    expect(allShards(32561, 10, 'shuffled', 1)).toEqual(a);
    expect(allShards(32561, 10, 'shuffled', 2)).not.toEqual(a);
    expect(a).not.toEqual(allShards(32561, 10, 'contiguous', 1));
    // Each shuffled shard samples the whole file, not one block of it.
    for (const s of a) expect(s[s.length - 1]! - s[0]!).toBeGreaterThan(32000);
  });

  it('golden: the seedrandom ARC4 generator and the first indices of fixed-seed shards', () => {
    // seedrandom's documented first output (README): guards against another generator behind the import.
    expect(seedrandom('hello.')()).toBe(0.9282578795792454);
    expect(allShards(10, 3, 'shuffled', 7).map((s) => Array.from(s))).toEqual([[1, 3, 7, 8], [2, 4, 9], [0, 5, 6]]);
    expect(Array.from(shardRows(32561, 10, 0, 'shuffled', 1).subarray(0, 8))).toEqual([6, 15, 16, 17, 23, 29, 36, 37]);
    expect(Array.from(shardRows(32561, 10, 1, 'shuffled', 1).subarray(0, 8))).toEqual([20, 33, 55, 83, 91, 107, 108, 109]);
    expect(Array.from(shardRows(32561, 10, 9, 'shuffled', 1).subarray(0, 8))).toEqual([24, 38, 45, 52, 74, 78, 84, 93]);
  });

  it('refuses a bad rank, mode or seed', () => {
    expect(() => shardRows(10, 3, 3, 'contiguous', 0)).toThrow(RangeError);
    expect(() => shardRows(10, 3, -1, 'contiguous', 0)).toThrow(RangeError);
    expect(() => shardRows(10, 3, 0, 'random' as ShardMode, 0)).toThrow(/contiguous" or "shuffled", got "random"/);
    expect(() => shardRows(10, 3, 0, 'shuffled', 0.5)).toThrow(RangeError);
  });
});
