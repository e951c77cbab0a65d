import {
  decodeEval, decodeScalar, encodeRoundStart, encodeScalar, encodeState, Kind, kindName, Ledger, ProtocolError, readRoundHeader, type RoundHeader, roundPayload,
  type RoundTraffic, widenRound,
} from '@marina/protocol';
import type { CompressContext, SharedRange } from './compressors/types.js';
import { contextOf, type RoundPlan, type ServerHalf, type MethodEnv } from './methods/types.js';
import type { RoundRecord, RunSummary } from './records.js';
import { Targets } from './targets.js';
import { scheduledEval } from './evalSchedule.js';
import { methodEnv, type RunSetup } from './setup.js';
import type { TestEvaluator } from './testSet.js';
import { norm2, Plausibility } from './plausibility.js';
import { decodeUpdate, measureUpdate } from './methods/updates.js';

/** What the I/O layer injects: hashing and time stay outside core (no node APIs here). */
export interface CoordinatorHooks {
  /** Hex SHA-256 of bytes. */
  sha256(bytes: Uint8Array): string;
  /** Milliseconds, monotonic. */
  now(): number;
}

/** A round that has started. */
export interface RoundStartOut {
  plan: RoundPlan;
  /** Ranks to send this round's RoundStart to (`roundStartFor(rank)`), ascending. */
  addressees: number[];
}

/**
 * Past this |x_j| the run has diverged: clients' float32 messages (the 32 counted bits, decision 1) cannot
 * carry a gradient beyond 3.4e38, so for any problem with L ≤ 1e8 the next round would overflow them.
 */
export const DIVERGED_X = 1e30;
/** An evaluated ‖∇f(x^t)‖² this many times ‖∇f(x⁰)‖² (or non-finite) is a diverged run too. */
export const DIVERGED_GROWTH = 1e20;

/** Where a run diverged, for the summary (SPEC: a diverging run is a result). */
export interface Divergence {
  /** The round whose step left a non-finite or exploding iterate (or whose ‖∇f‖² exploded). */
  round: number;
  /** The last finite evaluated ‖∇f‖² and its round (null if none was). */
  lastFinite: { round: number; gradNormSq: number } | null;
}

/**
 * The coordinator between two rounds, as plain values (ARCHITECTURE "Method state is explicit"): what a
 * checkpoint holds so that a resumed server goes on exactly where this one stopped. Rounds are the unit: the
 * round in flight when the server died is run again from its start.
 */
export interface CoordinatorCheckpoint {
  /** The next round to run. */
  round: number;
  roundsDone: number;
  /** Run time so far (seconds), so a resumed run's `seconds` go on from it. */
  seconds: number;
  /** The method's server half (x and its own vectors), by name. */
  vectors: Record<string, Float64Array>;
  /** x of the last finished round (sent to clients that did not see it). */
  xPrev: Float64Array;
  ledger: ReturnType<Ledger['snapshot']>;
  targets: ReturnType<Targets['snapshot']>;
  firstGradNormSq: number | null;
  lastFinite: { round: number; gradNormSq: number } | null;
  lastRecord: RoundRecord | null;
  /** The plausibility rule's bounds (absent in checkpoints written before it: they start unknown). */
  plausibility?: ReturnType<Plausibility['snapshot']>;
}

/** The largest payload a client may declare in a run of dimension d: an eval report, 2·64·d bits, plus slack. */
export function maxPayloadBytes(d: number): number {
  return 16 * d + 64;
}

/**
 * The server's round state machine, with no I/O (ARCHITECTURE "One round of MARINA"). The networked server
 * and the in-process engine both drive it, so both do the same arithmetic in the same order.
 *
 * Updates and evaluation reports are accumulated in rank order, never arrival order: one that arrives
 * before a lower rank's waits as its received bytes.
 *
 * A blocked round (a compressed round whose codec has a blocked decode, `Compressor.blocked`, and whose server
 * half only sums, `ServerHalf.acceptMany`: MARINA, DCGD, PP- and VR-MARINA with IQ or CQ) checks each update
 * completely on arrival without decoding it, holds its bytes, and adds the round's updates all at once in rank
 * order when the last one is in: one pass over the sum per round, where each update took several (its decode
 * into a buffer of its own, the buffer's norm, its addition to the sum).
 */
