import { describe, expect, it } from 'vitest';
import { pack } from 'msgpackr';
import { type Bye, decodeBye, decodeError, decodeHello, decodeWelcome, encodeBye, encodeError, encodeHello, encodeWelcome, type ErrorMessage, type Hello, Kind, MAX_CONTROL_BYTES, payloadOf, type ProtocolErrorCode, readHeader, type Welcome } from '@marina/protocol';
import { editedHex, expectProtocolError, fromHex, toHex } from '@marina/protocol/testing';

const ascii = (s: string): string => toHex(new TextEncoder().encode(s));

/** The receiving side: header checks against the control limit, then the body decoder. */
function receive<T>(msg: Uint8Array, kind: number, decode: (p: Uint8Array) => T): T {
  const h = readHeader(msg, MAX_CONTROL_BYTES);
  expect(h.kind).toBe(kind);
  return decode(payloadOf(msg));
}

const header = (kind: string, rank: string, payloadBits: string): string =>
  kind + '01' + '0000' + '00000000' + rank + '00000000' + payloadBits;

interface Case<T> {
  what: string;
  kind: number;
  value: T;
  encode: (v: T) => Uint8Array;
  decode: (p: Uint8Array) => T;
  golden: string;
}

const hello: Case<Hello> = {
  what: 'hello',
  kind: Kind.Hello,
  value: { client: 'a' },
  encode: encodeHello,
  decode: decodeHello,
  // 10-byte body: fixmap(1) { fixstr "client": fixstr "a" }.
  golden: header('01', 'ffffffff', '5000000000000000') + '81' + 'a6' + ascii('client') + 'a1' + ascii('a'),
};

const welcome: Case<Welcome> = {
  what: 'welcome',
  kind: Kind.Welcome,
  value: { rank: 3, clients: 8, seed: 0xffffffff, config: { p: 0.5, d: 1024, name: 'cq' } },
  encode: encodeWelcome,
  decode: decodeWelcome,
  // 58-byte body: fixmap(4) { rank: 3, clients: 8, seed: uint32 0xffffffff, config: fixmap(3) { p: float64 0.5, d: uint16 1024, name: "cq" } }.
  golden:
    header('02', 'ffffffff', 'd001000000000000') +
    '84' +
    ('a4' + ascii('rank') + '03') +
    ('a7' + ascii('clients') + '08') +
    ('a4' + ascii('seed') + 'ceffffffff') +
    ('a6' + ascii('config') + '83' + 'a1' + ascii('p') + 'cb3fe0000000000000' + 'a1' + ascii('d') + 'cd0400' + 'a4' + ascii('name') + 'a2' + ascii('cq')),
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

const cases = [hello, welcome, error, bye] as Case<unknown>[];

for (const c of cases) {
  describe(`${c.what} message`, () => {
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
      expectProtocolError(() => receive(corrupt(1, 9), c.kind, c.decode), 'MARINA_ERR_BAD_VERSION', 'protocol version 9 is not supported (expected 1)');
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
    expect(decodeHello(body({ client: 'x', extra: [1, 2] }))).toEqual({ client: 'x' });
    expectProtocolError(() => decodeHello(body({})), 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got undefined');
    expectProtocolError(() => decodeHello(body({ client: 5 })), 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got number');
    expectProtocolError(() => decodeHello(body({ client: null })), 'MARINA_ERR_BAD_FIELD', 'hello.client must be a string, got object');
    expect(decodeHello(body({ client: 'c'.repeat(200) })).client.length).toBe(200);
    expectProtocolError(() => decodeHello(body({ client: 'c'.repeat(201) })), 'MARINA_ERR_OUT_OF_RANGE', 'hello.client is 201 characters, at most 200 allowed');
  });

  it('welcome', () => {
    const ok = { rank: 0, clients: 1, seed: 0, config: {} };
    expect(decodeWelcome(body(ok))).toEqual(ok);
    const bad: [Record<string, unknown>, ProtocolErrorCode, string][] = [
      [{ ...ok, config: [1] }, 'MARINA_ERR_BAD_FIELD', 'welcome.config must be a map'],
      [{ ...ok, config: 'cq' }, 'MARINA_ERR_BAD_FIELD', 'welcome.config must be a map'],
      [{ ...ok, config: null }, 'MARINA_ERR_BAD_FIELD', 'welcome.config must be a map'],
      [{ rank: 0, clients: 1, seed: 0 }, 'MARINA_ERR_BAD_FIELD', 'welcome.config must be a map'],
      [{ ...ok, clients: '8' }, 'MARINA_ERR_BAD_FIELD', 'welcome.clients must be a number, got string'],
      [{ ...ok, clients: 0 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.clients must be an integer in [1, 1048576], got 0'],
      [{ ...ok, clients: 2 ** 20 + 1 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.clients must be an integer in [1, 1048576], got 1048577'],
      [{ ...ok, clients: 2.5 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.clients must be an integer in [1, 1048576], got 2.5'],
      [{ ...ok, rank: true }, 'MARINA_ERR_BAD_FIELD', 'welcome.rank must be a number, got boolean'],
      [{ ...ok, clients: 8, rank: 8 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.rank must be an integer in [0, 7], got 8'],
      [{ ...ok, rank: -1 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.rank must be an integer in [0, 0], got -1'],
      [{ ...ok, seed: 2 ** 32 }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.seed must be an integer in [0, 4294967295], got 4294967296'],
      [{ ...ok, seed: NaN }, 'MARINA_ERR_OUT_OF_RANGE', 'welcome.seed must be an integer in [0, 4294967295], got NaN'],
      [{ ...ok, seed: undefined }, 'MARINA_ERR_BAD_FIELD', 'welcome.seed must be a number, got undefined'],
    ];
    for (const [v, code, message] of bad) expectProtocolError(() => decodeWelcome(body(v)), code, message);
  });

  it('welcome copies its configuration and keeps nested values', () => {
    const config = { method: 'marina', p: 0.25, step: '2x', nested: { list: [1, 'a'] } };
    const w = decodeWelcome(body({ rank: 1, clients: 2, seed: 7, config }));
    expect(w.config).toEqual(config);
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
