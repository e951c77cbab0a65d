import { ProtocolError } from '@marina/protocol';
import { rangeKernels } from '../kernels/range.js';
import type { BlockedDecode, CompressContext, Compressor } from './types.js';
import { expectLength, readScale } from './floats.js';

/**
 * The shared wire form of the one-bit range quantizers IQ and CQ (SPEC B.3, B.4, decisions 3 and 11):
 * the float32 radius r = fround(‖a‖₂), then one bit per coordinate; bit 1 decodes to r, bit 0 to −r.
 * They differ only in the thresholds U_j each coordinate is compared with, which the caller supplies.
 * The kernels (kernels/range.ts: SIMD where it applies, the JavaScript reference otherwise) do the work.
 */

/**
 * Decision 11's r = fround(‖a‖₂) over a[0..d), the squares summed in the fixed 8-lane order of
 * kernels/rangeJs.sumSquares (protocol 3: vectorisable; a sequential sum can differ in the last bit).
 */
export const radius = (a: Float64Array, d: number): number => radiusOf(rangeKernels.sumSquares(a, d));

/** r = fround(√Σa²) from Σa² in that order (`radius` without its pass, when the caller summed while forming a). */
export const radiusOf = (sumSquares: number): number => Math.fround(Math.sqrt(sumSquares));

/** The float32 scratch a radius goes through into a payload (the protocol requires a little-endian platform). */
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);

/** Writes r as a little-endian float32 at out[at..at+4), with no DataView per call. */
function writeRadius(out: Uint8Array, at: number, r: number): void {
  f32[0] = r;
  out[at] = f32Bytes[0]!;
  out[at + 1] = f32Bytes[1]!;
  out[at + 2] = f32Bytes[2]!;
  out[at + 3] = f32Bytes[3]!;
}

/** 32 + d: the radius and one bit per coordinate (exact, no padding counted). */
export const rangeBits = (ctx: CompressContext): number => 32 + ctx.d;

/** Decision 3: each client's own range [−‖a_i‖, ‖a_i‖] (sent with its message), or one range shared by all. */
export type RangeMode = 'client' | 'shared';

