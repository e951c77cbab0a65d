import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { expectProtocolError, fromHex } from '@marina/protocol/testing';
import { parseIdxImages, parseIdxLabels } from './idx.js';

/** The shared MNIST files (see their README), beside the repository: /work/shared/datasets/mnist. */
const MNIST = fileURLToPath(new URL('../../../../../shared/datasets/mnist/', import.meta.url));
const haveMnist = existsSync(`${MNIST}t10k-images-idx3-ubyte.gz`);
if (!haveMnist) console.warn(`idx.test.ts: MNIST tests SKIPPED, ${MNIST} is absent`);

const gunzipped = (name: string): Uint8Array => new Uint8Array(gunzipSync(readFileSync(`${MNIST}${name}`)));

/** Two 2×3 images: [0 255 0 / 51 0 0] and all zeros. */
const IMAGES = '00000803 00000002 00000002 00000003  00ff00 330000  000000 000000';
const LABELS = '00000801 00000003 07 00 09';

describe('parseIdxImages', () => {
  it('reads pixels/255 in CSR, zeros not stored, labels 0, features rows × columns', () => {
    const d = parseIdxImages(fromHex(IMAGES), 'x.idx');
    expect([d.rows, d.features]).toEqual([2, 6]);
    expect(Array.from(d.rowPtr)).toEqual([0, 2, 2]);
    expect(Array.from(d.cols)).toEqual([1, 3]);
    expect(Array.from(d.vals)).toEqual([1, 51 / 255]);
    expect(Array.from(d.labels)).toEqual([0, 0]);
  });

  it('refuses every truncated prefix and any trailing byte', () => {
    const bytes = fromHex(IMAGES);
    for (let n = 0; n < bytes.length; n++) expectProtocolError(() => parseIdxImages(bytes.subarray(0, n), 'x.idx'), 'MARINA_ERR_BAD_DATA');
    expectProtocolError(() => parseIdxImages(bytes.subarray(0, 15), 'x.idx'), 'MARINA_ERR_BAD_DATA', 'x.idx: truncated IDX header: 15 bytes, an IDX images header is 16');
    const e = expectProtocolError(() => parseIdxImages(bytes.subarray(0, 27), 'x.idx'), 'MARINA_ERR_BAD_DATA',
      'x.idx: truncated: the header declares 2 images of 2×3 bytes (12 bytes after the header), the file has 11');
    expect(e.data).toEqual({ file: 'x.idx', offset: 27 });
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expectProtocolError(() => parseIdxImages(longer, 'x.idx'), 'MARINA_ERR_BAD_DATA',
      'x.idx: trailing bytes: the header declares 2 images of 2×3 bytes (12 bytes after the header), the file has 13');
  });

  it('refuses a bad magic (a label file, another element type), no images, empty images, absurd dimensions', () => {
    expectProtocolError(() => parseIdxImages(fromHex(LABELS + '00'.repeat(8)), 'l.idx'), 'MARINA_ERR_BAD_DATA',
      'l.idx: not an IDX images file: magic 0x00000801, expected 0x00000803 (unsigned bytes, 3 dimensions)');
    expectProtocolError(() => parseIdxImages(fromHex(`00000d03${IMAGES.slice(8)}`), 'x.idx'), 'MARINA_ERR_BAD_DATA', /magic 0x00000d03, expected 0x00000803/);
    expectProtocolError(() => parseIdxImages(fromHex('00000803 00000000 00000002 00000003'), 'x.idx'), 'MARINA_ERR_BAD_DATA', 'x.idx: the header declares no images');
    expectProtocolError(() => parseIdxImages(fromHex('00000803 00000001 00000000 00000003'), 'x.idx'), 'MARINA_ERR_BAD_DATA', 'x.idx: an image of 0×3 pixels is empty');
    // 2^32−1 images of (2^32−1)² pixels: refused on length, before any allocation.
    expectProtocolError(() => parseIdxImages(fromHex('00000803 ffffffff ffffffff ffffffff 00'), 'x.idx'), 'MARINA_ERR_BAD_DATA', /^x\.idx: truncated: /);
  });

  it.skipIf(!haveMnist)('the MNIST test images: 10000 × 784, values pixel/255, exactly the nonzero pixels stored', () => {
    const bytes = gunzipped('t10k-images-idx3-ubyte.gz');
    expect(bytes.length).toBe(7_840_016);
    const d = parseIdxImages(bytes, 't10k-images-idx3-ubyte');
    expect([d.rows, d.features, d.rowPtr.length, d.labels.length]).toEqual([10000, 784, 10001, 10000]);
    expect(d.labels.every((y) => y === 0)).toBe(true);
    let nonzero = 0;
    for (let i = 16; i < bytes.length; i++) if (bytes[i] !== 0) nonzero++;
    expect(d.cols.length).toBe(nonzero);
    expect(d.vals.reduce((a, v) => Math.max(a, v), 0)).toBe(1);
    expect(d.vals.reduce((a, v) => Math.min(a, v), 1)).toBe(1 / 255);
    // Rebuild every image densely from the CSR rows and compare with the file's bytes.
    const dense = new Uint8Array(10000 * 784);
    for (let r = 0; r < d.rows; r++) {
      for (let k = d.rowPtr[r]!; k < d.rowPtr[r + 1]!; k++) dense[r * 784 + d.cols[k]!] = Math.round(d.vals[k]! * 255);
    }
    expect(Buffer.compare(dense, bytes.subarray(16))).toBe(0);
  });
});

describe('parseIdxLabels', () => {
  it('reads one byte per label, a copy of the bytes', () => {
    const bytes = fromHex(LABELS);
    const labels = parseIdxLabels(bytes, 'l.idx');
    expect(Array.from(labels)).toEqual([7, 0, 9]);
    expect(labels.buffer).not.toBe(bytes.buffer);
  });

  it('refuses truncation, trailing bytes, an image file and an empty label file', () => {
    const bytes = fromHex(LABELS);
    for (let n = 0; n < bytes.length; n++) expectProtocolError(() => parseIdxLabels(bytes.subarray(0, n), 'l.idx'), 'MARINA_ERR_BAD_DATA');
    expectProtocolError(() => parseIdxLabels(fromHex(`${LABELS} 01`), 'l.idx'), 'MARINA_ERR_BAD_DATA',
      'l.idx: trailing bytes: the header declares 3 labels (3 bytes after the header), the file has 4');
    expectProtocolError(() => parseIdxLabels(fromHex(IMAGES), 'x.idx'), 'MARINA_ERR_BAD_DATA',
      'x.idx: not an IDX labels file: magic 0x00000803, expected 0x00000801 (unsigned bytes, 1 dimension)');
    expectProtocolError(() => parseIdxLabels(fromHex('00000801 00000000'), 'l.idx'), 'MARINA_ERR_BAD_DATA', 'l.idx: the header declares no labels');
  });

  it.skipIf(!haveMnist)('the MNIST test and training labels: the per-digit counts of the README', () => {
    const count = (labels: Uint8Array): number[] => Array.from({ length: 10 }, (_, k) => labels.filter((y) => y === k).length);
    const test = parseIdxLabels(gunzipped('t10k-labels-idx1-ubyte.gz'), 't10k-labels');
    expect(test.length).toBe(10000);
    expect(count(test)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    const train = parseIdxLabels(gunzipped('train-labels-idx1-ubyte.gz'), 'train-labels');
    expect(train.length).toBe(60000);
    expect(count(train)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  });
});
