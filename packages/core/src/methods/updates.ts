import { expectPayload, Flag, type RoundHeader, ProtocolError } from '@marina/protocol';
import type { CompressContext, Compressor } from '../compressors/types.js';
import { contextOf, type MethodEnv, type RoundPlan, type ServerHalf } from './types.js';

/**
 * Checks an update's header against what the plan expects of this sender (dense or compressed, and exactly the
 * codec's ceil(bits / 8) payload bytes); returns its codec and context.
 */
export function checkUpdate(env: MethodEnv, plan: RoundPlan, rank: number, slot: number, header: RoundHeader, compressed: boolean): { codec: Compressor; ctx: CompressContext } {
  const ctx = contextOf(env, plan, rank, slot);
  const codec: Compressor = compressed ? env.compressor : env.dense;
  const flagged = (header.flags & Flag.Compressed) !== 0;
  if (flagged !== compressed) {
    throw new ProtocolError('MARINA_ERR_UNEXPECTED', `round ${plan.round} expects a ${compressed ? 'compressed' : 'dense'} update from rank ${rank}`);
  }
  const bits = codec.payloadBits(ctx);
  expectPayload(header, Math.ceil(bits / 8), `rank ${rank}'s ${codec.name} update of ${bits} bits`);
  return { codec, ctx };
}

/**
 * Checks an update's header, then decodes it on its own into `out` (zeroed first), as its sender decodes it
 * (`UpdateWriter.decodeOwn`). Returns the message's algorithm bits (counted by the server from the compressor, never
 * taken from the client). Throws ProtocolError on a malformed payload.
 */
export function decodeUpdate(env: MethodEnv, plan: RoundPlan, rank: number, slot: number, header: RoundHeader, payload: Uint8Array, out: Float64Array): number {
  const { codec, ctx } = checkUpdate(env, plan, rank, slot, header, plan.kind === 'compressed');
  out.fill(0);
  codec.decodeInto(out, payload, ctx);
  return codec.bits(ctx);
}

/**
 * What `decodeUpdate` and a norm of its output give, without the decode, for a codec with a blocked decode
 * (Compressor.blocked): checks the header and validates the payload completely; returns the message's algorithm
 * bits, the norm of the vector it decodes to, and its context (for `ServerHalf.acceptMany`). Throws ProtocolError.
 */
export function measureUpdate(env: MethodEnv, plan: RoundPlan, rank: number, slot: number, header: RoundHeader, payload: Uint8Array): { bits: number; norm: number; ctx: CompressContext } {
  const { codec, ctx } = checkUpdate(env, plan, rank, slot, header, plan.kind === 'compressed');
  if (!codec.blocked) throw new Error(`measureUpdate: ${codec.name} has no blocked decode`);
  return { bits: codec.bits(ctx), norm: codec.blocked.payloadNorm(payload, ctx), ctx };
}

/**
 * The server half every method shares: the iterate x (a copy of x0) and one running sum of the round's
 * updates, zeroed by `begin` and added to by `accept` in rank order, each update as decoded on its own. `step` forms g from the sum and moves x, in the
 * method's own arithmetic, which the helper leaves untouched so iterates stay bit for bit the same.
 */
export function summingServer(
  env: MethodEnv,
  x0: Float64Array,
  step: (plan: RoundPlan, sum: Float64Array, x: Float64Array) => void,
  state: Record<string, Float64Array> = {},
): ServerHalf {
  const x = Float64Array.from(x0);
  const sum = new Float64Array(env.d);
  return {
    x,
    // `state`: the vectors `step` keeps across rounds (g, h), named for checkpoints; the sum is per round.
    vectors: { x, ...state },
    begin() {
      sum.fill(0);
    },
    check: (plan, rank, slot, header) => void checkUpdate(env, plan, rank, slot, header, plan.kind === 'compressed'),
    accept(_plan, _rank, _slot, decoded) {
      for (let j = 0; j < sum.length; j++) sum[j]! += decoded[j]!;
    },
    // The sum is all this half keeps of an update, so a codec can add a round's payloads into it together.
    acceptMany(plan, payloads, ctxs) {
      const codec = plan.kind === 'compressed' ? env.compressor : env.dense;
      if (!codec.blocked) throw new Error(`acceptMany: ${codec.name} has no blocked decode`);
      codec.blocked.decodeManyInto(sum, payloads, ctxs);
    },
    finish: (plan) => step(plan, sum, x),
  };
}

/**
 * The server's copy of every client's state (DIANA's h_i, EF21's g_i): after `half` accepts rank i's update,
 * `move` applies it to state i, decoded exactly as the client decodes its own (`UpdateWriter.decodeOwn`), so the copy
 * equals the client's bit for bit. A client that replaces the rank, or joins a resumed run, is sent it
 * (`clientState`); the states are checkpointed with the half's vectors as `name.0`, `name.1`, …
 */
export function mirrorClients(env: MethodEnv, half: ServerHalf, name: string, move: (state: Float64Array, decoded: Float64Array, plan: RoundPlan) => void): ServerHalf {
  const states = Array.from({ length: env.n }, () => new Float64Array(env.d));
  const vectors: Record<string, Float64Array> = { ...half.vectors };
  states.forEach((s, i) => (vectors[`${name}.${i}`] = s));
  return {
    ...half,
    vectors,
    acceptMany: undefined, // every update moves its rank's state: each is decoded on its own
    accept(plan, rank, slot, decoded) {
      half.accept(plan, rank, slot, decoded);
      move(states[rank]!, decoded, plan);
    },
    clientState: (rank) => states[rank]!,
  };
}
