import { decodeRoundStart, encodeEval, Kind, kindName, ProtocolError, readHeader } from '@marina/protocol';
import type { ClientHalf, MethodEnv } from './methods/types.js';
import type { Problem } from './problems/types.js';
import type { RunSetup } from './setup.js';

/**
 * A client's side of the round loop, with no I/O: takes a RoundStart's bytes, returns the messages to send
 * (an update, an evaluation report, or both). The networked client and the in-process engine both use it.
 */
export class ClientRunner {
  private readonly env: MethodEnv;
  private readonly half: ClientHalf;
  private readonly problem: Problem;
  private readonly x: Float64Array;
  private readonly xPrev: Float64Array;
  private readonly grad: Float64Array;
  /** RoundStart carries at most x^t and x^{t−1}. */
  private readonly maxPayload: number;

  constructor(readonly setup: RunSetup, readonly rank: number) {
    const d = setup.config.dim;
    this.env = setup.env();
    this.problem = setup.shard(rank);
    this.half = setup.method.createClient(this.env, this.problem, rank);
    this.x = new Float64Array(d);
    this.xPrev = new Float64Array(d);
    this.grad = new Float64Array(d);
    this.maxPayload = 16 * d;
  }

  /** Answers one RoundStart (untrusted bytes from the server). */
  onRoundStart(msg: Uint8Array): Uint8Array[] {
    const h = readHeader(msg, this.maxPayload);
    if (h.kind !== Kind.RoundStart) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `expected RoundStart, got ${kindName(h.kind)}`);
    const flags = decodeRoundStart(h, msg, this.x, this.xPrev);
    // The plan is a pure function of (seed, round): recompute it and check the server's coin against it.
    const plan = this.setup.method.plan(this.env, h.round);
    if (plan.coin !== flags.coin) {
      throw new ProtocolError('MARINA_ERR_BAD_FIELD', `round ${h.round}: the server's coin ${flags.coin} disagrees with this client's ${plan.coin}; the configurations differ`);
    }
    const out: Uint8Array[] = [];
    const slot = plan.senders.indexOf(this.rank);
    if (flags.participate) {
      if (slot < 0) throw new ProtocolError('MARINA_ERR_BAD_FIELD', `round ${h.round}: asked to participate but rank ${this.rank} is not among the round's senders`);
      out.push(this.half.respond(plan, slot, this.x, flags.previous ? this.xPrev : null));
    }
    if (flags.evaluate) {
      this.problem.gradInto(this.grad, this.x);
      out.push(encodeEval(h.round, this.rank, this.problem.loss(this.x), this.grad));
    }
    return out;
  }
}
