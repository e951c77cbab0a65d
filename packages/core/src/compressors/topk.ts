import { ProtocolError } from '@marina/protocol';
import { readFields, writeFields } from '../kernels/bitFields.js';
import type { CompressorOptions } from './types.js';
import type { Compressor } from './types.js';
import { expectLength, readFloat32s, writeFloat32s } from './floats.js';
import { checkKOption, resolveK } from './randk.js';

/** TopK: a Compressor that also reports its contraction α = K/d (EF21's constant, decision 17). */
export interface TopkCompressor extends Compressor {
  /** α with E‖C(a) − a‖² ≤ (1 − α)‖a‖²: K/d. */
  contraction(d: number, n: number): number;
}

/**
 * TopK (SPEC B.5, decision 17): keeps the K coordinates of largest magnitude, unscaled. Biased and
 * contractive, ‖C(a) − a‖² ≤ (1 − K/d)‖a‖², so it belongs with EF21, not MARINA. It has no ω and no
 * (A, B): `constants` reports NaN for them and α = K/d in the note and through `contraction`.
 *
 * The indices depend on the data, so they travel: K float32 values, then the K indices in increasing
 * order, ⌈log2 d⌉ bits each (LSB first, zero padding): 32K + K·⌈log2 d⌉ bits, counted and sent.
 * Ties in magnitude go to the lower index; NaN counts as the largest magnitude, so it is sent (and refused
 * by the server) rather than hidden.
 */
export function createTopk(options: Pick<CompressorOptions, 'k'>): TopkCompressor {
  checkKOption(options.k, 'topk');
  const kOf = (d: number, n: number): number => resolveK(options.k, d, n, 'topk');
  const bitsOf = (d: number, n: number): number => {
    const K = kOf(d, n);
    return 32 * K + K * indexBits(d);
  };
  let work = new Float64Array(0);
  let idx = new Int32Array(0);
  let gather = new Float64Array(0);
  let vals = new Float32Array(0);

  return {
    name: 'topk',
    unbiased: false,
    correlated: false,
    bits: (ctx) => bitsOf(ctx.d, ctx.n),
    expectedBits: bitsOf,
    payloadBits: (ctx) => bitsOf(ctx.d, ctx.n),
    encode(a, ctx, out) {
      const { d } = ctx;
      const K = kOf(d, ctx.n);
      if (work.length < d) work = new Float64Array(d);
      if (idx.length < K) idx = new Int32Array(K);
      if (gather.length < K) gather = new Float64Array(K);
      topIndices(a, d, K, work, idx);
      for (let i = 0; i < K; i++) gather[i] = a[idx[i]!]!;
      writeFloat32s(gather, out, 0, K);
      writeFields(idx, K, indexBits(d), out, 4 * K);
    },
    decodeInto(sum, payload, ctx) {
      const { d } = ctx;
      const K = kOf(d, ctx.n);
      const b = indexBits(d);
      expectLength(payload, 4 * K + Math.ceil((K * b) / 8), 'topk update');
      if (vals.length < K) vals = new Float32Array(K);
      if (idx.length < K) idx = new Int32Array(K);
      const v = readFloat32s(payload, 0, K, vals, 'topk update');
      const padding = readFields(payload, 4 * K, K, b, idx);
      let prev = -1;
      for (let i = 0; i < K; i++) {
        const j = idx[i]!;
        if (j >= d) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `topk update: index ${i} is ${j}, expected < d = ${d}`);
        if (j <= prev) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `topk update: index ${i} is ${j}, expected increasing indices (previous ${prev})`);
        prev = j;
      }
      if (padding !== 0) throw new ProtocolError('MARINA_ERR_NONZERO_PADDING', 'topk update: padding bits of the last byte are not zero');
      for (let i = 0; i < K; i++) sum[idx[i]!]! += v[i]!;
    },
    constants(d, n) {
      const alpha = kOf(d, n) / d;
      return {
        omega: NaN,
        A: NaN,
        B: NaN,
        note: `TopK is biased: contraction α = K/d = ${alpha} (‖C(a) − a‖² ≤ (1 − α)‖a‖²), no ω or (A, B); use with EF21 (decision 17)`,
      };
    },
    zeta: (d, n) => kOf(d, n),
    contraction: (d, n) => kOf(d, n) / d,
  };
}

