import { decodeScalar, decodeState, encodeEval, encodeScalar, Flag, Kind, kindName, ProtocolError, readRoundHeader, readRoundStart, roundHeaderBytes, writeRoundHeader } from '@marina/protocol';
import type { ClientHalf } from './methods/types.js';
import type { Problem } from './problems/types.js';
import type { RunConfig } from './config.js';
import type { MethodDef, MethodEnv } from './methods/types.js';
import { getMethod } from './methods/registry.js';
import { methodEnv, type RunEnvironment } from './setup.js';

/**
 * A client's side of the round loop, with no I/O: takes a RoundStart's bytes, returns the messages to send
 * (an update, an evaluation report, or both). The networked client and the in-process engine both use it.
 */
export class ClientRunner {
  private readonly env: MethodEnv;
  private readonly half: ClientHalf;
  private readonly problem: Problem;
  private x: Float64Array;
  private readonly xPrev: Float64Array;
  /** The x of the last RoundStart decoded (round `lastRound`), kept for a method half that did not answer it. */
  private lastX: Float64Array;
  private lastRound = -1;
  /** Last round in which the method half answered (−1: never). */
  private answered = -1;
  private readonly grad: Float64Array;
  /** RoundStart carries at most x^t and x^{t−1}. */
  private readonly maxPayload: number;

  private readonly method: MethodDef;

  /** A client of the run `config` as the welcome resolved it (`environment`), over its own f_i. */
  constructor(config: RunConfig, environment: RunEnvironment, problem: Problem, readonly rank: number, env?: MethodEnv) {
    const d = environment.d;
    if (problem.d !== d) throw new RangeError(`client ${rank}: its problem has d = ${problem.d}, the run d = ${d}`);
    this.method = getMethod(config.method);
    this.env = env ?? methodEnv(config, environment);
    this.problem = problem;
    this.half = this.method.createClient(this.env, this.problem, rank);
    this.x = new Float64Array(d);
    this.xPrev = new Float64Array(d);
    this.lastX = new Float64Array(d);
    this.grad = new Float64Array(d);
    this.maxPayload = 16 * d;
  }

  /** A shared-range round's update, its payload written once R arrives (decision 3); round −1: none held. */
  private heldRound = -1;
  private heldMsg: Uint8Array = NO_MESSAGE;
  /** The evaluation report's message, rewritten in place each evaluation round (d + 1 float64 values). */
  private evalMsg: Uint8Array | null = null;
  /** A shared-range round's Norm message and a view of its float32, rewritten in place each such round. */
  private norm: { msg: Uint8Array; value: DataView } | null = null;
  /**
   * The arrays replies are returned in, by count (0, 1 or 2 messages): reused and never resized, since an array
   * emptied by `length = 0` drops its storage and the next push allocates it again.
   */
  private readonly replies: [Uint8Array[], [Uint8Array], [Uint8Array, Uint8Array]] = [[], [NO_MESSAGE], [NO_MESSAGE, NO_MESSAGE]];

  /**
   * Answers one message of a round from the server (untrusted bytes): a RoundStart, or a shared-range round's R.
   * The replies' bytes are valid until the next call (buffers are reused): send or copy them before it.
   */
  onMessage(msg: Uint8Array): Uint8Array[] {
    if (msg.length > 0 && msg[0] === Kind.Range) return this.onRange(msg);
    if (msg.length > 0 && msg[0] === Kind.State) return this.onState(msg);
    return this.onRoundStart(msg);
  }

