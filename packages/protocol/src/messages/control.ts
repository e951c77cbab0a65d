import { Packr } from 'msgpackr';
import { ProtocolError } from '../errors.js';
import { allocMessage, Kind, payloadOf, SERVER_RANK } from '../header.js';
import { NONCE_BYTES, PROOF_BYTES } from '../auth.js';

/**
 * Control messages (challenge, hello, assign, report, welcome, error, bye): a msgpack map after the fixed header.
 * Never hand msgpackr a typed array other than a Uint8Array (ARCHITECTURE: msgpackr 2.1.3 corrupts
 * Float32Array silently); control maps hold plain values, and bytes (a nonce, a proof) as msgpack bin.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Largest control payload accepted from a peer (a welcome carries the whole run configuration). */
export const MAX_CONTROL_BYTES = 64 * 1024;

/**
 * Server → client, the first message on every connection (README "Security"): a fresh nonce, and whether
 * the run asks for its secret. Sent whether or not it does, so a client given a secret can refuse a server
 * that asks for none, and every connection opens the same way.
 */
export interface Challenge {
  /** NONCE_BYTES random bytes, for this connection only. */
  nonce: Uint8Array;
  /** Whether the hello must carry a proof of the run's secret (the server was given `--secret-file`). */
  secret: boolean;
}

export interface Hello {
  /** Free-form client identification, e.g. "marina-client/0.1.0 host". */
  client: string;
  /** The rank this client asks for (its own shard file is that rank's), or null: any free rank. */
  rank: number | null;
  /**
   * HMAC-SHA256(secret, proofInput(challenge nonce, client)), PROOF_BYTES long; left out (not nil) when the
   * client has no secret. Checked before a rank is given.
   */
  proof?: Uint8Array;
}

/**
 * The join phase (protocol version 2): hello → Assign (rank and configuration) → Report (the client's shard
 * facts) → Welcome (the run as the server resolved it from all n reports), then rounds.
 */
export interface Assign {
  rank: number;
  clients: number;
  seed: number;
  /** The run configuration; the client validates it with core's config schema. */
  config: Record<string, unknown>;
}

/** How a reported L_i was obtained. */
export type ConstantKindName = 'exact' | 'bound' | 'estimate';

/** What a client's shard gives the theory; the rows never leave the client. */
export interface Report {
  /** m_i: rows of the shard (0 for a generated problem). */
  rows: number;
  features: number;
  /** d of the model the client built. */
  d: number;
  Li: number;
  LiKind: ConstantKindName;
  /** Hex SHA-256 of the shard's parsed rows (64 characters). */
  fingerprint: string;
}

