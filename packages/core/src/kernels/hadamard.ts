/**
 * DRIVE's kernels (compressors/drive.ts): the fast Walsh–Hadamard transform, Rademacher signs and sign bits.
 *
 * `fwht` gives the same doubles as `fwhtReference` (the textbook stage-by-stage loop): every output of a
 * butterfly u ± v depends only on its two inputs, so running the stages h = 1 … B/2 block by block (B
 * doubles in L1), then the remaining stages two at a time (radix 4: one pass over memory per two stages),
 * performs the same additions on the same values. Plain JavaScript: the transform is memory-bound past L2
 * and the radix-4 passes halve its memory traffic.
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

/** x ← H·x for x[0..n), n a power of two; the same doubles as fwhtReference. */
export function fwht(x: Float64Array, n: number): void {
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

/** x[i] ← D_i·x[i] for i < count, D_i = +1 where bit i mod 32 of words[⌊i/32⌋] is 1, else −1 (exact: ±x). */
export function applySignWords(x: Float64Array, count: number, word: (w: number) => number): void {
  for (let w = 0; 32 * w < count; w++) {
    const bits = word(w);
    const end = Math.min(32 * w + 32, count);
    for (let i = 32 * w; i < end; i++) x[i] = x[i]! * (((bits >>> (i & 31)) & 1) * 2 - 1);
  }
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
