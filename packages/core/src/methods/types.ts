import type { RoundHeader } from '@marina/protocol';
import type { Compressor, CompressContext } from '../compressors/types.js';
import type { ConfigValues, OptionSpecs } from '../options.js';
import type { Problem } from '../problems/types.js';
import type { MethodTheory, MethodTheoryInput } from '../theory.js';
import type { SentVector } from '../plausibility.js';

/** `init`: round 0's dense gradients; `dense`: a coin round; `compressed`: compressed updates. */
export type RoundKind = 'init' | 'dense' | 'compressed';

/** What a round asks for: a pure function of (run seed, round), computed by the server. */
export interface RoundPlan {
  readonly round: number;
  readonly kind: RoundKind;
  /** The shared coin c_t (true for init and every dense round). */
  readonly coin: boolean;
  /** Ranks that send an update this round, ascending; a sender's slot is its index here. */
  readonly senders: Int32Array;
}

/** Everything a method half needs from the resolved run. */
export interface MethodEnv {
  readonly d: number;
  readonly n: number;
  readonly seed: number;
  /** The run's compressor (compressed rounds). */
  readonly compressor: Compressor;
  /** Dense float32 messages (init and coin rounds). */
  readonly dense: Compressor;
  readonly gamma: number;
  /** MARINA's coin probability (1 for GD). */
  readonly p: number;
  /** Method-specific parameters fixed by the method's theory hook (absent for MARINA, DCGD, GD). */
  readonly params?: MethodParams;
}

/**
 * Parameters a method's halves need beyond (γ, p), chosen once by its theory hook from the configuration and
 * recorded in the run summary, so the server and every client use the same values.
 */
export interface MethodParams {
  /** DIANA: shift step α (SPEC A.5; default 1/(ω+1)). */
  alpha?: number;
  /** PP-MARINA: clients sampled on each compressed round, r (decision 14). */
  participants?: number;
  /** VR-MARINA: minibatch size b' (SPEC A.6). */
  batch?: number;
  /** EF21: factor applied to every compressed message to make it a contraction (1 for TopK; 1/(ω+1) for an unbiased Q). */
  scale?: number;
}

/** A method's client half: answers a round with an Update message (header + payload). */
export interface ClientHalf {
  /**
   * @param x     x^t, the iterate of this round.
   * @param xPrev x^{t−1} whenever this half did not answer round t−1: sent by the server (the client was not
   *              addressed last round, or rejoined) or kept by the runner from an evaluation-only RoundStart
   *              (PP-MARINA's unsampled clients); null when the half answered round t−1 and holds its own state.
   */
  respond(plan: RoundPlan, slot: number, x: Float64Array, xPrev: Float64Array | null): Uint8Array;
  /**
   * Methods with client state (DIANA's h_i, EF21's g_i): takes the state the server mirrored for this rank, so a
   * client that replaces a vacated rank, or joins a resumed run, goes on exactly where the rank's last one was.
   */
  restore?(state: Float64Array): void;
}

/** A method's server half: accumulates updates in rank order and steps the iterate. */
export interface ServerHalf {
  /** x^t: the iterate broadcast in the current round. */
  readonly x: Float64Array;
  /**
   * The half's whole state between rounds, as plain vectors by name (x and, e.g., MARINA's g, DIANA's h): what a
   * checkpoint writes and a resumed server copies back (ARCHITECTURE "Method state is explicit").
   */
  readonly vectors: Readonly<Record<string, Float64Array>>;
  begin(plan: RoundPlan): void;
  /**
   * Checks an update's header (dense or compressed as the plan expects, exact payload length) as it
   * arrives, before it is queued for its turn in rank order. Throws ProtocolError.
   */
  check(plan: RoundPlan, rank: number, slot: number, header: RoundHeader): void;
  /** Adds one update, decoded on its own by the coordinator (`decodeUpdate`), in rank order. */
  accept(plan: RoundPlan, rank: number, slot: number, decoded: Float64Array): void;
  /**
   * Present on a half that keeps nothing of an update but its running sum (`summingServer`): adds a whole round's
   * payloads, in rank order, through the codec's blocked decode (Compressor.blocked), with the same sums as
   * `accept` of each decoded update in turn. A wrapper whose `accept` does more (`mirrorClients`) must drop it.
   */
  acceptMany?(plan: RoundPlan, payloads: readonly Uint8Array[], ctxs: readonly CompressContext[]): void;
  /** Forms g and steps: x ← x − γ g. */
  finish(plan: RoundPlan): void;
  /**
   * Methods with client state: the server's copy of `rank`'s state (h_i, g_i), moved by each accepted update
   * exactly as the client moves its own (both decode the same message), and part of `vectors`.
   */
  clientState?(rank: number): Float64Array;
}

export interface MethodDef {
  readonly name: string;
  readonly description: string;
  /** Whether the method's round 0 is a dense `init` round (MARINA, GD) or an ordinary one (DCGD). */
  readonly initRound: boolean;
  /**
   * Whether a client that replaces a vacated rank mid-run can go on, and a run can resume after a server crash:
   * from x^{t−1} and x^t (the MARINA family), or from the state the server mirrors (`ServerHalf.clientState`:
   * DIANA's h_i, EF21's g_i). Every method is now; a new one with client state the server cannot mirror is not.
   */
  readonly resumable: boolean;
  /** What each sender's vector is in `plan`'s round: bounds its norm for the plausibility rule. */
  sends(plan: RoundPlan): SentVector;
  /** Whether the method's analysis covers biased compressors (EF21 with a contraction); others need unbiased ones. */
  readonly acceptsBiased: boolean;
  /** Options this method reads (flags, config fields, MARINA_* variables are generated from them). */
  readonly options: OptionSpecs;
  /** Cross-field checks of the configuration (its options against the run's), run by `resolveConfig`. */
  validate?(config: ConfigValues): void;
  plan(env: MethodEnv, round: number): RoundPlan;
  createClient(env: MethodEnv, problem: Problem, rank: number): ClientHalf;
  createServer(env: MethodEnv, x0: Float64Array): ServerHalf;
  /** The method's theoretical p and step size (SPEC A.4, A.5). */
  theory(input: MethodTheoryInput): MethodTheory;
}

/** The compression context of a sender in a round. */
export function contextOf(env: MethodEnv, plan: RoundPlan, rank: number, slot: number): CompressContext {
  return { d: env.d, n: plan.senders.length, slot, rank, seed: env.seed, round: plan.round };
}

/** A method parameter the theory hook must have set; a missing one is a setup bug, not a client's fault. */
export function paramOf(env: MethodEnv, name: keyof MethodParams, method: string): number {
  const v = env.params?.[name];
  if (v === undefined || !Number.isFinite(v)) throw new Error(`${method}: method parameter "${name}" is not set (the environment was not built by setupRun)`);
  return v;
}

/**
 * All ranks 0..n−1: one array per n, shared by every plan (a plan's senders are never written), so a process
 * hosting K clients does not build K arrays of n every round.
 */
export function allRanks(n: number): Int32Array {
  let r = ALL_RANKS.get(n);
  if (!r) {
    r = new Int32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    ALL_RANKS.set(n, r);
  }
  return r;
}
const ALL_RANKS = new Map<number, Int32Array>();