  /** The rank's client state as the server mirrored it (DIANA's h_i, EF21's g_i): this client goes on from it. */
  private onState(msg: Uint8Array): Uint8Array[] {
    const h = readRoundHeader(msg, 8 * this.grad.length);
    if (!this.half.restore) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `a client state, but ${this.method.name} keeps none`);
    decodeState(h, msg, this.grad);
    this.half.restore(this.grad);
    return this.replies[0];
  }

  /** R of a shared-range round: the held vector is quantized against [−R, R] and its update sent. */
  private onRange(msg: Uint8Array): Uint8Array[] {
    const h = readRoundHeader(msg, 4);
    const held = this.heldRound;
    if (held !== h.round) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `a shared range for round ${h.round}, when this client holds ${held >= 0 ? `round ${held}'s update` : 'no update'}`);
    this.env.compressor.sharedRange!.release(decodeScalar(h, msg));
    this.heldRound = -1;
    return this.reply(this.heldMsg, null);
  }

  /** Answers one RoundStart (untrusted bytes from the server). */
  onRoundStart(msg: Uint8Array): Uint8Array[] {
    const h = readRoundHeader(msg, this.maxPayload);
    if (h.kind !== Kind.RoundStart) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `expected RoundStart, got ${kindName(h.kind)}`);
    const x = this.lastX; // lastX ← x of the previous RoundStart
    this.lastX = this.x;
    this.x = x;
    const seenLast = this.lastRound;
    this.lastRound = -1; // until this message has decoded
    const flags = readRoundStart(h, msg, this.x, this.xPrev);
    this.lastRound = h.round;
    // The plan is a pure function of (seed, round): recompute it and check the server's coin against it.
    const plan = this.method.plan(this.env, h.round);
    const coin = (flags & Flag.Coin) !== 0;
    if (plan.coin !== coin) {
      throw new ProtocolError('MARINA_ERR_BAD_FIELD', `round ${h.round}: the server's coin ${coin} disagrees with this client's ${plan.coin}; the configurations differ`);
    }
    let first: Uint8Array | null = null;
    const slot = slotOf(plan.senders, this.rank);
    if ((flags & Flag.Participate) !== 0) {
      if (slot < 0) throw new ProtocolError('MARINA_ERR_BAD_FIELD', `round ${h.round}: asked to participate but rank ${this.rank} is not among the round's senders`);
      // x^{t−1} for a half that did not answer round t−1: sent by the server when this rank did not get round
      // t−1's RoundStart; otherwise that RoundStart only asked for an evaluation (PP-MARINA's unsampled
      // clients) and its x is kept here. A half that answered round t−1 holds its own state (null).
      let xPrev: Float64Array | null = (flags & Flag.Previous) !== 0 ? this.xPrev : null;
      if (xPrev === null && h.round > 0 && this.answered !== h.round - 1 && seenLast === h.round - 1) xPrev = this.lastX;
      const update = this.half.respond(plan, slot, this.x, xPrev);
      const shared = plan.kind === 'compressed' ? this.env.compressor.sharedRange : undefined;
      if (shared) {
        // Decision 3's shared range: the compressor held the vector; its norm goes first, the update after R.
        this.heldRound = h.round;
        this.heldMsg = update;
        first = this.normMessage(h.round, shared.heldNorm());
      } else {
        first = update;
      }
      this.answered = h.round;
    }
    if ((flags & Flag.Evaluate) !== 0) {
      this.problem.gradInto(this.grad, this.x);
      this.evalMsg = encodeEval(h.round, this.problem.loss(this.x), this.grad, this.evalMsg ?? undefined);
      return first === null ? this.reply(this.evalMsg, null) : this.reply(first, this.evalMsg);
    }
    return first === null ? this.replies[0] : this.reply(first, null);
  }

  /** The Norm message of `round` carrying `value`: encodeScalar's bytes, in the one buffer reused round after round. */
  private normMessage(round: number, value: number): Uint8Array {
    if (this.norm === null) {
      const msg = encodeScalar(Kind.Norm, round, value);
      this.norm = { msg, value: new DataView(msg.buffer, msg.byteOffset + roundHeaderBytes(Kind.Norm), 4) };
      return msg;
    }
    writeRoundHeader(this.norm.msg, Kind.Norm, 0, round);
    this.norm.value.setFloat32(0, value, true);
    return this.norm.msg;
  }

  /** `a`, or `a` then `b`, in the reused array of that length. */
  private reply(a: Uint8Array, b: Uint8Array | null): Uint8Array[] {
    if (b === null) {
      const one = this.replies[1];
      one[0] = a;
      return one;
    }
    const two = this.replies[2];
    two[0] = a;
    two[1] = b;
    return two;
  }
}

const NO_MESSAGE = new Uint8Array(0);

/**
 * `rank`'s index in the ascending `senders`, or −1: O(log n), as a host of K clients (`marina client --count`)
 * looks up K slots a round (indexOf would cost O(n·K)).
 */
function slotOf(senders: Int32Array, rank: number): number {
  let lo = 0;
  let hi = senders.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = senders[mid]!;
    if (r === rank) return mid;
    if (r < rank) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
