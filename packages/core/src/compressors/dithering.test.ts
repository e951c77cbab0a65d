import { describe, expect, it } from 'vitest';
import { symbolsPerWord } from '@marina/protocol';
import { protocolErrorCode } from '@marina/protocol/testing';
import { pNorm } from './dithering.js';
import { createNaturalDithering } from './naturalDithering.js';
import { createQsgd } from './qsgd.js';
import { createTernary } from './ternary.js';
import type { Compressor } from './types.js';
import { contextFor, decodeMessage, encodeMessage, gaussian } from './testkit.js';

/** The wire and validation shared by natural dithering, QSGD and ternary (dithering.ts). */

const family: [string, (s: number, p: number) => Compressor, number[]][] = [
  ['natural-dithering', (s, p) => createNaturalDithering({ levels: s, norm: p }), [1, 2, 4, 7, 8, 100]],
  ['qsgd', (s, p) => createQsgd({ levels: s, norm: p }), [1, 2, 4, 7, 8, 100]],
  ['ternary', () => createTernary(), [1]],
];

describe('dithering wire (decisions 7 and 12)', () => {
  for (const [name, make, levels] of family) {
    it(`${name}: 31 + d·log2(2s+1) algorithm bits; 32 + 32·⌈d/k⌉ wire bits, k symbols per word`, () => {
      for (const s of levels) {
        const q = make(s, 2);
        const m = 2 * s + 1;
        const k = symbolsPerWord(m);
        for (const d of [1, 2, 5, 9, 10, 11, 19, 20, 21, 40, 64, 100, 1000]) {
          const ctx = contextFor(d, 3);
          expect(q.bits(ctx)).toBeCloseTo(31 + d * Math.log2(m), 9);
          expect(q.expectedBits(d, 3)).toBeCloseTo(31 + d * Math.log2(m), 9);
          expect(q.payloadBits(ctx)).toBe(32 + 32 * Math.ceil(d / k));
          expect(encodeMessage(q, gaussian(d, d), ctx).length).toBe(4 + 4 * Math.ceil(d / k));
          // Decision 12: within 1.1% of log2 m per symbol for m = 3 (20 trits per 32-bit word).
          if (d % k === 0) expect((q.payloadBits(ctx) - 32) / d / Math.log2(m)).toBeLessThan(m === 3 ? 1.01 : 1.2);
        }
      }
      if (name === 'ternary') expect(symbolsPerWord(3)).toBe(20);
    });

    it(`${name}: a zero vector sends r = 0 and decodes to zeros (decision 11)`, () => {
      const q = make(4, 2);
      const ctx = contextFor(13, 2);
      const payload = encodeMessage(q, new Float64Array(13), ctx);
      expect(new DataView(payload.buffer).getFloat32(0, true)).toBe(0);
      expect(Array.from(decodeMessage(q, payload, ctx))).toEqual(new Array(13).fill(0));
    });

    it(`${name}: refuses a bad scale, an out-of-range word and extra symbols in the last word, before touching the sum`, () => {
      const s = name === 'ternary' ? 1 : 4;
      const q = make(s, 2);
      const m = 2 * s + 1;
      const k = symbolsPerWord(m);
      const d = k + 3; // the last word holds 3 symbols
      const ctx = contextFor(d, 2);
      const good = encodeMessage(q, gaussian(d, 7), ctx);
      const sum = new Float64Array(d).fill(5);
      const bad = (edit: (p: Uint8Array, v: DataView) => void): string | undefined => {
        const p = good.slice();
        edit(p, new DataView(p.buffer));
        return protocolErrorCode(() => q.decodeInto(sum, p, ctx));
      };
      expect(bad((_, v) => v.setFloat32(0, -1, true))).toBe('MARINA_ERR_OUT_OF_RANGE');
      expect(bad((_, v) => v.setFloat32(0, NaN, true))).toBe('MARINA_ERR_OUT_OF_RANGE');
      expect(bad((_, v) => v.setFloat32(0, Infinity, true))).toBe('MARINA_ERR_OUT_OF_RANGE');
      // A full word ≥ m^k encodes more than k symbols.
      expect(bad((_, v) => v.setUint32(4, m ** k, true))).toBe('MARINA_ERR_OUT_OF_RANGE');
      // The last word may only hold 3 symbols: a value ≥ m³ is a nonzero "padding" symbol.
      expect(bad((_, v) => v.setUint32(8, m ** 3, true))).toBe('MARINA_ERR_OUT_OF_RANGE');
      expect(Array.from(sum)).toEqual(new Array(d).fill(5));
      expect(bad(() => {})).toBeUndefined();
    });
  }

  it('computes p-norms stably, NaN propagating', () => {
    const a = Float64Array.from([3, -4, 0, 12]);
    expect(pNorm(a, 4, 1)).toBe(19);
    expect(pNorm(a, 4, 2)).toBe(13);
    expect(pNorm(a, 4, Infinity)).toBe(12);
    expect(pNorm(a, 4, 3)).toBeCloseTo(Math.cbrt(27 + 64 + 1728), 12);
    expect(pNorm(Float64Array.from([1e200, 1e200]), 2, 3) / 1e200).toBeCloseTo(2 ** (1 / 3), 12); // no overflow
    expect(pNorm(Float64Array.from([1, NaN]), 2, 3)).toBeNaN();
    expect(pNorm(Float64Array.from([1, NaN]), 2, Infinity)).toBeNaN();
    expect(pNorm(new Float64Array(3), 3, 1.5)).toBe(0);
  });

  it('refuses levels outside [1, 32767] and norms below 1', () => {
    expect(() => createQsgd({ levels: 0, norm: 2 })).toThrow(RangeError);
    expect(() => createQsgd({ levels: 4, norm: 0.5 })).toThrow(RangeError);
    expect(() => createNaturalDithering({ levels: 40000, norm: 2 })).toThrow(RangeError);
  });
});