export class Coordinator {
  readonly ledger: Ledger;
  /** The last finished round's record (rounds.jsonl has them all; memory holds one). */
  lastRecord: RoundRecord | null = null;
  /** Rounds finished so far. */
  roundsDone = 0;
  private readonly env: MethodEnv;
  private readonly server: ServerHalf;
  private readonly xPrev: Float64Array;
  private readonly evalGrad: Float64Array;
  private readonly evalSum: Float64Array;
  /** An update decoded on its own, for the plausibility rule. */
  private readonly decoded: Float64Array;
  private readonly plausible: Plausibility;
  private readonly maxPayload: number;
  /** Last round each rank was sent a RoundStart (−1: never, or it rejoined). */
  private readonly seen: Int32Array;
  /** When round 0 started (time spent waiting for clients to join is not the run's). */
  private startedAt: number | null = null;
  private round = 0;
  private plan: RoundPlan | null = null;
  private evaluate = false;
  private addressees: number[] = [];
  /** Each rank's slot among the open round's senders (−1: not a sender): O(1) per message at any n. */
  private readonly slots: Int32Array;
  /** The open round's RoundStart messages by kind (participate + 2·previous + 4·evaluate), shared between ranks. */
  private readonly roundStarts: (Uint8Array | null)[] = new Array<Uint8Array | null>(8).fill(null);
  /** 0..n−1, the addressees of an evaluation round (made once). */
  private readonly everyRank: number[];
  /**
   * Updates that arrived before a lower rank's, waiting for their turn: decoded on arrival where a buffer is
   * free (a straggler then holds back only the additions, not the decoding), else kept as bytes.
   */
  private readonly pendingUpdates: (Pending | null)[];
  /** How many entries of `pendingUpdates` are set (a round with none queued clears nothing). */
  private pendingCount = 0;
  /** Decode buffers not in use, and how many more may be made (DECODE_BUDGET_BYTES in all). */
  private readonly buffers: Float64Array[] = [];
  private buffersLeft: number;
  /** Whether the open round is a blocked one (see the class comment). */
  private blockedRound = false;
  /** The payloads and contexts of a blocked round's close, in rank order (reused; emptied after each close). */
  private readonly blockPayloads: Uint8Array[] = [];
  private readonly blockCtxs: CompressContext[] = [];
  private pendingEvals = new Map<number, Uint8Array>();
  /** A shared-range round (decision 3): the senders' norms so far, R once all are in, and who is owed R. */
  private shared: SharedRange | null = null;
  private readonly norms = new Map<number, number>();
  private rangeMsg: Uint8Array | null = null;
  private rangeOwed: number[] = [];
  private nextUpdate = 0;
  private nextEval = 0;
  private lossSum = 0;
  private readonly targets: Targets;
  stopReason: string | null = null;
  /** Set when the run stopped because it diverged. */
  divergence: Divergence | null = null;
  private firstGradNormSq: number | null = null;
  private lastFinite: { round: number; gradNormSq: number } | null = null;
  /** The ledger's per-client traffic of the last finished round (the dashboard and /metrics read it). */
  lastTraffic: RoundTraffic | null = null;

  /**
   * @param ledger the run's ledger, when traffic was counted before the run was resolved (the join phase's
   *               control messages); a new one otherwise.
   */
  constructor(readonly setup: RunSetup, private readonly hooks: CoordinatorHooks, ledger?: Ledger, private readonly test: TestEvaluator | null = null) {
    const { config, d, n } = setup;
    this.env = setup.envFactory?.() ?? methodEnv(config, setup.environment);
    this.server = setup.method.createServer(this.env, setup.x0);
    this.ledger = ledger ?? new Ledger(n);
    this.xPrev = new Float64Array(d);
    this.evalGrad = new Float64Array(d);
    this.evalSum = new Float64Array(d);
    this.decoded = new Float64Array(d);
    this.buffersLeft = Math.max(1, Math.floor(DECODE_BUDGET_BYTES / (8 * d)));
    this.plausible = new Plausibility(setup.facts, d, setup.smoothness.components?.Lcomp ?? null);
    this.seen = new Int32Array(n).fill(-1);
    this.slots = new Int32Array(n).fill(-1);
    this.pendingUpdates = new Array<Pending | null>(n).fill(null);
    this.everyRank = range(n);
    // The largest honest message: an eval report or RoundStart-sized payload of 2·64·d bits, plus slack.
    this.maxPayload = maxPayloadBytes(d);
    this.targets = new Targets(config);
  }

  /** The largest payload a client may declare (checked before any payload byte is buffered). */
  get maxPayloadBytes(): number {
    return this.maxPayload;
  }

  get currentRound(): number {
    return this.round;
  }

  get currentPlan(): RoundPlan | null {
    return this.plan;
  }

