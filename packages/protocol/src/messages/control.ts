import { Packr } from 'msgpackr';
import { ProtocolError } from '../errors.js';
import { allocMessage, Kind, payloadOf, SERVER_RANK } from '../header.js';

/**
 * Control messages (hello, welcome, error, bye): a msgpack map after the fixed header. Never hand msgpackr a
 * typed array (ARCHITECTURE: msgpackr 2.1.3 corrupts Float32Array silently); control maps hold plain values.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Largest control payload accepted from a peer (a welcome carries the whole run configuration). */
export const MAX_CONTROL_BYTES = 64 * 1024;

export interface Hello {
  /** Free-form client identification, e.g. "marina-client/0.1.0 host". */
  client: string;
}

export interface Welcome {
  rank: number;
  clients: number;
  seed: number;
  /** The resolved run configuration; the client validates it with core's config schema. */
  config: Record<string, unknown>;
}

export interface ErrorMessage {
  code: string;
  message: string;
}

export interface Bye {
  reason: 'done' | 'aborted' | 'shutdown';
  message: string;
}

function encodeControl(kind: number, rank: number, body: object): Uint8Array {
  const bytes = packr.pack(body);
  const msg = allocMessage({ kind, flags: 0, round: 0, rank, aux: 0, payloadBits: bytes.length * 8 });
  payloadOf(msg).set(bytes);
  return msg;
}

export const encodeHello = (h: Hello): Uint8Array => encodeControl(Kind.Hello, SERVER_RANK, { client: h.client });
export const encodeWelcome = (w: Welcome): Uint8Array =>
  encodeControl(Kind.Welcome, SERVER_RANK, { rank: w.rank, clients: w.clients, seed: w.seed, config: w.config });
export const encodeError = (e: ErrorMessage, rank = SERVER_RANK): Uint8Array =>
  encodeControl(Kind.Error, rank, { code: e.code, message: e.message });
export const encodeBye = (b: Bye): Uint8Array => encodeControl(Kind.Bye, SERVER_RANK, { reason: b.reason, message: b.message });

/**
 * Decodes a control payload into a plain object, refusing anything that is not exactly one msgpack map:
 * a body that ends inside its value is truncated, bytes after the map are trailing (STYLE lesson 4), and a
 * value that decodes to anything but a plain object (an array, binary, a timestamp, msgpackr's 0xc1) is no map.
 */
function decodeMap(payload: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = packr.unpack(payload);
  } catch (e) {
    // msgpackr flags running out of bytes as `incomplete`; extra bytes have no flag, only this message
    // (msgpackr 2.1.3 unpack.js), whose tail echoes the decoded value and so is not passed on to the peer.
    if ((e as { incomplete?: boolean }).incomplete) throw new ProtocolError('MARINA_ERR_TRUNCATED', `${what} body ends inside its msgpack value`);
    if ((e as Error).message.startsWith('Data read, but end of buffer not reached')) {
      throw new ProtocolError('MARINA_ERR_TRAILING_BYTES', `${what} body has bytes after its msgpack map`);
    }
    throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${what} body is not valid msgpack: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${what} body must be a msgpack map`);
  }
  return value as Record<string, unknown>;
}

function str(obj: Record<string, unknown>, key: string, what: string, maxLength: number): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${what}.${key} must be a string, got ${typeof v}`);
  if (v.length > maxLength) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what}.${key} is ${v.length} characters, at most ${maxLength} allowed`);
  return v;
}

/** An integer field in [min, max]: a wrong type is a bad field, a number outside the range is out of range. */
function uint(obj: Record<string, unknown>, key: string, what: string, min: number, max: number): number {
  const v = obj[key];
  if (typeof v !== 'number') throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${what}.${key} must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what}.${key} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

export function decodeHello(payload: Uint8Array): Hello {
  const m = decodeMap(payload, 'hello');
  return { client: str(m, 'client', 'hello', 200) };
}

export function decodeWelcome(payload: Uint8Array): Welcome {
  const m = decodeMap(payload, 'welcome');
  const config = m['config'];
  if (config === null || typeof config !== 'object' || Object.getPrototypeOf(config) !== Object.prototype) {
    throw new ProtocolError('MARINA_ERR_BAD_FIELD', 'welcome.config must be a map');
  }
  const clients = uint(m, 'clients', 'welcome', 1, 1 << 20);
  return {
    rank: uint(m, 'rank', 'welcome', 0, clients - 1),
    clients,
    seed: uint(m, 'seed', 'welcome', 0, 0xffffffff),
    config: { ...(config as Record<string, unknown>) },
  };
}

export function decodeError(payload: Uint8Array): ErrorMessage {
  const m = decodeMap(payload, 'error');
  return { code: str(m, 'code', 'error', 100), message: str(m, 'message', 'error', 4000) };
}

const BYE_REASONS = new Set(['done', 'aborted', 'shutdown']);
export function decodeBye(payload: Uint8Array): Bye {
  const m = decodeMap(payload, 'bye');
  const reason = str(m, 'reason', 'bye', 20);
  if (!BYE_REASONS.has(reason)) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `bye.reason must be one of done, aborted, shutdown; got ${reason}`);
  return { reason: reason as Bye['reason'], message: str(m, 'message', 'bye', 4000) };
}
