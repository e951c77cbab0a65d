import { describe, expect, it } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from '@marina/protocol';
import { CounterRng } from '../rng.js';
import { createIq } from './iq.js';
import type { CompressContext, Compressor } from './types.js';

/**
 * IQ (SPEC B.3, decisions 3 and 11). Statistical checks use fixed seeds and tolerances of 5 standard errors
 * computed from the exact distribution: per coordinate Q_j = +r w.p. y_j = (a_j + r)/(2r), else −r, with
 * r = fround(‖a‖₂), independently across coordinates, clients and rounds.
 */

const ctxOf = (d: number, n: number, slot: number, round: number, seed = 7, rank = slot): CompressContext => ({ d, n, slot, rank, seed, round });

function encode(q: Compressor, a: Float64Array, ctx: CompressContext): Uint8Array {
  const out = new Uint8Array(Math.ceil(q.payloadBits(ctx) / 8));
  q.encode(a, ctx, out);
  return out;
}

function gaussian(d: number, seed: number, scale = 1): Float64Array {
  const r = new CounterRng(seed, 0, 0, 'test-vector');
  return Float64Array.from({ length: d }, () => scale * r.normal());
}

const norm2 = (a: Float64Array): number => a.reduce((s, v) => s + v * v, 0);
const radiusOf = (payload: Uint8Array): number => new DataView(payload.buffer, payload.byteOffset, 4).getFloat32(0, true);
const bitOf = (payload: Uint8Array, j: number): number => (payload[4 + (j >> 3)]! >> (j & 7)) & 1;

function expectProtocolError(fn: () => unknown, code: ProtocolErrorCode, message: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).code).toBe(code);
  expect((caught as ProtocolError).message).toBe(message);
}