  /** x^t of the current round (x^{t+1} once the round has finished). */
  get x(): Float64Array {
    return this.server.x;
  }

  /** Marks a rank as rejoined: it will be sent x^{t−1} with its next RoundStart. */
  rejoined(rank: number): void {
    this.seen[rank] = -1;
  }

  /**
   * The State message for a client that takes `rank` now (mid-run, or in a resumed run): the rank's client state
   * as mirrored here (DIANA's h_i, EF21's g_i); null for methods without one (they recompute from the iterates).
   */
  stateFor(rank: number): Uint8Array | null {
    const state = this.server.clientState?.(rank);
    return state ? encodeState(this.round, state) : null;
  }

  /** Whether the open round still expects something from `rank` (it must be sent the RoundStart). */
  expects(rank: number): boolean {
    return this.waitingFor().includes(rank);
  }

  /** Starts the next round, or returns null when the run is over (`stopReason` says why). */
  startRound(): RoundStartOut | null {
    if (this.stopReason !== null) return null;
    if (this.round >= this.setup.config.rounds) {
      this.stopReason = `rounds: all ${this.setup.config.rounds} rounds done`;
      return null;
    }
    const t = this.round;
    this.startedAt ??= this.hooks.now();
    const plan = this.setup.method.plan(this.env, t);
    this.plan = plan;
    // The schedule (evalSchedule.ts), the last round the round or bit limit allows (so the summary's final ‖∇f‖²
    // is known), and under `auto` the rounds that close in on a target's crossing (so its round is exact).
    const every = this.setup.config.evalEvery;
    this.evaluate = scheduledEval(every, t) || t === this.setup.config.rounds - 1 || this.exhaustsBudget(plan) || (every === 'auto' && t >= this.targets.dueFrom());
    this.server.begin(plan);
    this.blockedRound = plan.kind === 'compressed' && this.env.compressor.blocked !== undefined && this.server.acceptMany !== undefined;
    if (this.pendingCount > 0) for (let rank = 0; rank < this.setup.n; rank++) this.dropPending(rank);
    this.pendingEvals.clear();
    this.shared = plan.kind === 'compressed' ? (this.env.compressor.sharedRange ?? null) : null;
    this.norms.clear();
    this.rangeMsg = null;
    this.rangeOwed = [];
    this.nextUpdate = 0;
    this.nextEval = 0;
    this.lossSum = 0;
    this.evalSum.fill(0);
    this.slots.fill(-1);
    const senders = plan.senders;
    for (let slot = 0; slot < senders.length; slot++) this.slots[senders[slot]!] = slot;
    this.roundStarts.fill(null);
    this.addressees = this.evaluate ? this.everyRank : Array.from(senders);
    return { plan, addressees: this.addressees };
  }

  /**
   * The RoundStart for `rank` in the open round: x^t, plus x^{t−1} when the rank did not get round t−1's
   * (it was not asked, or it rejoined). Messages are shared between ranks that get the same bytes.
   */
  roundStartFor(rank: number): Uint8Array {
    const plan = this.plan;
    if (!plan) throw new Error('roundStartFor called while no round is open');
    const t = plan.round;
    // Ask only for what the rank still owes: a client that replaces one whose update (or report) was
    // already accounted must not send it again.
    const participate = this.updateOwed(rank);
    const evaluate = this.evalOwed(rank);
    const withPrev = t > 0 && this.seen[rank] !== t - 1 && this.seen[rank] !== t;
    const key = (participate ? 1 : 0) + (withPrev ? 2 : 0) + (evaluate ? 4 : 0);
    let msg = this.roundStarts[key];
    if (!msg) {
      msg = encodeRoundStart(t, { coin: plan.coin, participate, evaluate }, this.server.x, withPrev ? this.xPrev : null);
      this.roundStarts[key] = msg;
    }
    return msg;
  }

  /** Records that `msg` (from roundStartFor) went to `rank`: downlink bytes, and what the rank has seen. */
  markSent(rank: number, msg: Uint8Array): void {
    this.seen[rank] = this.round;
    this.ledger.down(rank, this.slots[rank]! >= 0 ? 'algorithm' : 'telemetry', msg.length);
  }

