import { BitReader, ProtocolError } from '@marina/protocol';
import type { CounterRng } from '../rng.js';
import type { CompressContext, Compressor } from './types.js';
import { expectLength, float32Norm, readScale } from './floats.js';

/**
 * The shared wire form of the one-bit range quantizers IQ and CQ (SPEC B.3, B.4, decisions 3 and 11):
 * the float32 radius r = fround(‖a‖₂), then one bit per coordinate; bit 1 decodes to r, bit 0 to −r.
 * They differ only in the thresholds U_j each coordinate is compared with, which the caller supplies.
 */

/** 32 + d: the radius and one bit per coordinate (exact, no padding counted). */
export const rangeBits = (ctx: CompressContext): number => 32 + ctx.d;

/**
 * The parts of a range quantizer that its wire form fixes, for CQ and IQ to spread into their values:
 * unbiased, 32 + d bits for every message and slot, ζ = d (every coordinate is sent), and the decoder, whose
 * errors name the quantizer (`<name> update: …`). Each adds its own thresholds (`encode`), `correlated` and
 * constants.
 */
export function rangeQuantizerWire(name: string): Pick<Compressor, 'name' | 'unbiased' | 'bits' | 'expectedBits' | 'payloadBits' | 'decodeInto' | 'zeta'> {
  const what = `${name} update`;
  return {
    name,
    unbiased: true,
    bits: rangeBits,
    expectedBits: (d) => 32 + d,
    payloadBits: rangeBits,
    decodeInto: (sum, payload, ctx) => decodeRangeInto(sum, payload, ctx.d, what),
    zeta: (d) => d,
  };
}

/**
 * Encodes `a` with the thresholds U_j = (slot_j + γ_j)/n of SPEC B.3/B.4: bit_j = [U_j < y_j],
 * y_j = (a_j + r)/(2r) (values outside [0, 1] compare like their clamp). IQ is the case n = 1, slot 0.
 * Written as slot_j + γ_j < z_j = n·y_j: the bit is 1 below ⌊z_j⌋, 0 above it, and only at slot_j = ⌊z_j⌋
 * is the private jitter γ_j = jitter.at(j)/2^32 drawn (random access: 1/n of the coordinates for CQ).
 * A zero vector sends r = 0 and zero bits (decision 11).
 */
export function encodeRange(a: Float64Array, d: number, out: Uint8Array, n: number, slots: Int32Array | null, jitter: CounterRng): void {
  const r = float32Norm(a);
  new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, r, true);
  if (r === 0) {
    out.fill(0, 4, 4 + Math.ceil(d / 8));
    return;
  }
  const scale = n / (2 * r);
  let pos = 4;
  let acc = 0;
  let nbits = 0;
  // Two loops rather than a per-coordinate branch on `slots` (IQ draws everywhere, CQ where slot = ⌊z⌋).
  if (slots === null) {
    for (let j = 0; j < d; j++) {
      const bit = jitter.at(j) * INV_TWO32 < (a[j]! + r) * scale ? 1 : 0;
      acc |= bit << nbits;
      if (++nbits === 8) {
        out[pos++] = acc;
        acc = 0;
        nbits = 0;
      }
    }
  } else {
    for (let j = 0; j < d; j++) {
      const z = (a[j]! + r) * scale;
      const floor = Math.floor(z);
      const slot = slots[j]!;
      const bit = slot < floor ? 1 : slot > floor ? 0 : jitter.at(j) < (z - floor) * TWO32 ? 1 : 0;
      acc |= bit << nbits;
      if (++nbits === 8) {
        out[pos++] = acc;
        acc = 0;
        nbits = 0;
      }
    }
  }
  if (nbits > 0) out[pos] = acc;
}

const TWO32 = 0x1_0000_0000;
const INV_TWO32 = 1 / TWO32;

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