/** ⌈log2 d⌉: bits of one index in [0, d) (0 for d = 1). */
export function indexBits(d: number): number {
  return d <= 1 ? 0 : 32 - Math.clz32(d - 1);
}

/**
 * The indices of the K largest |a_j| into out[0..K), increasing; ties go to the lower index. `work`
 * (length ≥ d) is scratch. Expected O(d): the K-th largest magnitude t (a histogram then quickselect in one
 * bucket from RADIX_MIN_D, quickselect below), the count of magnitudes above t, then one pass.
 */
function topIndices(a: Float64Array, d: number, K: number, work: Float64Array, out: Int32Array): void {
  for (let j = 0; j < d; j++) work[j] = magnitude(a[j]!);
  let t: number;
  let above = 0;
  let mags: Float64Array; // the magnitudes in index order
  if (d >= RADIX_MIN_D) {
    t = kthLargest(work, d, K);
    above = aboveT;
    mags = work; // left unchanged
  } else {
    t = selectKth(work, d, d - K); // reorders work
    for (let j = 0; j < d; j++) if (magnitude(a[j]!) > t) above++;
    for (let j = 0; j < d; j++) work[j] = magnitude(a[j]!);
    mags = work;
  }
  let ties = K - above;
  let i = 0;
  for (let j = 0; j < d && i < K; j++) {
    const m = mags[j]!;
    if (m > t || (m === t && ties-- > 0)) out[i++] = j;
  }
}

/** From this d the K-th largest magnitude is found by `kthLargest` (its 32768-bucket histogram then pays). */
const RADIX_MIN_D = 4096;
let histogram = new Uint32Array(0);
let bucket = new Float64Array(0);
/** kthLargest's second result: how many of the values are larger than the one it returns. */
let aboveT = 0;

/**
 * The K-th largest of m[0..d) (magnitudes: ≥ +0, possibly ∞), the same value selectKth(m, d, d − K) gives,
 * and into `aboveT` the count of values larger: a non-negative double's bit pattern orders like its value,
 * so a histogram of the top 16 bits (exponent and 4 mantissa bits) finds the bucket holding it in two
 * passes, and quickselect runs on that bucket alone (about d/50 values on Gaussian inputs, instead of d).
 * m is left unchanged.
 */
function kthLargest(m: Float64Array, d: number, K: number): number {
  const hi = new Uint32Array(m.buffer, m.byteOffset, 2 * d);
  if (histogram.length === 0) histogram = new Uint32Array(32768);
  histogram.fill(0);
  for (let j = 0; j < d; j++) histogram[hi[2 * j + 1]! >>> 16]!++;
  let b = 32767;
  let above = 0;
  while (above + histogram[b]! < K) above += histogram[b--]!;
  const count = histogram[b]!;
  if (bucket.length < count) bucket = new Float64Array(count);
  let c = 0;
  for (let j = 0; j < d; j++) if (hi[2 * j + 1]! >>> 16 === b) bucket[c++] = m[j]!;
  const t = selectKth(bucket, count, count - (K - above));
  for (let i = 0; i < count; i++) if (bucket[i]! > t) above++;
  aboveT = above;
  return t;
}

/** |x|, with NaN ranked above every number. */
function magnitude(x: number): number {
  return x === x ? Math.abs(x) : Infinity;
}

/**
 * The value of rank k (0-based, ascending) among x[0..n), reordering x. Hoare quickselect with a
 * median-of-three pivot; after a bounded number of rounds the remaining range is sorted instead, so
 * adversarial inputs cost O(d log d), not O(d²).
 */
function selectKth(x: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  let budget = 2 * (32 - Math.clz32(n)) + 8;
  while (hi > lo) {
    if (budget-- === 0) {
      x.subarray(lo, hi + 1).sort();
      break;
    }
    const mid = (lo + hi) >>> 1;
    const p = median3(x[lo]!, x[mid]!, x[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (x[i]! < p) i++;
      while (x[j]! > p) j--;
      if (i <= j) {
        const t = x[i]!;
        x[i] = x[j]!;
        x[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break; // x[j+1 .. i−1] all equal the pivot
  }
  return x[k]!;
}

function median3(a: number, b: number, c: number): number {
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}
