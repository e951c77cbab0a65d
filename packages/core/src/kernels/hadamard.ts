import { loadWasmHadamard, type WasmHadamard } from './hadamardWasm.js';

/**
 * DRIVE's kernels (compressors/drive.ts): the fast Walsh–Hadamard transform, Rademacher signs and sign bits.
 *
 * `fwht` gives the same doubles as `fwhtReference` (the textbook stage-by-stage loop): every output of a
 * butterfly u ± v depends only on its two inputs, so running the stages h = 1 … B/2 block by block (B
 * doubles in L1), then the remaining stages two at a time (radix 4: one pass over memory per two stages),
 * performs the same additions on the same values. hadamard.wat does the same in f64x2 lanes where
 * WebAssembly SIMD is available (`fwht` picks it from WASM_MIN_N up); `fwhtJs` is the JavaScript path.
 */

/** The textbook in-place unnormalised transform of x[0..n), n a power of two: x ← H·x (the reference). */
export function fwhtReference(x: Float64Array, n: number): void {
  for (let h = 1; h < n; h <<= 1) {
    for (let i = 0; i < n; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const u = x[j]!;
        const v = x[j + h]!;
        x[j] = u + v;
        x[j + h] = u - v;
      }
    }
  }
}

/** Doubles per cache block: 2^11 · 8 B = 16 KiB. */
const BLOCK = 2048;

/** The SIMD transform (hadamard.wat), or null where WebAssembly SIMD is unavailable. */
export const wasmHadamard: WasmHadamard | null = loadWasmHadamard();

/** Below this n the JavaScript transform runs: the wasm call's copies in and out cost more than they save. */
export const WASM_MIN_N = 64;

/** x ← H·x for x[0..n), n a power of two; the same doubles as fwhtReference (SIMD where available). */
export function fwht(x: Float64Array, n: number): void {
  if (wasmHadamard === null || n < WASM_MIN_N) fwhtJs(x, n);
  else if (wasmHadamard.holds(x)) wasmHadamard.fwhtInPlace(n);
  else wasmHadamard.fwht(x, n);
}

/**
 * Storage for one rotation of n coordinates: the vector x and room for ⌈n/32⌉ sign words. In wasm memory
 * where the SIMD kernels run (from WASM_MIN_N), so `fwht` and `applySigns` work on it without copies; else
 * in the JavaScript heap. Either is valid until the next call (one rotation at a time).
 */
export function rotationScratch(n: number): { x: Float64Array; words: Uint32Array } {
  if (wasmHadamard !== null && n >= WASM_MIN_N) return wasmHadamard.view(n);
  if (heapX.length < n) {
    heapX = new Float64Array(n);
    heapWords = new Uint32Array(Math.ceil(n / 32));
  }
  return { x: heapX.length === n ? heapX : heapX.subarray(0, n), words: heapWords };
}
let heapX = new Float64Array(0);
let heapWords = new Uint32Array(0);

/** x[i] ← D_i·x[i] for i < count, D_i = +1 where bit i mod 32 of words[⌊i/32⌋] is 1, else −1 (exact: ±x). */
export function applySigns(x: Float64Array, count: number, words: Uint32Array): void {
  if (wasmHadamard !== null && wasmHadamard.holds(x)) {
    wasmHadamard.signsInPlace(count);
    return;
  }
  for (let w = 0; 32 * w < count; w++) {
    const bits = words[w]!;
    const end = Math.min(32 * w + 32, count);
    for (let i = 32 * w; i < end; i++) x[i] = x[i]! * (((bits >>> (i & 31)) & 1) * 2 - 1);
  }
}

/** The JavaScript transform: blocked and radix 4, the same doubles as fwhtReference. */
export function fwhtJs(x: Float64Array, n: number): void {
  const B = Math.min(n, BLOCK);
  for (let b = 0; b < n; b += B) stages(x, b, b + B, 1, B);
  stages(x, 0, n, B, n);
}

