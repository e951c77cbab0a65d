import { ProtocolError, symbolsPerWord } from '@marina/protocol';
import { hash32 } from '../rng.js';
import { loadWasmDithering, type WasmDithering } from './ditheringWasm.js';

/**
 * The dithering family's kernels (natural dithering, QSGD, ternary: compressors/dithering.ts; protocol 3):
 * the rounding of u_j = min(|a_j|/r, 1) to one of its two adjacent levels with one keyed 32-bit hash per
 * coordinate, h_j = hash32(k0, k1, j), compared as an integer with the exact fraction f_j·2^32 (the level
 * goes up iff h_j < f_j·2^32, i.e. iff h_j/2^32 < f_j: probability f_j up to the hash's uniformity), the
 * symbols packed into words as they are made, and a table-driven decode.
 *
 * The encode runs in WebAssembly SIMD (dither.wat) where available from WASM_MIN_D coordinates, the
 * JavaScript functions here (`encodeStandardJs`, `encodeNaturalJs`) being the reference and the fallback;
 * the decode is JavaScript (marina bench's encode/decode.<compressor>.<d> figures).
 */

/** The SIMD encode, or null where WebAssembly SIMD is unavailable. */
export const wasmDithering: WasmDithering | null = loadWasmDithering();

/** Below this d the JavaScript encode runs (a wasm call's set-up costs more than it saves). */
export const WASM_MIN_D = 32;

const TWO32 = 0x1_0000_0000;

/** Precomputed shape of one alphabet: symbols per word, the chunking of a word for decode, the tables. */
export interface DitherTables {
  s: number;
  /** Alphabet size 2s + 1. */
  m: number;
  /** Symbols per 32-bit word (decision 12). */
  perWord: number;
  /** pw[i] = m^i for i ≤ perWord (exact doubles ≤ 2^32). */
  pw: Float64Array;
  /** Decode: a word is cut into chunks of c base-m digits, decoded by table: c ≥ 1 the most with M = m^c ≤ CHUNK_MAX. */
  c: number;
  M: number;
  /** chunk[v·c + i] = the level value (sign·level) of digit i of v, for v < M. */
  chunk: Float64Array;
}

/** Largest decode table (entries of one chunk value): 4096 × c doubles stays in L1/L2. */
const CHUNK_MAX = 4096;

/** The tables of the alphabet of s levels whose symbol values are `value` (length 2s + 1). */
export function ditherTables(s: number, value: Float64Array): DitherTables {
  const m = 2 * s + 1;
  const perWord = symbolsPerWord(m);
  const pw = new Float64Array(perWord + 1);
  pw[0] = 1;
  for (let i = 1; i <= perWord; i++) pw[i] = pw[i - 1]! * m;
  let c = 1;
  while (c < perWord && pw[c + 1]! <= CHUNK_MAX) c++;
  const M = pw[c]!;
  const chunk = new Float64Array(M * c);
  for (let v = 0; v < M; v++) {
    let w = v;
    for (let i = 0; i < c; i++) {
      const q = Math.floor(w / m);
      chunk[v * c + i] = value[w - q * m]!;
      w = q;
    }
  }
  return { s, m, perWord, pw, c, M, chunk };
}

/**
 * Standard levels {0, 1/s, …, 1}: t = u·s, level ⌊t⌋ + [h < (t − ⌊t⌋)·2^32]; symbol s ± level (− for
 * a_j < 0). Writes ⌈d/perWord⌉ little-endian words at out[offset..]. `inv` = 1/r, r finite and > 0.
 */
export function encodeStandard(a: Float64Array, d: number, inv: number, t: DitherTables, k0: number, k1: number, out: Uint8Array, offset: number): void {
  if (wasmDithering !== null && d >= WASM_MIN_D) wasmDithering.encode(false, a, d, inv, t.s, t.perWord, k0, k1, out, offset);
  else encodeStandardJs(a, d, inv, t, k0, k1, out, offset);
}

