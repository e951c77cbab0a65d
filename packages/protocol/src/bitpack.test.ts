import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter, packedSymbolBits, packSymbols, symbolsPerWord, unpackSymbols } from '@marina/protocol';
import { expectProtocolError, fromHex, lcg, toHex } from '@marina/protocol/testing';

const mask = (v: number, nbits: number): number => (nbits === 32 ? v >>> 0 : (v & (2 ** nbits - 1)) >>> 0);

describe('BitWriter / BitReader', () => {
  it('packs least-significant bit first (golden bytes)', () => {
    const out = new Uint8Array(2);
    const w = new BitWriter(out);
    w.write(0b101, 3);
    w.write(0xff, 8);
    w.bit(1);
    expect(w.finish()).toBe(2);
    // Stream bits 0..11 = 1,0,1 | 1×8 | 1: byte 0 = 0b11111101, byte 1 = 0b00001111 (high nibble is padding).
    expect(toHex(out)).toBe('fd0f');
    const r = new BitReader(out);
    expect([r.read(3), r.read(8), r.bit()]).toEqual([0b101, 0xff, 1]);
    r.finish();
  });

  it('writes 32-bit fields at every alignment', () => {
    for (let shift = 0; shift < 8; shift++) {
      const out = new Uint8Array(5);
      const w = new BitWriter(out);
      w.write(0, shift);
      w.write(0xdeadbeef, 32);
      const end = w.finish();
      expect(end).toBe(Math.ceil((shift + 32) / 8));
      const expected = BigInt(0xdeadbeef) << BigInt(shift);
      let got = 0n;
      for (let k = end - 1; k >= 0; k--) got = (got << 8n) | BigInt(out[k]!);
      expect(got).toBe(expected);
    }
  });

  it('keeps only the low nbits of a value', () => {
    const out = new Uint8Array(2);
    const w = new BitWriter(out);
    w.write(0xffffffff, 4);
    w.write(-1, 3);
    w.write(0x1234, 0);
    expect(w.finish()).toBe(1);
    expect(toHex(out)).toBe('7f00');
  });

  it('round-trips random field widths 0..32 mixed with single bits (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const g = lcg(seed);
      const count = 2000;
      const widths: number[] = [];
      const values: number[] = [];
      let total = 0;
      for (let i = 0; i < count; i++) {
        const w = g.int(34) - 1; // −1 means a single bit through bit()
        widths.push(w);
        values.push(w === -1 ? g.int(2) : mask(g.u32(), w));
        total += w === -1 ? 1 : w;
      }
      const offset = seed; // writers and readers may start at any byte offset
      const out = new Uint8Array(offset + Math.ceil(total / 8));
      const writer = new BitWriter(out, offset);
      for (let i = 0; i < count; i++) {
        if (widths[i] === -1) writer.bit(values[i]!);
        else writer.write(values[i]!, widths[i]!);
      }
      expect(writer.finish()).toBe(out.length);
      const reader = new BitReader(out, offset);
      for (let i = 0; i < count; i++) {
        const got = widths[i] === -1 ? reader.bit() : reader.read(widths[i]!);
        if (got !== values[i]) expect({ i, width: widths[i], got }).toEqual({ i, width: widths[i], got: values[i] });
      }
      reader.finish();
      if (total % 8 !== 0) expect(out[out.length - 1]! >>> total % 8).toBe(0); // zero padding
    }
  });

  it('detects nonzero padding bits', () => {
    for (let used = 1; used < 8; used++) {
      for (let pad = used; pad < 8; pad++) {
        const bytes = Uint8Array.of(1 << pad);
        const r = new BitReader(bytes);
        r.read(used);
        expectProtocolError(() => r.finish(), 'MARINA_ERR_NONZERO_PADDING', `padding bits of the last payload byte are not zero (0x${(1 << (pad - used)).toString(16)})`);
      }
    }
  });

  it('rejects bytes left after the last field, and reads past the end', () => {
    const r = new BitReader(fromHex('ff00'));
    expect(r.read(8)).toBe(0xff);
    expectProtocolError(() => r.finish(), 'MARINA_ERR_TRAILING_BYTES', '1 payload bytes left after the last field');

    const t = new BitReader(fromHex('ff'));
    t.read(5);
    expectProtocolError(() => t.read(4), 'MARINA_ERR_TRUNCATED', 'bit stream ended after 1 bytes');
    const b = new BitReader(new Uint8Array(0));
    expectProtocolError(() => b.bit(), 'MARINA_ERR_TRUNCATED', 'bit stream ended after 0 bytes');
    const o = new BitReader(fromHex('0102'), 2);
    expectProtocolError(() => o.read(1), 'MARINA_ERR_TRUNCATED', 'bit stream ended after 2 bytes');
  });
});

