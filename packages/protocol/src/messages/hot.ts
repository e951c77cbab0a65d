import { ProtocolError } from '../errors.js';
import { allocRoundMessage, Flag, Kind, kindName, type RoundHeader, roundHeaderBytes, writeRoundHeader } from '../header.js';

/**
 * Round messages: a compact header (header.ts) + raw little-endian payload, no msgpack, no per-coordinate
 * objects. RoundStart carries x^t as float64 (downlink); Update carries a dense float32 gradient or a
 * compressor's bit-packed bytes; Eval carries f_i(x^t) and ∇f_i(x^t) as float64 (telemetry). Every decoder
 * checks the payload's exact length against what the receiver expects (d, the round's codec).
 */
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('marina requires a little-endian platform: payloads are typed-array views of little-endian bytes');
}

export interface RoundStartFlags {
  coin: boolean;
  participate: boolean;
  evaluate: boolean;
}

/**
 * Encodes RoundStart{t, flags, x^t[, x^{t−1}]}. One message per round (two when some addressee needs
 * x^{t−1}) is built and sent to every addressee.
 */
export function encodeRoundStart(round: number, flags: RoundStartFlags, x: Float64Array, xPrev: Float64Array | null): Uint8Array {
  const f = (flags.coin ? Flag.Coin : 0) | (flags.participate ? Flag.Participate : 0) | (flags.evaluate ? Flag.Evaluate : 0) | (xPrev ? Flag.Previous : 0);
  const vectors = xPrev ? 2 : 1;
  const msg = allocRoundMessage(Kind.RoundStart, f, round, 8 * vectors * x.length);
  const at = roundHeaderBytes(Kind.RoundStart);
  msg.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), at);
  if (xPrev) msg.set(new Uint8Array(xPrev.buffer, xPrev.byteOffset, xPrev.byteLength), at + x.byteLength);
  return msg;
}

/**
 * Decodes a RoundStart whose header was read, copying x^t into `xOut` (length d) and, when present,
 * x^{t−1} into `xPrevOut`; checks d, the length and finiteness. Returns the flags and whether x^{t−1} came.
 */
export function decodeRoundStart(h: RoundHeader, msg: Uint8Array, xOut: Float64Array, xPrevOut: Float64Array): RoundStartFlags & { previous: boolean } {
  const flags = readRoundStart(h, msg, xOut, xPrevOut);
  return { coin: (flags & Flag.Coin) !== 0, participate: (flags & Flag.Participate) !== 0, evaluate: (flags & Flag.Evaluate) !== 0, previous: (flags & Flag.Previous) !== 0 };
}

/**
 * `decodeRoundStart` allocating nothing when the message is good (a client's every round): the same checks and
 * copies; returns the header's flag bits (Flag.Coin, Participate, Evaluate, Previous).
 */
export function readRoundStart(h: RoundHeader, msg: Uint8Array, xOut: Float64Array, xPrevOut: Float64Array): number {
  const d = xOut.length;
  const previous = (h.flags & Flag.Previous) !== 0;
  const bytes = 8 * d * (previous ? 2 : 1);
  if (h.payloadBytes !== bytes) expectPayload(h, bytes, `d = ${d} float64 values${previous ? ', twice (x^t, x^{t−1})' : ''}`);
  const at = roundHeaderBytes(Kind.RoundStart);
  copyFloats(msg, at, xOut);
  if (previous) copyFloats(msg, at + 8 * d, xPrevOut);
  checkFinite(xOut, 'RoundStart x');
  if (previous) checkFinite(xPrevOut, 'RoundStart x_prev');
  return h.flags;
}

/**
 * Allocates an Update message of `payloadBits` bits (ceil(bits / 8) bytes) whose payload (`roundPayload(msg)`)
 * the caller then fills. The sender's rank is its connection's: not carried.
 */
export function allocUpdate(round: number, compressed: boolean, payloadBits: number): Uint8Array {
  return allocRoundMessage(Kind.Update, compressed ? Flag.Compressed : 0, round, Math.ceil(payloadBits / 8));
}

/**
 * Encodes an evaluation report: f_i(x^t) then ∇f_i(x^t), float64. With `into` (a message of the right length
 * from an earlier call) its bytes are rewritten instead of allocating a new one.
 */
