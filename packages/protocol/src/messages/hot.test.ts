import { describe, expect, it } from 'vitest';
import {
  allocRoundMessage, allocUpdate, decodeEval, decodeRoundStart, decodeScalar, decodeState, encodeEval, encodeRoundStart, encodeScalar, encodeState, Flag, Kind, PROTOCOL_VERSION,
  readRoundHeader, readRoundStart, roundPayload, UPLINK_HEADER_BYTES, DOWNLINK_HEADER_BYTES,
} from '@marina/protocol';
import { expectProtocolError, fromHex, lcg, toHex } from '@marina/protocol/testing';

/** Seeded doubles of varied scale (1e-6 to 1e6, both signs), so round trips cover many exponents. */
function lcgFloats(seed: number, count: number): Float64Array {
  const g = lcg(seed);
  return Float64Array.from({ length: count }, (_, i) => (g.u32() / 2 ** 32 - 0.5) * 10 ** ((i % 13) - 6));
}

/** Copies a message to byte offset `offset` of a larger buffer, as ws may deliver it. */
function atOffset(msg: Uint8Array, offset: number): Uint8Array {
  const buf = new Uint8Array(offset + msg.length);
  buf.set(msg, offset);
  return buf.subarray(offset);
}

/** `hex` with byte `at` set to `value`. */
function edited(hex: string, at: number, value: number): Uint8Array {
  const m = fromHex(hex);
  m[at] = value;
  return m;
}

/** Client side of a RoundStart: header checks with the client's limit (x^t and x^{t−1}: 16·d bytes), then the body. */
function receiveRoundStart(msg: Uint8Array, d: number) {
  const h = readRoundHeader(msg, 16 * d);
  expect(h.kind).toBe(Kind.RoundStart);
  const x = new Float64Array(d);
  const xPrev = new Float64Array(d);
  const flags = decodeRoundStart(h, msg, x, xPrev);
  return { h, flags, x, xPrev };
}

function receiveEval(msg: Uint8Array, d: number) {
  const h = readRoundHeader(msg, 8 * (d + 1));
  expect(h.kind).toBe(Kind.Eval);
  const grad = new Float64Array(d);
  const loss = decodeEval(h, msg, grad);
  return { h, loss, grad };
}

// Golden fixtures, header fields spelled out: kind u8 | version u8 | flags u8 | round (u32 downlink, u16 uplink).
const ROUND_START =
  '10' + '03' + '05' + '05000000' + // Coin|Evaluate, round 5
  '000000000000f03f' + // x[0] = 1
  '00000000000000c0'; // x[1] = −2
const ROUND_START_PREV =
  '10' + '03' + '12' + '06000000' + // Participate|Previous, round 6
  '000000000000e03f' + // x^t[0] = 0.5
  '000000000000d0bf'; // x^{t−1}[0] = −0.25
const UPDATE = '11' + '03' + '08' + '0300' + '000000000000'; // Compressed, round 3, 6 payload bytes (45 bits)
const EVAL =
  '12' + '03' + '00' + '0700' + // round 7
  '000000000000e03f' + // loss 0.5
  '0000000000000840' + // ∇f[0] = 3
  '000000000000f0bf'; // ∇f[1] = −1

