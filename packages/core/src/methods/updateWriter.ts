import { allocUpdate, Flag, Kind, ProtocolError, roundHeaderBytes, writeRoundHeader } from '@marina/protocol';
import type { Compressor } from '../compressors/types.js';
import { residentVector } from './residentVector.js';
import type { MethodEnv, RoundPlan } from './types.js';

/** A compression context rewritten in place each round (CompressContext's fields, writable). */
interface Context {
  d: number;
  n: number;
  slot: number;
  rank: number;
  seed: number;
  round: number;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const UPDATE_HEADER_BYTES = roundHeaderBytes(Kind.Update);

/**
 * One client half's updates: the vector it builds them in (`v`, in wasm memory where available, so IQ and CQ
 * encode it in place) and the messages it sends, reused round after round, so a round allocates nothing here.
 * A message returned by `encode` is valid until the next `encode` of the same kind (dense or compressed): the
 * caller sends it (the client's socket layer copies it as it frames it: client/src/client.ts `sendAll`) or
 * hands it to an in-process coordinator, which is done with it when its round finishes.
 */
export class UpdateWriter {
  /** The update vector: a half writes what it sends here, then calls `encode`. */
  readonly v: Float64Array;
  private readonly ctx: Context;
  /** The last dense and compressed messages, and views of their payloads. */
  private dense = EMPTY;
  private densePayload = EMPTY;
  private compressed = EMPTY;
  private compressedPayload = EMPTY;

  constructor(
    private readonly env: MethodEnv,
    readonly rank: number,
  ) {
    this.v = residentVector(env.d);
    this.ctx = { d: env.d, n: 0, slot: 0, rank, seed: env.seed, round: 0 };
  }

  /**
   * Encodes `v` (default: this writer's vector) dense (float32) or through the run's compressor, into the reused
   * message. `sumSquares` is Σ v_j² in sumSquares' order, when the caller summed it while forming v
   * (`differenceInto`): the compressor's norm then reads nothing more (IQ and CQ read v once, for their bits), and
   * it settles the carriability check too (`checkCarriable`). Without it the check reads v here.
   */
  encode(plan: RoundPlan, slot: number, compressed: boolean, v: Float64Array = this.v, sumSquares?: number): Uint8Array {
    // Σv² < 1e76 bounds every |v_j| below 1e38 < FLOAT32_MAX; beyond it (a diverging run) the exact max decides.
    if (sumSquares === undefined || !(sumSquares < SQUARES_SURELY_CARRIABLE)) checkCarriable(maxAbsOf(v, this.env.d), this.rank, plan.round);
    const ctx = this.context(plan, slot);
    const codec = this.codec(compressed);
    const bits = codec.payloadBits(ctx);
    let msg = compressed ? this.compressed : this.dense;
    if (msg.length === UPDATE_HEADER_BYTES + Math.ceil(bits / 8)) {
      writeRoundHeader(msg, Kind.Update, compressed ? Flag.Compressed : 0, plan.round);
    } else {
      // First use, or a codec whose length varies with the round (PermK's block for a slot count): a new one.
      msg = allocUpdate(plan.round, compressed, bits);
      const payload = msg.subarray(UPDATE_HEADER_BYTES);
      if (compressed) {
        this.compressed = msg;
        this.compressedPayload = payload;
      } else {
        this.dense = msg;
        this.densePayload = payload;
      }
    }
    // Every codec writes each payload byte, padding included (updateWriter.test.ts holds them to it).
    codec.encode(v, ctx, compressed ? this.compressedPayload : this.densePayload, sumSquares);
    return msg;
  }

  /**
   * Decodes this writer's last message of the kind into `out` (zeroed first), exactly as the server will decode
   * it. Client state that mirrors the server's (DIANA's h_i, EF21's g_i) moves by this, not by the vector before
   * compression, so float32 rounding and compression error cannot make the two drift apart.
   */
  decodeOwn(plan: RoundPlan, slot: number, compressed: boolean, out: Float64Array): void {
    out.fill(0);
    this.codec(compressed).decodeInto(out, compressed ? this.compressedPayload : this.densePayload, this.context(plan, slot));
  }

  private codec(compressed: boolean): Compressor {
    return compressed ? this.env.compressor : this.env.dense;
  }

