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
   * message. `maxAbs` is max_j |v_j| (NaN if any v_j is), when the caller has it from forming v (`differenceInto`).
   */
  encode(plan: RoundPlan, slot: number, compressed: boolean, v: Float64Array = this.v, maxAbs: number = maxAbsOf(v, this.env.d)): Uint8Array {
    checkCarriable(maxAbs, this.rank, plan.round);
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
    codec.encode(v, ctx, compressed ? this.compressedPayload : this.densePayload);
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
 * out_j = a_j − b_j for j < d (out may be a), returning max_j |out_j| or NaN as `maxAbsOf` does: a half that
 * forms its update as a difference hands this to `encode`, which then does not read the vector again to check it.
 */
export function differenceInto(out: Float64Array, a: Float64Array, b: Float64Array, d: number): number {
  let max = 0;
  for (let j = 0; j < d; j++) {
    const v = a[j]! - b[j]!;
    out[j] = v;
    const m = Math.abs(v);
    if (!(m <= max)) max = m !== m || max !== max ? Number.NaN : m;
  }
  return max;
}