describe('RoundStart', () => {
  it('encodes to the golden bytes', () => {
    expect(toHex(encodeRoundStart(5, { coin: true, participate: false, evaluate: true }, Float64Array.of(1, -2), null))).toBe(ROUND_START);
    expect(toHex(encodeRoundStart(6, { coin: false, participate: true, evaluate: false }, Float64Array.of(0.5), Float64Array.of(-0.25)))).toBe(ROUND_START_PREV);
  });

  it('decodes the golden bytes', () => {
    const a = receiveRoundStart(fromHex(ROUND_START), 2);
    expect(a.h.round).toBe(5);
    expect(a.flags).toEqual({ coin: true, participate: false, evaluate: true, previous: false });
    expect(Array.from(a.x)).toEqual([1, -2]);
    const b = receiveRoundStart(fromHex(ROUND_START_PREV), 1);
    expect(b.flags).toEqual({ coin: false, participate: true, evaluate: false, previous: true });
    expect([b.x[0], b.xPrev[0]]).toEqual([0.5, -0.25]);
  });

  it('round-trips bit for bit at unaligned offsets, every flag combination, with and without x^{t−1}, the whole 32-bit round', () => {
    const d = 37;
    const x = lcgFloats(1, d);
    const xPrev = lcgFloats(2, d);
    x[3] = -0;
    x[4] = Number.MIN_VALUE;
    x[5] = -Number.MAX_VALUE;
    for (let f = 0; f < 8; f++) {
      const flags = { coin: (f & 1) !== 0, participate: (f & 2) !== 0, evaluate: (f & 4) !== 0 };
      for (const prev of [null, xPrev]) {
        const msg = encodeRoundStart(123456789, flags, x, prev);
        expect(msg.length).toBe(DOWNLINK_HEADER_BYTES + 8 * d * (prev ? 2 : 1));
        for (const offset of [0, 1, 4, 7]) {
          const r = receiveRoundStart(atOffset(msg, offset), d);
          expect(r.h.round).toBe(123456789);
          expect(r.flags).toEqual({ ...flags, previous: prev !== null });
          expect(toHex(new Uint8Array(r.x.buffer))).toBe(toHex(new Uint8Array(x.buffer)));
          if (prev) expect(toHex(new Uint8Array(r.xPrev.buffer))).toBe(toHex(new Uint8Array(xPrev.buffer)));
        }
      }
    }
  });

  it('rejects every truncated prefix and trailing bytes (the payload must be exactly 8·d bytes, 16·d with x^{t−1})', () => {
    for (const [golden, d] of [
      [ROUND_START, 2],
      [ROUND_START_PREV, 1],
    ] as const) {
      const msg = fromHex(golden);
      for (let k = 0; k < msg.length; k++) expectProtocolError(() => receiveRoundStart(msg.subarray(0, k), d), 'MARINA_ERR_TRUNCATED');
      // One byte more is refused: as trailing bytes, or above the limit of 16·d bytes when x^{t−1} fills it.
      const long = new Uint8Array(msg.length + 1);
      long.set(msg);
      expectProtocolError(() => receiveRoundStart(long, d), golden === ROUND_START ? 'MARINA_ERR_TRAILING_BYTES' : 'MARINA_ERR_TOO_LARGE');
    }
    const trailing = new Uint8Array(fromHex(ROUND_START).length + 8);
    trailing.set(fromHex(ROUND_START));
    expectProtocolError(() => receiveRoundStart(trailing, 2), 'MARINA_ERR_TRAILING_BYTES', 'RoundStart carries 24 payload bytes, expected 16 (d = 2 float64 values)');
  });

  it('rejects each corrupted header field with its code', () => {
    expectProtocolError(() => receiveRoundStart(edited(ROUND_START, 1, 0), 2), 'MARINA_ERR_BAD_VERSION', `protocol version 0 is not supported (expected ${PROTOCOL_VERSION})`);
    // A version-1 RoundStart (before the join phase) is refused, not read.
    expectProtocolError(() => receiveRoundStart(edited(ROUND_START, 1, 1), 2), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
    expectProtocolError(() => receiveRoundStart(edited(ROUND_START, 0, 0x16), 2), 'MARINA_ERR_BAD_KIND', 'message kind 22 is unknown');
    expectProtocolError(() => receiveRoundStart(edited(ROUND_START, 2, 0x45), 2), 'MARINA_ERR_BAD_FIELD', 'RoundStart header sets reserved flag bits 0x40');
    expectProtocolError(() => receiveRoundStart(edited(ROUND_START, 2, 0x0d), 2), 'MARINA_ERR_BAD_FIELD', 'RoundStart header sets flag bits it may not set 0x8');
    // A payload of another d than the client's.
    expectProtocolError(() => receiveRoundStart(fromHex(ROUND_START), 3), 'MARINA_ERR_TRUNCATED', 'RoundStart carries 16 payload bytes, expected 24 (d = 3 float64 values)');
    // The Previous flag promises x^{t−1}, which the payload does not hold.
    expectProtocolError(
      () => receiveRoundStart(edited(ROUND_START, 2, 0x05 | Flag.Previous), 2),
      'MARINA_ERR_TRUNCATED',
      'RoundStart carries 16 payload bytes, expected 32 (d = 2 float64 values, twice (x^t, x^{t−1}))',
    );
    // A length above the client's limit (16·d bytes) fails before anything is copied.
    const big = new Uint8Array(DOWNLINK_HEADER_BYTES + 33);
    big.set(fromHex(ROUND_START).subarray(0, DOWNLINK_HEADER_BYTES));
    expectProtocolError(() => receiveRoundStart(big, 2), 'MARINA_ERR_TOO_LARGE', 'RoundStart payload of 33 bytes exceeds the limit of 32 bytes');
  });

  it('readRoundStart (the client\'s allocation-free form) copies the same vectors and returns the header\'s flag bits', () => {
    const d = 5;
    const [x, xPrev] = [lcgFloats(3, d), lcgFloats(4, d)];
    for (const prev of [null, xPrev]) {
      const msg = atOffset(encodeRoundStart(9, { coin: true, participate: false, evaluate: true }, x, prev), 3);
      const [xOut, prevOut] = [new Float64Array(d), new Float64Array(d)];
      const flags = readRoundStart(readRoundHeader(msg, 16 * d), msg, xOut, prevOut);
      expect(flags).toBe(Flag.Coin | Flag.Evaluate | (prev ? Flag.Previous : 0));
      expect(xOut).toEqual(x);
      if (prev) expect(prevOut).toEqual(xPrev);
    }
    const short = fromHex(ROUND_START);
    expectProtocolError(() => readRoundStart(readRoundHeader(short, 48), short, new Float64Array(3), new Float64Array(3)), 'MARINA_ERR_TRUNCATED', 'RoundStart carries 16 payload bytes, expected 24 (d = 3 float64 values)');
  });

  it('rejects non-finite coordinates of x^t and x^{t−1}', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const j of [0, 2]) {
        const x = Float64Array.of(1, 2, 3);
        x[j] = bad;
        expectProtocolError(() => receiveRoundStart(encodeRoundStart(1, { coin: false, participate: true, evaluate: false }, x, null), 3), 'MARINA_ERR_NOT_FINITE', `RoundStart x[${j}] is ${bad}`);
        expectProtocolError(
          () => receiveRoundStart(encodeRoundStart(1, { coin: false, participate: true, evaluate: false }, Float64Array.of(1, 2, 3), x), 3),
          'MARINA_ERR_NOT_FINITE',
          `RoundStart x_prev[${j}] is ${bad}`,
        );
      }
    }
    // A NaN with a nonstandard payload is still NaN.
    const msg = encodeRoundStart(1, { coin: false, participate: false, evaluate: false }, Float64Array.of(0), null);
    roundPayload(msg).set(fromHex('010000000000f87f'));
    expectProtocolError(() => receiveRoundStart(msg, 1), 'MARINA_ERR_NOT_FINITE', 'RoundStart x[0] is NaN');
  });
});