describe('symbol packing (SPEC decision 12)', () => {
  it('puts k symbols in a word, k the largest with m^k ≤ 2^32', () => {
    expect(symbolsPerWord(2)).toBe(32);
    expect(symbolsPerWord(3)).toBe(20); // 3^20 = 3 486 784 401 ≤ 2^32 < 3^21
    expect(symbolsPerWord(5)).toBe(13);
    expect(symbolsPerWord(9)).toBe(10); // 9^10 = 3^20
    expect(symbolsPerWord(2 ** 16)).toBe(2);
    expect(symbolsPerWord(2 ** 16 + 1)).toBe(1);
    expect(symbolsPerWord(2 ** 32)).toBe(1);
    for (let m = 2; m < 300; m++) {
      const k = symbolsPerWord(m);
      expect(m ** k <= 2 ** 32 && m ** (k + 1) > 2 ** 32).toBe(true);
    }
    // Within 1.1% of log2 3 bits per trit.
    expect(32 / 20 / Math.log2(3) - 1).toBeLessThan(0.011);
    for (const m of [1, 0, 2.5, 2 ** 32 + 1, NaN]) expect(() => symbolsPerWord(m)).toThrow(RangeError);
    expect(() => symbolsPerWord(1)).toThrow('alphabet size must be an integer in [2, 2^32], got 1');
  });

  it('counts whole words', () => {
    expect(packedSymbolBits(0, 3)).toBe(0);
    expect(packedSymbolBits(1, 3)).toBe(32);
    expect(packedSymbolBits(20, 3)).toBe(32);
    expect(packedSymbolBits(21, 3)).toBe(64);
    expect(packedSymbolBits(1000, 3)).toBe(32 * 50);
    expect(packedSymbolBits(11, 9)).toBe(64);
    expect(packedSymbolBits(7, 2 ** 16 + 1)).toBe(7 * 32);
  });

  it('packs trits to golden words: s0 + 3·s1 + 9·s2 + …, little-endian', () => {
    const out = new Uint8Array(8);
    const trits = [1, 2, 0, ...Array<number>(17).fill(0), 2];
    expect(packSymbols(trits, 3, out, 0)).toBe(8);
    expect(toHex(out)).toBe('07000000' + '02000000');
    const all = new Uint8Array(4);
    packSymbols(Array<number>(20).fill(2), 3, all, 0); // 3^20 − 1 = 0xcfd41b90
    expect(toHex(all)).toBe('901bd4cf');
  });

  const cases: [number, number, () => Uint8Array | Uint16Array | Int32Array][] = [
    [3, 20, () => new Uint8Array(1000)],
    [9, 10, () => new Uint8Array(1000)],
    [2 ** 16 + 1, 1, () => new Int32Array(1000)],
  ];
  for (const [m, k] of cases) {
    it(`round-trips m = ${m} (${k} per word) at every length mod k, at odd byte offsets`, () => {
      const g = lcg(m);
      for (const count of [0, 1, k - 1, k, k + 1, 2 * k + 3, 997]) {
        if (count < 0) continue;
        const symbols = Array.from({ length: count }, (_, i) => (i % 7 === 0 ? m - 1 : g.int(m)));
        const bytes = packedSymbolBits(count, m) / 8;
        const out = new Uint8Array(3 + bytes);
        expect(packSymbols(symbols, m, out, 3)).toBe(3 + bytes);
        const back = cases.find((c) => c[0] === m)![2]();
        expect(unpackSymbols(out, 3, m, back, count)).toBe(3 + bytes);
        expect(Array.from(back.subarray(0, count))).toEqual(symbols);
      }
    });
  }

  it('packs m = 2^16 + 1 one symbol per word, the largest being 0x10000', () => {
    const out = new Uint8Array(8);
    packSymbols([65536, 1], 2 ** 16 + 1, out, 0);
    expect(toHex(out)).toBe('00000100' + '01000000');
  });

  it('rejects a word that encodes a value outside the alphabet', () => {
    const v = (words: number[]): Uint8Array => {
      const b = new Uint8Array(4 * words.length);
      words.forEach((w, i) => new DataView(b.buffer).setUint32(4 * i, w, true));
      return b;
    };
    const out = new Int32Array(40);
    // m = 3: a full word holds 20 trits, so 3^20 and above are out of range.
    expect(unpackSymbols(v([3 ** 20 - 1]), 0, 3, out, 20)).toBe(4);
    expectProtocolError(() => unpackSymbols(v([3 ** 20]), 0, 3, out, 20), 'MARINA_ERR_OUT_OF_RANGE', 'packed word at byte 0 encodes more than 20 symbols of alphabet 3');
    expectProtocolError(() => unpackSymbols(v([0xffffffff]), 0, 3, out, 20), 'MARINA_ERR_OUT_OF_RANGE');
    // A partial last word (25 trits: 20 + 5) must stay below 3^5.
    expect(unpackSymbols(v([0, 3 ** 5 - 1]), 0, 3, out, 25)).toBe(8);
    expectProtocolError(() => unpackSymbols(v([0, 3 ** 5]), 0, 3, out, 25), 'MARINA_ERR_OUT_OF_RANGE', 'packed word at byte 4 encodes more than 5 symbols of alphabet 3');
    // m = 9: 10 per word, 9^10 = 3^20.
    expectProtocolError(() => unpackSymbols(v([9 ** 10]), 0, 9, out, 10), 'MARINA_ERR_OUT_OF_RANGE');
    // m = 2^16 + 1: one per word, 0x10001 is out of range.
    expect(unpackSymbols(v([0x10000]), 0, 2 ** 16 + 1, out, 1)).toBe(4);
    expect(out[0]).toBe(65536);
    expectProtocolError(() => unpackSymbols(v([0x10001]), 0, 2 ** 16 + 1, out, 1), 'MARINA_ERR_OUT_OF_RANGE', 'packed word at byte 0 encodes more than 1 symbols of alphabet 65537');
    // m = 2^16: two per word fill all 32 bits, so every word is valid.
    expect(unpackSymbols(v([0xffffffff]), 0, 2 ** 16, out, 2)).toBe(4);
    expect([out[0], out[1]]).toEqual([65535, 65535]);
  });

  it('rejects a payload too short for the declared symbols', () => {
    const out = new Uint8Array(41);
    expectProtocolError(() => unpackSymbols(new Uint8Array(8), 0, 3, out, 41), 'MARINA_ERR_TRUNCATED', '41 symbols need 12 bytes, 8 left');
    expectProtocolError(() => unpackSymbols(new Uint8Array(12), 5, 3, out, 41), 'MARINA_ERR_TRUNCATED', '41 symbols need 12 bytes, 7 left');
  });
});
