import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import {
  type Assign, type Bye, type Challenge, decodeAssign, decodeBye, decodeChallenge, decodeError, decodeHello, decodeReport, decodeWelcome, encodeAssign, encodeBye,
  encodeChallenge, encodeError, encodeHello, encodeReport, encodeWelcome, type ErrorMessage, type Hello, Kind, MAX_CONTROL_BYTES, payloadOf, type ProtocolErrorCode,
  readHeader, type Report, type Welcome,
} from '@marina/protocol';
import { editedHex, expectProtocolError, fromHex, toHex } from '@marina/protocol/testing';

const ascii = (s: string): string => toHex(new TextEncoder().encode(s));

/** The receiving side: header checks against the control limit, then the body decoder. */
function receive<T>(msg: Uint8Array, kind: number, decode: (p: Uint8Array) => T): T {
  const h = readHeader(msg, MAX_CONTROL_BYTES);
  expect(h.kind).toBe(kind);
  return decode(payloadOf(msg));
}

/** The 24-byte header of a control message: kind, version 3, no flags, round 0, rank, aux 0, payload bits (all little-endian). */
const header = (kind: string, rank: string, payloadBits: string): string =>
  kind + '03' + '0000' + '00000000' + rank + '00000000' + payloadBits;

/** A fingerprint (hex SHA-256) using every hex digit. */
const FINGERPRINT = '0123456789abcdef'.repeat(4);

/** 32 distinct bytes starting at `first`: a nonce or a proof whose every byte shows in the golden hex. */
const bytes32 = (first: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => first + i);

interface Case<T> {
  /** The name the decoder uses in its messages ("hello body ends inside…"). */
  what: string;
  /** The describe block's title, when several cases share a decoder. */
  title?: string;
  kind: number;
  value: T;
  encode: (v: T) => Uint8Array;
  decode: (p: Uint8Array) => T;
  golden: string;
}

const hello: Case<Hello> = {
  what: 'hello',
  title: 'hello message without a rank',
  kind: Kind.Hello,
  value: { client: 'a', rank: null },
  encode: encodeHello,
  decode: decodeHello,
  // 10-byte body: fixmap(1) { fixstr "client": fixstr "a" }; a null rank is left out, not sent as nil.
  golden: header('01', 'ffffffff', '5000000000000000') + '81' + 'a6' + ascii('client') + 'a1' + ascii('a'),
};

const helloRank: Case<Hello> = {
  what: 'hello',
  title: 'hello message asking for a rank',
  kind: Kind.Hello,
  value: { client: 'a', rank: 2 ** 20 - 1 },
  encode: encodeHello,
  decode: decodeHello,
  // 20-byte body: fixmap(2) { client: "a", rank: uint32 0x000fffff (the largest rank) }.
  golden: header('01', 'ffffffff', 'a000000000000000') + '82' + 'a6' + ascii('client') + 'a1' + ascii('a') + 'a4' + ascii('rank') + 'ce000fffff',
};

const helloProof: Case<Hello> = {
  what: 'hello',
  title: 'hello message with a proof of the secret',
  kind: Kind.Hello,
  value: { client: 'a', rank: null, proof: bytes32(0xa0) },
  encode: encodeHello,
  decode: decodeHello,
  // 50-byte body: fixmap(2) { client: "a", proof: bin8(32) a0..bf }; the HMAC travels as raw bytes, not hex.
  golden: header('01', 'ffffffff', '9001000000000000') + '82' + 'a6' + ascii('client') + 'a1' + ascii('a') + 'a5' + ascii('proof') + 'c420' + toHex(bytes32(0xa0)),
};

const challenge: Case<Challenge> = {
  what: 'challenge',
  kind: Kind.Challenge,
  value: { nonce: bytes32(0x00), secret: true },
  encode: encodeChallenge,
  decode: decodeChallenge,
  // 49-byte body: fixmap(2) { nonce: bin8(32) 00..1f, secret: true }.
  golden: header('07', 'ffffffff', '8801000000000000') + '82' + 'a5' + ascii('nonce') + 'c420' + toHex(bytes32(0x00)) + 'a6' + ascii('secret') + 'c3',
};

const assign: Case<Assign> = {
  what: 'assign',
  kind: Kind.Assign,
  value: { rank: 3, clients: 8, seed: 0xffffffff, config: { p: 0.5, d: 1024, name: 'cq' } },
  encode: encodeAssign,
  decode: decodeAssign,
  // 58-byte body: fixmap(4) { rank: 3, clients: 8, seed: uint32 0xffffffff, config: fixmap(3) { p: float64 0.5, d: uint16 1024, name: "cq" } }.
  golden:
    header('05', 'ffffffff', 'd001000000000000') +
    '84' +
    ('a4' + ascii('rank') + '03') +
    ('a7' + ascii('clients') + '08') +
    ('a4' + ascii('seed') + 'ceffffffff') +
    ('a6' + ascii('config') + '83' + 'a1' + ascii('p') + 'cb3fe0000000000000' + 'a1' + ascii('d') + 'cd0400' + 'a4' + ascii('name') + 'a2' + ascii('cq')),
};

const report: Case<Report> = {
  what: 'report',
  kind: Kind.Report,
  value: { rows: 1000, features: 1023, d: 1024, Li: 0.25, LiKind: 'bound', fingerprint: FINGERPRINT },
  encode: (r) => encodeReport(r, 2),
  decode: decodeReport,
  // Sent by rank 2; 129-byte body: fixmap(6) { rows: uint16 1000, features: uint16 1023, d: uint16 1024, Li: float64 0.25,
  // LiKind: "bound", fingerprint: str8(64) }.
  golden:
    header('06', '02000000', '0804000000000000') +
    '86' +
    ('a4' + ascii('rows') + 'cd03e8') +
    ('a8' + ascii('features') + 'cd03ff') +
    ('a1' + ascii('d') + 'cd0400') +
    ('a2' + ascii('Li') + 'cb3fd0000000000000') +
    ('a6' + ascii('LiKind') + 'a5' + ascii('bound')) +
    ('ab' + ascii('fingerprint') + 'd940' + ascii(FINGERPRINT)),
};