  private context(plan: RoundPlan, slot: number): Context {
    const ctx = this.ctx;
    ctx.n = plan.senders.length;
    ctx.slot = slot;
    ctx.round = plan.round;
    return ctx;
  }
}

/** Past this magnitude a float32 message (the 32 counted bits, decision 1) would carry Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Below this Σv², every |v_j| < 1e38 < FLOAT32_MAX: a computed sum of non-negative squares is at least its
 * largest term (rounding is monotone), and |v_j| > FLOAT32_MAX would make that term > 1.15e77. NaN anywhere
 * makes the sum NaN (no ∞ − ∞ among non-negative terms), which fails the comparison too.
 */
const SQUARES_SURELY_CARRIABLE = 1e76;

/**
 * A diverging run overflows the clients' messages before the server's iterate check sees it (a quartic loss
 * grows its gradients far faster than x): the client says so with a typed error instead of sending Infinity.
 */
function checkCarriable(max: number, rank: number, round: number): void {
  if (!(max <= FLOAT32_MAX)) {
    throw new ProtocolError('MARINA_ERR_DIVERGED', `rank ${rank}'s update in round ${round} has max|v_j| = ${max}, beyond what a float32 message carries: the run diverged`, { rank, round });
  }
}

/** max_j |v_j| over j < d, or NaN if some v_j is NaN. */
export function maxAbsOf(v: Float64Array, d: number): number {
  let max = 0;
  for (let j = 0; j < d; j++) {
    const a = Math.abs(v[j]!);
    if (!(a <= max)) {
      max = a;
      if (a !== a) break; // NaN: a later coordinate must not replace it (every comparison with it is false)
    }
  }
  return max;
}

/**
 * out_j = a_j − b_j for j < d (out may be a), returning Σ out_j² summed in exactly kernels/rangeJs.sumSquares'
 * order (8 lanes, lane k the j ≡ k mod 8 in order of j, the tail to lanes 0.., then ((s0 + s4) + (s2 + s6)) +
 * ((s1 + s5) + (s3 + s7))), so a compressor's norm from it is the one its own pass gives, bit for bit. A half
 * that forms its update as a difference hands it to `encode`, which then reads the vector only for the bits
 * (at large d the vectors cross memory once here and once there, not three times) and, through the sum, skips
 * the carriability check's pass as well.
 */
export function differenceInto(out: Float64Array, a: Float64Array, b: Float64Array, d: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0; // prettier-ignore
  const full = d & ~7;
  // One coordinate at a time within the 8: each difference dies after its store and its square, so the eight sums
  // stay in registers (eight differences held at once spilled them: 1.1 against 3.2 Gcoord/s at d = 1024).
  for (let j = 0; j < full; j += 8) {
    let v = a[j]! - b[j]!;
    out[j] = v;
    s0 += v * v;
    v = a[j + 1]! - b[j + 1]!;
    out[j + 1] = v;
    s1 += v * v;
    v = a[j + 2]! - b[j + 2]!;
    out[j + 2] = v;
    s2 += v * v;
    v = a[j + 3]! - b[j + 3]!;
    out[j + 3] = v;
    s3 += v * v;
    v = a[j + 4]! - b[j + 4]!;
    out[j + 4] = v;
    s4 += v * v;
    v = a[j + 5]! - b[j + 5]!;
    out[j + 5] = v;
    s5 += v * v;
    v = a[j + 6]! - b[j + 6]!;
    out[j + 6] = v;
    s6 += v * v;
    v = a[j + 7]! - b[j + 7]!;
    out[j + 7] = v;
    s7 += v * v;
  }
  // The tail (d mod 8 < 8 coordinates) to lanes 0.. in order, as sumSquares adds it.
  const t = d - full;
  if (t > 0) s0 += tailSquare(out, a, b, full);
  if (t > 1) s1 += tailSquare(out, a, b, full + 1);
  if (t > 2) s2 += tailSquare(out, a, b, full + 2);
  if (t > 3) s3 += tailSquare(out, a, b, full + 3);
  if (t > 4) s4 += tailSquare(out, a, b, full + 4);
  if (t > 5) s5 += tailSquare(out, a, b, full + 5);
  if (t > 6) s6 += tailSquare(out, a, b, full + 6);
  return ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)); // prettier-ignore
}

/** out_j = a_j − b_j, returning its square. */
function tailSquare(out: Float64Array, a: Float64Array, b: Float64Array, j: number): number {
  const v = a[j]! - b[j]!;
  out[j] = v;
  return v * v;
}