/** encodeStandard in JavaScript: the reference. */
export function encodeStandardJs(a: Float64Array, d: number, inv: number, t: DitherTables, k0: number, k1: number, out: Uint8Array, offset: number): void {
  const { s, perWord, pw } = t;
  const view = new DataView(out.buffer, out.byteOffset + offset, 4 * Math.ceil(d / perWord));
  let p = 0;
  for (let start = 0; start < d; start += perWord) {
    const end = Math.min(start + perWord, d);
    let word = 0;
    for (let j = start; j < end; j++) {
      const x = a[j]!;
      let u = Math.abs(x) * inv;
      if (u > 1) u = 1;
      const v = u * s;
      const lo = Math.floor(v);
      // The fraction is exact (v − ⌊v⌋ of a double) and ·2^32 scales it exactly.
      const l = lo + +(hash32(k0, k1, j) < (v - lo) * TWO32);
      // s ∓ l without a branch on the sign (a random sign mispredicts half the time).
      word += (s + l - 2 * l * +(x < 0)) * pw[j - start]!;
    }
    view.setUint32(p, word, true);
    p += 4;
  }
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Natural levels {0, 2^{1−s}, …, 1/2, 1} (index l ≥ 1 is 2^{l−s}), for s ≤ 1023 (2^{1−s} a normal double):
 * with 2^e ≤ u < 2^{e+1} from u's exponent field, e ≥ 1 − s gives level e + s plus [h < (u/2^e − 1)·2^32],
 * that fraction being u's 52-bit mantissa M over 2^52, so the test is h·2^20 < M (exact in doubles); below
 * 2^{1−s} (zero and subnormals included) level [h < u·2^{s−1}·2^32]. u = 1 is e = 0: level s.
 */
export function encodeNatural(a: Float64Array, d: number, inv: number, t: DitherTables, k0: number, k1: number, out: Uint8Array, offset: number): void {
  if (t.s > 1023) throw new RangeError(`encodeNatural: s = ${t.s} > 1023 (use the reference path)`);
  if (wasmDithering !== null && d >= WASM_MIN_D) wasmDithering.encode(true, a, d, inv, t.s, t.perWord, k0, k1, out, offset);
  else encodeNaturalJs(a, d, inv, t, k0, k1, out, offset);
}

/** encodeNatural in JavaScript: the reference. */
export function encodeNaturalJs(a: Float64Array, d: number, inv: number, t: DitherTables, k0: number, k1: number, out: Uint8Array, offset: number): void {
  const { s, perWord, pw } = t;
  const view = new DataView(out.buffer, out.byteOffset + offset, 4 * Math.ceil(d / perWord));
  const lowScale = 2 ** (s - 1); // ≤ 2^1022; u·2^{s−1} < 1 below the lowest level, then ·2^32: both exact
  const lowBiased = 1023 + 1 - s; // biased exponent of 2^{1−s}
  let p = 0;
  for (let start = 0; start < d; start += perWord) {
    const end = Math.min(start + perWord, d);
    let word = 0;
    for (let j = start; j < end; j++) {
      const x = a[j]!;
      let u = Math.abs(x) * inv;
      if (u > 1) u = 1;
      f64[0] = u;
      const hi = u32[1]!;
      const biased = hi >>> 20;
      const h = hash32(k0, k1, j);
      // Both candidates, then a flag-weighted pick: no branch on data (mixed cases mispredict).
      const within = biased - 1023 + s + +(h * 1048576 < (hi & 0xfffff) * TWO32 + u32[0]!);
      const below = +(h < u * lowScale * TWO32);
      const l = below + +(biased >= lowBiased) * (within - below);
      word += (s + l - 2 * l * +(x < 0)) * pw[j - start]!;
    }
    view.setUint32(p, word, true);
    p += 4;
  }
}

/**
 * Checks every word of a packed payload at payload[offset..] (d symbols): a full word must be < m^perWord,
 * the last < m^(its symbol count). Throws the ProtocolError unpackSymbols would; touches nothing.
 */
export function checkWords(payload: Uint8Array, offset: number, d: number, t: DitherTables): void {
  const { perWord, pw, m } = t;
  const words = Math.ceil(d / perWord);
  const view = new DataView(payload.buffer, payload.byteOffset + offset, 4 * words);
  const full = d % perWord === 0 ? words : words - 1;
  const limit = pw[perWord]!;
  let bad = -1;
  for (let w = 0; w < full; w++) if (!(view.getUint32(4 * w, true) < limit)) bad = w;
  if (full < words && !(view.getUint32(4 * full, true) < pw[d - full * perWord]!)) bad = full;
  if (bad >= 0) {
    const end = Math.min((bad + 1) * perWord, d);
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `packed word at byte ${offset + 4 * bad} encodes more than ${end - bad * perWord} symbols of alphabet ${m}`);
  }
}

/**
 * sum_j += r·value[symbol_j] for the d symbols at payload[offset..] (already checked by checkWords): each word
 * is cut into chunks of c digits, chunk i being ⌊word/M^i⌋ − M·⌊word/M^{i+1}⌋ (M = m^c), each chunk's c values
 * read from one table row. The quotients are independent multiplies by 1/M^i corrected to the exact floor,
 * not a chain of divides.
 */
export function addSymbols(sum: Float64Array, d: number, payload: Uint8Array, offset: number, r: number, t: DitherTables): void {
  const { perWord, c, M, chunk } = t;
  const words = Math.ceil(d / perWord);
  const view = new DataView(payload.buffer, payload.byteOffset + offset, 4 * words);
  const nc = Math.ceil(perWord / c);
  const P = new Float64Array(nc + 1);
  const inv = new Float64Array(nc + 1);
  for (let i = 0; i <= nc; i++) {
    P[i] = M ** i; // exact: M^nc ≤ m^(perWord + c − 1) < 2^32·M ≤ 2^44
    inv[i] = 1 / P[i]!;
  }
  let j = 0;
  for (let w = 0; w < words; w++) {
    const word = view.getUint32(4 * w, true);
    const end = Math.min(j + perWord, d);
    let prev = word;
    for (let i = 1; j < end; i++) {
      // word·(1/M^i) is within 2^−20 of word/M^i, so its floor is the quotient or one off it.
      const p = P[i]!;
      let q = Math.floor(word * inv[i]!);
      const e = word - q * p;
      if (e < 0) q--;
      else if (e >= p) q++;
      const row = ((prev - q * M) * c) | 0;
      prev = q;
      const n = end - j < c ? end - j : c;
      for (let k = 0; k < n; k++) sum[j + k]! += r * chunk[row + k]!;
      j += n;
    }
  }
}
