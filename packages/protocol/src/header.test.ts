import { describe, expect, it } from 'vitest';
import { allocMessage, Flag, HEADER_BYTES, Kind, kindName, payloadOf, PROTOCOL_VERSION, ProtocolError, ProtocolErrors, readHeader, SERVER_RANK, writeHeader } from '@marina/protocol';
import { expectProtocolError, fromHex, toHex } from '@marina/protocol/testing';

// An Update (kind 17) of round 0x01020304 from rank 7, compressed, 45 payload bits (6 bytes: CQ/IQ with d = 13).
const GOLDEN_HEADER =
  '11' + // kind 17
  '03' + // version 3
  '0800' + // flags: Compressed
  '04030201' + // round 0x01020304
  '07000000' + // rank 7
  '00000000' + // aux 0
  '2d00000000000000'; // payloadBits 45 (u64, little-endian)

describe('header layout', () => {
  it('is 24 bytes, a multiple of 8 (ARCHITECTURE "Numbers and determinism")', () => {
    expect(HEADER_BYTES).toBe(24);
    expect(HEADER_BYTES % 8).toBe(0);
    expect(PROTOCOL_VERSION).toBe(3);
  });

  it('writes the golden bytes, little-endian', () => {
    const msg = allocMessage({ kind: Kind.Update, flags: Flag.Compressed, round: 0x01020304, rank: 7, aux: 0, payloadBits: 45 });
    expect(msg.length).toBe(24 + 6);
    expect(toHex(msg)).toBe(GOLDEN_HEADER + '000000000000');
  });

  it('writes payload lengths above 2^32 bits across both words', () => {
    const msg = new Uint8Array(HEADER_BYTES);
    writeHeader(msg, { kind: Kind.Eval, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: SERVER_RANK, aux: 0xdeadbeef, payloadBits: 2 ** 40 + 5 });
    expect(toHex(msg)).toBe('12' + '03' + '0000' + '00000000' + 'ffffffff' + 'efbeadde' + '0500000000010000');
    writeHeader(msg, { kind: Kind.Eval, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: 2 ** 53 - 1 });
    expect(toHex(msg.subarray(16))).toBe('ffffffffffff1f00');
  });

  it('refuses a payload length that is not a safe non-negative integer', () => {
    const msg = new Uint8Array(HEADER_BYTES);
    const h = { kind: Kind.Update, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: 0, aux: 0 };
    expectProtocolError(() => writeHeader(msg, { ...h, payloadBits: -1 }), 'MARINA_ERR_OUT_OF_RANGE', 'payloadBits must be a safe non-negative integer, got -1');
    expectProtocolError(() => writeHeader(msg, { ...h, payloadBits: 1.5 }), 'MARINA_ERR_OUT_OF_RANGE', 'payloadBits must be a safe non-negative integer, got 1.5');
    expectProtocolError(() => writeHeader(msg, { ...h, payloadBits: 2 ** 53 }), 'MARINA_ERR_OUT_OF_RANGE', 'payloadBits must be a safe non-negative integer, got 9007199254740992');
    expectProtocolError(() => writeHeader(msg, { ...h, payloadBits: NaN }), 'MARINA_ERR_OUT_OF_RANGE', 'payloadBits must be a safe non-negative integer, got NaN');
  });

  it('names every kind, and no others', () => {
    for (const [name, value] of Object.entries(Kind)) expect(kindName(value)).toBe(name);
    // The join phase of version 2: Assign (server → client) and Report (client → server).
    expect(kindName(5)).toBe('Assign');
    expect(kindName(6)).toBe('Report');
    // Every connection opens with the server's Challenge (README "Security").
    expect(kindName(7)).toBe('Challenge');
    expect(kindName(0)).toBeUndefined();
    expect(kindName(8)).toBeUndefined();
    expect(kindName(15)).toBeUndefined();
    expect(kindName(19)).toBe('Norm');
    expect(kindName(20)).toBe('Range');
    // Version 3: the server's mirror of a client's state (DIANA's h_i, EF21's g_i) for a client taking a rank.
    expect(kindName(21)).toBe('State');
    expect(kindName(22)).toBeUndefined();
    expect(kindName(255)).toBeUndefined();
  });
});

