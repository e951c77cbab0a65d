import { describe, expect, it } from 'vitest';
import {
  allocMessage, allocRoundMessage, DOWNLINK_HEADER_BYTES, Flag, HEADER_BYTES, isRoundKind, Kind, kindName, payloadOf, PROTOCOL_VERSION, ProtocolError, ProtocolErrors, readHeader,
  readRoundHeader, roundHeaderBytes, roundPayload, SERVER_RANK, UPLINK_HEADER_BYTES, widenRound, writeHeader,
} from '@marina/protocol';
import { expectProtocolError, fromHex, toHex } from '@marina/protocol/testing';

// A control message's full header: a Report (kind 6) of round 0x01020304 from rank 7, flag bit 3, 45 payload bits (6 bytes).
const GOLDEN_HEADER =
  '06' + // kind 6
  '03' + // version 3
  '0800' + // flags: bit 3
  '04030201' + // round 0x01020304
  '07000000' + // rank 7
  '00000000' + // aux 0
  '2d00000000000000'; // payloadBits 45 (u64, little-endian)

describe('header layout', () => {
  it('is 24 bytes for control messages, a multiple of 8 (ARCHITECTURE "Numbers and determinism")', () => {
    expect(HEADER_BYTES).toBe(24);
    expect(HEADER_BYTES % 8).toBe(0);
    expect(PROTOCOL_VERSION).toBe(3);
  });

  it('writes the golden bytes, little-endian', () => {
    const msg = allocMessage({ kind: Kind.Report, flags: Flag.Compressed, round: 0x01020304, rank: 7, aux: 0, payloadBits: 45 });
    expect(msg.length).toBe(24 + 6);
    expect(toHex(msg)).toBe(GOLDEN_HEADER + '000000000000');
  });

  it('writes payload lengths above 2^32 bits across both words', () => {
    const msg = new Uint8Array(HEADER_BYTES);
    writeHeader(msg, { kind: Kind.Welcome, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: SERVER_RANK, aux: 0xdeadbeef, payloadBits: 2 ** 40 + 5 });
    expect(toHex(msg)).toBe('02' + '03' + '0000' + '00000000' + 'ffffffff' + 'efbeadde' + '0500000000010000');
    writeHeader(msg, { kind: Kind.Welcome, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: 2 ** 53 - 1 });
    expect(toHex(msg.subarray(16))).toBe('ffffffffffff1f00');
  });

  it('refuses a payload length that is not a safe non-negative integer', () => {
    const msg = new Uint8Array(HEADER_BYTES);
    const h = { kind: Kind.Report, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: 0, aux: 0 };
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
    expect(readHeader(msg, 6)).toEqual({ kind: 6, version: 3, flags: Flag.Compressed, round: 0x01020304, rank: 7, aux: 0, payloadBits: 45 });
    expect(toHex(payloadOf(msg))).toBe('ff0102030405');
  });

  it('round-trips every field at its extremes, at any byte offset (ws hands messages at any offset)', () => {
    const fields = [
      { kind: Kind.Hello, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: 0 },
      { kind: Kind.Welcome, flags: 0x1f, round: 0xffffffff, rank: SERVER_RANK, aux: 0xffffffff, payloadBits: 8 * 1000 - 3 },
      { kind: Kind.Challenge, flags: Flag.Coin | Flag.Previous, round: 123456, rank: 2 ** 31, aux: 99, payloadBits: 64 * 99 * 2 },
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
        k < HEADER_BYTES ? `message of ${k} bytes is shorter than the 24-byte header` : `Report declares 6 payload bytes but only ${k - HEADER_BYTES} arrived`,
      );
    }
  });

  it('rejects trailing bytes', () => {
    const msg = golden();
    for (const extra of [1, 2, 100]) {
      const long = new Uint8Array(msg.length + extra);
      long.set(msg);
      expectProtocolError(() => readHeader(long, 1024), 'MARINA_ERR_TRAILING_BYTES', `Report has ${extra} bytes after its declared payload`);
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
    // The version-1 golden bytes of the same Report: only the version byte differs.
    const v1 = fromHex('06' + '01' + '0800' + '04030201' + '07000000' + '00000000' + '2d00000000000000' + 'ff0102030405');
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
      expectProtocolError(() => readHeader(msg, 1024), 'MARINA_ERR_BAD_FIELD', `Report header sets reserved flag bits 0x${bits}`);
    }
  });

  it('rejects a payload above the limit from the 24 header bytes alone, before waiting for or allocating the body', () => {
    // Only the header arrives: if the limit were checked after the length, this would read as truncated.
    const header = golden().subarray(0, HEADER_BYTES);
    expectProtocolError(() => readHeader(header, 5), 'MARINA_ERR_TOO_LARGE', 'Report payload of 6 bytes exceeds the limit of 5 bytes');
    expect(readHeader(golden(), 6).payloadBits).toBe(45);

    // A header declaring 2^40 bits (2^37 bytes) fails at once with only 24 bytes in hand.
    const huge = new Uint8Array(HEADER_BYTES);
    writeHeader(huge, { kind: Kind.Report, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: 2 ** 40 });
    const e = expectProtocolError(() => readHeader(huge, 1 << 20), 'MARINA_ERR_TOO_LARGE', 'Report payload of 137438953472 bytes exceeds the limit of 1048576 bytes');
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
      const msg = allocMessage({ kind: Kind.Report, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: bits });
      expect(msg.length).toBe(HEADER_BYTES + Math.ceil(bits / 8));
      expect(readHeader(msg, 9).payloadBits).toBe(bits);
    }
  });
});