/** Stages h = from, 2·from, … < to over x[lo..hi), two at a time where two remain. */
function stages(x: Float64Array, lo: number, hi: number, from: number, to: number): void {
  let h = from;
  if (h === 1 && to >= 4) {
    // Stages 1 and 2 on groups of four.
    for (let j = lo; j < hi; j += 4) {
      const a = x[j]!, b = x[j + 1]!, c = x[j + 2]!, d = x[j + 3]!; // prettier-ignore
      const p = a + b, q = a - b, r = c + d, s = c - d; // prettier-ignore
      x[j] = p + r;
      x[j + 1] = q + s;
      x[j + 2] = p - r;
      x[j + 3] = q - s;
    }
    h = 4;
  }
  for (; 2 * h < to; h <<= 2) {
    // Stages h and 2h: elements j, j + h, j + 2h, j + 3h.
    const step = h << 2;
    for (let i = lo; i < hi; i += step) {
      for (let j = i; j < i + h; j++) {
        const a = x[j]!, b = x[j + h]!, c = x[j + 2 * h]!, d = x[j + 3 * h]!; // prettier-ignore
        const p = a + b, q = a - b, r = c + d, s = c - d; // prettier-ignore
        x[j] = p + r;
        x[j + h] = q + s;
        x[j + 2 * h] = p - r;
        x[j + 3 * h] = q - s;
      }
    }
  }
  if (h < to) {
    for (let i = lo; i < hi; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const u = x[j]!;
        const v = x[j + h]!;
        x[j] = u + v;
        x[j + h] = u - v;
      }
    }
  }
}

/**
 * Σ|x_i| for i < n in a fixed order: four partial sums, lane k holding i ≡ k (mod 4) in order of i, then
 * (s0 + s1) + (s2 + s3) (DRIVE's ‖z‖₁; four independent chains instead of one).
 */
export function l1Norm(x: Float64Array, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0; // prettier-ignore
  const full = n & ~3;
  for (let i = 0; i < full; i += 4) {
    s0 += Math.abs(x[i]!);
    s1 += Math.abs(x[i + 1]!);
    s2 += Math.abs(x[i + 2]!);
    s3 += Math.abs(x[i + 3]!);
  }
  if (full < n) s0 += Math.abs(x[full]!);
  if (full + 1 < n) s1 += Math.abs(x[full + 1]!);
  if (full + 2 < n) s2 += Math.abs(x[full + 2]!);
  return (s0 + s1) + (s2 + s3);
}

/** out[offset..] ← bit i = [x_i ≥ tie] for i < n (LSB first, padding bits zero). */
export function signBits(x: Float64Array, n: number, tie: number, out: Uint8Array, offset: number): void {
  const full = n >>> 3;
  for (let b = 0; b < full; b++) {
    const i = 8 * b;
    out[offset + b] =
      +(x[i]! >= tie) | (+(x[i + 1]! >= tie) << 1) | (+(x[i + 2]! >= tie) << 2) | (+(x[i + 3]! >= tie) << 3) |
      (+(x[i + 4]! >= tie) << 4) | (+(x[i + 5]! >= tie) << 5) | (+(x[i + 6]! >= tie) << 6) | (+(x[i + 7]! >= tie) << 7); // prettier-ignore
  }
  if (n & 7) {
    let acc = 0;
    for (let i = 8 * full; i < n; i++) acc |= +(x[i]! >= tie) << (i & 7);
    out[offset + full] = acc;
  }
}

/** x[i] ← ±S from bit i of payload[offset..] (1: +S) for i < n; the caller checked length and padding. */
export function expandSigns(payload: Uint8Array, offset: number, n: number, S: number, x: Float64Array): void {
  for (let i = 0; i < n; i++) x[i] = (((payload[offset + (i >>> 3)]! >>> (i & 7)) & 1) * 2 - 1) * S;
}
