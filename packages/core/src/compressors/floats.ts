import { ProtocolError } from '@marina/protocol';

/**
 * Float32 payload helpers. `ws` may hand a message at any byte offset, so a read views the received bytes
 * where they are 4-byte aligned and goes through an aligned scratch copy (one memcpy) otherwise
 * (ARCHITECTURE "Numbers").
 */

/** Writes `count` values of `src` (from `from`) as little-endian float32 at `out[byteOffset..]`. */
export function writeFloat32s(src: Float64Array, out: Uint8Array, byteOffset: number, count = src.length, from = 0): void {
  if ((out.byteOffset + byteOffset) % 4 === 0) {
    const f = new Float32Array(out.buffer, out.byteOffset + byteOffset, count);
    for (let j = 0; j < count; j++) f[j] = src[from + j]!;
  } else {
    const v = new DataView(out.buffer, out.byteOffset + byteOffset, 4 * count);
    for (let j = 0; j < count; j++) v.setFloat32(4 * j, src[from + j]!, true);
  }
}

/**
 * The `count` float32 values at `payload[byteOffset..]`, checked finite: a view of the payload where it is
 * 4-byte aligned, else a copy into an aligned view of `scratch` (read-only for the caller either way).
 */
export function readFloat32s(payload: Uint8Array, byteOffset: number, count: number, scratch: Float32Array, what: string): Float32Array {
  if (payload.length < byteOffset + 4 * count) {
    throw new ProtocolError('MARINA_ERR_TRUNCATED', `${what}: ${count} float32 values need ${4 * count} bytes, ${payload.length - byteOffset} left`);
  }
  const at = payload.byteOffset + byteOffset;
  let view: Float32Array;
  if (at % 4 === 0) view = new Float32Array(payload.buffer, at, count);
  else {
    view = scratch.subarray(0, count);
    new Uint8Array(view.buffer, view.byteOffset, 4 * count).set(payload.subarray(byteOffset, byteOffset + 4 * count));
  }
  // Exponent field + 1 is 256 exactly for ±∞ and NaN, below 256 otherwise: OR them, no branch per value;
  // the culprit is found after.
  const bits = new Uint32Array(view.buffer, view.byteOffset, count);
  let seen = 0;
  for (let j = 0; j < count; j++) seen |= ((bits[j]! >>> 23) & 0xff) + 1;
  if (seen & 0x100) {
    for (let j = 0; j < count; j++) {
      if (!Number.isFinite(view[j]!)) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `${what}: value ${j} is ${view[j]}`);
    }
  }
  return view;
}

/** Reads one float32 scale (a norm or a range) and checks it is finite and ≥ 0. */
export function readScale(payload: Uint8Array, byteOffset: number, what: string): number {
  if (payload.length < byteOffset + 4) {
    throw new ProtocolError('MARINA_ERR_TRUNCATED', `${what}: the float32 scale needs 4 bytes, ${payload.length - byteOffset} left`);
  }
  const r = new DataView(payload.buffer, payload.byteOffset + byteOffset, 4).getFloat32(0, true);
  if (!Number.isFinite(r) || r < 0) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what}: scale must be finite and ≥ 0, got ${r}`);
  return r;
}

/** Checks an untrusted payload has exactly the expected length in bytes. */
export function expectLength(payload: Uint8Array, bytes: number, what: string): void {
  if (payload.length < bytes) throw new ProtocolError('MARINA_ERR_TRUNCATED', `${what}: payload of ${payload.length} bytes, expected ${bytes}`);
  if (payload.length > bytes) throw new ProtocolError('MARINA_ERR_TRAILING_BYTES', `${what}: payload of ${payload.length} bytes, expected ${bytes}`);
}

/** ‖a‖₂ rounded to float32, the norm a client quantizes with and sends (SPEC decision 11). */
export function float32Norm(a: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * a[j]!;
  return Math.fround(Math.sqrt(s));
}

/**
 * ⌊log2 x⌋ for finite x > 0, exactly, from the exponent field of a normal double (Math.log2 can be an ulp
 * off near powers of two); subnormals, rare, go through log2 with a correction. Each compressor instance
 * owns one (its 8-byte scratch is per instance, not module state).
 */
export class ExponentReader {
  private readonly f64 = new Float64Array(1);
  private readonly u32 = new Uint32Array(this.f64.buffer);

  floorLog2(x: number): number {
    this.f64[0] = x;
    const biased = (this.u32[1]! >>> 20) & 0x7ff; // little-endian: word 1 holds sign and exponent
    if (biased !== 0) return biased - 1023;
    let e = Math.floor(Math.log2(x));
    if (2 ** e > x) e--;
    else if (2 ** (e + 1) <= x) e++;
    return e;
  }
}
