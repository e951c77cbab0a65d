import { parseIdxImages, parseIdxLabels, type Dataset } from '@marina/core';
import { readWholeFile } from './read.js';

/**
 * The images of the IDX3 file at `path` (gzip or not, told apart by the magic bytes) as a Dataset: see
 * core's `parseIdxImages` (pixels/255, zeros not stored, labels 0). Read whole: IDX is a header plus one
 * block, and the CSR result is built in two passes over it.
 */
export async function readIdxImagesFile(path: string): Promise<Dataset> {
  return parseIdxImages(await readWholeFile(path), path);
}

/** The labels of the IDX1 file at `path` (gzip or not), one byte each. */
export async function readIdxLabelsFile(path: string): Promise<Uint8Array> {
  return parseIdxLabels(await readWholeFile(path), path);
}
