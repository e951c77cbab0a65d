import { describe, expect, it } from 'vitest';
import {
  allocMessage, allocUpdate, decodeEval, decodeRoundStart, decodeScalar, encodeEval, encodeRoundStart, encodeScalar, Flag, HEADER_BYTES, Kind, payloadOf, PROTOCOL_VERSION, readHeader,
  SERVER_RANK, writeHeader,
} from '@marina/protocol';
import { editedHex, expectProtocolError, fromHex, lcg, toHex } from '@marina/protocol/testing';

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

/** Client side of a RoundStart: header checks with the client's limit (x^t and x^{t−1}: 16·d bytes), then the body. */
function receiveRoundStart(msg: Uint8Array, d: number) {
  const h = readHeader(msg, 16 * d);
  expect(h.kind).toBe(Kind.RoundStart);
  const x = new Float64Array(d);
  const xPrev = new Float64Array(d);
  const flags = decodeRoundStart(h, msg, x, xPrev);
  return { h, flags, x, xPrev };
}

function receiveEval(msg: Uint8Array, d: number) {
  const h = readHeader(msg, 8 * (d + 1));
  expect(h.kind).toBe(Kind.Eval);
  const grad = new Float64Array(d);
  const loss = decodeEval(h, msg, grad);
  return { h, loss, grad };
}

// Golden fixtures, header fields spelled out: kind u8 | version u8 | flags u16 | round u32 | rank u32 | aux u32 | payloadBits u64.
const ROUND_START =
  '10' + '03' + '0500' + '05000000' + 'ffffffff' + '02000000' + '8000000000000000' + // Coin|Evaluate, round 5, server, d = 2, 128 bits
  '000000000000f03f' + // x[0] = 1
  '00000000000000c0'; // x[1] = −2
const ROUND_START_PREV =
  '10' + '03' + '1200' + '06000000' + 'ffffffff' + '01000000' + '8000000000000000' + // Participate|Previous, round 6, d = 1, 128 bits
  '000000000000e03f' + // x^t[0] = 0.5
  '000000000000d0bf'; // x^{t−1}[0] = −0.25
