import { BitReader, BitWriter, ProtocolError } from '@marina/protocol';
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
 * Writes the float32 radius r = fround(‖a‖₂) and returns it; a zero vector sends r = 0 and zero bits
 * (decision 11), and the caller writes nothing more.
 */
function writeRadius(a: Float64Array, d: number, out: Uint8Array): number {
  const r = float32Norm(a);
  new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, r, true);
  if (r === 0) out.fill(0, 4, 4 + Math.ceil(d / 8));
  return r;
}

/**
 * IQ (SPEC B.3): bit_j = [u_j < y_j], y_j = (a_j + r)/(2r), with private uniform thresholds u_j drawn by
 * the caller (values of y outside [0, 1] compare like their clamp).
 */
export function encodeWithThresholds(a: Float64Array, u: Float64Array, d: number, out: Uint8Array): void {
  const r = writeRadius(a, d, out);
  if (r === 0) return;
  const w = new BitWriter(out, 4);
  const inv = 1 / (2 * r);
  for (let j = 0; j < d; j++) w.bit(+(u[j]! < (a[j]! + r) * inv)); // branchless: see encodeWithSlots
  w.finish();
}

/**
 * CQ (SPEC B.4): bit_j = [(slot_j + γ_j)/n < y_j], written as slot_j + γ_j < z_j = n·y_j: the bit is 1 when
 * the slot is below ⌊z_j⌋ and 0 above it; only at slot_j = ⌊z_j⌋ is the private jitter γ_j = jitter.at(j)/2^32
 * drawn (random access, so about 1/n of the coordinates pay for a draw).
 */
export function encodeWithSlots(a: Float64Array, d: number, out: Uint8Array, n: number, slots: Int32Array, jitter: CounterRng): void {
  const r = writeRadius(a, d, out);
  if (r === 0) return;
  const w = new BitWriter(out, 4);
  const scale = n / (2 * r);
  for (let j = 0; j < d; j++) {
    const z = (a[j]! + r) * scale;
    const floor = Math.floor(z);
    const slot = slots[j]!;
    // `+(a < b)` compiles to a flag, `a < b ? 1 : 0` to a branch that mispredicts on random bits
    // (ARCHITECTURE's measured 3×); the equality branch is taken for about 1/n of the coordinates.
    let bit = +(slot < floor);
    if (slot === floor) bit = +(jitter.at(j) < (z - floor) * TWO32);
    w.bit(bit);
  }
  w.finish();
}

const TWO32 = 0x1_0000_0000;

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
