import { ProtocolError } from '../errors.js';
import { allocMessage, Flag, type Header, HEADER_BYTES, Kind, payloadOf, SERVER_RANK } from '../header.js';

/**
 * Hot messages: fixed header + raw little-endian payload, no msgpack, no per-coordinate objects.
 * RoundStart carries x^t as float64 (downlink); Update carries a dense float32 gradient or a compressor's
 * bit-packed bytes; Eval carries f_i(x^t) and ∇f_i(x^t) as float64 (telemetry).
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
  const msg = allocMessage({ kind: Kind.RoundStart, flags: f, round, rank: SERVER_RANK, aux: x.length, payloadBits: 64 * vectors * x.length });
  const p = payloadOf(msg);
  p.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  if (xPrev) p.set(new Uint8Array(xPrev.buffer, xPrev.byteOffset, xPrev.byteLength), x.byteLength);
  return msg;
}

/**
 * Decodes a RoundStart whose header was read, copying x^t into `xOut` (length d) and, when present,
 * x^{t−1} into `xPrevOut`; checks d, the length and finiteness. Returns the flags and whether x^{t−1} came.
 */
export function decodeRoundStart(h: Header, msg: Uint8Array, xOut: Float64Array, xPrevOut: Float64Array): RoundStartFlags & { previous: boolean } {
  const d = xOut.length;
  const previous = (h.flags & Flag.Previous) !== 0;
  const bits = 64 * d * (previous ? 2 : 1);
  if (h.aux !== d || h.payloadBits !== bits) {
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `RoundStart carries d = ${h.aux} (${h.payloadBits} bits), expected d = ${d} (${bits} bits)`);
  }
  copyFloats(msg, HEADER_BYTES, xOut);
  if (previous) copyFloats(msg, HEADER_BYTES + 8 * d, xPrevOut);
  checkFinite(xOut, 'RoundStart x');
  if (previous) checkFinite(xPrevOut, 'RoundStart x_prev');
  return { coin: (h.flags & Flag.Coin) !== 0, participate: (h.flags & Flag.Participate) !== 0, evaluate: (h.flags & Flag.Evaluate) !== 0, previous };
}

/** Allocates an Update message whose payload (`payloadOf(msg)`) the caller then fills. */
export function allocUpdate(round: number, rank: number, compressed: boolean, payloadBits: number): Uint8Array {
  return allocMessage({ kind: Kind.Update, flags: compressed ? Flag.Compressed : 0, round, rank, aux: 0, payloadBits });
}

/** Encodes an evaluation report: f_i(x^t) then ∇f_i(x^t), float64. */
export function encodeEval(round: number, rank: number, loss: number, grad: Float64Array): Uint8Array {
  const msg = allocMessage({ kind: Kind.Eval, flags: 0, round, rank, aux: grad.length, payloadBits: 64 * (1 + grad.length) });
  const p = payloadOf(msg);
  new DataView(p.buffer, p.byteOffset, 8).setFloat64(0, loss, true);
  p.set(new Uint8Array(grad.buffer, grad.byteOffset, grad.byteLength), 8);
  return msg;
}

/** Decodes an evaluation report into `gradOut` (length d) and returns the loss; rejects non-finite values. */
export function decodeEval(h: Header, msg: Uint8Array, gradOut: Float64Array): number {
  const d = gradOut.length;
  if (h.aux !== d || h.payloadBits !== 64 * (d + 1)) {
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `Eval carries d = ${h.aux} (${h.payloadBits} bits), expected d = ${d} (${64 * (d + 1)} bits)`);
  }
  const p = payloadOf(msg);
  const loss = new DataView(p.buffer, p.byteOffset, 8).getFloat64(0, true);
  copyFloats(msg, HEADER_BYTES + 8, gradOut);
  if (!Number.isFinite(loss)) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `Eval loss is ${loss}`);
  checkFinite(gradOut, 'Eval gradient');
  return loss;
}

/** Encodes the state the server mirrors for the addressee (float64, length d), to be used from round `round` on. */
export function encodeState(round: number, state: Float64Array): Uint8Array {
  const msg = allocMessage({ kind: Kind.State, flags: 0, round, rank: SERVER_RANK, aux: state.length, payloadBits: 64 * state.length });
  payloadOf(msg).set(new Uint8Array(state.buffer, state.byteOffset, state.byteLength));
  return msg;
}

/** Decodes a State into `out` (length d): exactly d finite float64 values. */
export function decodeState(h: Header, msg: Uint8Array, out: Float64Array): void {
  const d = out.length;
  if (h.aux !== d || h.payloadBits !== 64 * d) {
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `State carries d = ${h.aux} (${h.payloadBits} bits), expected d = ${d} (${64 * d} bits)`);
  }
  copyFloats(msg, HEADER_BYTES, out);
  checkFinite(out, 'State');
}

/**
 * A shared-range round's scalar messages (decision 3): Norm (client → server, its vector's float32 norm) and
 * Range (server → client, R). Both are one float32, finite and ≥ 0.
 */
export function encodeScalar(kind: typeof Kind.Norm | typeof Kind.Range, round: number, rank: number, value: number): Uint8Array {
  const msg = allocMessage({ kind, flags: 0, round, rank, aux: 0, payloadBits: 32 });
  new DataView(msg.buffer, msg.byteOffset + HEADER_BYTES, 4).setFloat32(0, value, true);
  return msg;
}

/** Decodes a Norm or Range whose header was read: exactly one finite float32 ≥ 0. */
export function decodeScalar(h: Header, msg: Uint8Array): number {
  const what = h.kind === Kind.Norm ? 'Norm' : 'Range';
  if (h.payloadBits !== 32 || h.aux !== 0) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what} carries ${h.payloadBits} payload bits (aux ${h.aux}); expected one float32 (32 bits, aux 0)`);
  const v = new DataView(msg.buffer, msg.byteOffset + HEADER_BYTES, 4).getFloat32(0, true);
  if (!Number.isFinite(v)) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `${what} is ${v}`);
  if (v < 0) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what} is ${v}; a norm is ≥ 0`);
  return v;
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