/** The run resolved once by the server: what a client needs beyond the configuration. */
export interface Welcome {
  d: number;
  gamma: number;
  p: number;
  /** Method parameters (DIANA's α, PP-MARINA's r, VR-MARINA's b', EF21's scale), numbers by name. */
  params: Record<string, number>;
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

export const encodeChallenge = (c: Challenge): Uint8Array => encodeControl(Kind.Challenge, SERVER_RANK, { nonce: c.nonce, secret: c.secret });
export const encodeHello = (h: Hello): Uint8Array =>
  encodeControl(Kind.Hello, SERVER_RANK, {
    client: h.client,
    ...(h.rank === null ? {} : { rank: h.rank }),
    // msgpackr writes a Uint8Array as msgpack bin (never hand it another typed array: ARCHITECTURE).
    ...(h.proof === undefined ? {} : { proof: h.proof }),
  });
export const encodeAssign = (a: Assign): Uint8Array =>
  encodeControl(Kind.Assign, SERVER_RANK, { rank: a.rank, clients: a.clients, seed: a.seed, config: a.config });
export const encodeReport = (r: Report, rank: number): Uint8Array =>
  encodeControl(Kind.Report, rank, { rows: r.rows, features: r.features, d: r.d, Li: r.Li, LiKind: r.LiKind, fingerprint: r.fingerprint });
export const encodeWelcome = (w: Welcome): Uint8Array => encodeControl(Kind.Welcome, SERVER_RANK, { d: w.d, gamma: w.gamma, p: w.p, params: { ...w.params } });
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
    // msgpackr's own message may quote the peer's bytes at any length (an invalid RegExp extension quotes the
    // whole pattern): a peer must not choose how long our errors are (found by fuzzing).
    throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${what} body is not valid msgpack: ${clip((e as Error).message, 200)}`);
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

/** A binary field of exactly `bytes` bytes, copied: a decoded bin is a view into the received message. */
function bin(obj: Record<string, unknown>, key: string, what: string, bytes: number): Uint8Array {
  const v = obj[key];
  if (!(v instanceof Uint8Array)) throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${what}.${key} must be binary, got ${v === null ? 'null' : typeof v}`);
  if (v.length !== bytes) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what}.${key} is ${v.length} bytes, ${bytes} expected`);
  return new Uint8Array(v);
}

export function decodeChallenge(payload: Uint8Array): Challenge {
  const m = decodeMap(payload, 'challenge');
  const secret = m['secret'];
  if (typeof secret !== 'boolean') throw new ProtocolError('MARINA_ERR_BAD_FIELD', `challenge.secret must be a boolean, got ${typeof secret}`);
  return { nonce: bin(m, 'nonce', 'challenge', NONCE_BYTES), secret };
}

export function decodeHello(payload: Uint8Array): Hello {
  const m = decodeMap(payload, 'hello');
  const hello: Hello = { client: str(m, 'client', 'hello', 200), rank: m['rank'] === undefined ? null : uint(m, 'rank', 'hello', 0, (1 << 20) - 1) };
  // "No proof" is the key left out; an explicit nil is not accepted in its place (as for the rank).
  if (m['proof'] !== undefined) hello.proof = bin(m, 'proof', 'hello', PROOF_BYTES);
  return hello;
}

export function decodeAssign(payload: Uint8Array): Assign {
  const m = decodeMap(payload, 'assign');
  const config = m['config'];
  if (!isPlainMap(config)) throw new ProtocolError('MARINA_ERR_BAD_FIELD', 'assign.config must be a map');
  const clients = uint(m, 'clients', 'assign', 1, 1 << 20);
  return {
    rank: uint(m, 'rank', 'assign', 0, clients - 1),
    clients,
    seed: uint(m, 'seed', 'assign', 0, 0xffffffff),
    config: { ...config },
  };
}

const HEX64 = /^[0-9a-f]{64}$/;
const CONSTANT_KINDS = new Set(['exact', 'bound', 'estimate']);

export function decodeReport(payload: Uint8Array): Report {
  const m = decodeMap(payload, 'report');
  const fingerprint = str(m, 'fingerprint', 'report', 64);
  if (!HEX64.test(fingerprint)) throw new ProtocolError('MARINA_ERR_BAD_FIELD', 'report.fingerprint must be 64 lowercase hex digits (SHA-256)');
  const LiKind = str(m, 'LiKind', 'report', 20);
  if (!CONSTANT_KINDS.has(LiKind)) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `report.LiKind must be one of exact, bound, estimate; got ${LiKind}`);
  return {
    rows: uint(m, 'rows', 'report', 0, 2 ** 31 - 1),
    features: uint(m, 'features', 'report', 0, 1 << 24),
    d: uint(m, 'd', 'report', 1, 1 << 24),
    Li: finite(m, 'Li', 'report', 0, Number.MAX_VALUE),
    LiKind: LiKind as ConstantKindName,
    fingerprint,
  };
}

export function decodeWelcome(payload: Uint8Array): Welcome {
  const m = decodeMap(payload, 'welcome');
  const params = m['params'];
  if (!isPlainMap(params)) throw new ProtocolError('MARINA_ERR_BAD_FIELD', 'welcome.params must be a map');
  const out: Record<string, number> = {};
  for (const key of Object.keys(params)) {
    if (key.length > 40) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', 'welcome.params has a key longer than 40 characters');
    out[key] = finite(params, key, 'welcome.params', -Number.MAX_VALUE, Number.MAX_VALUE);
  }
  return {
    d: uint(m, 'd', 'welcome', 1, 1 << 24),
    gamma: finite(m, 'gamma', 'welcome', Number.MIN_VALUE, Number.MAX_VALUE),
    p: finite(m, 'p', 'welcome', 0, 1),
    params: out,
  };
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

/** A finite number field in [min, max]. */
function finite(obj: Record<string, unknown>, key: string, what: string, min: number, max: number): number {
  const v = obj[key];
  if (typeof v !== 'number') throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${what}.${key} must be a number, got ${typeof v}`);
  if (!Number.isFinite(v)) throw new ProtocolError('MARINA_ERR_NOT_FINITE', `${what}.${key} must be finite, got ${v}`);
  if (v < min || v > max) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `${what}.${key} must be in [${min}, ${max}], got ${v}`);
  return v;
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

/** `text` cut to `max` characters, marked when cut. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
