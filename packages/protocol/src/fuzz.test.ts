import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  type Assign, type Bye, type Challenge, decodeAssign, decodeBye, decodeChallenge, decodeError, decodeEval, decodeHello, decodeReport, decodeRoundStart, decodeScalar, decodeState, decodeWelcome, encodeAssign,
  encodeBye, encodeChallenge, encodeError, encodeEval, encodeHello, encodeReport, encodeRoundStart, encodeScalar, encodeState, encodeWelcome, type ErrorMessage, Flag, type Header, HEADER_BYTES,
  type Hello, isProtocolError, isRoundKind, Kind, MAX_CONTROL_BYTES, payloadOf, PROTOCOL_VERSION, ProtocolErrors, readHeader, readRoundHeader, type Report, type RoundHeader, roundHeaderBytes,
  SERVER_RANK, UPLINK_HEADER_BYTES, type Welcome, writeHeader, writeRoundHeader,
} from '@marina/protocol';
import { applyEdits, concatBytes, toHex, type ByteEdit } from '@marina/protocol/testing';

/**
 * Property-based tests (fast-check) of every decoder of untrusted bytes (STYLE lessons 3–5): both headers (the
 * control messages' 24 bytes, the round messages' compact one), the control bodies and the hot messages (the Update payload is fuzzed per compressor in core's
 * compressors/fuzz.test.ts). For random frames and for mutations of valid messages of every kind, each
 * decoder returns a valid value or throws a ProtocolError with a registry code — never another error, never
 * an allocation driven by a length field — reads nothing outside the view it is given, and leaves msgpackr's
 * module state clean for the next message. Valid values round-trip through encode → decode. Fixed seeds keep
 * CI deterministic; a failure prints the seed, path and counterexample to replay.
 */

const SEED = 42;
function run<Ts>(property: fc.IRawProperty<Ts>, numRuns: number): void {
  fc.assert(property, { seed: SEED, numRuns });
}

// ---------------------------------------------------------------------------------------------------------
// Outcomes: a valid value, or a typed error from the registry.

/** What a decoder did: returned (with the value's canonical JSON) or threw a registry ProtocolError. */
type Outcome = { ok: true; value: string } | { ok: false; code: string };

/** Runs `fn`; any throw but a ProtocolError with a registered code and close code fails the property. */
function outcome(fn: () => unknown): Outcome {
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    if (e instanceof Error && e.name === 'AssertionError') throw e; // a decoded value failed its validity check
    expectTyped(e);
    return { ok: false, code: e.code };
  }
  return { ok: true, value: canonical(value) };
}

/** Longest error message a peer accepts back: the server echoes `message` in an Error message (decodeError's limit). */
const MAX_ERROR_MESSAGE = 4000;

