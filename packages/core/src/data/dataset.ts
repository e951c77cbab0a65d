/**
 * A data set in compressed sparse row form (ARCHITECTURE "Problems and data"): row k's features are
 * cols[rowPtr[k] .. rowPtr[k+1]) (0-based, strictly increasing) with values vals[…], and its label labels[k]
 * (±1 for LIBSVM binary classification; the class for image sets). No per-row objects: O(nnz) typed arrays.
 */
export interface Dataset {
  readonly rows: number;
  /** Feature count: every column index is below it. */
  readonly features: number;
  readonly labels: Float64Array;
  /** rows + 1 offsets into cols/vals. */
  readonly rowPtr: Int32Array;
  readonly cols: Int32Array;
  readonly vals: Float64Array;
}

/** The rows `take` (ascending or not; kept in the order given) of `data`, as a new Dataset. */
export function selectRows(data: Dataset, take: ArrayLike<number>): Dataset {
  let nnz = 0;
  for (let i = 0; i < take.length; i++) {
    const r = take[i]!;
    if (!(Number.isInteger(r) && r >= 0 && r < data.rows)) throw new RangeError(`row ${r} is outside [0, ${data.rows})`);
    nnz += data.rowPtr[r + 1]! - data.rowPtr[r]!;
  }
  const rowPtr = new Int32Array(take.length + 1);
  const cols = new Int32Array(nnz);
  const vals = new Float64Array(nnz);
  const labels = new Float64Array(take.length);
  let at = 0;
  for (let i = 0; i < take.length; i++) {
    const r = take[i]!;
    const a = data.rowPtr[r]!;
    const b = data.rowPtr[r + 1]!;
    cols.set(data.cols.subarray(a, b), at);
    vals.set(data.vals.subarray(a, b), at);
    at += b - a;
    rowPtr[i + 1] = at;
    labels[i] = data.labels[r]!;
  }
  return { rows: take.length, features: data.features, labels, rowPtr, cols, vals };
}

/**
 * The canonical bytes of a data set's parsed rows, which its fingerprint (SHA-256) is taken over: for each
 * row, label (f64), nnz (u32), then each entry's column (u32) and value (f64), little-endian; the feature
 * count is not part of it (it is reported on its own). Two files that parse to the same rows agree.
 */
export function canonicalBytes(data: Dataset): Uint8Array {
  const nnz = data.rowPtr[data.rows]!;
  const out = new Uint8Array(data.rows * 12 + nnz * 12);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let r = 0; r < data.rows; r++) {
    const a = data.rowPtr[r]!;
    const b = data.rowPtr[r + 1]!;
    view.setFloat64(at, data.labels[r]!, true);
    view.setUint32(at + 8, b - a, true);
    at += 12;
    for (let k = a; k < b; k++) {
      view.setUint32(at, data.cols[k]!, true);
      view.setFloat64(at + 4, data.vals[k]!, true);
      at += 12;
    }
  }
  return out;
}