const UPDATE = '11' + '03' + '0800' + '03000000' + '02000000' + '00000000' + '2d00000000000000' + '000000000000'; // Compressed, round 3, rank 2, 45 bits
const EVAL =
  '12' + '03' + '0000' + '07000000' + '01000000' + '02000000' + 'c000000000000000' + // round 7, rank 1, d = 2, 192 bits
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

  it('round-trips bit for bit at unaligned offsets, every flag combination, with and without x^{t−1}', () => {
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
        expect(msg.length).toBe(HEADER_BYTES + 8 * d * (prev ? 2 : 1));
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

  it('rejects every truncated prefix and trailing bytes', () => {
    for (const [golden, d] of [
      [ROUND_START, 2],
      [ROUND_START_PREV, 1],
    ] as const) {
      const msg = fromHex(golden);
      for (let k = 0; k < msg.length; k++) expectProtocolError(() => receiveRoundStart(msg.subarray(0, k), d), 'MARINA_ERR_TRUNCATED');
      const long = new Uint8Array(msg.length + 8);
      long.set(msg);
      expectProtocolError(() => receiveRoundStart(long, d), 'MARINA_ERR_TRAILING_BYTES', 'RoundStart has 8 bytes after its declared payload');
    }
  });

  it('rejects each corrupted header field with its code', () => {
    const corrupt = (edit: (v: DataView) => void): Uint8Array => editedHex(ROUND_START, edit);
    expectProtocolError(() => receiveRoundStart(corrupt((v) => v.setUint8(1, 0)), 2), 'MARINA_ERR_BAD_VERSION', `protocol version 0 is not supported (expected ${PROTOCOL_VERSION})`);
    // A version-1 RoundStart (before the join phase) is refused, not read.
    expectProtocolError(() => receiveRoundStart(corrupt((v) => v.setUint8(1, 1)), 2), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
    expectProtocolError(() => receiveRoundStart(corrupt((v) => v.setUint8(0, 0x16)), 2), 'MARINA_ERR_BAD_KIND', 'message kind 22 is unknown');
    expectProtocolError(() => receiveRoundStart(corrupt((v) => v.setUint16(2, 0x45, true)), 2), 'MARINA_ERR_BAD_FIELD', 'RoundStart header sets reserved flag bits 0x40');
    // d in aux disagrees with the client's d.
    expectProtocolError(() => receiveRoundStart(corrupt((v) => v.setUint32(12, 3, true)), 2), 'MARINA_ERR_OUT_OF_RANGE', 'RoundStart carries d = 3 (128 bits), expected d = 2 (128 bits)');
    // The Previous flag promises x^{t−1}, which the payload does not hold.
    expectProtocolError(() => receiveRoundStart(corrupt((v) => v.setUint16(2, 0x05 | Flag.Previous, true)), 2), 'MARINA_ERR_OUT_OF_RANGE', 'RoundStart carries d = 2 (128 bits), expected d = 2 (256 bits)');
    // A payload length that the message honours but that is not 64·d bits.
    const odd = new Uint8Array(HEADER_BYTES + 17);
    odd.set(fromHex(ROUND_START));
    new DataView(odd.buffer).setUint32(16, 136, true);
    expectProtocolError(() => receiveRoundStart(odd, 2), 'MARINA_ERR_OUT_OF_RANGE', 'RoundStart carries d = 2 (136 bits), expected d = 2 (128 bits)');
    // A length above the client's limit (16·d bytes), or 2^40 bits, fails from the header alone.
    expectProtocolError(() => receiveRoundStart(corrupt((v) => v.setUint32(16, 8 * 33, true)), 2), 'MARINA_ERR_TOO_LARGE', 'RoundStart payload of 33 bytes exceeds the limit of 32 bytes');
    const huge = new Uint8Array(HEADER_BYTES);
    writeHeader(huge, { kind: Kind.RoundStart, version: PROTOCOL_VERSION, flags: 0, round: 0, rank: 0xffffffff, aux: 2, payloadBits: 2 ** 40 });
    expectProtocolError(() => receiveRoundStart(huge, 2), 'MARINA_ERR_TOO_LARGE', 'RoundStart payload of 137438953472 bytes exceeds the limit of 32 bytes');
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
    payloadOf(msg).set(fromHex('010000000000f87f'));
    expectProtocolError(() => receiveRoundStart(msg, 1), 'MARINA_ERR_NOT_FINITE', 'RoundStart x[0] is NaN');
  });
});

describe('Update', () => {
  it('allocates the golden header with a zeroed payload of exactly ceil(bits/8) bytes', () => {
    const msg = allocUpdate(3, 2, true, 45);
    expect(toHex(msg)).toBe(UPDATE);
    expect(payloadOf(msg).length).toBe(6);
    expect(readHeader(msg, 6)).toEqual({ kind: Kind.Update, version: 3, flags: Flag.Compressed, round: 3, rank: 2, aux: 0, payloadBits: 45 });
    // Dense: d = 3 float32 values, no Compressed flag.
    const dense = allocUpdate(0, 0, false, 96);
    expect(toHex(dense.subarray(0, HEADER_BYTES))).toBe('11' + '03' + '0000' + '00000000' + '00000000' + '00000000' + '6000000000000000');
    expect(dense.length).toBe(HEADER_BYTES + 12);
  });

  it('rejects every truncated prefix, trailing bytes and each corrupted header field', () => {
    const msg = fromHex(UPDATE);
    for (let k = 0; k < msg.length; k++) expectProtocolError(() => readHeader(msg.subarray(0, k), 6), 'MARINA_ERR_TRUNCATED');
    expectProtocolError(() => readHeader(atOffset(Uint8Array.of(...msg, 0), 0), 6), 'MARINA_ERR_TRAILING_BYTES', 'Update has 1 bytes after its declared payload');
    const corrupt = (at: number, value: number): Uint8Array => editedHex(UPDATE, (v) => v.setUint8(at, value));
    expectProtocolError(() => readHeader(corrupt(1, 1), 6), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
    expectProtocolError(() => readHeader(corrupt(1, 4), 6), 'MARINA_ERR_BAD_VERSION', `protocol version 4 is not supported (expected ${PROTOCOL_VERSION})`);
    expectProtocolError(() => readHeader(corrupt(0, 0), 6), 'MARINA_ERR_BAD_KIND');
    expectProtocolError(() => readHeader(corrupt(2, 0x88), 6), 'MARINA_ERR_BAD_FIELD', 'Update header sets reserved flag bits 0x80');
    expectProtocolError(() => readHeader(corrupt(16, 49), 6), 'MARINA_ERR_TOO_LARGE', 'Update payload of 7 bytes exceeds the limit of 6 bytes');
    // Rank, round and the payload length against the compressor are the coordinator's and compressor's checks (core).
  });
});

describe('Eval', () => {
  it('encodes to the golden bytes and decodes them', () => {
    const msg = encodeEval(7, 1, 0.5, Float64Array.of(3, -1));
    expect(toHex(msg)).toBe(EVAL);
    const r = receiveEval(fromHex(EVAL), 2);
    expect([r.h.round, r.h.rank, r.loss, ...r.grad]).toEqual([7, 1, 0.5, 3, -1]);
  });

  it('round-trips bit for bit at unaligned offsets', () => {
    const g = lcgFloats(3, 50);
    const msg = encodeEval(9, 4, -123.456, g);
    for (const offset of [0, 1, 2, 3, 5]) {
      const r = receiveEval(atOffset(msg, offset), 50);
      expect(r.loss).toBe(-123.456);
      expect(toHex(new Uint8Array(r.grad.buffer))).toBe(toHex(new Uint8Array(g.buffer)));
    }
  });

  it('rejects every truncated prefix, trailing bytes and each corrupted header field', () => {
    const msg = fromHex(EVAL);
    for (let k = 0; k < msg.length; k++) expectProtocolError(() => receiveEval(msg.subarray(0, k), 2), 'MARINA_ERR_TRUNCATED');
    expectProtocolError(() => receiveEval(Uint8Array.of(...msg, 0, 0), 2), 'MARINA_ERR_TRAILING_BYTES', 'Eval has 2 bytes after its declared payload');
    const corrupt = (edit: (v: DataView) => void): Uint8Array => editedHex(EVAL, edit);
    expectProtocolError(() => receiveEval(corrupt((v) => v.setUint8(1, 4)), 2), 'MARINA_ERR_BAD_VERSION', `protocol version 4 is not supported (expected ${PROTOCOL_VERSION})`);
    expectProtocolError(() => receiveEval(corrupt((v) => v.setUint8(1, 1)), 2), 'MARINA_ERR_BAD_VERSION', 'protocol version 1 is not supported (expected 3)');
    expectProtocolError(() => receiveEval(corrupt((v) => v.setUint8(0, 0xff)), 2), 'MARINA_ERR_BAD_KIND', 'message kind 255 is unknown');
    expectProtocolError(() => receiveEval(corrupt((v) => v.setUint16(2, 0x8000, true)), 2), 'MARINA_ERR_BAD_FIELD', 'Eval header sets reserved flag bits 0x8000');
    expectProtocolError(() => receiveEval(corrupt((v) => v.setUint32(12, 1, true)), 2), 'MARINA_ERR_OUT_OF_RANGE', 'Eval carries d = 1 (192 bits), expected d = 2 (192 bits)');
    expectProtocolError(() => receiveEval(corrupt((v) => v.setUint32(16, 256, true)), 2), 'MARINA_ERR_TOO_LARGE', 'Eval payload of 32 bytes exceeds the limit of 24 bytes');
    // The message honours a shorter length that is not 64·(d + 1) bits.
    const short = fromHex(EVAL).subarray(0, HEADER_BYTES + 16);
    new DataView(short.buffer, short.byteOffset).setUint32(16, 128, true);
    expectProtocolError(() => receiveEval(short, 2), 'MARINA_ERR_OUT_OF_RANGE', 'Eval carries d = 2 (128 bits), expected d = 2 (192 bits)');
  });

  it('rejects a non-finite loss or gradient', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expectProtocolError(() => receiveEval(encodeEval(0, 0, bad, Float64Array.of(1, 2)), 2), 'MARINA_ERR_NOT_FINITE', `Eval loss is ${bad}`);
      expectProtocolError(() => receiveEval(encodeEval(0, 0, 1, Float64Array.of(1, bad)), 2), 'MARINA_ERR_NOT_FINITE', `Eval gradient[1] is ${bad}`);
    }
  });
});