/** Writes one bit per coordinate of `a` against the range [−r, r] into `out` from byte `at` (r > 0). */
export type EncodeBits = (a: Float64Array, ctx: CompressContext, out: Uint8Array, at: number, r: number) => void;

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
export function rangeQuantizer(name: string, range: RangeMode, encodeBits: EncodeBits): Pick<Compressor, 'name' | 'unbiased' | 'bits' | 'expectedBits' | 'payloadBits' | 'encode' | 'decodeInto' | 'zeta' | 'sharedRange' | 'blocked'> {
  const what = `${name} update`;
  const common = { name, unbiased: true, expectedBits: (d: number) => 32 + d, zeta: (d: number) => d };
  if (range === 'client') {
    return {
      ...common,
      bits: rangeBits,
      payloadBits: rangeBits,
      encode(a, ctx, out, sumSquares) {
        // One pass over a (the bits) where the caller summed the squares while forming it.
        const r = sumSquares === undefined ? radius(a, ctx.d) : radiusOf(sumSquares);
        writeRadius(out, 0, r);
        if (r === 0) out.fill(0, 4, 4 + Math.ceil(ctx.d / 8));
        else encodeBits(a, ctx, out, 4, r);
      },
      decodeInto: (sum, payload, ctx) => decodeRangeInto(sum, payload, ctx.d, what, null),
      blocked: blockedRange(what, () => null),
    };
  }
  let held = new Float64Array(0);
  /** Σa² of the held vector as the caller gave it (undefined: heldNorm sums it itself). */
  let heldSquares: number | undefined;
  let heldCtx: CompressContext | null = null;
  let heldOut: Uint8Array | null = null;
  let R: number | null = null;
  return {
    ...common,
    // The norm's 32 bits travel (and are counted) in the sender's first message of the round.
    bits: (ctx) => ctx.d,
    payloadBits: (ctx) => ctx.d,
    encode(a, ctx, out, sumSquares) {
      if (held.length < ctx.d) held = new Float64Array(ctx.d);
      held.set(a.length === ctx.d ? a : a.subarray(0, ctx.d));
      heldSquares = sumSquares;
      heldCtx = ctx;
      heldOut = out;
    },
    decodeInto(sum, payload, ctx) {
      if (R === null) throw new Error(`${what}: the round's shared range was not set before decoding`);
      decodeRangeInto(sum, payload, ctx.d, what, R);
    },
    blocked: blockedRange(what, () => {
      if (R === null) throw new Error(`${what}: the round's shared range was not set before decoding`);
      return R;
    }),
    sharedRange: {
      heldNorm() {
        if (!heldCtx) throw new Error(`${what}: no vector is held`);
        return heldSquares === undefined ? radius(held, heldCtx.d) : radiusOf(heldSquares);
      },
      release(shared) {
        if (!heldCtx || !heldOut) throw new Error(`${what}: no vector is held`);
        if (shared === 0) heldOut.fill(0, 0, Math.ceil(heldCtx.d / 8));
        else encodeBits(held, heldCtx, heldOut, 0, shared);
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
 * Validates a range payload (length, radius, padding) and adds ±r per coordinate into `sum`; with a shared
 * range the payload is the bits alone and r = `shared`.
 */
export function decodeRangeInto(sum: Float64Array, payload: Uint8Array, d: number, what: string, shared: number | null): void {
  one[0] = payload;
  try {
    decodeRangeManyInto(sum, one, d, what, shared);
  } finally {
    one[0] = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
/** Reused so that decoding a message allocates nothing (single-threaded: one decode at a time). */
const one: Uint8Array[] = [EMPTY];
let radiiScratch = new Float64Array(64);

/**
 * decodeRangeInto for several payloads at once, added in the order given (for each coordinate the same
 * additions in the same order as one call per payload, so the same sums), in one pass over `sum` instead of
 * one per payload: the server's round holds every payload until its rank-order turn. Every payload is
 * validated before `sum` is touched.
 */
export function decodeRangeManyInto(sum: Float64Array, payloads: readonly Uint8Array[], d: number, what: string, shared: number | null): void {
  const head = shared === null ? 4 : 0;
  if (radiiScratch.length < payloads.length) radiiScratch = new Float64Array(payloads.length);
  const radii = radiiScratch;
  for (let i = 0; i < payloads.length; i++) radii[i] = checkRange(payloads[i]!, head, d, what, shared);
  rangeKernels.addSigns(sum, d, payloads, head, radii);
}

/**
 * A round's range payloads judged on arrival and added together (Compressor.blocked); `shared()` is the round's
 * R (null: each payload carries its own radius).
 *
 * The norm: every coordinate decodes to ±r, so ‖Q‖₂ = r·√d exactly. `norm2` of the decoded vector (what the
 * plausibility rule was given before) sums d copies of r² one by one and so differs from it only by roundings,
 * within (d/2 + 3)·2⁻⁵³ relative (6·10⁻¹⁰ at d = 10⁷): the rule's bound and its 8× slack mean the same thing.
 */
function blockedRange(what: string, shared: () => number | null): BlockedDecode {
  return {
    payloadNorm(payload, ctx) {
      const R = shared();
      return checkRange(payload, R === null ? 4 : 0, ctx.d, what, R) * Math.sqrt(ctx.d);
    },
    decodeManyInto(sum, payloads, ctxs) {
      if (ctxs.length !== payloads.length) throw new Error(`${what}: ${payloads.length} payloads with ${ctxs.length} contexts`);
      if (payloads.length > 0) decodeRangeManyInto(sum, payloads, ctxs[0]!.d, what, shared());
    },
  };
}

/** Checks one payload's length, radius and padding bits; returns its radius. */
function checkRange(payload: Uint8Array, head: number, d: number, what: string, shared: number | null): number {
  expectLength(payload, head + Math.ceil(d / 8), what);
  const r = shared ?? readScale(payload, 0, what);
  const tail = d % 8;
  if (tail !== 0 && payload[payload.length - 1]! >>> tail !== 0) {
    throw new ProtocolError('MARINA_ERR_NONZERO_PADDING', `${what}: padding bits of the last byte are not zero`);
  }
  return r;
}