const welcome: Case<Welcome> = {
  what: 'welcome',
  kind: Kind.Welcome,
  value: { d: 1024, gamma: 0.125, p: 0.5, params: { alpha: 0.25, shift: -2 } },
  encode: encodeWelcome,
  decode: decodeWelcome,
  // 62-byte body: fixmap(4) { d: uint16 1024, gamma: float64 0.125, p: float64 0.5, params: fixmap(2) { alpha: float64 0.25, shift: negative fixint -2 } }.
  golden:
    header('02', 'ffffffff', 'f001000000000000') +
    '84' +
    ('a1' + ascii('d') + 'cd0400') +
    ('a5' + ascii('gamma') + 'cb3fc0000000000000') +
    ('a1' + ascii('p') + 'cb3fe0000000000000') +
    ('a6' + ascii('params') + '82' + 'a5' + ascii('alpha') + 'cb3fd0000000000000' + 'a5' + ascii('shift') + 'fe'),
};

const error: Case<ErrorMessage> = {
  what: 'error',
  kind: Kind.Error,
  value: { code: 'MARINA_ERR_TIMEOUT', message: 'late' },
  encode: (e) => encodeError(e, 2),
  decode: decodeError,
  // Sent by rank 2; 38-byte body: fixmap(2) { code: fixstr(18), message: fixstr(4) }.
  golden: header('03', '02000000', '3001000000000000') + '82' + 'a4' + ascii('code') + 'b2' + ascii('MARINA_ERR_TIMEOUT') + 'a7' + ascii('message') + 'a4' + ascii('late'),
};

const bye: Case<Bye> = {
  what: 'bye',
  kind: Kind.Bye,
  value: { reason: 'done', message: '' },
  encode: encodeBye,
  decode: decodeBye,
  // 22-byte body: fixmap(2) { reason: "done", message: "" }.
  golden: header('04', 'ffffffff', 'b000000000000000') + '82' + 'a6' + ascii('reason') + 'a4' + ascii('done') + 'a7' + ascii('message') + 'a0',
};

const cases = [challenge, hello, helloRank, helloProof, assign, report, welcome, error, bye] as Case<unknown>[];