  /**
   * Takes one untrusted message from client `rank`. Throws a ProtocolError for a bad message; the error's
   * `data.rank` names the client at fault when it is not the sender (a queued message that failed later).
   */
  accept(rank: number, msg: Uint8Array): void {
    const plan = this.plan;
    if (!plan) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} sent a message while no round is open`);
    // The sender's rank is its connection's; the header's round is t mod 2^16, read as the nearest round to t.
    const h = readRoundHeader(msg, this.maxPayload);
    if (h.kind !== Kind.Update && h.kind !== Kind.Eval && h.kind !== Kind.Norm) {
      throw new ProtocolError('MARINA_ERR_UNEXPECTED', `${kindName(h.kind)} is not expected from a client during a round`);
    }
    const round = widenRound(h.round, this.round);
    if (round !== this.round) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} sent ${kindName(h.kind)} for round ${round} during round ${this.round}`);
    if (h.kind === Kind.Norm) {
      this.acceptNorm(plan, rank, h, msg);
    } else if (h.kind === Kind.Update) {
      if (this.shared && this.rangeMsg === null) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} sent its update before round ${this.round}'s shared range`);
      if (this.slots[rank]! < 0) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} was not asked for an update in round ${this.round}`);
      if (this.pendingUpdates[rank] || this.updateDone(rank)) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} sent two updates in round ${this.round}`);
      // Checked now, not at its turn: a wrong length is refused before it is queued, and blamed on its sender.
      this.server.check(plan, rank, this.slots[rank]!, h);
      // Kept as received (no copy): ws hands each message in a buffer of its own; an in-process runner rewrites
      // its message buffers only in a later round, after this round let go of them (closeBlocked, finishRound, begin).
      const pending: Pending = { msg, h, decoded: null, bits: 0, ctx: null };
      if (this.blockedRound) {
        this.measurePending(plan, rank, pending);
      } else {
        const buffer = this.rankOrderTurn(rank) ? null : this.takeBuffer();
        if (buffer) {
          try {
            this.decodePending(plan, rank, pending, buffer);
          } catch (e) {
            this.buffers.push(buffer);
            throw e;
          }
        }
      }
      this.pendingUpdates[rank] = pending;
      this.pendingCount++;
      this.drainUpdates();
    } else {
      if (!this.evaluate) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} sent an evaluation report in round ${this.round}, which is not an evaluation round`);
      if (this.pendingEvals.has(rank) || rank < this.nextEval) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} sent two evaluation reports in round ${this.round}`);
      this.pendingEvals.set(rank, msg);
      this.drainEvals();
    }
  }

  /**
   * Shared-range rounds: the ranks that are owed R now, with its message (the driver sends each and calls
   * `markRangeSent`). R goes out once every sender's norm is in, and again to a replacement that re-sends
   * the same norm.
   */
  takeRanges(): readonly { rank: number; msg: Uint8Array }[] {
    if (this.rangeOwed.length === 0) return NONE_OWED; // every message but a shared round's last norm
    const out = this.rangeOwed.map((rank) => ({ rank, msg: this.rangeMsg! }));
    this.rangeOwed = [];
    return out;
  }

  /** Records R's downlink bytes to `rank` (algorithm traffic: R is part of how the round's messages decode). */
  markRangeSent(rank: number, msg: Uint8Array): void {
    this.ledger.down(rank, 'algorithm', msg.length);
  }

  /** A sender's norm (32 algorithm bits, decision 3's shared range); with all n in, R = their max. */
  private acceptNorm(plan: RoundPlan, rank: number, h: RoundHeader, msg: Uint8Array): void {
    if (!this.shared) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} sent a norm in round ${this.round}, which has no shared range`);
    if (this.slots[rank]! < 0) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `rank ${rank} was not asked for an update in round ${this.round}`);
    const norm = decodeScalar(h, msg);
    this.plausible.checkNorm(rank, this.round, norm, this.bound(plan, rank));
    const before = this.norms.get(rank);
    if (before !== undefined) {
      // A replacement recomputes the same vector, so the same norm: it is owed R again, not counted again.
      if (before !== norm) throw new ProtocolError('MARINA_ERR_BAD_FIELD', `rank ${rank} sent norm ${norm} in round ${this.round}, after ${before}`);
      if (this.rangeMsg && this.updateOwed(rank)) this.rangeOwed.push(rank);
      return;
    }
    this.norms.set(rank, norm);
    this.ledger.up(rank, 'algorithm', msg.length, 4, 32);
    if (this.norms.size < plan.senders.length) return;
    let R = 0;
    for (const v of this.norms.values()) R = Math.max(R, v);
    this.shared.set(R);
    this.rangeMsg = encodeScalar(Kind.Range, this.round, R);
    this.rangeOwed = Array.from(plan.senders).filter((r) => this.updateOwed(r));
  }

  /**
   * Drops whatever a rank queued this round (it was disconnected; a replacement will answer again). A blocked
   * round's update is kept: it was checked in full on arrival, as good as added (a replacement is not asked for it).
   */
  forget(rank: number): void {
    if (!this.blockedRound) this.dropPending(rank);
    this.pendingEvals.delete(rank);
  }

  roundComplete(): boolean {
    return this.plan !== null && this.nextUpdate === this.plan.senders.length && (!this.evaluate || this.nextEval === this.setup.n);
  }

  /** Ranks the open round still waits for. */
  waitingFor(): number[] {
    const plan = this.plan;
    if (!plan) return [];
    const out = new Set<number>();
    for (let k = this.nextUpdate; k < plan.senders.length; k++) if (!this.pendingUpdates[plan.senders[k]!]) out.add(plan.senders[k]!);
    if (this.evaluate) for (let r = this.nextEval; r < this.setup.n; r++) if (!this.pendingEvals.has(r)) out.add(r);
    return [...out].sort((a, b) => a - b);
  }

  /** Steps the iterate, closes the ledger round and returns the round's record. */
  finishRound(): RoundRecord {
    const plan = this.plan;
    if (!plan || !this.roundComplete()) throw new Error('finishRound called before every expected message arrived');
    const t = this.round;
    const x = this.server.x;
    const xHash = this.hooks.sha256(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).slice(0, 16);
    let gradNormSq: number | null = null;
    let loss: number | null = null;
    // Telemetry at x^t, taken before the step; never read by the method.
    const test = this.evaluate && this.test ? this.test.evaluate(x) : null;
    if (this.evaluate) {
      const n = this.setup.n;
      gradNormSq = 0;
      for (let j = 0; j < this.evalSum.length; j++) {
        const g = this.evalSum[j]! / n;
        gradNormSq += g * g;
      }
      loss = this.lossSum / n;
      // The ledger's totals before this round closes: the cost of rounds 0..t−1, which produced x^t.
      const spent = this.ledger.totals;
      this.targets.observe(t, gradNormSq, { bitsPerClient: spent.bitsUp / n, wireBytesUp: spent.wireBytesUp, wireBytesDown: spent.wireBytesDown });
    }
    this.xPrev.set(x);
    this.server.finish(plan);
    this.plausible.stepped(distance(x, this.xPrev));
    const traffic = this.ledger.closeRound();
    this.lastTraffic = traffic;
    const record: RoundRecord = {
      round: t,
      kind: plan.kind,
      coin: plan.coin,
      gamma: this.env.gamma,
      p: this.env.p,
      gradNormSq,
      loss,
      testLoss: test?.loss ?? null,
      testAccuracy: test?.accuracy ?? null,
      bitsUp: traffic.bitsUp,
      senders: traffic.senders,
      bitsUpPerClient: traffic.senders > 0 ? traffic.bitsUp / traffic.senders : 0,
      wireBytesUp: traffic.wireBytesUp,
      wireBytesDown: traffic.wireBytesDown,
      telemetryBytes: traffic.telemetryBytes,
      xHash,
      seconds: this.elapsedSeconds(),
    };
    this.lastRecord = record;
    this.roundsDone++;
    this.plan = null;
    this.round++;
    this.checkDivergence(t, gradNormSq);
    this.checkStop(gradNormSq);
    return record;
  }

  /** The state between rounds (throws while a round is open: the unit of a checkpoint is a whole round). */
  checkpoint(): CoordinatorCheckpoint {
    if (this.plan) throw new Error(`checkpoint: round ${this.round} is open`);
    const vectors: Record<string, Float64Array> = {};
    for (const [name, v] of Object.entries(this.server.vectors)) vectors[name] = v.slice(); // a memcpy (from() iterates)
    return {
      round: this.round,
      roundsDone: this.roundsDone,
      seconds: this.elapsedSeconds(),
      vectors,
      xPrev: this.xPrev.slice(),
      ledger: this.ledger.snapshot(),
      targets: this.targets.snapshot(),
      firstGradNormSq: this.firstGradNormSq,
      lastFinite: this.lastFinite,
      lastRecord: this.lastRecord,
      plausibility: this.plausible.snapshot(),
    };
  }

  /**
   * Continues from a checkpoint of the same run (before the first round is started here): every vector, the
   * ledger's totals, the targets and the clock. Every client is then new to this coordinator, so each is sent
   * x^{t−1} with x^t and recomputes what it owes (MARINA's family; DIANA and EF21 cannot, see README).
   */
  restore(cp: CoordinatorCheckpoint): void {
    if (this.plan || this.roundsDone > 0) throw new Error('restore: the coordinator has already run rounds');
    for (const [name, v] of Object.entries(this.server.vectors)) {
      const saved = cp.vectors[name];
      if (!saved || saved.length !== v.length) throw new RangeError(`restore: the checkpoint has no vector "${name}" of length ${v.length}`);
      v.set(saved);
    }
    if (cp.xPrev.length !== this.xPrev.length) throw new RangeError(`restore: x_prev has length ${cp.xPrev.length}, the run d = ${this.xPrev.length}`);
    this.xPrev.set(cp.xPrev);
    this.round = cp.round;
    this.roundsDone = cp.roundsDone;
    this.ledger.restore(cp.ledger);
    this.targets.restore(cp.targets);
    this.firstGradNormSq = cp.firstGradNormSq;
    this.lastFinite = cp.lastFinite;
    this.lastRecord = cp.lastRecord;
    if (cp.plausibility) this.plausible.restore(cp.plausibility);
    this.startedAt = this.hooks.now() - cp.seconds * 1000;
    this.seen.fill(-1);
  }

  /**
   * Ends the run as diverged because a client could not send its update (MARINA_ERR_DIVERGED: its values are
   * beyond float32). The open round is not finished; the summary says where, with the last finite ‖∇f‖².
   */
  diverge(why: string): void {
    if (this.stopReason !== null && this.divergence) return;
    this.divergence = { round: this.round, lastFinite: this.lastFinite };
    const last = this.lastFinite ? `; last finite ‖∇f‖² = ${this.lastFinite.gradNormSq.toExponential(3)} at round ${this.lastFinite.round}` : '';
    this.stopReason = `diverged: ${why}${last}`;
  }

  /** Ends the run early (a fault, a signal); the summary then says why. */
  abort(reason: string): void {
    if (this.stopReason === null) this.stopReason = reason;
  }

  /** The run summary; `connectionBytes` comes from the server's socket counters (null in-process). */
  summary(runId: string, mode: 'sim' | 'network', connectionBytes: number | null): RunSummary {
    const last = this.lastRecord;
    const x = this.server.x;
    const n = this.setup.n;
    return {
      runId,
      mode,
      config: this.setup.config,
      d: this.setup.d,
      shards: [...this.setup.facts],
      theory: this.setup.theory,
      totals: {
        rounds: this.roundsDone,
        bitsPerClient: this.ledger.totals.bitsUp / n,
        wireBytesUp: this.ledger.totals.wireBytesUp,
        wireBytesDown: this.ledger.totals.wireBytesDown,
        telemetryBytes: this.ledger.totals.telemetryBytes,
        controlBytes: this.ledger.totals.controlBytes,
        connectionBytes,
        seconds: this.elapsedSeconds(),
      },
      targets: this.targets.results,
      stopReason: this.stopReason ?? 'running',
      divergence: this.divergence,
      final: {
        round: this.round,
        gradNormSq: last?.gradNormSq ?? null,
        loss: last?.loss ?? null,
        testLoss: last?.testLoss ?? null,
        testAccuracy: last?.testAccuracy ?? null,
        // x^T: the iterate after the last round (never sent to clients).
        xHash: this.hooks.sha256(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).slice(0, 16),
      },
    };
  }

  private elapsedSeconds(): number {
    return this.startedAt === null ? 0 : (this.hooks.now() - this.startedAt) / 1000;
  }

  /** Whether `rank` is a sender of the open round whose update has not arrived yet. */
  private updateOwed(rank: number): boolean {
    const idx = this.slots[rank]!;
    return idx >= this.nextUpdate && !this.pendingUpdates[rank];
  }

  /** Whether the open round evaluates and `rank`'s report has not arrived yet. */
  private evalOwed(rank: number): boolean {
    return this.evaluate && rank >= this.nextEval && !this.pendingEvals.has(rank);
  }

  private updateDone(rank: number): boolean {
    const idx = this.slots[rank]!;
    return idx >= 0 && idx < this.nextUpdate;
  }

  private drainUpdates(): void {
    const plan = this.plan!;
    if (this.blockedRound) {
      if (this.pendingCount === plan.senders.length) this.closeBlocked(plan);
      return;
    }
    while (this.nextUpdate < plan.senders.length) {
      const rank = plan.senders[this.nextUpdate]!;
      const pending = this.pendingUpdates[rank];
      if (!pending) return;
      this.pendingUpdates[rank] = null;
      this.pendingCount--;
      try {
        if (!pending.decoded) this.decodePending(plan, rank, pending, this.decoded);
        this.server.accept(plan, rank, this.nextUpdate, pending.decoded!);
      } catch (e) {
        throw blame(e, rank);
      } finally {
        if (pending.decoded && pending.decoded !== this.decoded) this.buffers.push(pending.decoded);
      }
      this.ledger.up(rank, 'algorithm', pending.msg.length, pending.h.payloadBytes, pending.bits);
      this.nextUpdate++;
    }
  }

  private drainEvals(): void {
    const n = this.setup.n;
    while (this.nextEval < n) {
      const rank = this.nextEval;
      const msg = this.pendingEvals.get(rank);
      if (!msg) return;
      this.pendingEvals.delete(rank);
      let loss: number;
      try {
        loss = decodeEval(readRoundHeader(msg, this.maxPayload), msg, this.evalGrad);
        this.plausible.observeGradient(rank, this.round, norm2(this.evalGrad), false);
      } catch (e) {
        throw blame(e, rank);
      }
      this.lossSum += loss;
      for (let j = 0; j < this.evalSum.length; j++) this.evalSum[j]! += this.evalGrad[j]!;
      this.ledger.up(rank, 'telemetry', msg.length);
      this.nextEval++;
    }
  }

  /** The plausibility rule's bound on ‖v_i‖ for `rank`'s vector in `plan`'s round (NaN: not known yet). */
  private bound(plan: RoundPlan, rank: number): number {
    const kind = this.setup.method.sends(plan);
    const state = kind === 'shifted' && this.server.clientState ? norm2(this.server.clientState(rank)) : 0;
    return this.plausible.vectorBound(rank, kind, state);
  }

  /**
   * Decodes a queued update on its own into `out` (so the sum is always Σ of such vectors in rank order,
   * whenever each was decoded), then applies the plausibility rule to its norm (`judge`).
   */
  private decodePending(plan: RoundPlan, rank: number, pending: Pending, out: Float64Array): void {
    const slot = this.slots[rank]!;
    pending.bits = decodeUpdate(this.env, plan, rank, slot, pending.h, roundPayload(pending.msg), out);
    pending.decoded = out;
    this.judge(plan, rank, norm2(out));
  }

  /**
   * The plausibility rule on an update's decoded norm: a dense gradient is checked against (and tightens) G_i;
   * any other message against the bound of what the round sends.
   */
  private judge(plan: RoundPlan, rank: number, norm: number): void {
    const kind = this.setup.method.sends(plan);
    const compressed = plan.kind === 'compressed';
    if (!compressed && kind === 'gradient') this.plausible.observeGradient(rank, plan.round, norm, true);
    else this.plausible.checkUpdate(rank, plan.round, kind, norm, this.bound(plan, rank), compressed);
  }

  /**
   * Checks a blocked round's update on arrival without decoding it (measureUpdate: the payload validated in full,
   * the norm of what it decodes to), then applies the plausibility rule to that norm as `decodePending` does.
   */
  private measurePending(plan: RoundPlan, rank: number, pending: Pending): void {
    const m = measureUpdate(this.env, plan, rank, this.slots[rank]!, pending.h, roundPayload(pending.msg));
    pending.bits = m.bits;
    pending.ctx = m.ctx;
    this.judge(plan, rank, m.norm);
  }

  /**
   * Adds a blocked round's updates, every one in and checked, to the sum in rank order with one call, then
   * counts them in the ledger in that order (as `drainUpdates` would have, one by one).
   */
  private closeBlocked(plan: RoundPlan): void {
    const senders = plan.senders;
    const payloads = this.blockPayloads;
    const ctxs = this.blockCtxs;
    for (let slot = 0; slot < senders.length; slot++) {
      const pending = this.pendingUpdates[senders[slot]!]!;
      payloads.push(roundPayload(pending.msg));
      ctxs.push(pending.ctx!);
    }
    try {
      this.server.acceptMany!(plan, payloads, ctxs);
    } finally {
      payloads.length = 0; // holds no message past its round
      ctxs.length = 0;
    }
    for (let slot = 0; slot < senders.length; slot++) {
      const rank = senders[slot]!;
      const pending = this.pendingUpdates[rank]!;
      this.pendingUpdates[rank] = null;
      this.pendingCount--;
      this.ledger.up(rank, 'algorithm', pending.msg.length, pending.h.payloadBytes, pending.bits);
    }
    this.nextUpdate = senders.length;
  }

  /** Whether `rank`'s update is the next to add (it is decoded at once into the one scratch vector). */
  private rankOrderTurn(rank: number): boolean {
    return this.slots[rank] === this.nextUpdate;
  }

  private takeBuffer(): Float64Array | null {
    const free = this.buffers.pop();
    if (free) return free;
    if (this.buffersLeft === 0) return null;
    this.buffersLeft--;
    return new Float64Array(this.setup.d);
  }

  /** Forgets `rank`'s queued update, its decode buffer back to the pool. */
  private dropPending(rank: number): void {
    const pending = this.pendingUpdates[rank];
    if (!pending) return;
    if (pending.decoded && pending.decoded !== this.decoded) this.buffers.push(pending.decoded);
    this.pendingUpdates[rank] = null;
    this.pendingCount--;
  }

  /** Whether the bits of `plan`'s messages bring the mean over clients to the budget (this is the last round). */
  private exhaustsBudget(plan: RoundPlan): boolean {
    const budget = this.setup.config.budgetBits;
    if (budget === null) return false;
    let bits = this.ledger.totals.bitsUp;
    plan.senders.forEach((rank, slot) => {
      const ctx = contextOf(this.env, plan, rank, slot);
      bits += plan.kind === 'compressed' ? this.env.compressor.bits(ctx) : this.env.dense.bits(ctx);
    });
    return bits / this.setup.n >= budget;
  }

  /** Stops a run whose iterate left the range messages can carry, or whose ‖∇f‖² exploded (not a protocol error). */
  private checkDivergence(t: number, gradNormSq: number | null): void {
    if (gradNormSq !== null && Number.isFinite(gradNormSq)) {
      this.firstGradNormSq ??= gradNormSq;
      if (gradNormSq <= DIVERGED_GROWTH * this.firstGradNormSq) this.lastFinite = { round: t, gradNormSq };
    }
    const x = this.server.x;
    let maxAbs = 0;
    for (let j = 0; j < x.length; j++) {
      const a = Math.abs(x[j]!);
      if (!(a <= maxAbs)) maxAbs = a; // NaN compares false: it is kept
    }
    const exploded = gradNormSq !== null && !(gradNormSq <= DIVERGED_GROWTH * (this.firstGradNormSq ?? gradNormSq));
    if (!(maxAbs <= DIVERGED_X) || exploded) {
      this.divergence = { round: t, lastFinite: this.lastFinite };
      const why = exploded ? `‖∇f(x^${t})‖² = ${gradNormSq} exploded` : `round ${t}'s step left max|x_j| = ${maxAbs.toExponential(3)}`;
      const last = this.lastFinite ? `; last finite ‖∇f‖² = ${this.lastFinite.gradNormSq.toExponential(3)} at round ${this.lastFinite.round}` : '';
      this.stopReason = `diverged: ${why}${last}`;
    }
  }

  private checkStop(gradNormSq: number | null): void {
    if (this.stopReason !== null) return;
    const c = this.setup.config;
    if (c.stopAtTarget && this.targets.allReached()) {
      this.stopReason = `target: ‖∇f‖² = ${gradNormSq?.toExponential(3)} reached at round ${this.round - 1}`;
    } else if (c.budgetBits !== null && this.ledger.totals.bitsUp / c.clients >= c.budgetBits) {
      this.stopReason = `budget: ${c.budgetBits} bits per client spent`;
    }
  }
}

/** An update waiting for its turn in rank order: its bytes, and once decoded the vector and its bits. */
interface Pending {
  msg: Uint8Array;
  /** Its header, read once on arrival (not again at its turn). */
  h: RoundHeader;
  decoded: Float64Array | null;
  bits: number;
  /** A blocked round's: its compression context, for the close. */
  ctx: CompressContext | null;
}

/**
 * Memory for updates decoded ahead of their turn (256 MB): at n = 1024, d = 1024 every update of a round fits
 * (8 MB); at d = 10⁷ three do, and the others wait as bytes and are decoded at their turn.
 */
const DECODE_BUDGET_BYTES = 256 * 1024 * 1024;

const NONE_OWED: readonly { rank: number; msg: Uint8Array }[] = Object.freeze([]);

/** ‖a − b‖₂. */
function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j]! - b[j]!) ** 2;
  return Math.sqrt(s);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Tags an error from a queued message with the rank that sent it. */
function blame(e: unknown, rank: number): unknown {
  if (e instanceof ProtocolError) return new ProtocolError(e.code, e.message, { ...e.data, rank });
  return e;
}
