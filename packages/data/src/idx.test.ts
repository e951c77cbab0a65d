import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalBytes } from '@marina/core';
import { readIdxImagesFile, readIdxLabelsFile } from './idx.js';

/** The shared MNIST files (see their README), beside the repository: /work/shared/datasets/mnist. */
const MNIST = fileURLToPath(new URL('../../../../shared/datasets/mnist/', import.meta.url));
const haveMnist = existsSync(`${MNIST}t10k-images-idx3-ubyte.gz`);
if (!haveMnist) console.warn(`packages/data idx.test.ts: MNIST tests SKIPPED, ${MNIST} is absent`);

const dir = mkdtempSync(join(tmpdir(), 'marina-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveMnist)('readIdxImagesFile and readIdxLabelsFile', () => {
  it('the gzipped MNIST test images: 10000 × 784; the gunzipped copy gives the same rows', async () => {
    const gz = `${MNIST}t10k-images-idx3-ubyte.gz`;
    const images = await readIdxImagesFile(gz);
    expect([images.rows, images.features]).toEqual([10000, 784]);
    const plain = join(dir, 't10k-images-idx3-ubyte');
    writeFileSync(plain, gunzipSync(readFileSync(gz)));
    expect(Buffer.compare(canonicalBytes(await readIdxImagesFile(plain)), canonicalBytes(images))).toBe(0);
  });

  it('the MNIST test labels: 10000, 980 zeros; an image file read as labels is refused', async () => {
    const labels = await readIdxLabelsFile(`${MNIST}t10k-labels-idx1-ubyte.gz`);
    expect(labels.length).toBe(10000);
    expect(labels.filter((y) => y === 0).length).toBe(980);
    await expect(readIdxLabelsFile(`${MNIST}t10k-images-idx3-ubyte.gz`)).rejects.toMatchObject({
      code: 'MARINA_ERR_BAD_DATA',
      message: `${MNIST}t10k-images-idx3-ubyte.gz: not an IDX labels file: magic 0x00000803, expected 0x00000801 (unsigned bytes, 1 dimension)`,
    });
  });
});

describe('readIdxImagesFile errors', () => {
  it('a missing file and a corrupt gzip file are MARINA_ERR_BAD_DATA naming the path', async () => {
    const missing = join(dir, 'missing');
    await expect(readIdxImagesFile(missing)).rejects.toMatchObject({ code: 'MARINA_ERR_BAD_DATA', message: `${missing}: cannot read the data file (ENOENT: no such file or directory)` });
    const corrupt = join(dir, 'corrupt.gz');
    writeFileSync(corrupt, Uint8Array.of(0x1f, 0x8b, 0, 0, 0));
    await expect(readIdxImagesFile(corrupt)).rejects.toMatchObject({ code: 'MARINA_ERR_BAD_DATA', message: expect.stringMatching(/^.*corrupt\.gz: not a valid gzip file \(/) });
  });
});