describe('Update', () => {
  it('allocates the golden header with a zeroed payload of exactly ceil(bits/8) bytes; the round travels mod 2^16', () => {
    const msg = allocUpdate(3, true, 45);
    expect(toHex(msg)).toBe(UPDATE);
    expect(roundPayload(msg).length).toBe(6);
    expect(readRoundHeader(msg, 6)).toEqual({ kind: Kind.Update, flags: Flag.Compressed, round: 3, payloadBytes: 6 });
    // Dense: d = 3 float32 values, no Compressed flag; round 0x12345 is sent as 0x2345.
    const dense = allocUpdate(0x12345, false, 96);
    expect(toHex(dense.subarray(0, UPLINK_HEADER_BYTES))).toBe('11' + '03' + '00' + '4523');
    expect(dense.length).toBe(UPLINK_HEADER_BYTES + 12);
    // CQ or IQ at d = 1024: 32 + d bits in 132 bytes, 137 with the header (README "How bits and bytes are counted").
    expect(allocUpdate(7, true, 32 + 1024).length).toBe(137);
  });

  it('rejects every truncated header prefix and each corrupted header field', () => {
    const msg = fromHex(UPDATE);
    for (let k = 0; k < UPLINK_HEADER_BYTES; k++) expectProtocolError(() => readRoundHeader(msg.subarray(0, k), 6), 'MARINA_ERR_TRUNCATED');
    expectProtocolError(() => readRoundHeader(Uint8Array.of(...msg, 0), 6), 'MARINA_ERR_TOO_LARGE', 'Update payload of 7 bytes exceeds the limit of 6 bytes');
    expectProtocolError(() => readRoundHeader(edited(UPDATE, 1, 1), 6), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
    expectProtocolError(() => readRoundHeader(edited(UPDATE, 1, 4), 6), 'MARINA_ERR_BAD_VERSION', `protocol version 4 is not supported (expected ${PROTOCOL_VERSION})`);
    expectProtocolError(() => readRoundHeader(edited(UPDATE, 0, 0), 6), 'MARINA_ERR_BAD_KIND');
    expectProtocolError(() => readRoundHeader(edited(UPDATE, 2, 0x88), 6), 'MARINA_ERR_BAD_FIELD', 'Update header sets reserved flag bits 0x80');
    expectProtocolError(() => readRoundHeader(edited(UPDATE, 2, 0x09), 6), 'MARINA_ERR_BAD_FIELD', 'Update header sets flag bits it may not set 0x1');
    // The round against the server's, and the payload's length against the codec, are the coordinator's checks (core).
  });
});

describe('Eval', () => {
  it('encodes to the golden bytes and decodes them', () => {
    const msg = encodeEval(7, 0.5, Float64Array.of(3, -1));
    expect(toHex(msg)).toBe(EVAL);
    const r = receiveEval(fromHex(EVAL), 2);
    expect([r.h.round, r.loss, ...r.grad]).toEqual([7, 0.5, 3, -1]);
  });

  it('rewrites a message of the right length in place (the client reuses it every evaluation round)', () => {
    const first = encodeEval(7, 0.5, Float64Array.of(3, -1));
    const again = encodeEval(0x10008, 2, Float64Array.of(1, 2), first);
    expect(again).toBe(first);
    expect(receiveEval(again, 2)).toMatchObject({ h: { round: 8 }, loss: 2 });
    // Another length, or another kind's bytes, is not reused.
    expect(encodeEval(1, 0, Float64Array.of(1, 2, 3), first)).not.toBe(first);
    expect(encodeEval(1, 0, Float64Array.of(1, 2), allocUpdate(1, true, 8 * 24))).not.toBe(first);
  });

  it('round-trips bit for bit at unaligned offsets', () => {
    const g = lcgFloats(3, 50);
    const msg = encodeEval(9, -123.456, g);
    for (const offset of [0, 1, 2, 3, 5]) {
      const r = receiveEval(atOffset(msg, offset), 50);
      expect(r.loss).toBe(-123.456);
      expect(toHex(new Uint8Array(r.grad.buffer))).toBe(toHex(new Uint8Array(g.buffer)));
    }
  });

  it('rejects every truncated prefix, trailing bytes and each corrupted header field', () => {
    const msg = fromHex(EVAL);
    for (let k = 0; k < msg.length; k++) expectProtocolError(() => receiveEval(msg.subarray(0, k), 2), 'MARINA_ERR_TRUNCATED');
    expectProtocolError(() => receiveEval(Uint8Array.of(...msg, 0, 0), 3), 'MARINA_ERR_TRUNCATED', 'Eval carries 26 payload bytes, expected 32 (f_i and d = 3 gradient values, float64)');
    expectProtocolError(() => receiveEval(Uint8Array.of(...msg, 0, 0), 2), 'MARINA_ERR_TOO_LARGE', 'Eval payload of 26 bytes exceeds the limit of 24 bytes');
    expectProtocolError(() => receiveEval(fromHex(EVAL), 1), 'MARINA_ERR_TOO_LARGE', 'Eval payload of 24 bytes exceeds the limit of 16 bytes');
    expectProtocolError(() => receiveEval(edited(EVAL, 1, 4), 2), 'MARINA_ERR_BAD_VERSION', `protocol version 4 is not supported (expected ${PROTOCOL_VERSION})`);
    expectProtocolError(() => receiveEval(edited(EVAL, 1, 1), 2), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
    expectProtocolError(() => receiveEval(edited(EVAL, 0, 0xff), 2), 'MARINA_ERR_BAD_KIND', 'message kind 255 is unknown');
    expectProtocolError(() => receiveEval(edited(EVAL, 2, 0x80), 2), 'MARINA_ERR_BAD_FIELD', 'Eval header sets reserved flag bits 0x80');
  });

  it('rejects a non-finite loss or gradient', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expectProtocolError(() => receiveEval(encodeEval(0, bad, Float64Array.of(1, 2)), 2), 'MARINA_ERR_NOT_FINITE', `Eval loss is ${bad}`);
      expectProtocolError(() => receiveEval(encodeEval(0, 1, Float64Array.of(1, bad)), 2), 'MARINA_ERR_NOT_FINITE', `Eval gradient[1] is ${bad}`);
    }
  });
});