for (const c of cases) {
  describe(c.title ?? `${c.what} message`, () => {
    it('encodes to the golden bytes', () => {
      expect(toHex(c.encode(c.value))).toBe(c.golden);
    });

    it('round-trips, also from an unaligned offset', () => {
      const msg = c.encode(c.value);
      expect(receive(msg, c.kind, c.decode)).toEqual(c.value);
      const buf = new Uint8Array(msg.length + 5);
      buf.set(msg, 5);
      expect(receive(buf.subarray(5), c.kind, c.decode)).toEqual(c.value);
    });

    it('rejects every truncated prefix of the message, and of the body alone', () => {
      const msg = fromHex(c.golden);
      for (let k = 0; k < msg.length; k++) expectProtocolError(() => receive(msg.subarray(0, k), c.kind, c.decode), 'MARINA_ERR_TRUNCATED');
      // msgpack is prefix-free, so a body cut anywhere ends inside its value.
      const body = payloadOf(msg);
      for (let k = 0; k < body.length; k++) {
        expectProtocolError(() => c.decode(body.subarray(0, k)), 'MARINA_ERR_TRUNCATED', `${c.what} body ends inside its msgpack value`);
      }
    });

    it('rejects trailing bytes after the message, and after the map inside the body', () => {
      const msg = fromHex(c.golden);
      const long = new Uint8Array(msg.length + 1);
      long.set(msg);
      expectProtocolError(() => receive(long, c.kind, c.decode), 'MARINA_ERR_TRAILING_BYTES', `${Object.keys(Kind).find((k) => Kind[k as keyof typeof Kind] === c.kind)} has 1 bytes after its declared payload`);
      const body = payloadOf(msg);
      const longBody = new Uint8Array(body.length + 1);
      longBody.set(body);
      expectProtocolError(() => c.decode(longBody), 'MARINA_ERR_TRAILING_BYTES', `${c.what} body has bytes after its msgpack map`);
    });

    it('rejects a corrupted version, kind, flags or length', () => {
      const corrupt = (at: number, value: number): Uint8Array => editedHex(c.golden, (v) => v.setUint8(at, value));
      expectProtocolError(() => receive(corrupt(1, 9), c.kind, c.decode), 'MARINA_ERR_BAD_VERSION', 'protocol version 9 is not supported (expected 3)');
      // A version-1 peer (no join phase) is refused from its first message.
      expectProtocolError(() => receive(corrupt(1, 1), c.kind, c.decode), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
      expectProtocolError(() => receive(corrupt(0, 0x7f), c.kind, c.decode), 'MARINA_ERR_BAD_KIND', 'message kind 127 is unknown');
      expectProtocolError(() => receive(corrupt(3, 0x01), c.kind, c.decode), 'MARINA_ERR_BAD_FIELD', /sets reserved flag bits 0x100$/);
      // A declared body above the control limit is refused from the header alone.
      const m = fromHex(c.golden).subarray(0, 24);
      new DataView(m.buffer).setUint32(16, 8 * (MAX_CONTROL_BYTES + 1), true);
      expectProtocolError(() => receive(m, c.kind, c.decode), 'MARINA_ERR_TOO_LARGE', /payload of 65537 bytes exceeds the limit of 65536 bytes$/);
    });

    it('refuses a body that is not a msgpack map', () => {
      const notMaps = [
        '9201' + '02', // array [1, 2]
        'a161', // string "a"
        '01', // integer
        'c0', // nil
        'c3', // true
        'cb3ff0000000000000', // float64 1
        'c40100', // bin 8 of one byte
        'd6ff00000001', // timestamp ext → a Date
        'c1', // the never-used byte, which msgpackr decodes to an object of its own
      ];
      for (const body of notMaps) expectProtocolError(() => c.decode(fromHex(body)), 'MARINA_ERR_BAD_FIELD', `${c.what} body must be a msgpack map`);
      expectProtocolError(() => c.decode(fromHex('d40501')), 'MARINA_ERR_BAD_FIELD', new RegExp(`^${c.what} body is not valid msgpack: `));
    });

    it('fails at once on a tiny body declaring a huge container (no allocation from a length field)', () => {
      for (const body of ['ddffffffff', 'dfffffffff', 'dbffffffff', 'c6ffffffff', '81a6' + ascii('client') + 'dbffffffff']) {
        expectProtocolError(() => c.decode(fromHex(body)), 'MARINA_ERR_TRUNCATED', `${c.what} body ends inside its msgpack value`);
      }
    });
  });
}

describe('control field validation (exact messages)', () => {
  const body = (v: unknown): Uint8Array => pack(v);

  it('hello', () => {
    expect(decodeHello(body({ client: 'x', extra: [1, 2] }))).toEqual({ client: 'x', rank: null });
    expectProtocolError(() => decodeHello(body({})), 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got undefined');
    expectProtocolError(() => decodeHello(body({ client: 5 })), 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got number');
    expectProtocolError(() => decodeHello(body({ client: null })), 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got object');
    expect(decodeHello(body({ client: 'c'.repeat(200) })).client.length).toBe(200);
    expectProtocolError(() => decodeHello(body({ client: 'c'.repeat(201) })), 'MARINA_ERR_OUT_OF_RANGE', 'hello.client is 201 characters, at most 200 allowed');
  });

  it('hello with a rank', () => {
    // Rank 0 is a rank asked for, not "any": it is sent, and comes back as 0, not null.
    const zero = encodeHello({ client: 'x', rank: 0 });
    expect(toHex(payloadOf(zero))).toBe('82' + 'a6' + ascii('client') + 'a1' + ascii('x') + 'a4' + ascii('rank') + '00');
    expect(decodeHello(payloadOf(zero))).toEqual({ client: 'x', rank: 0 });
    expect(decodeHello(body({ client: 'x', rank: 2 ** 20 - 1 }))).toEqual({ client: 'x', rank: 2 ** 20 - 1 });
    const bad: [Record<string, unknown>, ProtocolErrorCode, string][] = [
      [{ client: 'x', rank: 2 ** 20 }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.rank must be an integer in [0, 1048575], got 1048576'],
      [{ client: 'x', rank: 0xffffffff }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.rank must be an integer in [0, 1048575], got 4294967295'],
      [{ client: 'x', rank: -1 }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.rank must be an integer in [0, 1048575], got -1'],
      [{ client: 'x', rank: 1.5 }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.rank must be an integer in [0, 1048575], got 1.5'],
      [{ client: 'x', rank: NaN }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.rank must be an integer in [0, 1048575], got NaN'],
      [{ client: 'x', rank: '3' }, 'MARINA_ERR_BAD_FIELD', 'hello.rank must be a number, got string'],
      [{ client: 'x', rank: 3n }, 'MARINA_ERR_BAD_FIELD', 'hello.rank must be a number, got bigint'],
      // "Any rank" is the key left out; an explicit nil is not accepted in its place.
      [{ client: 'x', rank: null }, 'MARINA_ERR_BAD_FIELD', 'hello.rank must be a number, got object'],
      // The client is checked first.
      [{ client: 7, rank: -1 }, 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got number'],
    ];
    for (const [v, code, message] of bad) expectProtocolError(() => decodeHello(body(v)), code, message);
  });

  it('hello with a proof', () => {
    const proof = bytes32(1);
    expect(decodeHello(body({ client: 'x', rank: 3, proof }))).toEqual({ client: 'x', rank: 3, proof });
    // A view at an offset encodes only its own bytes.
    const wide = new Uint8Array(40).fill(9);
    wide.set(proof, 5);
    expect(toHex(encodeHello({ client: 'x', rank: null, proof: wide.subarray(5, 37) }))).toBe(toHex(encodeHello({ client: 'x', rank: null, proof })));
    const bad: [Record<string, unknown>, ProtocolErrorCode, string][] = [
      [{ client: 'x', proof: proof.subarray(0, 31) }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.proof is 31 bytes, 32 expected'],
      [{ client: 'x', proof: new Uint8Array(33) }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.proof is 33 bytes, 32 expected'],
      [{ client: 'x', proof: new Uint8Array(0) }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.proof is 0 bytes, 32 expected'],
      // Hex text is not the binary field, even of the right length in characters or bytes.
      [{ client: 'x', proof: toHex(proof) }, 'MARINA_ERR_BAD_FIELD', 'hello.proof must be binary, got string'],
      [{ client: 'x', proof: 'p'.repeat(32) }, 'MARINA_ERR_BAD_FIELD', 'hello.proof must be binary, got string'],
      [{ client: 'x', proof: Array.from(proof) }, 'MARINA_ERR_BAD_FIELD', 'hello.proof must be binary, got object'],
      [{ client: 'x', proof: 7 }, 'MARINA_ERR_BAD_FIELD', 'hello.proof must be binary, got number'],
      // "No proof" is the key left out; an explicit nil is not accepted in its place.
      [{ client: 'x', proof: null }, 'MARINA_ERR_BAD_FIELD', 'hello.proof must be binary, got null'],
      // Client and rank are checked first.
      [{ client: 'x', rank: -1, proof: 7 }, 'MARINA_ERR_OUT_OF_RANGE', 'hello.rank must be an integer in [0, 1048575], got -1'],
    ];
    for (const [v, code, message] of bad) expectProtocolError(() => decodeHello(body(v)), code, message);
  });

  it('challenge', () => {
    const nonce = bytes32(0x40);
    for (const secret of [true, false]) expect(decodeChallenge(body({ nonce, secret }))).toEqual({ nonce, secret });
    const bad: [Record<string, unknown>, ProtocolErrorCode, string][] = [
      [{ nonce: nonce.subarray(1), secret: true }, 'MARINA_ERR_OUT_OF_RANGE', 'challenge.nonce is 31 bytes, 32 expected'],
      [{ nonce: new Uint8Array(64), secret: true }, 'MARINA_ERR_OUT_OF_RANGE', 'challenge.nonce is 64 bytes, 32 expected'],
      [{ nonce: toHex(nonce), secret: true }, 'MARINA_ERR_BAD_FIELD', 'challenge.nonce must be binary, got string'],
      [{ nonce: null, secret: true }, 'MARINA_ERR_BAD_FIELD', 'challenge.nonce must be binary, got null'],
      [{ secret: true }, 'MARINA_ERR_BAD_FIELD', 'challenge.nonce must be binary, got undefined'],
      [{ nonce: { length: 32 }, secret: true }, 'MARINA_ERR_BAD_FIELD', 'challenge.nonce must be binary, got object'],
      [{ nonce, secret: 1 }, 'MARINA_ERR_BAD_FIELD', 'challenge.secret must be a boolean, got number'],
      [{ nonce, secret: 'true' }, 'MARINA_ERR_BAD_FIELD', 'challenge.secret must be a boolean, got string'],
      [{ nonce, secret: null }, 'MARINA_ERR_BAD_FIELD', 'challenge.secret must be a boolean, got object'],
      [{ nonce }, 'MARINA_ERR_BAD_FIELD', 'challenge.secret must be a boolean, got undefined'],
    ];
    for (const [v, code, message] of bad) expectProtocolError(() => decodeChallenge(body(v)), code, message);
  });

  it('challenge and hello copy their bytes out of the received message', () => {
    const msg = encodeChallenge({ nonce: bytes32(0), secret: false });
    const c = decodeChallenge(payloadOf(msg));
    msg.fill(0xff);
    expect(c.nonce).toEqual(bytes32(0));
    expect(Object.getPrototypeOf(c.nonce)).toBe(Uint8Array.prototype);
    const hello = encodeHello({ client: 'x', rank: null, proof: bytes32(7) });
    const h = decodeHello(payloadOf(hello));
    hello.fill(0);
    expect(h.proof).toEqual(bytes32(7));
  });

  it('assign', () => {
    const ok = { rank: 0, clients: 1, seed: 0, config: {} };
    expect(decodeAssign(body(ok))).toEqual(ok);
    expect(decodeAssign(body({ ...ok, rank: 2 ** 20 - 1, clients: 2 ** 20, seed: 0xffffffff }))).toEqual({ ...ok, rank: 2 ** 20 - 1, clients: 2 ** 20, seed: 0xffffffff });
    const bad: [Record<string, unknown>, ProtocolErrorCode, string][] = [
      [{ ...ok, config: [1] }, 'MARINA_ERR_BAD_FIELD', 'assign.config must be a map'],
      [{ ...ok, config: 'cq' }, 'MARINA_ERR_BAD_FIELD', 'assign.config must be a map'],
      [{ ...ok, config: null }, 'MARINA_ERR_BAD_FIELD', 'assign.config must be a map'],
      [{ rank: 0, clients: 1, seed: 0 }, 'MARINA_ERR_BAD_FIELD', 'assign.config must be a map'],
      [{ ...ok, clients: '8' }, 'MARINA_ERR_BAD_FIELD', 'assign.clients must be a number, got string'],
      [{ ...ok, clients: 0 }, 'MARINA_ERR_OUT_OF_RANGE', 'assign.clients must be an integer in [1, 1048576], got 0'],
      [{ ...ok, clients: 2 ** 20 + 1 }, 'MARINA_ERR_OUT_OF_RANGE', 'assign.clients must be an integer in [1, 1048576], got 1048577'],
      [{ ...ok, clients: 2.5 }, 'MARINA_ERR_OUT_OF_RANGE', 'assign.clients must be an integer in [1, 1048576], got 2.5'],
      [{ ...ok, rank: true }, 'MARINA_ERR_BAD_FIELD', 'assign.rank must be a number, got boolean'],
      [{ ...ok, clients: 8, rank: 8 }, 'MARINA_ERR_OUT_OF_RANGE', 'assign.rank must be an integer in [0, 7], got 8'],
      [{ ...ok, rank: -1 }, 'MARINA_ERR_OUT_OF_RANGE', 'assign.rank must be an integer in [0, 0], got -1'],
      [{ ...ok, seed: 2 ** 32 }, 'MARINA_ERR_OUT_OF_RANGE', 'assign.seed must be an integer in [0, 4294967295], got 4294967296'],
      [{ ...ok, seed: NaN }, 'MARINA_ERR_OUT_OF_RANGE', 'assign.seed must be an integer in [0, 4294967295], got NaN'],
      [{ ...ok, seed: undefined }, 'MARINA_ERR_BAD_FIELD', 'assign.seed must be a number, got undefined'],
    ];
    for (const [v, code, message] of bad) expectProtocolError(() => decodeAssign(body(v)), code, message);
  });

  it('assign copies its configuration and keeps nested values', () => {
    const config = { method: 'marina', p: 0.25, step: '2x', nested: { list: [1, 'a'] } };
    const a = decodeAssign(body({ rank: 1, clients: 2, seed: 7, config }));
    expect(a.config).toEqual(config);
  });

  it('report', () => {
    const ok: Report = { rows: 0, features: 0, d: 1, Li: 0, LiKind: 'exact', fingerprint: 'f'.repeat(64) };
    expect(decodeReport(body(ok))).toEqual(ok);
    for (const LiKind of ['exact', 'bound', 'estimate'] as const) expect(decodeReport(body({ ...ok, LiKind })).LiKind).toBe(LiKind);
    const top = { ...ok, rows: 2 ** 31 - 1, features: 2 ** 24, d: 2 ** 24, Li: Number.MAX_VALUE, fingerprint: FINGERPRINT };
    expect(decodeReport(body(top))).toEqual(top);
    // An integral L_i travels as a compact integer (msgpackr packs only non-integers as float64) and decodes the same.
    const integral = encodeReport({ ...ok, Li: 4 }, 0);
    expect(toHex(payloadOf(integral))).toContain('a2' + ascii('Li') + '04');
    expect(decodeReport(payloadOf(integral)).Li).toBe(4);
    const hexMessage = 'report.fingerprint must be 64 lowercase hex digits (SHA-256)';
    const bad: [Record<string, unknown>, ProtocolErrorCode, string][] = [
      // fingerprint: a string of exactly 64 lowercase hex digits.
      [{ ...ok, fingerprint: 'F'.repeat(64) }, 'MARINA_ERR_BAD_FIELD', hexMessage],
      [{ ...ok, fingerprint: 'g'.repeat(64) }, 'MARINA_ERR_BAD_FIELD', hexMessage],
      [{ ...ok, fingerprint: 'f'.repeat(63) + ' ' }, 'MARINA_ERR_BAD_FIELD', hexMessage],
      [{ ...ok, fingerprint: 'f'.repeat(63) + '\n' }, 'MARINA_ERR_BAD_FIELD', hexMessage],
      [{ ...ok, fingerprint: 'f'.repeat(63) }, 'MARINA_ERR_BAD_FIELD', hexMessage],
      [{ ...ok, fingerprint: 'f'.repeat(40) }, 'MARINA_ERR_BAD_FIELD', hexMessage],
      [{ ...ok, fingerprint: '' }, 'MARINA_ERR_BAD_FIELD', hexMessage],
      [{ ...ok, fingerprint: 'f'.repeat(65) }, 'MARINA_ERR_OUT_OF_RANGE', 'report.fingerprint is 65 characters, at most 64 allowed'],
      [{ ...ok, fingerprint: 0 }, 'MARINA_ERR_BAD_FIELD', 'report.fingerprint must be a string, got number'],
      [{ ...ok, fingerprint: undefined }, 'MARINA_ERR_BAD_FIELD', 'report.fingerprint must be a string, got undefined'],
      // LiKind: one of three names.
      [{ ...ok, LiKind: 'upper' }, 'MARINA_ERR_OUT_OF_RANGE', 'report.LiKind must be one of exact, bound, estimate; got upper'],
      [{ ...ok, LiKind: 'Exact' }, 'MARINA_ERR_OUT_OF_RANGE', 'report.LiKind must be one of exact, bound, estimate; got Exact'],
      [{ ...ok, LiKind: '' }, 'MARINA_ERR_OUT_OF_RANGE', 'report.LiKind must be one of exact, bound, estimate; got '],
      [{ ...ok, LiKind: 'e'.repeat(21) }, 'MARINA_ERR_OUT_OF_RANGE', 'report.LiKind is 21 characters, at most 20 allowed'],
      [{ ...ok, LiKind: 1 }, 'MARINA_ERR_BAD_FIELD', 'report.LiKind must be a string, got number'],
      [{ ...ok, LiKind: undefined }, 'MARINA_ERR_BAD_FIELD', 'report.LiKind must be a string, got undefined'],
      // Li: a finite number ≥ 0; non-finite before the range.
      [{ ...ok, Li: -1 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.Li must be in [0, 1.7976931348623157e+308], got -1'],
      [{ ...ok, Li: -1e-300 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.Li must be in [0, 1.7976931348623157e+308], got -1e-300'],
      [{ ...ok, Li: NaN }, 'MARINA_ERR_NOT_FINITE', 'report.Li must be finite, got NaN'],
      [{ ...ok, Li: Infinity }, 'MARINA_ERR_NOT_FINITE', 'report.Li must be finite, got Infinity'],
      [{ ...ok, Li: -Infinity }, 'MARINA_ERR_NOT_FINITE', 'report.Li must be finite, got -Infinity'],
      [{ ...ok, Li: '1' }, 'MARINA_ERR_BAD_FIELD', 'report.Li must be a number, got string'],
      [{ ...ok, Li: null }, 'MARINA_ERR_BAD_FIELD', 'report.Li must be a number, got object'],
      [{ ...ok, Li: undefined }, 'MARINA_ERR_BAD_FIELD', 'report.Li must be a number, got undefined'],
      // rows in [0, 2^31 − 1], features in [0, 2^24], d in [1, 2^24].
      [{ ...ok, rows: -1 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.rows must be an integer in [0, 2147483647], got -1'],
      [{ ...ok, rows: 2 ** 31 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.rows must be an integer in [0, 2147483647], got 2147483648'],
      [{ ...ok, rows: 1.5 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.rows must be an integer in [0, 2147483647], got 1.5'],
      [{ ...ok, rows: Infinity }, 'MARINA_ERR_OUT_OF_RANGE', 'report.rows must be an integer in [0, 2147483647], got Infinity'],
      [{ ...ok, rows: '10' }, 'MARINA_ERR_BAD_FIELD', 'report.rows must be a number, got string'],
      // A uint64 on the wire decodes to a bigint (msgpackr's default), which is no number.
      [{ ...ok, rows: 5n }, 'MARINA_ERR_BAD_FIELD', 'report.rows must be a number, got bigint'],
      [{ ...ok, features: -1 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.features must be an integer in [0, 16777216], got -1'],
      [{ ...ok, features: 2 ** 24 + 1 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.features must be an integer in [0, 16777216], got 16777217'],
      [{ ...ok, features: undefined }, 'MARINA_ERR_BAD_FIELD', 'report.features must be a number, got undefined'],
      [{ ...ok, d: 0 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.d must be an integer in [1, 16777216], got 0'],
      [{ ...ok, d: 2 ** 24 + 1 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.d must be an integer in [1, 16777216], got 16777217'],
      [{ ...ok, d: 0.5 }, 'MARINA_ERR_OUT_OF_RANGE', 'report.d must be an integer in [1, 16777216], got 0.5'],
      [{ ...ok, d: false }, 'MARINA_ERR_BAD_FIELD', 'report.d must be a number, got boolean'],
    ];
    for (const [v, code, message] of bad) expectProtocolError(() => decodeReport(body(v)), code, message);
  });

  it('welcome', () => {
    const ok: Welcome = { d: 1, gamma: Number.MIN_VALUE, p: 0, params: {} };
    expect(decodeWelcome(body(ok))).toEqual(ok);
    const top: Welcome = { d: 2 ** 24, gamma: Number.MAX_VALUE, p: 1, params: { a: -Number.MAX_VALUE, b: Number.MAX_VALUE, c: 0, ['k'.repeat(40)]: 1 } };
    expect(decodeWelcome(body(top))).toEqual(top);
    const gammaRange = 'welcome.gamma must be in [5e-324, 1.7976931348623157e+308]';
    const bad: [Record<string, unknown>, ProtocolErrorCode, string][] = [
      // gamma: a finite number > 0.
      [{ ...ok, gamma: 0 }, 'MARINA_ERR_OUT_OF_RANGE', `${gammaRange}, got 0`],
      [{ ...ok, gamma: -0.5 }, 'MARINA_ERR_OUT_OF_RANGE', `${gammaRange}, got -0.5`],
      [{ ...ok, gamma: -Number.MIN_VALUE }, 'MARINA_ERR_OUT_OF_RANGE', `${gammaRange}, got -5e-324`],
      [{ ...ok, gamma: NaN }, 'MARINA_ERR_NOT_FINITE', 'welcome.gamma must be finite, got NaN'],
      [{ ...ok, gamma: Infinity }, 'MARINA_ERR_NOT_FINITE', 'welcome.gamma must be finite, got Infinity'],
      [{ ...ok, gamma: -Infinity }, 'MARINA_ERR_NOT_FINITE', 'welcome.gamma must be finite, got -Infinity'],
      [{ ...ok, gamma: '0.1' }, 'MARINA_ERR_BAD_FIELD', 'welcome.gamma must be a number, got string'],
      [{ ...ok, gamma: undefined }, 'MARINA_ERR_BAD_FIELD', 'welcome.gamma must be a number, got undefined'],
      // p: a probability in [0, 1] (0 for methods with no coin).
      [{ ...ok, p: 1.5 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.p must be in [0, 1], got 1.5'],
      [{ ...ok, p: 1 + Number.EPSILON }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.p must be in [0, 1], got 1.0000000000000002'],
      [{ ...ok, p: 2 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.p must be in [0, 1], got 2'],
      [{ ...ok, p: -0.1 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.p must be in [0, 1], got -0.1'],
      [{ ...ok, p: NaN }, 'MARINA_ERR_NOT_FINITE', 'welcome.p must be finite, got NaN'],
      [{ ...ok, p: Infinity }, 'MARINA_ERR_NOT_FINITE', 'welcome.p must be finite, got Infinity'],
      [{ ...ok, p: true }, 'MARINA_ERR_BAD_FIELD', 'welcome.p must be a number, got boolean'],
      // d in [1, 2^24].
      [{ ...ok, d: 0 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.d must be an integer in [1, 16777216], got 0'],
      [{ ...ok, d: 2 ** 24 + 1 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.d must be an integer in [1, 16777216], got 16777217'],
      [{ ...ok, d: 2.5 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.d must be an integer in [1, 16777216], got 2.5'],
      [{ ...ok, d: '8' }, 'MARINA_ERR_BAD_FIELD', 'welcome.d must be a number, got string'],
      // params: a map of finite numbers, keys of at most 40 characters; checked before the other fields.
      [{ ...ok, params: undefined }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ d: 0, gamma: 0, p: 2 }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ ...ok, params: null }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ ...ok, params: [] }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ ...ok, params: [0.5] }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ ...ok, params: 'alpha' }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ ...ok, params: 0.5 }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ ...ok, params: new Uint8Array([1]) }, 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map'],
      [{ ...ok, params: { alpha: 'x' } }, 'MARINA_ERR_BAD_FIELD', 'welcome.params.alpha must be a number, got string'],
      [{ ...ok, params: { alpha: 0.5, r: null } }, 'MARINA_ERR_BAD_FIELD', 'welcome.params.r must be a number, got object'],
      [{ ...ok, params: { alpha: true } }, 'MARINA_ERR_BAD_FIELD', 'welcome.params.alpha must be a number, got boolean'],
      [{ ...ok, params: { alpha: [0.5] } }, 'MARINA_ERR_BAD_FIELD', 'welcome.params.alpha must be a number, got object'],
      [{ ...ok, params: { alpha: { value: 0.5 } } }, 'MARINA_ERR_BAD_FIELD', 'welcome.params.alpha must be a number, got object'],
      [{ ...ok, params: { alpha: 5n } }, 'MARINA_ERR_BAD_FIELD', 'welcome.params.alpha must be a number, got bigint'],
      [{ ...ok, params: { alpha: NaN } }, 'MARINA_ERR_NOT_FINITE', 'welcome.params.alpha must be finite, got NaN'],
      [{ ...ok, params: { scale: -Infinity } }, 'MARINA_ERR_NOT_FINITE', 'welcome.params.scale must be finite, got -Infinity'],
      [{ ...ok, params: { ['k'.repeat(41)]: 1 } }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.params has a key longer than 40 characters'],
    ];
    for (const [v, code, message] of bad) expectProtocolError(() => decodeWelcome(body(v)), code, message);
  });

  it('welcome returns params as a fresh plain object, and a "__proto__" parameter cannot set its prototype', () => {
    const params = { alpha: 0.5 };
    const w = decodeWelcome(payloadOf(encodeWelcome({ d: 2, gamma: 1, p: 1, params })));
    expect(w.params).toEqual(params);
    expect(w.params).not.toBe(params);
    // fixmap(4) { d: 2, gamma: 1, p: 1, params: fixmap(1) { "__proto__": 1 } }: msgpackr renames the key.
    const evil = fromHex('84' + 'a1' + ascii('d') + '02' + 'a5' + ascii('gamma') + '01' + 'a1' + ascii('p') + '01' + 'a6' + ascii('params') + '81' + 'a9' + ascii('__proto__') + '01');
    const e = decodeWelcome(evil);
    expect(Object.getPrototypeOf(e.params)).toBe(Object.prototype);
    expect(Object.keys(e.params)).toEqual(['__proto_']);
  });

  it('error and bye', () => {
    expect(decodeError(body({ code: 'X', message: 'y' }))).toEqual({ code: 'X', message: 'y' });
    expectProtocolError(() => decodeError(body({ code: 4001, message: 'y' })), 'MARINA_ERR_BAD_FIELD', 'error.code must be a string, got number');
    expectProtocolError(() => decodeError(body({ code: 'c'.repeat(101), message: '' })), 'MARINA_ERR_OUT_OF_RANGE', 'error.code is 101 characters, at most 100 allowed');
    expectProtocolError(() => decodeError(body({ code: 'X', message: 'm'.repeat(4001) })), 'MARINA_ERR_OUT_OF_RANGE', 'error.message is 4001 characters, at most 4000 allowed');
    for (const reason of ['done', 'aborted', 'shutdown'] as const) expect(decodeBye(body({ reason, message: 'm' }))).toEqual({ reason, message: 'm' });
    expectProtocolError(() => decodeBye(body({ reason: 'later', message: '' })), 'MARINA_ERR_OUT_OF_RANGE', 'bye.reason must be one of done, aborted, shutdown; got later');
    expectProtocolError(() => decodeBye(body({ reason: 1, message: '' })), 'MARINA_ERR_BAD_FIELD', 'bye.reason must be a string, got number');
    expectProtocolError(() => decodeBye(body({ reason: 'done' })), 'MARINA_ERR_BAD_FIELD', 'bye.message must be a string, got undefined');
  });

  it('a "__proto__" key neither pollutes Object.prototype nor supplies fields', () => {
    // fixmap(1) { "__proto__": fixmap(1) { "client": "evil" } }
    const evil = fromHex('81' + 'a9' + ascii('__proto__') + '81' + 'a6' + ascii('client') + 'a4' + ascii('evil'));
    expectProtocolError(() => decodeHello(evil), 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got undefined');
    expect(({} as Record<string, unknown>)['client']).toBeUndefined();
  });
});

describe('corrupted fields inside the golden bodies (exact messages)', () => {
  /** The byte offset, in the whole message, of the value that follows `keyHex` in the golden fixture. */
  const valueAt = (golden: string, keyHex: string): number => {
    const i = golden.indexOf(keyHex);
    expect(i).toBeGreaterThan(0);
    expect(i % 2).toBe(0);
    return (i + keyHex.length) / 2;
  };
  const key = (name: string): string => (0xa0 + name.length).toString(16) + ascii(name);
  const receiveEdited = <T>(c: Case<T>, edit: (v: DataView) => void): T => receive(editedHex(c.golden, edit), c.kind, c.decode);

  it('report: fingerprint, LiKind, Li, rows and d', () => {
    const fp = valueAt(report.golden, key('fingerprint') + 'd940');
    expectProtocolError(() => receiveEdited(report, (v) => v.setUint8(fp + 10, 'A'.charCodeAt(0))), 'MARINA_ERR_BAD_FIELD', 'report.fingerprint must be 64 lowercase hex digits (SHA-256)');
    expectProtocolError(() => receiveEdited(report, (v) => v.setUint8(fp + 63, 'z'.charCodeAt(0))), 'MARINA_ERR_BAD_FIELD', 'report.fingerprint must be 64 lowercase hex digits (SHA-256)');
    const kind = valueAt(report.golden, key('LiKind') + 'a5');
    expectProtocolError(() => receiveEdited(report, (v) => v.setUint8(kind, 'p'.charCodeAt(0))), 'MARINA_ERR_OUT_OF_RANGE', 'report.LiKind must be one of exact, bound, estimate; got pound');
    const li = valueAt(report.golden, key('Li') + 'cb');
    expectProtocolError(() => receiveEdited(report, (v) => v.setFloat64(li, -0.25)), 'MARINA_ERR_OUT_OF_RANGE', 'report.Li must be in [0, 1.7976931348623157e+308], got -0.25');
    expectProtocolError(() => receiveEdited(report, (v) => v.setFloat64(li, NaN)), 'MARINA_ERR_NOT_FINITE', 'report.Li must be finite, got NaN');
    expectProtocolError(() => receiveEdited(report, (v) => v.setFloat64(li, Infinity)), 'MARINA_ERR_NOT_FINITE', 'report.Li must be finite, got Infinity');
    // The float64 marker turned into a string marker: the value is no longer a number.
    expectProtocolError(() => receiveEdited(report, (v) => v.setUint8(li - 1, 0xa8)), 'MARINA_ERR_BAD_FIELD', 'report.Li must be a number, got string');
    const rows = valueAt(report.golden, key('rows'));
    // rows' uint16 1000 (cd 03e8) turned into int16 −1 (d1 ffff).
    expectProtocolError(() => receiveEdited(report, (v) => (v.setUint8(rows, 0xd1), v.setInt16(rows + 1, -1))), 'MARINA_ERR_OUT_OF_RANGE', 'report.rows must be an integer in [0, 2147483647], got -1');
    const d = valueAt(report.golden, key('d'));
    expectProtocolError(() => receiveEdited(report, (v) => v.setUint16(d + 1, 0)), 'MARINA_ERR_OUT_OF_RANGE', 'report.d must be an integer in [1, 16777216], got 0');
  });

  it('welcome: gamma, p, d and params', () => {
    const gamma = valueAt(welcome.golden, key('gamma') + 'cb');
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setFloat64(gamma, 0)), 'MARINA_ERR_OUT_OF_RANGE', 'welcome.gamma must be in [5e-324, 1.7976931348623157e+308], got 0');
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setFloat64(gamma, -0.125)), 'MARINA_ERR_OUT_OF_RANGE', 'welcome.gamma must be in [5e-324, 1.7976931348623157e+308], got -0.125');
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setFloat64(gamma, -Infinity)), 'MARINA_ERR_NOT_FINITE', 'welcome.gamma must be finite, got -Infinity');
    const p = valueAt(welcome.golden, key('p') + 'cb');
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setFloat64(p, 1.5)), 'MARINA_ERR_OUT_OF_RANGE', 'welcome.p must be in [0, 1], got 1.5');
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setFloat64(p, NaN)), 'MARINA_ERR_NOT_FINITE', 'welcome.p must be finite, got NaN');
    const d = valueAt(welcome.golden, key('d') + 'cd');
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setUint16(d, 0)), 'MARINA_ERR_OUT_OF_RANGE', 'welcome.d must be an integer in [1, 16777216], got 0');
    const alpha = valueAt(welcome.golden, key('alpha') + 'cb');
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setFloat64(alpha, Infinity)), 'MARINA_ERR_NOT_FINITE', 'welcome.params.alpha must be finite, got Infinity');
    // shift's value -2 (0xfe) turned into nil (0xc0).
    const shift = valueAt(welcome.golden, key('shift'));
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setUint8(shift, 0xc0)), 'MARINA_ERR_BAD_FIELD', 'welcome.params.shift must be a number, got object');
    // The params fixmap(2) marker turned into a fixarray(4) of the same four values: still one msgpack map, but params is no map.
    const params = valueAt(welcome.golden, key('params'));
    expectProtocolError(() => receiveEdited(welcome, (v) => v.setUint8(params, 0x94)), 'MARINA_ERR_BAD_FIELD', 'welcome.params must be a map');
  });

  it('challenge: nonce and secret', () => {
    // The secret's true (0xc3) turned into nil, then into 1.
    const secret = valueAt(challenge.golden, key('secret'));
    expectProtocolError(() => receiveEdited(challenge, (v) => v.setUint8(secret, 0xc0)), 'MARINA_ERR_BAD_FIELD', 'challenge.secret must be a boolean, got object');
    expectProtocolError(() => receiveEdited(challenge, (v) => v.setUint8(secret, 0x01)), 'MARINA_ERR_BAD_FIELD', 'challenge.secret must be a boolean, got number');
    // The nonce's bin8 marker turned into str8 of the same 32 bytes: text, not binary.
    const nonce = valueAt(challenge.golden, key('nonce'));
    expectProtocolError(() => receiveEdited(challenge, (v) => v.setUint8(nonce, 0xd9)), 'MARINA_ERR_BAD_FIELD', 'challenge.nonce must be binary, got string');
  });

  it('hello: a proof of another length is refused, and so is one cut short', () => {
    const proof = valueAt(helloProof.golden, key('proof'));
    // bin8 length 32 → 31: one byte is left over after the map.
    expectProtocolError(() => receiveEdited(helloProof, (v) => v.setUint8(proof + 1, 31)), 'MARINA_ERR_TRAILING_BYTES', 'hello body has bytes after its msgpack map');
    // bin8 length 32 → 33: the value runs past the body.
    expectProtocolError(() => receiveEdited(helloProof, (v) => v.setUint8(proof + 1, 33)), 'MARINA_ERR_TRUNCATED', 'hello body ends inside its msgpack value');
  });

  it('hello and assign: rank out of range', () => {
    const rank = valueAt(helloRank.golden, key('rank') + 'ce');
    expectProtocolError(() => receiveEdited(helloRank, (v) => v.setUint32(rank, 2 ** 20)), 'MARINA_ERR_OUT_OF_RANGE', 'hello.rank must be an integer in [0, 1048575], got 1048576');
    const aRank = valueAt(assign.golden, key('rank'));
    expectProtocolError(() => receiveEdited(assign, (v) => v.setUint8(aRank, 8)), 'MARINA_ERR_OUT_OF_RANGE', 'assign.rank must be an integer in [0, 7], got 8');
  });
});
