import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalBytes, selectRows, shardRows, shardSizes, type Dataset } from '@marina/core';
import { ProtocolError } from '@marina/protocol';
import { loadDataset, loadShard, readLibsvmFile } from './libsvm.js';

/** The shared data sets (see their README), beside the repository: /work/shared/datasets. */
const DATASETS = fileURLToPath(new URL('../../../../shared/datasets/', import.meta.url));
const haveData = existsSync(`${DATASETS}a9a.gz`);
if (!haveData) console.warn(`packages/data libsvm.test.ts: data-set tests SKIPPED, ${DATASETS} is absent`);

/** SHA-256 of a data set's canonical bytes: a fast, readable equality of parsed rows (the run fingerprint). */
const digest = (data: Dataset): string => createHash('sha256').update(canonicalBytes(data)).digest('hex');

const dir = mkdtempSync(join(tmpdir(), 'marina-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `content` to a fresh file in the temporary directory and returns its path. */
function temp(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The ProtocolError an awaited call rejects with. */
async function rejection(p: Promise<unknown>): Promise<ProtocolError> {
  const e = await p.then(
    () => new Error('expected a rejection'),
    (x: unknown) => x,
  );
  if (!(e instanceof ProtocolError)) throw e;
  return e;
}

describe.skipIf(!haveData)('loadShard and loadDataset on a9a.gz', () => {
  const a9a = `${DATASETS}a9a.gz`;

  it('loadDataset reads the whole file: 32561 rows, 123 features, labels [-1, 1]', async () => {
    const all = await loadDataset(a9a);
    expect([all.rows, all.features, all.data.rows]).toEqual([32561, 123, 32561]);
    expect(all.labels).toEqual([-1, 1]);
  });

  for (const [mode, seed] of [['contiguous', 0], ['shuffled', 5]] as const) {
    it(`${mode}, n = 10: every rank's shard is exactly selectRows(whole, shardRows(...))`, async () => {
      const all = (await loadDataset(a9a)).data;
      const sizes = shardSizes(32561, 10);
      for (let rank = 0; rank < 10; rank++) {
        const got = await loadShard(a9a, { clients: 10, rank, shard: mode, seed });
        expect([got.totalRows, got.features, got.shard.rows, got.shard.features]).toEqual([32561, 123, sizes[rank], 123]);
        expect(got.labels).toEqual([-1, 1]);
        expect(digest(got.shard)).toBe(digest(selectRows(all, shardRows(32561, 10, rank, mode, seed))));
      }
    });
  }

  it('a given feature count holds for the shard (a9a.t: 123 given, 122 used)', async () => {
    const got = await loadShard(`${DATASETS}a9a.t.gz`, { features: 123, clients: 3, rank: 2, shard: 'contiguous', seed: 0 });
    expect([got.totalRows, got.features, got.shard.features, got.shard.rows]).toEqual([16281, 123, 123, 5427]);
    expect((await loadShard(`${DATASETS}a9a.t.gz`, { clients: 3, rank: 2, shard: 'contiguous', seed: 0 })).features).toBe(122);
  });

  it('a gzip file and its plain text give the same rows', async () => {
    const plain = temp('a9a.txt', gunzipSync(readFileSync(a9a)));
    expect(digest((await loadDataset(plain)).data)).toBe(digest((await loadDataset(a9a)).data));
    // And the other way: plain heart_scale, gzipped under a name without .gz (the magic decides).
    const heart = readFileSync(`${DATASETS}heart_scale`);
    const zipped = temp('heart_scale.bin', gzipSync(heart));
    const a = await loadDataset(`${DATASETS}heart_scale`);
    const b = await loadDataset(zipped);
    expect([b.rows, b.features]).toEqual([270, 13]);
    expect(digest(b.data)).toBe(digest(a.data));
  });
});

describe('readLibsvmFile and loadShard: labels, errors', () => {
  it('a shard whose rows all carry one label maps it by the whole file ({1, 2}: 1 ↦ −1)', async () => {
    const path = temp('onelabel.txt', '1 1:1\n1 2:1\n2 1:2\n2 2:2\n');
    const first = await loadShard(path, { clients: 2, rank: 0, shard: 'contiguous', seed: 0 });
    expect(Array.from(first.shard.labels)).toEqual([-1, -1]);
    expect(first.labels).toEqual([1, 2]);
    const second = await loadShard(path, { clients: 2, rank: 1, shard: 'contiguous', seed: 0 });
    expect(Array.from(second.shard.labels)).toEqual([1, 1]);
    // Alone, a file of label-1 rows maps 1 to +1 (one label, > 0).
    expect(Array.from((await readLibsvmFile(temp('ones.txt', '1 1:1\n1 2:1\n'))).data.labels)).toEqual([1, 1]);
  });

  it('an empty shard (fewer rows than clients) is returned empty, for the caller to refuse', async () => {
    const path = temp('two.txt', '1 1:1\n-1 2:1\n');
    const got = await loadShard(path, { clients: 3, rank: 2, shard: 'shuffled', seed: 1 });
    expect([got.totalRows, got.shard.rows, got.features]).toEqual([2, 0, 2]);
  });

  it('a missing or unreadable file is MARINA_ERR_BAD_DATA naming the path', async () => {
    const missing = join(dir, 'no-such-file.txt');
    const reads = [() => readLibsvmFile(missing), () => loadDataset(missing), () => loadShard(missing, { clients: 2, rank: 0, shard: 'contiguous', seed: 0 })];
    for (const read of reads) {
      const e = await rejection(read());
      expect(e.code).toBe('MARINA_ERR_BAD_DATA');
      expect(e.message).toBe(`${missing}: cannot read the data file (ENOENT: no such file or directory)`);
      expect(e.data).toEqual({ file: missing });
    }
    const e = await rejection(loadDataset(dir));
    expect([e.code, e.message]).toEqual(['MARINA_ERR_BAD_DATA', `${dir}: cannot read the data file (EISDIR: illegal operation on a directory, read)`]);
  });

  it('a malformed row is refused with the path and line; a corrupt gzip file is refused', async () => {
    const bad = temp('bad.txt', '1 1:1\n-1 2:1 1:1\n');
    const e = await rejection(loadShard(bad, { clients: 2, rank: 0, shard: 'contiguous', seed: 0 }));
    expect([e.code, e.message, e.data]).toEqual([
      'MARINA_ERR_BAD_DATA',
      `${bad}:2: feature indices must be strictly increasing (previous index 2), got "1:1"`,
      { file: bad, line: 2 },
    ]);
    const gz = gzipSync(new TextEncoder().encode('1 1:1\n'.repeat(1000)));
    const truncated = temp('truncated.gz', gz.subarray(0, gz.length - 10));
    const t = await rejection(readLibsvmFile(truncated));
    expect([t.code, t.message]).toEqual(['MARINA_ERR_BAD_DATA', `${truncated}: not a valid gzip file (unexpected end of file)`]);
    const empty = temp('empty.txt', '');
    expect((await rejection(loadDataset(empty))).message).toBe(`${empty}:1: no rows (the file is empty or holds only blank lines and comments)`);
  });

  it('bad shard arguments are refused before the file is read', async () => {
    await expect(loadShard(join(dir, 'no-such-file.txt'), { clients: 2, rank: 2, shard: 'contiguous', seed: 0 })).rejects.toThrow(RangeError);
  });
});