describe('IQ bits and wire form', () => {
  const q = createIq();

  it('counts exactly 32 + d bits, and the payload is 4 + ceil(d/8) bytes with zero padding', () => {
    for (const d of [1, 7, 8, 9, 13, 64, 1000, 1023]) {
      for (const n of [1, 3, 128]) {
        const ctx = ctxOf(d, n, 0, 3);
        expect(q.bits(ctx)).toBe(32 + d);
        expect(q.payloadBits(ctx)).toBe(32 + d);
        expect(q.expectedBits(d, n)).toBe(32 + d);
        const bytes = Math.ceil((32 + d) / 8);
        const out = new Uint8Array(bytes + 3).fill(0xa5);
        q.encode(gaussian(d, d), ctx, out);
        expect(Array.from(out.subarray(bytes))).toEqual([0xa5, 0xa5, 0xa5]);
        if (d % 8 !== 0) expect(out[bytes - 1]! >>> d % 8).toBe(0);
      }
    }
  });

  it('decodes every coordinate to +r or −r as its bit says, r = fround(‖a‖₂) (decision 11)', () => {
    const d = 77;
    const a = gaussian(d, 2, 1e-3);
    a[5] = Math.PI;
    const ctx = ctxOf(d, 2, 1, 4);
    const payload = encode(q, a, ctx);
    const r = radiusOf(payload);
    expect(r).toBe(Math.fround(Math.sqrt(norm2(a))));
    const sum = new Float64Array(d);
    q.decodeInto(sum, payload, ctx);
    for (let j = 0; j < d; j++) expect(sum[j]).toBe(bitOf(payload, j) ? r : -r);
  });

  it('sends r = 0 for a zero vector (still 32 + d bits), which decodes to zeros', () => {
    for (const d of [1, 13, 64]) {
      const ctx = ctxOf(d, 3, 1, 2);
      const payload = encode(q, new Float64Array(d), ctx);
      expect(payload.length).toBe(Math.ceil((32 + d) / 8));
      expect(Array.from(payload)).toEqual(new Array(payload.length).fill(0));
      const sum = new Float64Array(d);
      q.decodeInto(sum, payload, ctx);
      expect(Array.from(sum)).toEqual(new Array(d).fill(0));
    }
  });

  it('rejects bad payloads with a ProtocolError before touching the sum', () => {
    const d = 10; // 42 bits: 6 bytes, 6 padding bits
    const ctx = ctxOf(d, 1, 0, 1);
    const good = encode(q, gaussian(d, 3), ctx);
    const sum = gaussian(d, 4);
    const before = sum.slice();
    const attempt = (payload: Uint8Array, code: ProtocolErrorCode, message: string): void => {
      expectProtocolError(() => q.decodeInto(sum, payload, ctx), code, message);
      expect(sum).toEqual(before);
    };
    for (let k = 0; k < good.length; k++) attempt(good.subarray(0, k), 'MARINA_ERR_TRUNCATED', `iq update: payload of ${k} bytes, expected 6`);
    attempt(Uint8Array.of(...good, 0, 0), 'MARINA_ERR_TRAILING_BYTES', 'iq update: payload of 8 bytes, expected 6');
    for (let padBit = 2; padBit < 8; padBit++) {
      const p = good.slice();
      p[5]! |= 1 << padBit;
      attempt(p, 'MARINA_ERR_NONZERO_PADDING', 'iq update: padding bits of the last byte are not zero');
    }
    for (const [radius, shown] of [
      [-2.5, '-2.5'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ] as const) {
      const p = good.slice();
      new DataView(p.buffer).setFloat32(0, radius, true);
      attempt(p, 'MARINA_ERR_OUT_OF_RANGE', `iq update: scale must be finite and ≥ 0, got ${shown}`);
    }
  });
});

describe('IQ randomness', () => {
  const q = createIq();

  it('is private to the rank (the MiniFL pitfall of SPEC B.3): same input and round, other rank, other bits', () => {
    const d = 256;
    const a = gaussian(d, 8);
    const p0 = encode(q, a, ctxOf(d, 4, 0, 5));
    const p1 = encode(q, a, ctxOf(d, 4, 1, 5));
    let same = 0;
    for (let j = 0; j < d; j++) if (bitOf(p0, j) === bitOf(p1, j)) same++;
    // Independent clients agree at coordinate j w.p. y_j² + (1 − y_j)² ≈ 1/2 here; identical thresholds would agree always.
    expect(same).toBeLessThan(d * 0.7);
    // Keyed by rank, not by slot.
    expect(encode(q, a, ctxOf(d, 4, 3, 5, 7, 0))).toEqual(p0);
  });
});

describe('IQ statistics', () => {
  const q = createIq();

  it('is unbiased: E Q(a) = a (5 standard errors, Var Q_j = r² − a_j²)', () => {
    const d = 64;
    const R = 4000;
    const a = gaussian(d, 13);
    a[0] = 0;
    a[1] = -Math.sqrt(norm2(a)) * 0.5;
    const r = Math.fround(Math.sqrt(norm2(a)));
    const mean = new Float64Array(d);
    for (let t = 0; t < R; t++) {
      const ctx = ctxOf(d, 1, 0, t);
      q.decodeInto(mean, encode(q, a, ctx), ctx);
    }
    for (let j = 0; j < d; j++) {
      const se = Math.sqrt((r * r - a[j]! ** 2) / R);
      expect(Math.abs(mean[j]! / R - a[j]!)).toBeLessThan(5 * se);
    }
  });

  it('has per-client error Σ_j (a_j − l)(r − a_j) = d·r² − ‖a‖² ≈ (d − 1)‖a‖²', () => {
    // e_j² = (r − a_j)² w.p. y_j, (r + a_j)² otherwise: mean r² − a_j², variance y_j(1 − y_j)(4 r a_j)².
    const d = 128;
    const R = 2000;
    const a = gaussian(d, 31, 2);
    const a2 = norm2(a);
    const r = Math.fround(Math.sqrt(a2));
    let exact = 0;
    let variance = 0;
    for (let j = 0; j < d; j++) {
      const x = a[j]!;
      const y = (x + r) / (2 * r);
      exact += (x + r) * (r - x);
      variance += y * (1 - y) * (4 * r * x) ** 2;
    }
    expect(Math.abs(exact / ((d - 1) * a2) - 1)).toBeLessThan(1e-6); // r = fround(‖a‖) is within 2^-24 of ‖a‖
    let total = 0;
    for (let t = 0; t < R; t++) {
      const ctx = ctxOf(d, 1, 0, t);
      const sum = new Float64Array(d);
      q.decodeInto(sum, encode(q, a, ctx), ctx);
      for (let j = 0; j < d; j++) total += (sum[j]! - a[j]!) ** 2;
    }
    expect(Math.abs(total / R - exact)).toBeLessThan(5 * Math.sqrt(variance / R));
  });

  it('averaged over n independent clients has MSE (d·r² − ‖a‖²)/n ≈ (d − 1)‖a‖²/n ≤ d‖a‖²/n', () => {
    // Per coordinate X_i = Q_ij − a_j are independent, mean 0, variance v_j = r² − a_j², fourth moment
    // m4_j = y_j(r − a_j)⁴ + (1 − y_j)(r + a_j)⁴; e_j = (1/n)Σ_i X_i has E e_j² = v_j/n and
    // Var e_j² = (m4_j + (2n − 3)v_j²)/n³. Perfectly correlated clients would give n times the error.
    const d = 256;
    const R = 300;
    const a = gaussian(d, 17);
    const a2 = norm2(a);
    const r = Math.fround(Math.sqrt(a2));
    for (const n of [2, 8, 32]) {
      let exact = 0;
      let variance = 0;
      for (let j = 0; j < d; j++) {
        const x = a[j]!;
        const y = (x + r) / (2 * r);
        const v = r * r - x * x;
        const m4 = y * (r - x) ** 4 + (1 - y) * (r + x) ** 4;
        exact += v / n;
        variance += (m4 + (2 * n - 3) * v * v) / n ** 3;
      }
      let total = 0;
      const sum = new Float64Array(d);
      for (let t = 0; t < R; t++) {
        sum.fill(0);
        for (let i = 0; i < n; i++) {
          const ctx = ctxOf(d, n, i, t, 99);
          q.decodeInto(sum, encode(q, a, ctx), ctx);
        }
        for (let j = 0; j < d; j++) total += (sum[j]! / n - a[j]!) ** 2;
      }
      const mse = total / R;
      expect(Math.abs(mse - exact)).toBeLessThan(5 * Math.sqrt(variance / R));
      expect(Math.abs(exact / (((d - 1) * a2) / n) - 1)).toBeLessThan(1e-6);
      expect(exact).toBeLessThan((d * a2) / n); // the slide's bound (SPEC B.3), on the expectation
    }
  });
});
