import { BitReader, BitWriter, ProtocolError } from '@marina/protocol';
import type { CompressContext } from './types.js';
import { expectLength, float32Norm, readScale } from './floats.js';

/**
 * The shared wire form of the one-bit range quantizers IQ and CQ (SPEC B.3, B.4, decisions 3 and 11):
 * the float32 radius r = fround(‖a‖₂), then one bit per coordinate; bit 1 decodes to r, bit 0 to −r.
 * They differ only in the thresholds U_j each coordinate is compared with, which the caller supplies.
 */

/** 32 + d: the radius and one bit per coordinate (exact, no padding counted). */
export const rangeBits = (ctx: CompressContext): number => 32 + ctx.d;

/**
 * Encodes `a` with thresholds `u` (each in [0, 1)): bit_j = [u_j < y_j], y_j = (a_j + r)/(2r) clamped to
 * [0, 1]. A zero vector sends r = 0 and zero bits (decision 11).
 */
export function encodeRange(a: Float64Array, u: Float64Array, d: number, out: Uint8Array): void {
  const r = float32Norm(a);
  new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, r, true);
  const w = new BitWriter(out, 4);
  if (r === 0) {
    for (let j = 0; j < d; j++) w.bit(0);
  } else {
    const inv = 1 / (2 * r);
    for (let j = 0; j < d; j++) {
      const y = (a[j]! + r) * inv; // values outside [0, 1] compare like their clamp
      w.bit(+(u[j]! < y));
    }
  }
  w.finish();
}

/** Validates a range payload (length, radius, padding) and adds ±r per coordinate into `sum`. */
export function decodeRangeInto(sum: Float64Array, payload: Uint8Array, d: number, what: string): void {
  expectLength(payload, 4 + Math.ceil(d / 8), what);
  const r = readScale(payload, 0, what);
  // Check the padding bits of the last byte before touching sum, so a bad message leaves it intact.
  const tail = d % 8;
  if (tail !== 0 && payload[payload.length - 1]! >>> tail !== 0) {
    throw new ProtocolError('MARINA_ERR_NONZERO_PADDING', `${what}: padding bits of the last byte are not zero`);
  }
  const reader = new BitReader(payload, 4);
  const twoR = 2 * r;
  for (let j = 0; j < d; j++) sum[j]! += reader.bit() * twoR - r;
  reader.finish();
}