describe('readHeader', () => {
  const golden = (): Uint8Array => fromHex(GOLDEN_HEADER + 'ff0102030405');

  it('reads the golden header back', () => {
    const msg = golden();
    expect(readHeader(msg, 6)).toEqual({ kind: 17, version: 3, flags: Flag.Compressed, round: 0x01020304, rank: 7, aux: 0, payloadBits: 45 });
    expect(toHex(payloadOf(msg))).toBe('ff0102030405');
  });

  it('round-trips every field at its extremes, at any byte offset (ws hands messages at any offset)', () => {
    const fields = [
      { kind: Kind.Hello, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: 0 },
      { kind: Kind.Eval, flags: 0x1f, round: 0xffffffff, rank: SERVER_RANK, aux: 0xffffffff, payloadBits: 8 * 1000 - 3 },
      { kind: Kind.RoundStart, flags: Flag.Coin | Flag.Previous, round: 123456, rank: 2 ** 31, aux: 99, payloadBits: 64 * 99 * 2 },
    ];
    for (const f of fields) {
      const msg = allocMessage(f);
      for (const offset of [0, 1, 3, 7]) {
        const buf = new Uint8Array(offset + msg.length);
        buf.set(msg, offset);
        const view = buf.subarray(offset);
        expect(readHeader(view, 1 << 20)).toEqual({ ...f, version: PROTOCOL_VERSION });
      }
    }
  });

  it('rejects every truncated prefix with MARINA_ERR_TRUNCATED', () => {
    const msg = golden();
    for (let k = 0; k < msg.length; k++) {
      const e = expectProtocolError(() => readHeader(msg.subarray(0, k), 1024), 'MARINA_ERR_TRUNCATED');
      expect(e.message).toBe(
        k < HEADER_BYTES ? `message of ${k} bytes is shorter than the 24-byte header` : `Update declares 6 payload bytes but only ${k - HEADER_BYTES} arrived`,
      );
    }
  });

  it('rejects trailing bytes', () => {
    const msg = golden();
    for (const extra of [1, 2, 100]) {
      const long = new Uint8Array(msg.length + extra);
      long.set(msg);
      expectProtocolError(() => readHeader(long, 1024), 'MARINA_ERR_TRAILING_BYTES', `Update has ${extra} bytes after its declared payload`);
    }
  });

  it('rejects a bad version', () => {
    for (const version of [0, 1, 2, 4, 255]) {
      const msg = golden();
      msg[1] = version;
      const e = expectProtocolError(() => readHeader(msg, 1024), 'MARINA_ERR_BAD_VERSION', `protocol version ${version} is not supported (expected ${PROTOCOL_VERSION})`);
      expect(e.data).toEqual({ version });
    }
  });

  it('refuses a version-1 message (before the join phase), whole or header only', () => {
    // The version-1 golden bytes of the same Update: only the version byte differs.
    const v1 = fromHex('11' + '01' + '0800' + '04030201' + '07000000' + '00000000' + '2d00000000000000' + 'ff0102030405');
    expect(toHex(v1.subarray(2))).toBe(toHex(golden().subarray(2)));
    for (const msg of [v1, v1.subarray(0, HEADER_BYTES)]) {
      const e = expectProtocolError(() => readHeader(msg, 1024), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
      expect(e.data).toEqual({ version: 1 });
      expect(e.closeCode).toBe(4004);
    }
    // A version-1 hello (kind 1, empty payload) is refused on its version, not read as a hello.
    const hello = new Uint8Array(HEADER_BYTES);
    writeHeader(hello, { kind: Kind.Hello, version: 1, flags: 0, round: 0, rank: SERVER_RANK, aux: 0, payloadBits: 0 });
    expectProtocolError(() => readHeader(hello, 1024), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
  });

  it('reads the join-phase kinds Assign (5) and Report (6)', () => {
    for (const kind of [Kind.Assign, Kind.Report]) {
      const msg = allocMessage({ kind, flags: 0, round: 0, rank: 3, aux: 0, payloadBits: 16 });
      expect(toHex(msg.subarray(0, 2))).toBe(kind.toString(16).padStart(2, '0') + '03');
      expect(readHeader(msg, 2)).toEqual({ kind, version: 3, flags: 0, round: 0, rank: 3, aux: 0, payloadBits: 16 });
    }
  });

  it('rejects an unknown kind', () => {
    for (const kind of [0, 8, 15, 22, 255]) {
      const msg = golden();
      msg[0] = kind;
      const e = expectProtocolError(() => readHeader(msg, 1024), 'MARINA_ERR_BAD_KIND', `message kind ${kind} is unknown`);
      expect(e.data).toEqual({ kind });
    }
  });

  it('rejects reserved flag bits', () => {
    for (const [lo, hi, bits] of [
      [0x20, 0x00, '20'],
      [0x08, 0x80, '8000'],
      [0xff, 0xff, 'ffe0'],
    ] as const) {
      const msg = golden();
      msg[2] = lo;
      msg[3] = hi;
      expectProtocolError(() => readHeader(msg, 1024), 'MARINA_ERR_BAD_FIELD', `Update header sets reserved flag bits 0x${bits}`);
    }
  });

  it('rejects a payload above the limit from the 24 header bytes alone, before waiting for or allocating the body', () => {
    // Only the header arrives: if the limit were checked after the length, this would read as truncated.
    const header = golden().subarray(0, HEADER_BYTES);
    expectProtocolError(() => readHeader(header, 5), 'MARINA_ERR_TOO_LARGE', 'Update payload of 6 bytes exceeds the limit of 5 bytes');
    expect(readHeader(golden(), 6).payloadBits).toBe(45);

    // A header declaring 2^40 bits (2^37 bytes) fails at once with only 24 bytes in hand.
    const huge = new Uint8Array(HEADER_BYTES);
    writeHeader(huge, { kind: Kind.Update, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: 2 ** 40 });
    const e = expectProtocolError(() => readHeader(huge, 1 << 20), 'MARINA_ERR_TOO_LARGE', 'Update payload of 137438953472 bytes exceeds the limit of 1048576 bytes');
    expect(e.data).toEqual({ payloadBytes: 2 ** 37, maxPayloadBytes: 1 << 20 });

    // High words that put the length at or above 2^53 are refused before the length is even formed.
    for (const [hi, exp] of [
      [1 << 21, 53],
      [0xffffffff, 63],
    ] as const) {
      const m = huge.slice();
      new DataView(m.buffer).setUint32(20, hi, true);
      expectProtocolError(() => readHeader(m, Number.MAX_SAFE_INTEGER), 'MARINA_ERR_TOO_LARGE', `payload length of 2^${exp} bits exceeds 2^53`);
    }
  });

  it('rounds a payload length up to whole bytes (padding travels, and compressors check it)', () => {
    for (const bits of [0, 1, 7, 8, 9, 63, 64, 65]) {
      const msg = allocMessage({ kind: Kind.Update, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: bits });
      expect(msg.length).toBe(HEADER_BYTES + Math.ceil(bits / 8));
      expect(readHeader(msg, 9).payloadBits).toBe(bits);
    }
  });
});

describe('ProtocolError', () => {
  it('carries a stable code, its close code in the application range, and serializes for the wire', () => {
    const e = new ProtocolError('MARINA_ERR_BAD_KIND', 'message kind 99 is unknown', { kind: 99 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ProtocolError');
    expect(e.closeCode).toBe(4003);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'MARINA_ERR_BAD_KIND', message: 'message kind 99 is unknown' });
    const closeCodes = Object.values(ProtocolErrors);
    expect(new Set(closeCodes).size).toBe(closeCodes.length);
    for (const c of closeCodes) expect(c >= 4000 && c <= 4999).toBe(true);
  });
});
