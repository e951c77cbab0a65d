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

/** Decision 3: each client's own range [−‖a_i‖, ‖a_i‖] (sent with its message), or one range shared by all. */
export type RangeMode = 'client' | 'shared';

/** Writes one bit per coordinate of `a` against the range [−r, r] into `out` from its first byte (r > 0). */
export type EncodeBits = (a: Float64Array, ctx: CompressContext, out: Uint8Array, r: number) => void;

/**
 * A one-bit range quantizer (IQ, CQ: SPEC B.3, B.4, decisions 3 and 11) from the thresholds its `encodeBits`
 * compares with; bit 1 decodes to r, bit 0 to −r. Unbiased, ζ = d (every coordinate is sent); decoder errors
 * name the quantizer (`<name> update: …`).
 *
 * - `client` range: the message is the float32 radius r = fround(‖a‖₂), then d bits (32 + d bits); a zero
 *   vector sends r = 0 and zero bits.
 * - `shared` range: the round goes in two steps (`sharedRange`): each sender's float32 norm (32 bits, counted
 *   with its message), then R = max of the senders' norms from the server, then d bits against [−R, R]. The
 *   same 32 + d bits per client; with heterogeneous clients one common range cuts CQ's error (Suresh et al.'s
 *   common [l, r]), since its rounding errors cancel only between clients that quantize the same interval.
 */
export function rangeQuantizer(name: string, range: RangeMode, encodeBits: EncodeBits): Pick<Compressor, 'name' | 'unbiased' | 'bits' | 'expectedBits' | 'payloadBits' | 'encode' | 'decodeInto' | 'zeta' | 'sharedRange'> {
  const what = `${name} update`;
  const common = { name, unbiased: true, expectedBits: (d: number) => 32 + d, zeta: (d: number) => d };
  if (range === 'client') {
    return {
      ...common,
      bits: rangeBits,
      payloadBits: rangeBits,
      encode(a, ctx, out) {
        const r = float32Norm(a);
        new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, r, true);
        if (r === 0) out.fill(0, 4, 4 + Math.ceil(ctx.d / 8));
        else encodeBits(a, ctx, out.subarray(4), r);
      },
      decodeInto: (sum, payload, ctx) => decodeRangeInto(sum, payload, ctx.d, what, null),
    };
  }
  let held = new Float64Array(0);
  let heldCtx: CompressContext | null = null;
  let heldOut: Uint8Array | null = null;
  let R: number | null = null;
  return {
    ...common,
    // The norm's 32 bits travel (and are counted) in the sender's first message of the round.
    bits: (ctx) => ctx.d,
    payloadBits: (ctx) => ctx.d,
    encode(a, ctx, out) {
      if (held.length < ctx.d) held = new Float64Array(ctx.d);
      held.set(a.subarray(0, ctx.d));
      heldCtx = ctx;
      heldOut = out;
    },
    decodeInto(sum, payload, ctx) {
      if (R === null) throw new Error(`${what}: the round's shared range was not set before decoding`);
      decodeRangeInto(sum, payload, ctx.d, what, R);
    },
    sharedRange: {
      heldNorm() {
        if (!heldCtx) throw new Error(`${what}: no vector is held`);
        return float32Norm(held.subarray(0, heldCtx.d));
      },
      release(shared) {
        if (!heldCtx || !heldOut) throw new Error(`${what}: no vector is held`);
        if (shared === 0) heldOut.fill(0, 0, Math.ceil(heldCtx.d / 8));
        else encodeBits(held.subarray(0, heldCtx.d), heldCtx, heldOut, shared);
        heldCtx = null;
        heldOut = null;
      },
      set(shared) {
        R = shared;
      },
    },
  };
}

/**
 * IQ (SPEC B.3): bit_j = [u_j < y_j], y_j = (a_j + r)/(2r), with private uniform thresholds u_j drawn by
 * the caller (values of y outside [0, 1] compare like their clamp).
 */
export function thresholdBits(a: Float64Array, u: Float64Array, d: number, out: Uint8Array, r: number): void {
  const w = new BitWriter(out, 0);
  const inv = 1 / (2 * r);
  for (let j = 0; j < d; j++) w.bit(+(u[j]! < (a[j]! + r) * inv)); // branchless: see slotBits
  w.finish();
}

/**
 * CQ (SPEC B.4): bit_j = [(slot_j + γ_j)/n < y_j], written as slot_j + γ_j < z_j = n·y_j: the bit is 1 when
 * the slot is below ⌊z_j⌋ and 0 above it; only at slot_j = ⌊z_j⌋ is the private jitter γ_j = jitter.at(j)/2^32
 * drawn (random access, so about 1/n of the coordinates pay for a draw).
 */
export function slotBits(a: Float64Array, d: number, out: Uint8Array, n: number, slots: Int32Array, jitter: CounterRng, r: number): void {
  const w = new BitWriter(out, 0);
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

/**
 * Validates a range payload (length, radius, padding) and adds ±r per coordinate into `sum`; with a shared
 * range the payload is the bits alone and r = `shared`.
 */
export function decodeRangeInto(sum: Float64Array, payload: Uint8Array, d: number, what: string, shared: number | null): void {
  const head = shared === null ? 4 : 0;
  expectLength(payload, head + Math.ceil(d / 8), what);
  const r = shared ?? readScale(payload, 0, what);
  // Check the padding bits of the last byte before touching sum, so a bad message leaves it intact.
  const tail = d % 8;
  if (tail !== 0 && payload[payload.length - 1]! >>> tail !== 0) {
    throw new ProtocolError('MARINA_ERR_NONZERO_PADDING', `${what}: padding bits of the last byte are not zero`);
  }
  const reader = new BitReader(payload, head);
  const twoR = 2 * r;
  for (let j = 0; j < d; j++) sum[j]! += reader.bit() * twoR - r;
  reader.finish();
}