export function encodeEval(round: number, loss: number, grad: Float64Array, into?: Uint8Array): Uint8Array {
  const at = roundHeaderBytes(Kind.Eval);
  const bytes = at + 8 * (1 + grad.length);
  const msg = into?.length === bytes && into[0] === Kind.Eval ? into : allocRoundMessage(Kind.Eval, 0, round, bytes - at);
  writeRoundHeader(msg, Kind.Eval, 0, round);
  new DataView(msg.buffer, msg.byteOffset + at, 8).setFloat64(0, loss, true);
  msg.set(new Uint8Array(grad.buffer, grad.byteOffset, grad.byteLength), at + 8);
  return msg;
}

/** Decodes an evaluation report into `gradOut` (length d) and returns the loss; rejects non-finite values. */
export function decodeEval(h: RoundHeader, msg: Uint8Array, gradOut: Float64Array): number {
  const d = gradOut.length;
  expectPayload(h, 8 * (d + 1), `f_i and d = ${d} gradient values, float64`);
  const at = roundHeaderBytes(Kind.Eval);
  const loss = new DataView(msg.buffer, msg.byteOffset + at, 8).getFloat64(0, true);
  copyFloats(msg, at + 8, gradOut);
  if (!Number.isFinite(loss)) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `Eval loss is ${loss}`);
  checkFinite(gradOut, 'Eval gradient');
  return loss;
}

/** Encodes the state the server mirrors for the addressee (float64, length d), to be used from round `round` on. */
export function encodeState(round: number, state: Float64Array): Uint8Array {
  const msg = allocRoundMessage(Kind.State, 0, round, 8 * state.length);
  msg.set(new Uint8Array(state.buffer, state.byteOffset, state.byteLength), roundHeaderBytes(Kind.State));
  return msg;
}

/** Decodes a State into `out` (length d): exactly d finite float64 values. */
export function decodeState(h: RoundHeader, msg: Uint8Array, out: Float64Array): void {
  expectPayload(h, 8 * out.length, `d = ${out.length} float64 values`);
  copyFloats(msg, roundHeaderBytes(Kind.State), out);
  checkFinite(out, 'State');
}

/**
 * A shared-range round's scalar messages (decision 3): Norm (client → server, its vector's float32 norm) and
 * Range (server → client, R). Both are one float32, finite and ≥ 0.
 */
export function encodeScalar(kind: typeof Kind.Norm | typeof Kind.Range, round: number, value: number): Uint8Array {
  const msg = allocRoundMessage(kind, 0, round, 4);
  new DataView(msg.buffer, msg.byteOffset + roundHeaderBytes(kind), 4).setFloat32(0, value, true);
  return msg;
}

/** Decodes a Norm or Range whose header was read: exactly one finite float32 ≥ 0. */
export function decodeScalar(h: RoundHeader, msg: Uint8Array): number {
  const what = h.kind === Kind.Norm ? 'Norm' : 'Range';
  expectPayload(h, 4, 'one float32');
  const v = new DataView(msg.buffer, msg.byteOffset + roundHeaderBytes(h.kind), 4).getFloat32(0, true);
  if (!Number.isFinite(v)) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `${what} is ${v}`);
  if (v < 0) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what} is ${v}; a norm is ≥ 0`);
  return v;
}

/** Refuses a payload of any other length than `bytes` (the compact header carries no length: the message is it). */
export function expectPayload(h: RoundHeader, bytes: number, what: string): void {
  if (h.payloadBytes !== bytes) {
    const code = h.payloadBytes < bytes ? 'MARINA_ERR_TRUNCATED' : 'MARINA_ERR_TRAILING_BYTES';
    throw new ProtocolError(code, `${kindName(h.kind)} carries ${h.payloadBytes} payload bytes, expected ${bytes} (${what})`, { payloadBytes: h.payloadBytes, expected: bytes });
  }
}

/** Copies float64 values into an aligned array whatever the byte offset `ws` handed the message at. */
function copyFloats(msg: Uint8Array, byteOffset: number, out: Float64Array): void {
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(msg.subarray(byteOffset, byteOffset + out.byteLength));
}

function checkFinite(v: Float64Array, what: string): void {
  for (let j = 0; j < v.length; j++) {
    if (!Number.isFinite(v[j]!)) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `${what}[${j}] is ${v[j]}`);
  }
}
