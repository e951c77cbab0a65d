import { ProtocolError } from '@marina/protocol';
import { hash32 } from '../rng.js';
import { wasmDithering, WASM_MIN_D } from './dithering.js';

/**
 * Natural compression's kernels (compressors/natural.ts; protocol 3): 9-bit fields (bit 0 the sign, bits 1–8
 * the float32 biased exponent code), LSB first. Coordinate j rounds up iff h_j < f_j·2^32, h_j = hash32 of
 * the stream at j, f_j = |a_j|/2^e − 1 its exact fraction; read from the double's own bits, that is
 * h_j·2^20 < M_j with M_j the 52-bit mantissa (exact in doubles). The encode runs in WebAssembly SIMD
 * (dither.wat) where available; the JavaScript here is the reference and fallback (bits packed in a
 * register); the decode is JavaScript, table-driven.
 */

const TWO32 = 0x1_0000_0000;
/** 2^−126·2^32 = 2^−94: m < 2^−126 rounds up to 2^−126 iff h < m·2^126·2^32. */
const SUB_SCALE = 2 ** 158;

/** The 9-bit field of one coordinate x (bits hi:lo of the double) with hash h: the reference (natural.ts). */
export function naturalField(hi: number, lo: number, h: number): number {
  const neg = hi >>> 31;
  const biased = (hi >>> 20) & 0x7ff;
  let code: number;
  if (biased >= 1023 - 126 && biased < 1023 + 128) {
    code = biased - 1023 + 127 + +(h * 1048576 < (hi & 0xfffff) * TWO32 + lo);
    if (code > 255) code = 255;
  } else if (biased >= 1023 + 128) code = 255; // ≥ 2^128, ∞, NaN: refused by the server
  else {
    f64[0] = 0;
    u32[1] = hi & 0x7fffffff;
    u32[0] = lo;
    code = +(h < f64[0]! * SUB_SCALE); // below 2^−126 (zero included): 0 or the lowest level
  }
  return code === 0 ? 0 : neg | (code << 1);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Writes the ⌈9d/8⌉ bytes of a[0..d) into out[0..), padding bits zero: whole groups of eight coordinates in
 * WebAssembly SIMD (dither.wat) where available from WASM_MIN_D, the rest in JavaScript.
 */
export function encodeNaturalFields(a: Float64Array, d: number, k0: number, k1: number, out: Uint8Array): void {
  const done = wasmDithering !== null && d >= WASM_MIN_D ? wasmDithering.naturalFields(a, d, k0, k1, out) : 0;
  encodeNaturalFieldsJs(a, d, k0, k1, out, done);
}

/** encodeNaturalFields in JavaScript from coordinate `from` (a multiple of 8: byte 9·from/8) on: the reference. */
export function encodeNaturalFieldsJs(a: Float64Array, d: number, k0: number, k1: number, out: Uint8Array, from = 0): void {
  const w = new Uint32Array(a.buffer, a.byteOffset, 2 * d);
  let acc = 0;
  let nb = 0;
  let p = (9 * from) / 8;
  for (let j = from; j < d; j++) {
    const hi = w[2 * j + 1]!;
    const biased = (hi >>> 20) & 0x7ff;
    const h = hash32(k0, k1, j);
    let field: number;
    // The common case, a normal float32 power of two below 2^127 either way: code = e + 127 + up.
    if (biased >= 1023 - 126 && biased < 1023 + 127) field = (hi >>> 31) | ((biased - 896 + +(h * 1048576 < (hi & 0xfffff) * TWO32 + w[2 * j]!)) << 1);
    else field = naturalField(hi, w[2 * j]!, h);
    acc |= field << nb;
    nb += 9;
    out[p++] = acc & 0xff;
    acc >>>= 8;
    nb -= 8;
    if (nb >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      nb -= 8;
    }
  }
  if (nb > 0) out[p] = acc;
}

/** VALUE[field] = ±2^(code − 127), 0 for field 0; INVALID[field] = 1 for code 255 and for −0 (field 1). */
const VALUE = new Float64Array(512);
const INVALID = new Uint8Array(512);
for (let f = 0; f < 512; f++) {
  const code = f >>> 1;
  INVALID[f] = +(code === 255 || f === 1);
  VALUE[f] = INVALID[f] || code === 0 ? 0 : (f & 1 ? -1 : 1) * 2 ** (code - 127);
}

/**
 * Reads the d fields of payload (⌈9d/8⌉ bytes, checked by the caller) into `fields`, then throws the
 * ProtocolError of the first invalid one or of nonzero padding bits. Touches nothing else.
 */
export function readNaturalFields(payload: Uint8Array, d: number, fields: Uint16Array, what: string): void {
  let bad = 0;
  const full = d >>> 3;
  // Eight fields from nine bytes, without a branch per field.
  for (let g = 0, p = 0, j = 0; g < full; g++, p += 9, j += 8) {
    const b0 = payload[p]!, b1 = payload[p + 1]!, b2 = payload[p + 2]!, b3 = payload[p + 3]!, b4 = payload[p + 4]!; // prettier-ignore
    const b5 = payload[p + 5]!, b6 = payload[p + 6]!, b7 = payload[p + 7]!, b8 = payload[p + 8]!; // prettier-ignore
    const f0 = b0 | ((b1 & 0x01) << 8);
    const f1 = (b1 >>> 1) | ((b2 & 0x03) << 7);
    const f2 = (b2 >>> 2) | ((b3 & 0x07) << 6);
    const f3 = (b3 >>> 3) | ((b4 & 0x0f) << 5);
    const f4 = (b4 >>> 4) | ((b5 & 0x1f) << 4);
    const f5 = (b5 >>> 5) | ((b6 & 0x3f) << 3);
    const f6 = (b6 >>> 6) | ((b7 & 0x7f) << 2);
    const f7 = (b7 >>> 7) | (b8 << 1);
    fields[j] = f0;
    fields[j + 1] = f1;
    fields[j + 2] = f2;
    fields[j + 3] = f3;
    fields[j + 4] = f4;
    fields[j + 5] = f5;
    fields[j + 6] = f6;
    fields[j + 7] = f7;
    bad |= INVALID[f0]! | INVALID[f1]! | INVALID[f2]! | INVALID[f3]! | INVALID[f4]! | INVALID[f5]! | INVALID[f6]! | INVALID[f7]!;
  }
  let acc = 0;
  let nb = 0;
  let p = 9 * full;
  for (let j = 8 * full; j < d; j++) {
    while (nb < 9) {
      acc |= payload[p++]! << nb;
      nb += 8;
    }
    const f = acc & 0x1ff;
    acc >>>= 9;
    nb -= 9;
    fields[j] = f;
    bad |= INVALID[f]!;
  }
  if (bad) {
    for (let j = 0; j < d; j++) {
      const f = fields[j]!;
      if (f >= 510) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `${what}: coordinate ${j} has exponent code 255 (infinite or NaN)`);
      if (f === 1) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what}: coordinate ${j} is a negative zero (not a canonical encoding)`);
    }
  }
  if (acc !== 0) throw new ProtocolError('MARINA_ERR_NONZERO_PADDING', `${what}: padding bits of the last byte are not zero`);
}

/** sum_j += the value of fields[j] (validated by readNaturalFields). */
export function addNaturalFields(sum: Float64Array, d: number, fields: Uint16Array): void {
  for (let j = 0; j < d; j++) sum[j]! += VALUE[fields[j]!]!;
}