describe('Norm and Range (decision 3: shared-range rounds)', () => {
  it('carry one float32 ≥ 0: golden bytes, round trip, and every bad value refused with its code', () => {
    const norm = encodeScalar(Kind.Norm, 7, 2, 1.5);
    expect(toHex(norm)).toBe('13' + '03' + '0000' + '07000000' + '02000000' + '00000000' + '2000000000000000' + '0000c03f');
    expect(decodeScalar(readHeader(norm, 4), norm)).toBe(1.5);
    const range = encodeScalar(Kind.Range, 7, SERVER_RANK, 3);
    expect(readHeader(range, 4).kind).toBe(Kind.Range);
    expect(decodeScalar(readHeader(range, 4), range)).toBe(3);
    const bad = (v: number) => {
      const m = encodeScalar(Kind.Norm, 1, 0, 0);
      new DataView(m.buffer, m.byteOffset + HEADER_BYTES, 4).setFloat32(0, v, true);
      return () => decodeScalar(readHeader(m, 4), m);
    };
    expectProtocolError(bad(NaN), 'MARINA_ERR_NOT_FINITE', 'Norm is NaN');
    expectProtocolError(bad(Infinity), 'MARINA_ERR_NOT_FINITE', 'Norm is Infinity');
    expectProtocolError(bad(-1), 'MARINA_ERR_OUT_OF_RANGE', 'Norm is -1; a norm is ≥ 0');
    const long = allocMessage({ kind: Kind.Norm, flags: 0, round: 1, rank: 0, aux: 0, payloadBits: 64 });
    expectProtocolError(() => decodeScalar(readHeader(long, 8), long), 'MARINA_ERR_OUT_OF_RANGE', 'Norm carries 64 payload bits (aux 0); expected one float32 (32 bits, aux 0)');
  });
});
