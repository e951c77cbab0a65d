import { ProtocolError } from '@marina/protocol';
import type { Dataset } from './dataset.js';

/**
 * IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/), sans-I/O: the caller reads (and
 * gunzips) the file. An IDX file is a big-endian header, magic `0x0000TTDD` (TT the element type, 0x08 for
 * unsigned bytes; DD the number of dimensions), then one u32 per dimension, then the elements row-major.
 * Every field is checked, and the length must be exactly what the header declares, before anything is
 * allocated (STYLE lessons 3 and 4). Errors are ProtocolError MARINA_ERR_BAD_DATA `FILE: what is wrong`
 * with `data: { file, offset }` (the byte offset of the bad field; IDX files have no lines).
 */

/** Magic of an image file: unsigned bytes, 3 dimensions (count, rows, columns). */
export const IDX_IMAGES_MAGIC = 0x0000_0803;
/** Magic of a label file: unsigned bytes, 1 dimension (count). */
export const IDX_LABELS_MAGIC = 0x0000_0801;

/**
 * The images of an IDX3 u8 file as a Dataset: one row per image, features = rows × columns (pixel
 * r·columns + c), values pixel/255 in [0, 1], zero pixels not stored, labels all 0 (labels come from their
 * own file, `parseIdxLabels`). `source` names the file in errors.
 */
export function parseIdxImages(bytes: Uint8Array, source: string): Dataset {
  const [count = 0, height = 0, width = 0] = header(bytes, source, IDX_IMAGES_MAGIC, 'images', 3);
  const pixels = height * width;
  if (height === 0 || width === 0) fail(source, `an image of ${height}×${width} pixels is empty`, 8);
  // count·pixels is exact below 2^53 and rounds to ≥ 2^53 above it, so it never equals a wrong length.
  expectLength(bytes, source, 16, count * pixels, `${count} images of ${height}×${width} bytes`);

  let nnz = 0;
  for (let i = 16; i < bytes.length; i++) if (bytes[i] !== 0) nnz++;
  const rowPtr = new Int32Array(count + 1);
  const cols = new Int32Array(nnz);
  const vals = new Float64Array(nnz);
  let k = 0;
  for (let r = 0, at = 16; r < count; r++, at += pixels) {
    for (let c = 0; c < pixels; c++) {
      const v = bytes[at + c] as number;
      if (v !== 0) {
        cols[k] = c;
        vals[k] = v / 255;
        k++;
      }
    }
    rowPtr[r + 1] = k;
  }
  return { rows: count, features: pixels, labels: new Float64Array(count), rowPtr, cols, vals };
}

/** The labels of an IDX1 u8 file (one byte per item, a copy not sharing `bytes`' buffer). */
export function parseIdxLabels(bytes: Uint8Array, source: string): Uint8Array {
  const [count = 0] = header(bytes, source, IDX_LABELS_MAGIC, 'labels', 1);
  expectLength(bytes, source, 8, count, `${count} labels`);
  return bytes.slice(8);
}

/** Checks the magic and reads the dimensions; a file with no items is refused too. */
function header(bytes: Uint8Array, source: string, magic: number, kind: string, dims: number): number[] {
  const size = 4 + 4 * dims;
  if (bytes.length < size) fail(source, `truncated IDX header: ${bytes.length} bytes, an IDX ${kind} header is ${size}`, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0, false);
  if (got !== magic) {
    fail(source, `not an IDX ${kind} file: magic ${hex(got)}, expected ${hex(magic)} (unsigned bytes, ${dims} dimension${dims > 1 ? 's' : ''})`, 0);
  }
  const out: number[] = [];
  for (let d = 0; d < dims; d++) out.push(view.getUint32(4 + 4 * d, false));
  if (out[0] === 0) fail(source, `the header declares no ${kind}`, 4);
  return out;
}

function expectLength(bytes: Uint8Array, source: string, headerSize: number, body: number, what: string): void {
  const have = bytes.length - headerSize;
  if (have !== body) {
    const why = have < body ? 'truncated' : 'trailing bytes';
    fail(source, `${why}: the header declares ${what} (${body} bytes after the header), the file has ${have}`, Math.min(bytes.length, headerSize + body));
  }
}

function hex(x: number): string {
  return `0x${x.toString(16).padStart(8, '0')}`;
}

function fail(file: string, what: string, offset: number): never {
  throw new ProtocolError('MARINA_ERR_BAD_DATA', `${file}: ${what}`, { file, offset });
}
