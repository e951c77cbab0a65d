import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** `../shared/datasets` beside the repository (this module is packages/cli/{src,dist}/results/data.*). */
export const DEFAULT_DATASETS = fileURLToPath(new URL('../../../../../shared/datasets', import.meta.url));

/** The data files the pages use, as absolute paths (they may be absent: the experiment is then skipped). */
export interface DataPaths {
  a9a: string;
  mushrooms: string;
  w8a: string;
  phishing: string;
  /** MNIST's 10 000 test images (IDX, gzip): the only MNIST images at hand. */
  mnist: string;
}

export function dataPaths(dir: string): DataPaths {
  return {
    a9a: join(dir, 'a9a.gz'),
    mushrooms: join(dir, 'mushrooms'),
    w8a: join(dir, 'w8a.gz'),
    phishing: join(dir, 'phishing.gz'),
    mnist: join(dir, 'mnist', 't10k-images-idx3-ubyte.gz'),
  };
}

/** The files of `needs` that do not exist. */
export function missing(needs: readonly string[]): string[] {
  return needs.filter((f) => !existsSync(f));
}

/**
 * Writes the first `count` images of an IDX image file (plain or gzip) as a plain IDX file at `out`: the header's
 * count rewritten, the pixels copied. Used to scale the autoencoder down (quick and smoke modes).
 */
export function writeIdxSubset(source: string, count: number, out: string): void {
  const raw = readFileSync(source);
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  const have = bytes.readUInt32BE(4);
  const rows = bytes.readUInt32BE(8);
  const cols = bytes.readUInt32BE(12);
  if (count > have) throw new RangeError(`${source} has ${have} images; ${count} asked`);
  const header = Buffer.from(bytes.subarray(0, 16));
  header.writeUInt32BE(count, 4);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, Buffer.concat([header, bytes.subarray(16, 16 + count * rows * cols)]));
}
