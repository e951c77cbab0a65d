import { allocUpdate, Flag, type Header, payloadOf, ProtocolError } from '@marina/protocol';
import type { Compressor } from '../compressors/types.js';
import { contextOf, type MethodEnv, type RoundPlan } from './types.js';

/** Encodes one client's update: `v` dense (float32) or through the run's compressor. */
export function encodeUpdate(env: MethodEnv, plan: RoundPlan, rank: number, slot: number, v: Float64Array, compressed: boolean): Uint8Array {
  const ctx = contextOf(env, plan, rank, slot);
  const codec = compressed ? env.compressor : env.dense;
  const msg = allocUpdate(plan.round, rank, compressed, codec.payloadBits(ctx));
  codec.encode(v, ctx, payloadOf(msg));
  return msg;
}

/**
 * Checks an update's header against what the plan expects of this sender, then decodes it into `sum`.
 * Returns the message's algorithm bits (counted by the server from the compressor, never taken from the client).
 */
export function acceptUpdate(env: MethodEnv, plan: RoundPlan, rank: number, slot: number, header: Header, payload: Uint8Array, sum: Float64Array, compressed: boolean): number {
  const ctx = contextOf(env, plan, rank, slot);
  const codec: Compressor = compressed ? env.compressor : env.dense;
  const flagged = (header.flags & Flag.Compressed) !== 0;
  if (flagged !== compressed) {
    throw new ProtocolError('MARINA_ERR_UNEXPECTED', `round ${plan.round} expects a ${compressed ? 'compressed' : 'dense'} update from rank ${rank}`);
  }
  const expected = codec.payloadBits(ctx);
  if (header.payloadBits !== expected) {
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${codec.name} update of rank ${rank} declares ${header.payloadBits} payload bits, expected ${expected}`);
  }
  codec.decodeInto(sum, payload, ctx);
  return codec.bits(ctx);
}