describe('readHeader and round messages', () => {
  it('refuses a round message where a control message is expected, whatever its length', () => {
    for (const msg of [allocRoundMessage(Kind.Update, 0, 5, 132), allocRoundMessage(Kind.RoundStart, 0, 5, 0), Uint8Array.of(Kind.Norm, PROTOCOL_VERSION)]) {
      const e = expectProtocolError(() => readHeader(msg, 1 << 20), 'MARINA_ERR_UNEXPECTED', `${kindName(msg[0]!)} is a round message; a control message was expected here`);
      expect(e.data).toEqual({ kind: msg[0] });
    }
  });
});

// An Update (uplink) of round 0x00010203 (low 16 bits 0x0203), compressed, 6 payload bytes (CQ/IQ with d = 13).
const GOLDEN_UPLINK = '11' + '03' + '08' + '0302';
// A RoundStart (downlink) of round 0x01020304 with the coin, participate and previous flags, no payload.
const GOLDEN_DOWNLINK = '10' + '03' + '13' + '04030201';

describe('compact round header', () => {
  it('is 5 bytes uplink, 7 downlink: kind, version, flags, round (low 16 bits uplink, 32 downlink)', () => {
    expect(UPLINK_HEADER_BYTES).toBe(5);
    expect(DOWNLINK_HEADER_BYTES).toBe(7);
    const kinds = Object.values(Kind).filter(isRoundKind);
    expect(kinds.map((k) => kindName(k))).toEqual(['RoundStart', 'Update', 'Eval', 'Norm', 'Range', 'State']);
    expect(kinds.map(roundHeaderBytes)).toEqual([7, 5, 5, 5, 7, 7]);
    for (const k of [Kind.Hello, Kind.Welcome, Kind.Error, Kind.Bye, Kind.Assign, Kind.Report, Kind.Challenge]) expect(isRoundKind(k)).toBe(false);
  });

  it('writes the golden bytes, and reads them back at any byte offset', () => {
    const up = allocRoundMessage(Kind.Update, Flag.Compressed, 0x00010203, 6);
    up.set([0xff, 1, 2, 3, 4, 5], UPLINK_HEADER_BYTES);
    expect(toHex(up)).toBe(GOLDEN_UPLINK + 'ff0102030405');
    const down = allocRoundMessage(Kind.RoundStart, Flag.Coin | Flag.Participate | Flag.Previous, 0x01020304, 0);
    expect(toHex(down)).toBe(GOLDEN_DOWNLINK);
    for (const offset of [0, 1, 3, 7]) {
      for (const [msg, h] of [
        [up, { kind: Kind.Update, flags: Flag.Compressed, round: 0x0203, payloadBytes: 6 }],
        [down, { kind: Kind.RoundStart, flags: 0x13, round: 0x01020304, payloadBytes: 0 }],
      ] as const) {
        const buf = new Uint8Array(offset + msg.length);
        buf.set(msg, offset);
        const view = buf.subarray(offset);
        expect(readRoundHeader(view, 6)).toEqual(h);
        expect(toHex(roundPayload(view))).toBe(toHex(msg.subarray(roundHeaderBytes(msg[0]!))));
      }
    }
    expect(readRoundHeader(allocRoundMessage(Kind.State, 0, 0xffffffff, 8), 8)).toEqual({ kind: Kind.State, flags: 0, round: 0xffffffff, payloadBytes: 8 });
  });

  it('refuses a round outside 32 bits when writing', () => {
    for (const round of [-1, 2 ** 32, 1.5, NaN]) expectProtocolError(() => allocRoundMessage(Kind.Update, 0, round, 1), 'MARINA_ERR_OUT_OF_RANGE', `round must be a 32-bit unsigned integer, got ${round}`);
    expect(() => allocRoundMessage(Kind.Hello, 0, 0, 1)).toThrow(RangeError);
  });

  it('refuses every prefix shorter than the header, a bad version, an unknown kind and a control kind', () => {
    const up = fromHex(GOLDEN_UPLINK);
    const down = fromHex(GOLDEN_DOWNLINK);
    for (const k of [0, 1]) expectProtocolError(() => readRoundHeader(up.subarray(0, k), 6), 'MARINA_ERR_TRUNCATED', `message of ${k} bytes is shorter than a round message's header`);
    for (const k of [2, 3, 4]) expectProtocolError(() => readRoundHeader(up.subarray(0, k), 6), 'MARINA_ERR_TRUNCATED', `Update of ${k} bytes is shorter than its 5-byte header`);
    for (const k of [2, 5, 6]) expectProtocolError(() => readRoundHeader(down.subarray(0, k), 6), 'MARINA_ERR_TRUNCATED', `RoundStart of ${k} bytes is shorter than its 7-byte header`);
    for (const version of [0, 1, 2, 4, 255]) {
      const m = up.slice();
      m[1] = version;
      expectProtocolError(() => readRoundHeader(m, 6), 'MARINA_ERR_BAD_VERSION', `protocol version ${version} is not supported (expected ${PROTOCOL_VERSION})`);
    }
    for (const kind of [0, 8, 15, 22, 255]) {
      const m = up.slice();
      m[0] = kind;
      expectProtocolError(() => readRoundHeader(m, 6), 'MARINA_ERR_BAD_KIND', `message kind ${kind} is unknown`);
    }
    const hello = allocMessage({ kind: Kind.Hello, flags: 0, round: 0, rank: 0, aux: 0, payloadBits: 0 });
    expectProtocolError(() => readRoundHeader(hello, 6), 'MARINA_ERR_UNEXPECTED', 'Hello is a control message; a round message was expected here');
  });

  it('refuses flag bits the kind may not set (reserved ones, and another kind\'s)', () => {
    const cases: [number, number, string][] = [
      [Kind.Update, 0x20, 'reserved flag bits 0x20'],
      [Kind.Update, 0xff, 'reserved flag bits 0xf7'],
      [Kind.Update, Flag.Coin, 'flag bits it may not set 0x1'],
      [Kind.RoundStart, Flag.Compressed, 'flag bits it may not set 0x8'],
      [Kind.RoundStart, 0x80 | Flag.Coin, 'reserved flag bits 0x80'],
      [Kind.Norm, Flag.Compressed, 'flag bits it may not set 0x8'],
      [Kind.Eval, Flag.Evaluate, 'flag bits it may not set 0x4'],
      [Kind.Range, 1, 'flag bits it may not set 0x1'],
      [Kind.State, 0x40, 'reserved flag bits 0x40'],
    ];
    for (const [kind, flags, what] of cases) {
      const m = allocRoundMessage(kind, 0, 1, 4);
      m[2] = flags;
      const e = expectProtocolError(() => readRoundHeader(m, 4), 'MARINA_ERR_BAD_FIELD', `${kindName(kind)} header sets ${what}`);
      expect(e.data).toEqual({ flags });
    }
    expect(readRoundHeader(allocRoundMessage(Kind.RoundStart, 0x1f & ~Flag.Compressed, 1, 0), 0).flags).toBe(0x17);
  });

  it('refuses a payload above the limit; its length is the message\'s own (nothing declared, nothing allocated)', () => {
    const m = allocRoundMessage(Kind.Eval, 0, 1, 6);
    const e = expectProtocolError(() => readRoundHeader(m, 5), 'MARINA_ERR_TOO_LARGE', 'Eval payload of 6 bytes exceeds the limit of 5 bytes');
    expect(e.data).toEqual({ payloadBytes: 6, maxPayloadBytes: 5 });
    expect(readRoundHeader(m, 6).payloadBytes).toBe(6);
  });

  it('widens an uplink round (t mod 2^16) to the round nearest the receiver\'s', () => {
    for (const t of [0, 1, 5, 0x7fff, 0x8000, 0xffff, 0x10000, 0x12345, 2 ** 32 - 2]) {
      expect(widenRound(t & 0xffff, t)).toBe(t);
      for (const delta of [-2, -1, 1, 2, 1000, -1000, 0x7fff, -0x7fff]) {
        const r = t + delta;
        if (r >= 0) expect(widenRound(r & 0xffff, t)).toBe(r);
      }
    }
    // Never negative: at t = 0 a message for "round −1" reads as round 65535.
    expect(widenRound(0xffff, 0)).toBe(0xffff);
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