function expectTyped(e: unknown): asserts e is { code: keyof typeof ProtocolErrors; closeCode: number; message: string } {
  if (!isProtocolError(e)) throw new Error(`a decoder threw something other than a ProtocolError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  if (!Object.hasOwn(ProtocolErrors, e.code)) throw new Error(`ProtocolError code ${e.code} is not in the registry`);
  if (e.closeCode !== ProtocolErrors[e.code]) throw new Error(`${e.code} carries close code ${e.closeCode}, expected ${ProtocolErrors[e.code]}`);
  if (typeof e.message !== 'string' || e.message.length === 0) throw new Error(`${e.code} has an empty message`);
  if (e.message.length > MAX_ERROR_MESSAGE) throw new Error(`${e.code} message is ${e.message.length} characters (> ${MAX_ERROR_MESSAGE}): "${e.message.slice(0, 120)}…"`);
}

/** JSON with typed arrays as plain arrays and numbers by their bits, so −0 and NaN compare exactly. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'number') return Object.is(x, -0) ? '-0' : Number.isFinite(x) ? x : String(x);
    if (typeof x === 'bigint') return `${x}n`;
    if (ArrayBuffer.isView(x)) return Array.from(x as Float64Array, (y) => (Object.is(y, -0) ? '-0' : y));
    return x;
  });
}

// ---------------------------------------------------------------------------------------------------------
// What a valid decoded value is: exactly the decoder's documented constraints.

const isU32 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
const isInt = (x: unknown, min: number, max: number): boolean => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
const isIn = (x: unknown, min: number, max: number): boolean => typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max;
const isStr = (x: unknown, max: number): boolean => typeof x === 'string' && x.length <= max;
const isPlain = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;
const KNOWN_FLAGS = Object.values(Flag).reduce((a, b) => a | b, 0);
const KINDS = Object.values(Kind) as number[];
const CONTROL_KINDS = KINDS.filter((k) => !isRoundKind(k));
const ROUND_KINDS = KINDS.filter(isRoundKind);
/** The flags each round kind may set (readRoundHeader refuses the others). */
const ROUND_FLAGS: Record<number, number> = { [Kind.RoundStart]: Flag.Coin | Flag.Participate | Flag.Evaluate | Flag.Previous, [Kind.Update]: Flag.Compressed };
const isUplink = (kind: number): boolean => roundHeaderBytes(kind) === UPLINK_HEADER_BYTES;

function validHeader(h: Header, msg: Uint8Array, limit: number): void {
  expect(h.version).toBe(PROTOCOL_VERSION);
  expect(CONTROL_KINDS).toContain(h.kind);
  expect(h.flags & ~KNOWN_FLAGS).toBe(0);
  expect([h.round, h.rank, h.aux].every(isU32)).toBe(true);
  expect(Number.isSafeInteger(h.payloadBits) && h.payloadBits >= 0).toBe(true);
  expect(Math.ceil(h.payloadBits / 8)).toBeLessThanOrEqual(limit);
  expect(msg.byteLength).toBe(HEADER_BYTES + Math.ceil(h.payloadBits / 8));
}

/** A compact header's documented constraints: a round kind, its own flags, the round's width, the length the message has. */
function validRoundHeader(h: RoundHeader, msg: Uint8Array, limit: number): void {
  expect(ROUND_KINDS).toContain(h.kind);
  expect(h.flags & ~(ROUND_FLAGS[h.kind] ?? 0)).toBe(0);
  expect(isU32(h.round) && (!isUplink(h.kind) || h.round <= 0xffff)).toBe(true);
  expect(h.payloadBytes).toBeLessThanOrEqual(limit);
  expect(msg.byteLength).toBe(roundHeaderBytes(h.kind) + h.payloadBytes);
}

const isBytes = (x: unknown, n: number): boolean => x instanceof Uint8Array && Object.getPrototypeOf(x) === Uint8Array.prototype && x.length === n;

const valid = {
  challenge: (v: Challenge) => expect(isBytes(v.nonce, 32) && typeof v.secret === 'boolean').toBe(true),
  hello: (v: Hello) => expect(isStr(v.client, 200) && (v.rank === null || isInt(v.rank, 0, 2 ** 20 - 1)) && (v.proof === undefined || isBytes(v.proof, 32))).toBe(true),
  assign: (v: Assign) => expect(isInt(v.clients, 1, 2 ** 20) && isInt(v.rank, 0, v.clients - 1) && isInt(v.seed, 0, 0xffffffff) && isPlain(v.config)).toBe(true),
  report: (v: Report) =>
    expect(
      isInt(v.rows, 0, 2 ** 31 - 1) && isInt(v.features, 0, 2 ** 24) && isInt(v.d, 1, 2 ** 24) && isIn(v.Li, 0, Number.MAX_VALUE) &&
        ['exact', 'bound', 'estimate'].includes(v.LiKind) && /^[0-9a-f]{64}$/.test(v.fingerprint),
    ).toBe(true),
  welcome: (v: Welcome) =>
    expect(
      isInt(v.d, 1, 2 ** 24) && isIn(v.gamma, Number.MIN_VALUE, Number.MAX_VALUE) && isIn(v.p, 0, 1) && isPlain(v.params) &&
        Object.entries(v.params).every(([k, x]) => k.length <= 40 && isIn(x, -Number.MAX_VALUE, Number.MAX_VALUE)),
    ).toBe(true),
  error: (v: ErrorMessage) => expect(isStr(v.code, 100) && isStr(v.message, 4000)).toBe(true),
  bye: (v: Bye) => expect(['done', 'aborted', 'shutdown'].includes(v.reason) && isStr(v.message, 4000)).toBe(true),
};

interface ControlCase {
  name: keyof typeof valid;
  kind: number;
  decode: (payload: Uint8Array) => unknown;
}

const CONTROL: ControlCase[] = [
  { name: 'challenge', kind: Kind.Challenge, decode: (p) => checked(decodeChallenge(p), valid.challenge) },
  { name: 'hello', kind: Kind.Hello, decode: (p) => checked(decodeHello(p), valid.hello) },
  { name: 'assign', kind: Kind.Assign, decode: (p) => checked(decodeAssign(p), valid.assign) },
  { name: 'report', kind: Kind.Report, decode: (p) => checked(decodeReport(p), valid.report) },
  { name: 'welcome', kind: Kind.Welcome, decode: (p) => checked(decodeWelcome(p), valid.welcome) },
  { name: 'error', kind: Kind.Error, decode: (p) => checked(decodeError(p), valid.error) },
  { name: 'bye', kind: Kind.Bye, decode: (p) => checked(decodeBye(p), valid.bye) },
];
const CONTROL_BY_KIND = new Map(CONTROL.map((c) => [c.kind, c]));

function checked<T>(v: T, check: (v: T) => void): T {
  check(v);
  return v;
}

/**
 * The receiving side of every kind, as the client and server dispatch: a round kind in byte 0 goes to
 * readRoundHeader and the kind's decoder with the run's dimension `d` (RoundStart, Eval, State), anything else to
 * readHeader and a control decoder. An Update's payload is returned as is; its decoders are the compressors'.
 */
function receive(msg: Uint8Array, d: number, limit: number): unknown {
  if (msg.length > 0 && isRoundKind(msg[0]!)) return receiveRound(msg, d, limit);
  const h = readHeader(msg, limit);
  validHeader(h, msg, limit);
  const control = CONTROL_BY_KIND.get(h.kind);
  if (control) return { h, v: control.decode(payloadOf(msg)) };
  throw new Error(`readHeader accepted kind ${h.kind}, which receive() does not know`);
}

function receiveRound(msg: Uint8Array, d: number, limit: number): unknown {
  const h = readRoundHeader(msg, limit);
  validRoundHeader(h, msg, limit);
  switch (h.kind) {
    case Kind.RoundStart: {
      const x = new Float64Array(d);
      const xPrev = new Float64Array(d);
      const flags = decodeRoundStart(h, msg, x, xPrev);
      const previous = (h.flags & Flag.Previous) !== 0;
      expect(flags).toEqual({ coin: (h.flags & Flag.Coin) !== 0, participate: (h.flags & Flag.Participate) !== 0, evaluate: (h.flags & Flag.Evaluate) !== 0, previous });
      expect(h.payloadBytes).toBe(8 * d * (previous ? 2 : 1));
      expect(x.every(Number.isFinite) && (!previous || xPrev.every(Number.isFinite))).toBe(true);
      return { h, flags, x, xPrev: previous ? xPrev : null };
    }
    case Kind.Eval: {
      const grad = new Float64Array(d);
      const loss = decodeEval(h, msg, grad);
      expect(Number.isFinite(loss) && grad.every(Number.isFinite) && h.payloadBytes === 8 * (d + 1)).toBe(true);
      return { h, loss, grad };
    }
    case Kind.State: {
      const state = new Float64Array(d);
      decodeState(h, msg, state);
      expect(h.payloadBytes === 8 * d && state.every(Number.isFinite)).toBe(true);
      return { h, state };
    }
    case Kind.Norm:
    case Kind.Range: {
      const v = decodeScalar(h, msg);
      expect(Number.isFinite(v) && v >= 0 && Math.fround(v) === v && h.payloadBytes === 4).toBe(true);
      return { h, v };
    }
    case Kind.Update:
      return { h, payload: msg.subarray(UPLINK_HEADER_BYTES) };
  }
  throw new Error(`readRoundHeader accepted kind ${h.kind}, which receive() does not know`);
}

/** The limit a receiver passes to readHeader: the control limit, or the largest hot payload of dimension d. */
const limitFor = (d: number): number => Math.max(MAX_CONTROL_BYTES, 16 * d + 8);

/**
 * `decode(bytes)` is a valid value or a registry error, and the same when the bytes sit at an odd offset
 * inside a larger buffer full of other bytes (ws hands messages at any offset; nothing outside the view may
 * be read).
 */
function expectSameAnywhere(bytes: Uint8Array, place: Placement, decode: (b: Uint8Array) => unknown): Outcome {
  try {
    const tight = outcome(() => decode(bytes.slice()));
    const big = new Uint8Array(place.before + bytes.length + place.after.length + place.before);
    big.fill(place.fill);
    big.set(bytes, place.before);
    big.set(place.after, place.before + bytes.length);
    const embedded = outcome(() => decode(big.subarray(place.before, place.before + bytes.length)));
    expect(embedded).toEqual(tight);
    return tight;
  } catch (e) {
    // The bytes are derived from the counterexample (mutations), so name them: the finding's input as hex.
    if (e instanceof Error) e.message = `input ${toHex(bytes)}: ${e.message}`;
    throw e;
  }
}

interface Placement {
  before: number;
  fill: number;
  after: Uint8Array;
}
const placement: fc.Arbitrary<Placement> = fc.record({ before: fc.integer({ min: 0, max: 9 }), fill: fc.integer({ min: 0, max: 255 }), after: fc.uint8Array({ maxLength: 16 }) });

// ---------------------------------------------------------------------------------------------------------
// Arbitraries of valid values (every field over its whole documented range).

/**
 * Well-formed strings of at most `max` UTF-16 code units, from any code points (astral ones included).
 * Lone surrogates are left to their own property below: msgpack strings are UTF-8, which cannot carry them.
 */
const text = (max: number): fc.Arbitrary<string> =>
  fc.oneof(fc.string({ unit: 'binary', maxLength: max }), fc.string({ unit: 'binary-ascii', minLength: max - 2, maxLength: max })).map((s) => fit(wellFormed(s), max));

/** Replaces lone surrogates by U+FFFD (String.prototype.toWellFormed, ES2024). */
const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** Drops whole code points from the end until at most `max` code units remain. */
function fit(s: string, max: number): string {
  let out = '';
  for (const cp of s) {
    if (out.length + cp.length > max) break;
    out += cp;
  }
  return out;
}

/**
 * Map keys as a peer would write them. "__proto__" is excluded on purpose: the decoder renames it (msgpackr
 * reads it as "__proto_", so no key can set a prototype; control.test.ts checks that), so it cannot round-trip.
 */
const key = (max: number): fc.Arbitrary<string> => text(max).filter((k) => k !== '__proto__');

/**
 * Numbers as msgpack carries them. −0 is left to its own property below: msgpackr writes an integral double
 * as a msgpack integer, which has no negative zero.
 */
const num = (min = -Number.MAX_VALUE, max = Number.MAX_VALUE): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x));

const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    num(),
    fc.integer(),
    text(30),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(key(12), tie('v'), { maxKeys: 4 }),
  ),
})).v;

const HEX = '0123456789abcdef';
const arb = {
  challenge: fc.record({ nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }), secret: fc.boolean() }) as fc.Arbitrary<Challenge>,
  hello: fc.record(
    { client: text(200), rank: fc.option(fc.integer({ min: 0, max: 2 ** 20 - 1 }), { nil: null }), proof: fc.uint8Array({ minLength: 32, maxLength: 32 }) },
    { requiredKeys: ['client', 'rank'] },
  ) as fc.Arbitrary<Hello>,
  assign: fc
    .integer({ min: 1, max: 2 ** 20 })
    .chain((clients) =>
      fc.record({ rank: fc.integer({ min: 0, max: clients - 1 }), clients: fc.constant(clients), seed: fc.integer({ min: 0, max: 0xffffffff }), config: fc.dictionary(key(30), jsonish, { maxKeys: 8 }) }),
    ) as fc.Arbitrary<Assign>,
  report: fc.record({
    rows: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    features: fc.integer({ min: 0, max: 2 ** 24 }),
    d: fc.integer({ min: 1, max: 2 ** 24 }),
    Li: num(0),
    LiKind: fc.constantFrom('exact', 'bound', 'estimate'),
    fingerprint: fc.array(fc.constantFrom(...HEX), { minLength: 64, maxLength: 64 }).map((a) => a.join('')),
  }) as fc.Arbitrary<Report>,
  welcome: fc.record({ d: fc.integer({ min: 1, max: 2 ** 24 }), gamma: num(Number.MIN_VALUE), p: num(0, 1), params: fc.dictionary(key(40), num(), { maxKeys: 8 }) }) as fc.Arbitrary<Welcome>,
  error: fc.record({ code: text(100), message: text(4000) }) as fc.Arbitrary<ErrorMessage>,
  bye: fc.record({ reason: fc.constantFrom('done', 'aborted', 'shutdown'), message: text(4000) }) as fc.Arbitrary<Bye>,
};
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** A valid control message of one kind with its value: what `encode` wrote, what `decode` must give back. */
const controlMessages = {
  challenge: arb.challenge.map((v) => ({ v, msg: encodeChallenge(v), rank: SERVER_RANK })),
  hello: arb.hello.map((v) => ({ v, msg: encodeHello(v), rank: SERVER_RANK })),
  assign: arb.assign.map((v) => ({ v, msg: encodeAssign(v), rank: SERVER_RANK })),
  report: fc.tuple(arb.report, u32).map(([v, rank]) => ({ v, msg: encodeReport(v, rank), rank })),
  welcome: arb.welcome.map((v) => ({ v, msg: encodeWelcome(v), rank: SERVER_RANK })),
  error: fc.tuple(arb.error, u32).map(([v, rank]) => ({ v, msg: encodeError(v, rank), rank })),
  bye: arb.bye.map((v) => ({ v, msg: encodeBye(v), rank: SERVER_RANK })),
};

const finiteVector = (d: number): fc.Arbitrary<Float64Array> => fc.float64Array({ noNaN: true, noDefaultInfinity: true, minLength: d, maxLength: d });
const dim = fc.integer({ min: 0, max: 12 });

/** A valid hot message with the run dimension d it was built for. */
const hotMessages = {
  roundStart: dim.chain((d) =>
    fc.record({ d: fc.constant(d), round: u32, flags: fc.record({ coin: fc.boolean(), participate: fc.boolean(), evaluate: fc.boolean() }), x: finiteVector(d), xPrev: fc.option(finiteVector(d), { nil: null }) }),
  ).map((r) => ({ ...r, msg: encodeRoundStart(r.round, r.flags, r.x, r.xPrev) })),
  eval: dim.chain((d) => fc.record({ d: fc.constant(d), round: u32, loss: fc.double({ noNaN: true, noDefaultInfinity: true }), grad: finiteVector(d) })).map((r) => ({ ...r, msg: encodeEval(r.round, r.loss, r.grad) })),
  state: dim.chain((d) => fc.record({ d: fc.constant(d), round: u32, state: finiteVector(d) })).map((r) => ({ ...r, msg: encodeState(r.round, r.state) })),
  scalar: fc
    .record({ kind: fc.constantFrom(Kind.Norm, Kind.Range), round: u32, value: fc.float({ min: 0, noNaN: true, noDefaultInfinity: true }), d: dim })
    .map((r) => ({ ...r, msg: encodeScalar(r.kind, r.round, r.value) })),
};

/** Any valid message of any kind with the d to receive it with. */
const anyMessage: fc.Arbitrary<{ d: number; msg: Uint8Array }> = fc.oneof(
  ...Object.values(controlMessages).map((a) => a.map(({ msg }) => ({ d: 1, msg }))),
  ...Object.values(hotMessages).map((a) => a.map(({ d, msg }) => ({ d, msg }))),
);

/** The fields each control body has (a structured body draws from these, plus strangers). */
const FIELDS: Record<keyof typeof valid, string[]> = {
  challenge: ['nonce', 'secret'],
  hello: ['client', 'rank', 'proof'],
  assign: ['rank', 'clients', 'seed', 'config'],
  report: ['rows', 'features', 'd', 'Li', 'LiKind', 'fingerprint'],
  welcome: ['d', 'gamma', 'p', 'params'],
  error: ['code', 'message'],
  bye: ['reason', 'message'],
};

/** A peer's msgpack encoder: the same options as ours, so maps of any values (Date, Set, RegExp, …) pack. */
const peerPackr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/** Values of every type a peer could put in a field: edge numbers, bigints, binary, ext types, containers. */
const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, undefined, true, false, NaN, Infinity, -Infinity, -0, 0, -1, 0.5, 1, 1.5, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 20 - 1, 2 ** 20, 2 ** 24, 2 ** 24 + 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53)),
    fc.double(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.constantFrom('', 'done', 'aborted', 'shutdown', 'exact', 'bound', 'estimate', '0123456789abcdef'.repeat(4), 'ABCDEF'.repeat(11), '__proto__', 'constructor'),
    text(20),
    fc.string({ unit: 'binary-ascii', minLength: 190, maxLength: 4100 }),
    fc.uint8Array({ maxLength: 8 }),
    fc.date({ noInvalidDate: false }),
    fc.constantFrom(/a+/g, new Error('e'), new RangeError('r'), new Set([1, 'a']), new Map<unknown, unknown>([['k', 1], [2, 3]])),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(key(12), fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf')), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A map holding some of `fields` (each with any value) and maybe a stranger; sometimes every field. */
const fieldMap = (fields: string[]): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(fc.subarray(fields), fc.dictionary(key(8), anyValue, { maxKeys: 2 }), fc.array(anyValue, { minLength: fields.length, maxLength: fields.length }))
    .map(([chosen, extra, values]) => {
      const m: Record<string, unknown> = { ...extra };
      chosen.forEach((f) => (m[f] = values[fields.indexOf(f)]));
      return m;
    });

// ---------------------------------------------------------------------------------------------------------
// Mutations of valid messages: flip a bit, set a byte, truncate, extend, insert, delete, splice in a piece
// of another valid message; optionally rewrite the header's length to the new size, so that the mutated
// body gets past readHeader to its decoder.

type Mutation = ByteEdit;

const at = fc.nat();
const someBytes = fc.uint8Array({ minLength: 1, maxLength: 24 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at, value: fc.constantFrom(0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xcf, 0xd4, 0xdc, 0xdd, 0xde, 0xdf, 0xff).chain((b) => fc.oneof(fc.constant(b), fc.integer({ min: 0, max: 255 }))) }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({ op: fc.constant('extend' as const), bytes: someBytes }),
  fc.record({ op: fc.constant('insert' as const), at, bytes: someBytes }),
  fc.record({ op: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('splice' as const), at, donor: anyMessage.map((m) => m.msg), from: at, count: fc.integer({ min: 1, max: 32 }) }),
);
const mutations = fc.record({ edits: fc.array(mutation, { minLength: 1, maxLength: 4 }), refit: fc.boolean() });

function mutate(bytes: Uint8Array, edits: Mutation[], refit: boolean, headerBytes: number): Uint8Array {
  const b = applyEdits(bytes, edits);
  // Keep the length field honest (a frame that reaches its body decoder) when asked and the header survives.
  // A round message's compact header has no length field: its length is the message's own.
  if (refit && headerBytes > 0 && b.length >= headerBytes && !isRoundKind(b[0]!)) {
    const v = new DataView(b.buffer, b.byteOffset, HEADER_BYTES);
    v.setUint32(16, 8 * (b.length - HEADER_BYTES), true);
    v.setUint32(20, 0, true);
  }
  return b;
}

const concat = concatBytes;

// ---------------------------------------------------------------------------------------------------------
// Allocation: heap and array-buffer growth over one call, and its time.

/**
 * The process's collector: `global.gc` under --expose-gc, else the flag set at run time and the function taken
 * from a fresh context (what Jest's --detectLeaks does), else null (the bound is then a generous one).
 */
function findGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}
const gc = findGc();
const MB = 1024 * 1024;
const HEAP_BOUND = gc ? 50 * MB : 200 * MB;
/**
 * Generous, for a loaded CI machine (calls here take well under 10 ms; 500 ms was seen under 10× load); the
 * heap bound is the sharp check. An allocation driven by a 2^31 or 2^53 length field takes seconds or fails.
 */
const TIME_BOUND_MS = 2000;

/**
 * `fn`'s outcome, after checking it took under TIME_BOUND_MS and that heap plus array buffers grew by less
 * than HEAP_BOUND over the call. A full collection every 16 calls keeps the baseline clean at a fraction of
 * the cost of one per call; an allocation of the bound's size is still live (uncollected) when measured.
 */
let boundedCalls = 0;
function expectBounded(fn: () => unknown): Outcome {
  if (boundedCalls++ % 16 === 0) gc?.();
  const before = process.memoryUsage();
  let value: unknown;
  const t0 = performance.now();
  const result = outcome(() => void (value = fn()));
  const ms = performance.now() - t0;
  const after = process.memoryUsage();
  const grew = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  expect(grew, `heap grew by ${(grew / MB).toFixed(1)} MB`).toBeLessThan(HEAP_BOUND);
  expect(ms, `took ${ms.toFixed(0)} ms`).toBeLessThan(TIME_BOUND_MS);
  return result.ok ? { ok: true, value: canonical(value) } : result;
}

/** A 24-byte header with the given fields (payloadBits may be any u64, as two words). */
function rawHeader(kind: number, flags: number, lo: number, hi: number, aux = 0): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint8(0, kind);
  v.setUint8(1, PROTOCOL_VERSION);
  v.setUint16(2, flags, true);
  v.setUint32(12, aux, true);
  v.setUint32(16, lo, true);
  v.setUint32(20, hi, true);
  return b;
}

/** The msgpack string (fixstr, str8, str16, str32) of a text. */
function mpStr(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  if (b.length < 32) return concat(Uint8Array.of(0xa0 + b.length), b);
  if (b.length < 256) return concat(Uint8Array.of(0xd9, b.length), b);
  if (b.length < 65536) return concat(Uint8Array.of(0xda, b.length >> 8, b.length & 0xff), b);
  return concat(Uint8Array.of(0xdb, b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff), b);
}

// =========================================================================================================

describe('fuzz: readHeader', () => {
  it('random bytes: a valid header or a registry error', () => {
    run(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 64 }), placement, (bytes, limit, place) => {
        expectSameAnywhere(bytes, place, (b) => validHeader(readHeader(b, limit), b, limit));
      }),
      3000,
    );
  });

  it('random header-shaped frames (valid version and kind most of the time): a valid header or a registry error', () => {
    const frame = fc
      .record({
        kind: fc.oneof(fc.constantFrom(...KINDS), fc.integer({ min: 0, max: 255 })),
        version: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.integer({ min: 0, max: 255 })),
        flags: fc.oneof(fc.integer({ min: 0, max: KNOWN_FLAGS }), fc.integer({ min: 0, max: 0xffff })),
        round: u32,
        rank: u32,
        aux: u32,
        bits: fc.oneof(fc.bigInt({ min: 0n, max: 256n }), fc.constant(2n ** 53n - 1n), fc.constant(2n ** 53n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
        slack: fc.integer({ min: -3, max: 3 }),
      })
      .map((f) => {
        const body = Number(f.bits / 8n > 40n ? 40n : (f.bits + 7n) / 8n);
        const msg = new Uint8Array(Math.max(HEADER_BYTES, HEADER_BYTES + body + f.slack));
        const v = new DataView(msg.buffer);
        v.setUint8(0, f.kind);
        v.setUint8(1, f.version);
        v.setUint16(2, f.flags, true);
        v.setUint32(4, f.round, true);
        v.setUint32(8, f.rank, true);
        v.setUint32(12, f.aux, true);
        v.setBigUint64(16, f.bits, true);
        return msg;
      });
    run(
      fc.property(frame, fc.constantFrom(0, 5, 40, MAX_CONTROL_BYTES, Number.MAX_SAFE_INTEGER), placement, (msg, limit, place) => {
        expectSameAnywhere(msg, place, (b) => validHeader(readHeader(b, limit), b, limit));
      }),
      3000,
    );
  });

  it('round-trips every valid header (writeHeader → readHeader), payload of exactly ceil(bits/8) bytes', () => {
    const header = fc.record({
      kind: fc.constantFrom(...CONTROL_KINDS),
      version: fc.constant(PROTOCOL_VERSION),
      flags: fc.integer({ min: 0, max: KNOWN_FLAGS }),
      round: u32,
      rank: u32,
      aux: u32,
      payloadBits: fc.integer({ min: 0, max: 8 * 64 }),
    });
    run(
      fc.property(header, placement, (h, place) => {
        const msg = new Uint8Array(HEADER_BYTES + Math.ceil(h.payloadBits / 8));
        writeHeader(msg, h);
        const got = expectSameAnywhere(msg, place, (b) => readHeader(b, 64));
        expect(got).toEqual({ ok: true, value: canonical(h) });
      }),
      1000,
    );
  });

  it('a header declaring up to 2^64 − 1 payload bits fails at once, allocating nothing, whatever the limit', () => {
    const declared = fc.oneof(
      fc.constant([0xffffffff, 0x1fffff] as const), // 2^53 − 1 bits
      fc.constant([0xffffffff, 0xffffffff] as const), // 2^64 − 1 bits
      fc.tuple(u32, fc.integer({ min: 0, max: 0x1fffff })),
      fc.tuple(u32, u32),
    );
    run(
      fc.property(fc.constantFrom(...CONTROL_KINDS), declared, fc.constantFrom(0, MAX_CONTROL_BYTES, 2 ** 31, 2 ** 50, Number.MAX_SAFE_INTEGER, Infinity), fc.uint8Array({ maxLength: 32 }), (kind, [lo, hi], limit, tail) => {
        const msg = concat(rawHeader(kind, 0, lo, hi), tail);
        const r = expectBounded(() => readHeader(msg, limit));
        if (!r.ok) expect(['MARINA_ERR_TOO_LARGE', 'MARINA_ERR_TRUNCATED', 'MARINA_ERR_TRAILING_BYTES']).toContain(r.code);
      }),
      120,
    );
  });

  it('a round message is refused (MARINA_ERR_UNEXPECTED, or a bad version first) whatever follows its kind byte', () => {
    run(
      fc.property(fc.constantFrom(...ROUND_KINDS), fc.uint8Array({ maxLength: 40 }), fc.boolean(), placement, (kind, tail, v, place) => {
        const msg = concat(Uint8Array.of(kind), v ? Uint8Array.of(PROTOCOL_VERSION) : new Uint8Array(0), tail);
        const r = expectSameAnywhere(msg, place, (b) => readHeader(b, MAX_CONTROL_BYTES));
        expect(r.ok).toBe(false);
        if (msg.length >= 2 && msg[1] === PROTOCOL_VERSION) expect(r).toEqual({ ok: false, code: 'MARINA_ERR_UNEXPECTED' });
      }),
      1000,
    );
  });
});

describe('fuzz: readRoundHeader (the compact header of round messages)', () => {
  it('random bytes: a valid compact header or a registry error', () => {
    run(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.integer({ min: 0, max: 48 }), placement, (bytes, limit, place) => {
        expectSameAnywhere(bytes, place, (b) => validRoundHeader(readRoundHeader(b, limit), b, limit));
      }),
      3000,
    );
  });

  it('random header-shaped frames (valid version and a round kind most of the time): a valid header or a registry error', () => {
    const frame = fc
      .record({
        kind: fc.oneof(fc.constantFrom(...ROUND_KINDS), fc.integer({ min: 0, max: 255 })),
        version: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.integer({ min: 0, max: 255 })),
        flags: fc.oneof(fc.integer({ min: 0, max: KNOWN_FLAGS }), fc.integer({ min: 0, max: 255 })),
        round: u32,
        body: fc.uint8Array({ maxLength: 40 }),
      })
      .map((f) => {
        const head = new Uint8Array(7);
        head.set([f.kind, f.version, f.flags, f.round & 0xff, (f.round >>> 8) & 0xff, (f.round >>> 16) & 0xff, f.round >>> 24]);
        return concat(head.subarray(0, isRoundKind(f.kind) ? roundHeaderBytes(f.kind) : 7), f.body);
      });
    run(
      fc.property(frame, fc.constantFrom(0, 4, 16, 40, Number.MAX_SAFE_INTEGER), placement, (msg, limit, place) => {
        expectSameAnywhere(msg, place, (b) => validRoundHeader(readRoundHeader(b, limit), b, limit));
      }),
      3000,
    );
  });

  it('round-trips every valid compact header (writeRoundHeader → readRoundHeader); uplink kinds keep the round mod 2^16', () => {
    const header = fc.constantFrom(...ROUND_KINDS).chain((kind) =>
      fc.record({ kind: fc.constant(kind), flags: fc.integer({ min: 0, max: ROUND_FLAGS[kind] ?? 0 }).map((f) => f & (ROUND_FLAGS[kind] ?? 0)), round: u32, payloadBytes: fc.integer({ min: 0, max: 64 }) }),
    );
    run(
      fc.property(header, placement, (h, place) => {
        const msg = new Uint8Array(roundHeaderBytes(h.kind) + h.payloadBytes);
        writeRoundHeader(msg, h.kind, h.flags, h.round);
        const got = expectSameAnywhere(msg, place, (b) => readRoundHeader(b, 64));
        expect(got).toEqual({ ok: true, value: canonical({ ...h, round: isUplink(h.kind) ? h.round & 0xffff : h.round }) });
      }),
      1000,
    );
  });

  it('a message of any length is judged by its own length: above the limit it fails at once, allocating nothing', () => {
    // One large message (4 MiB), viewed at many lengths, received with limits far below and above its size.
    const big = new Uint8Array(4 * 1024 * 1024);
    run(
      fc.property(fc.constantFrom(...ROUND_KINDS), fc.integer({ min: 0, max: big.length }), fc.constantFrom(0, 16, MAX_CONTROL_BYTES, 2 ** 31, Infinity), (kind, length, limit) => {
        big[0] = kind;
        big[1] = PROTOCOL_VERSION;
        const r = expectBounded(() => readRoundHeader(big.subarray(0, length), limit));
        const payload = length - roundHeaderBytes(kind);
        if (length < 2 || payload < 0) expect(r).toEqual({ ok: false, code: 'MARINA_ERR_TRUNCATED' });
        else if (payload > limit) expect(r).toEqual({ ok: false, code: 'MARINA_ERR_TOO_LARGE' });
        else expect(r.ok).toBe(true);
      }),
      120,
    );
  });
});

describe('fuzz: control decoders (challenge, hello, assign, report, welcome, error, bye)', () => {
  /** One valid message of each kind: decoded after each piece of garbage, it must still decode the same. */
  const reference = CONTROL.map((c) => {
    const msg = fc.sample(controlMessages[c.name] as fc.Arbitrary<{ msg: Uint8Array }>, { seed: SEED, numRuns: 1 })[0]!.msg;
    return { c, msg, expected: outcome(() => c.decode(payloadOf(msg))) };
  });
  const expectStateClean = (): void => {
    for (const r of reference) expect(outcome(() => r.c.decode(payloadOf(r.msg)))).toEqual(r.expected);
  };

  it('reference messages decode (sanity of the generators)', () => {
    for (const r of reference) expect(r.expected.ok).toBe(true);
  });

  for (const c of CONTROL) {
    describe(c.name, () => {
      it('random bodies: a valid value or a registry error; msgpackr state stays clean', () => {
        // Random bytes, and random bytes after a map header and a field name of this kind, so the field checks run.
        const fields = [...new Set(Object.values(FIELDS).flat())];
        const body = fc.oneof(
          fc.uint8Array({ maxLength: 48 }),
          fc.tuple(fc.integer({ min: 0x80, max: 0x8f }), fc.constantFrom(...fields), fc.uint8Array({ maxLength: 40 })).map(([m, f, rest]) => concat(Uint8Array.of(m), mpStr(f), rest)),
        );
        run(
          fc.property(body, placement, (b, place) => {
            expectSameAnywhere(b, place, c.decode);
            expectStateClean();
          }),
          1500,
        );
      });

      it('structured bodies: maps of the kind’s fields holding values of every msgpack type, including ext types', () => {
        run(
          fc.property(fieldMap(FIELDS[c.name]), placement, (m, place) => {
            expectSameAnywhere(peerPackr.pack(m), place, c.decode);
            expectStateClean();
          }),
          1500,
        );
      });

      it('mutated valid bodies (bit flips, truncation, extension, insertion, deletion, splices): a valid value or a registry error', () => {
        const messages = controlMessages[c.name] as fc.Arbitrary<{ msg: Uint8Array }>;
        run(
          fc.property(messages, mutations, placement, ({ msg }, m, place) => {
            expectSameAnywhere(mutate(payloadOf(msg), m.edits, false, 0), place, c.decode);
            expectStateClean();
          }),
          800,
        );
      });

      it('mutated whole messages through readHeader and the decoder of whatever kind the header names', () => {
        const messages = controlMessages[c.name] as fc.Arbitrary<{ msg: Uint8Array }>;
        run(
          fc.property(messages, mutations, fc.integer({ min: 0, max: 4 }), placement, ({ msg }, m, d, place) => {
            expectSameAnywhere(mutate(msg, m.edits, m.refit, HEADER_BYTES), place, (b) => receive(b, d, limitFor(d)));
          }),
          500,
        );
      });

      it('round-trips valid values: encode → readHeader → decode gives the value back', () => {
        const messages = controlMessages[c.name] as fc.Arbitrary<{ v: unknown; msg: Uint8Array; rank: number }>;
        run(
          fc.property(messages, placement, ({ v, msg, rank }, place) => {
            const got = expectSameAnywhere(msg, place, (b) => {
              const h = readHeader(b, MAX_CONTROL_BYTES);
              expect([h.kind, h.flags, h.round, h.rank, h.aux]).toEqual([c.kind, 0, 0, rank, 0]);
              return c.decode(payloadOf(b));
            });
            expect(got).toEqual({ ok: true, value: canonical(v) });
          }),
          300,
        );
      });
    });
  }

  it('an over-long string field or params key is refused with a message that names its length, not its text (≤ 4000 characters)', () => {
    // The server echoes a ProtocolError's message to the peer (encodeError), whose decodeError accepts at most
    // 4000 characters, so an error about the peer's own bytes must stay under that (see the RegExp finding below).
    const long = fc.integer({ min: 4001, max: 60000 }).map((n) => 'x'.repeat(n));
    const body = fc.oneof(
      fc.tuple(fc.constantFrom(...Object.values(FIELDS).flat()), long).map(([f, x]) => concat(Uint8Array.of(0x81), mpStr(f), mpStr(x))),
      long.map((x) => concat(Uint8Array.of(0x81), mpStr('params'), Uint8Array.of(0x81), mpStr(x), Uint8Array.of(0x01))),
    );
    run(
      fc.property(fc.constantFrom(...CONTROL), body, (c, b) => {
        expect(outcome(() => c.decode(b)).ok).toBe(false);
      }),
      100,
    );
  });

  it('a body declaring a 2^31-element (or 2^32 − 1) container, anywhere in the map, fails at once and allocates nothing', () => {
    // Container headers with a huge count or length: array32, map32, str32, bin32, ext32, array16, map16.
    const huge = fc
      .tuple(fc.constantFrom(0xdd, 0xdf, 0xdb, 0xc6, 0xc9, 0xdc, 0xde), fc.constantFrom(2 ** 31, 2 ** 32 - 1, 2 ** 31 - 1, 0xffff, 0x10000))
      .map(([t, n]) => (t === 0xdc || t === 0xde ? Uint8Array.of(t, (n >> 8) & 0xff, n & 0xff) : Uint8Array.of(t, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, ...(t === 0xc9 ? [1] : []))));
    const fields = ['client', 'rank', 'config', 'params', 'fingerprint', 'message', 'reason', 'code', 'gamma'];
    // The container alone, as a field's value, inside a nested map or array, or after a prefix of a valid body.
    const body = fc.oneof(
      huge,
      fc.tuple(fc.constantFrom(...fields), huge, fc.uint8Array({ maxLength: 16 })).map(([f, h, t]) => concat(Uint8Array.of(0x81), mpStr(f), h, t)),
      fc.tuple(fc.constantFrom(...fields), fc.integer({ min: 1, max: 6 }), huge).map(([f, depth, h]) => concat(Uint8Array.of(0x81), mpStr(f), new Uint8Array(depth).fill(0x91), h)),
      fc.tuple(anyMessage, fc.nat(), huge).map(([m, cut, h]) => {
        const p = payloadOf(m.msg);
        return concat(p.subarray(0, cut % (p.length + 1)), h);
      }),
    );
    run(
      fc.property(fc.constantFrom(...CONTROL), body, (c, b) => {
        expectBounded(() => c.decode(b));
        expectStateClean();
      }),
      150,
    );
  });

  it('a body nested 60000 deep (arrays, maps) fails with a registry error, without a stack overflow escaping', () => {
    const depth = 60000;
    const bodies = [
      concat(Uint8Array.of(0x81), mpStr('config'), new Uint8Array(depth).fill(0x91), Uint8Array.of(0xc0)),
      concat(new Uint8Array(depth).fill(0x81).map((b, i) => (i % 2 ? 0xa0 : b)), Uint8Array.of(0xc0)), // {"": {"": …}}
      concat(Uint8Array.of(0x81), mpStr('params'), new Uint8Array(depth).fill(0x91)),
    ];
    for (const c of CONTROL) for (const b of bodies) expectBounded(() => c.decode(b));
    expectStateClean();
  });

});

describe('fuzz: hot decoders (RoundStart, Eval, State, Norm, Range) and the Update frame', () => {
  it('random frames with a valid header shape: a valid value or a registry error', () => {
    const frame = fc
      .record({
        kind: fc.constantFrom(...ROUND_KINDS),
        flags: fc.oneof(fc.integer({ min: 0, max: KNOWN_FLAGS }), fc.integer({ min: 0, max: 255 })),
        round: u32,
        d: fc.integer({ min: 0, max: 6 }),
        words: fc.integer({ min: 0, max: 14 }),
        extraBytes: fc.constantFrom(0, 0, 0, 1, 4, 7),
        fill: fc.constantFrom('random', 'finite') as fc.Arbitrary<'random' | 'finite'>,
      })
      .chain((f) => {
        const body = (f.kind === Kind.Norm || f.kind === Kind.Range ? 4 : 8 * f.words) + f.extraBytes;
        const payload = f.fill === 'random' ? fc.uint8Array({ minLength: body, maxLength: body }) : fc.float64Array({ noNaN: true, noDefaultInfinity: true, minLength: Math.ceil(body / 8), maxLength: Math.ceil(body / 8) }).map((a) => new Uint8Array(a.buffer).slice(0, body));
        return payload.map((p) => {
          const hb = roundHeaderBytes(f.kind);
          const msg = new Uint8Array(hb + body);
          writeRoundHeader(msg, f.kind, f.flags, f.round);
          msg.set(p, hb);
          return { d: f.d, msg };
        });
      });
    run(
      fc.property(frame, placement, ({ d, msg }, place) => {
        expectSameAnywhere(msg, place, (b) => receive(b, d, limitFor(d)));
      }),
      3000,
    );
  });

  for (const [name, messages] of Object.entries(hotMessages) as [string, fc.Arbitrary<{ d: number; msg: Uint8Array }>][]) {
    it(`${name}: mutated valid messages: a valid value or a registry error`, () => {
      run(
        fc.property(messages, mutations, placement, ({ d, msg }, m, place) => {
          expectSameAnywhere(mutate(msg, m.edits, m.refit, HEADER_BYTES), place, (b) => receive(b, d, limitFor(d)));
        }),
        1000,
      );
    });
  }

  it('round-trips RoundStart bit for bit: x^t, x^{t−1}, the whole round and the flags', () => {
    run(
      fc.property(hotMessages.roundStart, placement, (r, place) => {
        const got = expectSameAnywhere(r.msg, place, (b) => receive(b, r.d, limitFor(r.d)));
        const h = { kind: Kind.RoundStart, flags: fromFlags(r.flags, r.xPrev !== null), round: r.round, payloadBytes: 8 * r.d * (r.xPrev ? 2 : 1) };
        expect(got).toEqual({ ok: true, value: canonical({ h, flags: { ...r.flags, previous: r.xPrev !== null }, x: r.x, xPrev: r.xPrev }) });
      }),
      500,
    );
  });

  it('round-trips Eval bit for bit: the loss, the gradient and the round mod 2^16', () => {
    run(
      fc.property(hotMessages.eval, placement, (r, place) => {
        const got = expectSameAnywhere(r.msg, place, (b) => receive(b, r.d, limitFor(r.d)));
        const h = { kind: Kind.Eval, flags: 0, round: r.round & 0xffff, payloadBytes: 8 * (r.d + 1) };
        expect(got).toEqual({ ok: true, value: canonical({ h, loss: r.loss, grad: r.grad }) });
      }),
      500,
    );
  });

  it('round-trips State bit for bit: the round and the state vector', () => {
    run(
      fc.property(hotMessages.state, placement, (r, place) => {
        const got = expectSameAnywhere(r.msg, place, (b) => receive(b, r.d, limitFor(r.d)));
        const h = { kind: Kind.State, flags: 0, round: r.round, payloadBytes: 8 * r.d };
        expect(got).toEqual({ ok: true, value: canonical({ h, state: r.state }) });
      }),
      500,
    );
  });

  it('round-trips Norm and Range: any finite float32 ≥ 0 (Norm, uplink, with the round mod 2^16)', () => {
    run(
      fc.property(hotMessages.scalar, placement, (r, place) => {
        const got = expectSameAnywhere(r.msg, place, (b) => receive(b, r.d, limitFor(r.d)));
        const h = { kind: r.kind, flags: 0, round: r.kind === Kind.Norm ? r.round & 0xffff : r.round, payloadBytes: 4 };
        expect(got).toEqual({ ok: true, value: canonical({ h, v: r.value }) });
      }),
      500,
    );
  });

  it('a frame of any length fails at once or decodes, and allocates nothing beyond the caller\'s vectors (readRoundHeader, then the decoder)', () => {
    // Lengths up to 4 MiB against d up to 8, received with limits from the run's to unbounded.
    const big = new Uint8Array(4 * 1024 * 1024);
    const frame = fc.record({
      kind: fc.constantFrom(...ROUND_KINDS),
      flags: fc.integer({ min: 0, max: KNOWN_FLAGS }),
      length: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: big.length })),
    });
    run(
      fc.property(frame, fc.integer({ min: 0, max: 8 }), fc.constantFrom(MAX_CONTROL_BYTES, 2 ** 31, Number.MAX_SAFE_INTEGER), (f, d, limit) => {
        const msg = big.subarray(0, Math.max(roundHeaderBytes(f.kind), f.length));
        writeRoundHeader(msg, f.kind, f.flags & (ROUND_FLAGS[f.kind] ?? 0), 1);
        const r = expectBounded(() => receive(msg, d, limit));
        // Beyond any length d allows (an Update's is the codec's to judge: receive() hands its payload on).
        if (f.kind !== Kind.Update && msg.length > roundHeaderBytes(f.kind) + 16 * d + 8) expect(r.ok).toBe(false);
      }),
      120,
    );
  });

  it('the decoders refuse a header whose length does not match the run before reading or allocating', () => {
    // As if a caller had read the header with no limit: payloadBytes up to 2^53 − 1. (The decoders' contract is a
    // header read from this very message; such a length can only disagree with d.)
    const header = fc.constantFrom(Kind.RoundStart, Kind.Eval, Kind.State, Kind.Norm, Kind.Range).chain((kind) =>
      fc.record({
        kind: fc.constant(kind),
        flags: fc.integer({ min: 0, max: ROUND_FLAGS[kind] ?? 0 }).map((f) => f & (ROUND_FLAGS[kind] ?? 0)),
        round: u32,
        payloadBytes: fc.oneof(fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53 - 1), fc.integer({ min: 2 ** 20, max: Number.MAX_SAFE_INTEGER })),
      }),
    );
    run(
      fc.property(header, fc.integer({ min: 0, max: 8 }), (h, d) => {
        const msg = new Uint8Array(roundHeaderBytes(h.kind));
        writeRoundHeader(msg, h.kind, h.flags, h.round);
        const r = expectBounded(() => {
          if (h.kind === Kind.RoundStart) return decodeRoundStart(h, msg, new Float64Array(d), new Float64Array(d));
          if (h.kind === Kind.Eval) return decodeEval(h, msg, new Float64Array(d));
          if (h.kind === Kind.State) return decodeState(h, msg, new Float64Array(d));
          return decodeScalar(h, msg);
        });
        expect(r).toEqual({ ok: false, code: 'MARINA_ERR_TRAILING_BYTES' });
      }),
      120,
    );
  });
});

describe('fuzz: findings kept as failing properties (see the report)', () => {
  // Inputs split off from the round-trip properties above because they do not survive msgpack. Each `it.fails`
  // turns red once the product code is fixed: then make it a plain `it`.
  it.fails('round-trips −0 (msgpackr writes it as the integer 0)', () => {
    run(
      fc.property(arb.welcome, fc.string({ maxLength: 8 }), ({ d, gamma, p, params }, k) => {
        const v: Welcome = { d, gamma, p, params: { ...params, [k === '__proto__' ? 'k' : k]: -0 } };
        expect(outcome(() => decodeWelcome(payloadOf(encodeWelcome(v))))).toEqual({ ok: true, value: canonical(v) });
      }),
      20,
    );
  });

  it.fails('round-trips strings with lone surrogates (short ones decode as three U+FFFD, so the length triples)', () => {
    run(
      fc.property(text(40), fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'), (s, lone) => {
        const v: Hello = { client: s + lone, rank: null };
        expect(outcome(() => decodeHello(payloadOf(encodeHello(v))))).toEqual({ ok: true, value: canonical(v) });
      }),
      20,
    );
  });

  // FINDING: decodeMap passes msgpackr's (or the engine's) error text on, and the SyntaxError of msgpackr's RegExp
  // extension (0x78) quotes the whole pattern or flags: a 64 KiB body gives a ~64 KiB ProtocolError message,
  // which the server logs and echoes to the peer (encodeError), whose decodeError refuses over 4000 characters.
  it('an invalid RegExp extension gives an error message of at most 4000 characters', () => {
    const long = fc.integer({ min: 4001, max: 20000 });
    const regexp = (pattern: string, flags: string): Uint8Array => concat(Uint8Array.of(0xd4, 0x78, 0x00, 0x92), mpStr(pattern), mpStr(flags));
    const body = fc.tuple(fc.constantFrom(...Object.values(FIELDS).flat()), fc.oneof(long.map((n) => regexp('('.repeat(n), '')), long.map((n) => regexp('a', 'g'.repeat(n)))));
    run(
      fc.property(fc.constantFrom(...CONTROL), body, (c, [f, value]) => {
        expect(outcome(() => c.decode(concat(Uint8Array.of(0x81), mpStr(f), value))).ok).toBe(false);
      }),
      20,
    );
  });
});

/** Header flags of a RoundStart as encodeRoundStart writes them. */
function fromFlags(f: { coin: boolean; participate: boolean; evaluate: boolean }, previous: boolean): number {
  return (f.coin ? Flag.Coin : 0) | (f.participate ? Flag.Participate : 0) | (f.evaluate ? Flag.Evaluate : 0) | (previous ? Flag.Previous : 0);
}
