import { ProtocolError } from '@marina/protocol';
import { hash32 } from '../rng.js';

/**
 * Natural compression's kernels (compressors/natural.ts; protocol 3): 9-bit fields (bit 0 the sign, bits 1–8
 * the float32 biased exponent code), LSB first. Coordinate j rounds up iff h_j < f_j·2^32, h_j = hash32 of
 * the stream at j, f_j = |a_j|/2^e − 1 its exact fraction; read from the double's own bits, that is
 * h_j·2^20 < M_j with M_j the 52-bit mantissa (exact in doubles). Plain JavaScript: no per-coordinate
 * closures, bits packed in a register, a table-driven decode.
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

/** Writes the ⌈9d/8⌉ bytes of a[0..d) into out[0..), padding bits zero. */
export function encodeNaturalFields(a: Float64Array, d: number, k0: number, k1: number, out: Uint8Array): void {
  const w = new Uint32Array(a.buffer, a.byteOffset, 2 * d);
  let acc = 0;
  let nb = 0;
  let p = 0;
  for (let j = 0; j < d; j++) {
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

/** VALUE[field] = ±2^(code − 127), 0 for field 0; NaN marks an invalid field (code 255, or −0: field 1). */
const VALUE = new Float64Array(512);
for (let f = 0; f < 512; f++) {
  const code = f >>> 1;
  VALUE[f] = code === 255 || f === 1 ? NaN : code === 0 ? 0 : (f & 1 ? -1 : 1) * 2 ** (code - 127);
}

/**
 * Reads the d fields of payload (⌈9d/8⌉ bytes, checked by the caller) into `fields`, then throws the
 * ProtocolError of the first invalid one or of nonzero padding bits. Touches nothing else.
 */
export function readNaturalFields(payload: Uint8Array, d: number, fields: Uint16Array, what: string): void {
  let acc = 0;
  let nb = 0;
  let p = 0;
  let bad = 0;
  for (let j = 0; j < d; j++) {
    if (nb < 9) {
      acc |= payload[p++]! << nb;
      nb += 8;
      if (nb < 9) {
        acc |= payload[p++]! << nb;
        nb += 8;
      }
    }
    const f = acc & 0x1ff;
    acc >>>= 9;
    nb -= 9;
    fields[j] = f;
    bad |= +(f >= 510 || f === 1);
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