describe('State', () => {
  it('carries the whole round and exactly d finite float64 values', () => {
    const msg = encodeState(0x01020304, Float64Array.of(1.5, -2));
    expect(toHex(msg)).toBe('15' + '03' + '00' + '04030201' + '000000000000f83f' + '00000000000000c0');
    const out = new Float64Array(2);
    const h = readRoundHeader(msg, 16);
    expect(h.round).toBe(0x01020304);
    decodeState(h, msg, out);
    expect(Array.from(out)).toEqual([1.5, -2]);
    expectProtocolError(() => decodeState(readRoundHeader(msg, 16), msg, new Float64Array(3)), 'MARINA_ERR_TRUNCATED', 'State carries 16 payload bytes, expected 24 (d = 3 float64 values)');
    const bad = encodeState(1, Float64Array.of(1, NaN));
    expectProtocolError(() => decodeState(readRoundHeader(bad, 16), bad, out), 'MARINA_ERR_NOT_FINITE', 'State[1] is NaN');
  });
});

describe('Norm and Range (decision 3: shared-range rounds)', () => {
  it('carry one float32 ≥ 0: golden bytes, round trip, and every bad value refused with its code', () => {
    const norm = encodeScalar(Kind.Norm, 7, 1.5);
    expect(toHex(norm)).toBe('13' + '03' + '00' + '0700' + '0000c03f');
    expect(decodeScalar(readRoundHeader(norm, 4), norm)).toBe(1.5);
    const range = encodeScalar(Kind.Range, 7, 3);
    expect(toHex(range)).toBe('14' + '03' + '00' + '07000000' + '00004040');
    expect(readRoundHeader(range, 4).kind).toBe(Kind.Range);
    expect(decodeScalar(readRoundHeader(range, 4), range)).toBe(3);
    const bad = (v: number) => {
      const m = encodeScalar(Kind.Norm, 1, 0);
      new DataView(m.buffer, m.byteOffset + UPLINK_HEADER_BYTES, 4).setFloat32(0, v, true);
      return () => decodeScalar(readRoundHeader(m, 4), m);
    };
    expectProtocolError(bad(NaN), 'MARINA_ERR_NOT_FINITE', 'Norm is NaN');
    expectProtocolError(bad(Infinity), 'MARINA_ERR_NOT_FINITE', 'Norm is Infinity');
    expectProtocolError(bad(-1), 'MARINA_ERR_OUT_OF_RANGE', 'Norm is -1; a norm is ≥ 0');
    const long = allocRoundMessage(Kind.Norm, 0, 1, 8);
    expectProtocolError(() => decodeScalar(readRoundHeader(long, 8), long), 'MARINA_ERR_TRAILING_BYTES', 'Norm carries 8 payload bytes, expected 4 (one float32)');
  });
});
