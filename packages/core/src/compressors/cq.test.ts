import { describe, expect, it } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from '@marina/protocol';
import { CounterRng } from '../rng.js';
import { cqSlots, createCq } from './cq.js';
import { createIq } from './iq.js';
import type { CompressContext, Compressor } from './types.js';

/**
 * CQ (SPEC B.4, decisions 3, 4, 11). Statistical checks use fixed seeds and tolerances of 5 standard errors
 * computed from the exact distributions derived in each test's comment.
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

/**
 * Mean over `rounds` rounds of the homogeneous CQ error ‖(1/n)Σ_i Q_i(a) − a‖², all n clients encoding the same a
 * (server side: one running sum, divided by n).
 */
function measuredMse(q: Compressor, a: Float64Array, n: number, rounds: number, seed: number): number {
  const d = a.length;
  const server = q === cqInstance ? createCq() : createIq();
  const sum = new Float64Array(d);
  let total = 0;
  for (let t = 0; t < rounds; t++) {
    sum.fill(0);
    for (let i = 0; i < n; i++) {
      const ctx = ctxOf(d, n, i, t, seed);
      server.decodeInto(sum, encode(q, a, ctx), ctx);
    }
    let e = 0;
    for (let j = 0; j < d; j++) e += (sum[j]! / n - a[j]!) ** 2;
    total += e;
  }
  return total / rounds;
}
const cqInstance = createCq();

/**
 * Exact homogeneous CQ error (SPEC B.4): with y_j = (a_j + r)/(2r) the n slots ⌊n y_j⌋ below the threshold
 * always send r, the slot ⌊n y_j⌋ itself sends r iff its private jitter is below f_j = frac(n y_j), the rest
 * send −r. So e_j = (2r/n)(B_j − f_j), B_j ~ Bernoulli(f_j) independent across j (each depends only on one
 * private jitter): E‖e‖² = (4r²/n²) Σ f_j(1 − f_j), and Var‖e‖² = (2r/n)⁴ Σ f_j(1 − f_j)(1 − 2f_j)²
 * (for a Bernoulli(f) B, Var (B − f)² = f(1 − f)(1 − 2f)²).
 */
function cqExact(a: Float64Array, n: number): { mse: number; variance: number; sumF: number } {
  const r = Math.fround(Math.sqrt(norm2(a)));
  let s = 0;
  let v = 0;
  for (let j = 0; j < a.length; j++) {
    const y = (a[j]! + r) * (1 / (2 * r));
    const f = n * y - Math.floor(n * y);
    s += f * (1 - f);
    v += f * (1 - f) * (1 - 2 * f) ** 2;
  }
  return { mse: ((4 * r * r) / (n * n)) * s, variance: ((2 * r) / n) ** 4 * v, sumF: s };
}

/**
 * Exact error of the mean of n independent IQ messages of the same a (SPEC B.3): per client and coordinate
 * X = Q_j − a_j is r − a_j w.p. y_j and −r − a_j otherwise, mean 0, variance v_j = r² − a_j², fourth moment
 * m4_j = y_j(r − a_j)⁴ + (1 − y_j)(r + a_j)⁴. For e_j = (1/n)Σ_i X_i: E e_j² = v_j/n, so
 * E‖e‖² = (d r² − ‖a‖²)/n ≈ (d − 1)‖a‖²/n, and Var e_j² = (m4_j + (2n − 3)v_j²)/n³, independent across j.
 */
function iqExact(a: Float64Array, n: number): { mse: number; variance: number } {
  const r = Math.fround(Math.sqrt(norm2(a)));
  let mse = 0;
  let variance = 0;
  for (let j = 0; j < a.length; j++) {
    const x = a[j]!;
    const y = (x + r) / (2 * r);
    const v = r * r - x * x;
    const m4 = y * (r - x) ** 4 + (1 - y) * (r + x) ** 4;
    mse += v / n;
    variance += (m4 + (2 * n - 3) * v * v) / n ** 3;
  }
  return { mse, variance };
}

describe('CQ bits and wire form', () => {
  const q = createCq();

  it('counts exactly 32 + d bits, and the payload is 4 + ceil(d/8) bytes with zero padding', () => {
    for (const d of [1, 7, 8, 9, 13, 64, 1000, 1023]) {
      for (const n of [1, 2, 128]) {
        const ctx = ctxOf(d, n, n - 1, 3);
        expect(q.bits(ctx)).toBe(32 + d);
        expect(q.payloadBits(ctx)).toBe(32 + d);
        expect(q.expectedBits(d, n)).toBe(32 + d);
        // The encoder writes exactly ceil((32 + d)/8) bytes: a sentinel after them survives.
        const bytes = Math.ceil((32 + d) / 8);
        const out = new Uint8Array(bytes + 3).fill(0xa5);
        q.encode(gaussian(d, d), ctx, out);
        expect(Array.from(out.subarray(bytes))).toEqual([0xa5, 0xa5, 0xa5]);
        if (d % 8 !== 0) expect(out[bytes - 1]! >>> d % 8).toBe(0);
      }
    }
  });

  it('decodes every coordinate to +r or −r as its bit says, r = fround(‖a‖₂) (decision 11)', () => {
    const d = 100;
    const a = gaussian(d, 1, 0.3);
    a[0] = 1 / 3; // a norm that float32 cannot hold exactly
    const ctx = ctxOf(d, 4, 2, 9);
    const payload = encode(q, a, ctx);
    const r = radiusOf(payload);
    expect(r).toBe(Math.fround(Math.sqrt(norm2(a))));
    expect(r).not.toBe(Math.sqrt(norm2(a)));
    const sum = new Float64Array(d);
    q.decodeInto(sum, payload, ctx);
    for (let j = 0; j < d; j++) expect(sum[j]).toBe(bitOf(payload, j) ? r : -r);
    // decodeInto adds: a second message doubles.
    q.decodeInto(sum, payload, ctx);
    for (let j = 0; j < d; j++) expect(sum[j]).toBe(2 * (bitOf(payload, j) ? r : -r));
  });

  it('sends r = 0 for a zero vector (still 32 + d bits), which decodes to zeros', () => {
    for (const d of [1, 13, 64]) {
      const ctx = ctxOf(d, 3, 1, 2);
      const payload = encode(q, new Float64Array(d), ctx);
      expect(payload.length).toBe(Math.ceil((32 + d) / 8));
      expect(Array.from(payload)).toEqual(new Array(payload.length).fill(0));
      const sum = gaussian(d, 5);
      const before = sum.slice();
      q.decodeInto(sum, payload, ctx);
      expect(sum).toEqual(before);
    }
  });

  it('rejects bad payloads with a ProtocolError before touching the sum', () => {
    const d = 13; // 45 bits: 6 bytes, 3 padding bits
    const ctx = ctxOf(d, 2, 0, 1);
    const good = encode(q, gaussian(d, 3), ctx);
    const sum = gaussian(d, 4);
    const before = sum.slice();
    const attempt = (payload: Uint8Array, code: ProtocolErrorCode, message: string): void => {
      expectProtocolError(() => q.decodeInto(sum, payload, ctx), code, message);
      expect(sum).toEqual(before);
    };
    for (let k = 0; k < good.length; k++) attempt(good.subarray(0, k), 'MARINA_ERR_TRUNCATED', `cq update: payload of ${k} bytes, expected 6`);
    attempt(Uint8Array.of(...good, 0), 'MARINA_ERR_TRAILING_BYTES', 'cq update: payload of 7 bytes, expected 6');
    for (const padBit of [5, 6, 7]) {
      const p = good.slice();
      p[5]! |= 1 << padBit;
      attempt(p, 'MARINA_ERR_NONZERO_PADDING', 'cq update: padding bits of the last byte are not zero');
    }
    for (const [radius, shown] of [
      [-1, '-1'],
      [-(2 ** -149), '-1.401298464324817e-45'], // the smallest negative float32,
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ] as const) {
      const p = good.slice();
      new DataView(p.buffer).setFloat32(0, radius, true);
      attempt(p, 'MARINA_ERR_OUT_OF_RANGE', `cq update: scale must be finite and ≥ 0, got ${shown}`);
    }
  });
});

describe('CQ shared randomness (decision 4)', () => {
  it('gives the n clients of a round a permutation of the slots 0..n−1 at every coordinate', () => {
    for (const [n, d, seed, round] of [
      [1, 10, 1, 0],
      [2, 100, 2, 5],
      [7, 300, 3, 17],
      [128, 64, 0xffffffff, 123456],
      [1000, 8, 9, 1],
    ] as const) {
      const rows = Array.from({ length: n }, (_, i) => {
        const out = new Int32Array(d);
        cqSlots(seed, round, n, i, out);
        return out;
      });
      for (let j = 0; j < d; j++) {
        const seen = new Uint8Array(n);
        for (let i = 0; i < n; i++) seen[rows[i]![j]!]!++;
        expect(seen.every((c) => c === 1)).toBe(true);
      }
    }
  });

  it('gives each client uniformly distributed slots (so every threshold is marginally U[0, 1))', () => {
    // Client 2 of n = 7 over d = 7000 coordinates: chi-square with df = 6 below χ²_{0.999}(6) = 22.46.
    const n = 7;
    const d = 7000;
    const out = new Int32Array(d);
    cqSlots(11, 4, n, 2, out);
    const counts = new Float64Array(n);
    for (const s of out) counts[s]!++;
    const chi2 = counts.reduce((x, c) => x + (c - d / n) ** 2 / (d / n), 0);
    expect(chi2).toBeLessThan(22.46);
  });

  it('depends on (seed, round, slot) only', () => {
    const d = 50;
    const a = new Int32Array(d);
    const b = new Int32Array(d);
    cqSlots(1, 2, 8, 3, a);
    cqSlots(1, 2, 8, 3, b, d, new Int32Array(8).fill(99)); // scratch contents do not matter
    expect(b).toEqual(a);
    cqSlots(1, 3, 8, 3, b);
    expect(b).not.toEqual(a);
    cqSlots(2, 2, 8, 3, b);
    expect(b).not.toEqual(a);
  });

  it('is what the encoder uses: away from the jittered slot, bit_j = [slot_j < ⌊n·y_j⌋] whatever the rank', () => {
    // U_j = (slot_j + γ_j)/n with γ_j ∈ [0, 1): if slot_j < ⌊n y_j⌋ then U_j < y_j, if slot_j > ⌊n y_j⌋ then
    // U_j > y_j; only slot_j = ⌊n y_j⌋ consults the private jitter (keyed by rank).
    const q = createCq();
    const d = 400;
    const n = 8;
    const slot = 3;
    const a = gaussian(d, 9);
    const r = Math.fround(Math.sqrt(norm2(a)));
    const slots = new Int32Array(d);
    cqSlots(1, 2, n, slot, slots);
    let decided = 0;
    for (const rank of [3, 40, 1000]) {
      const p = encode(q, a, ctxOf(d, n, slot, 2, 1, rank));
      for (let j = 0; j < d; j++) {
        const k = Math.floor(n * ((a[j]! + r) * (1 / (2 * r))));
        if (slots[j] === k) continue;
        expect(bitOf(p, j)).toBe(slots[j]! < k ? 1 : 0);
        decided++;
      }
    }
    expect(decided).toBeGreaterThan(3 * d * 0.8);
  });

  it('lets the bits of n clients with the same input sum to ⌊n·y_j⌋ or ⌊n·y_j⌋ + 1 at every coordinate', () => {
    const q = createCq();
    for (const [n, d] of [
      [2, 64],
      [8, 100],
      [32, 256],
      [100, 40],
    ] as const) {
      const a = gaussian(d, n);
      const r = Math.fround(Math.sqrt(norm2(a)));
      const counts = new Int32Array(d);
      for (let i = 0; i < n; i++) {
        const p = encode(q, a, ctxOf(d, n, i, 6));
        for (let j = 0; j < d; j++) counts[j]! += bitOf(p, j);
      }
      for (let j = 0; j < d; j++) {
        const ny = n * ((a[j]! + r) * (1 / (2 * r)));
        expect(counts[j]! - Math.floor(ny)).toBeGreaterThanOrEqual(0);
        expect(counts[j]! - Math.floor(ny)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('CQ statistics', () => {
  const q = createCq();

  it('is unbiased per client: E Q_i(a) = a (5 standard errors, Var Q_ij = r² − a_j²)', () => {
    // Each threshold U_ij is marginally U[0, 1), so Q_ij = ±r with P(+r) = y_j: E = a_j, Var = r² − a_j².
    const d = 32;
    const n = 5;
    const R = 4000;
    const a = gaussian(d, 21);
    const r = Math.fround(Math.sqrt(norm2(a)));
    for (const slot of [0, 4]) {
      const mean = new Float64Array(d);
      for (let t = 0; t < R; t++) {
        const ctx = ctxOf(d, n, slot, t);
        q.decodeInto(mean, encode(q, a, ctx), ctx);
      }
      for (let j = 0; j < d; j++) {
        const se = Math.sqrt((r * r - a[j]! ** 2) / R);
        expect(Math.abs(mean[j]! / R - a[j]!)).toBeLessThan(5 * se);
      }
    }
  });

  it('is unbiased for heterogeneous inputs: E (1/n)Σ Q_i(a_i) = ā', () => {
    // Standard error bound without assuming independence: Var(Σ_i X_i) ≤ n Σ_i Var X_i (Cauchy–Schwarz),
    // Var X_i = r_i² − a_ij²; so SE ≤ sqrt(n Σ_i (r_i² − a_ij²))/(n sqrt(R)).
    const d = 24;
    const n = 5;
    const R = 4000;
    const inputs = Array.from({ length: n }, (_, i) => gaussian(d, 100 + i, 1 + i));
    const radii = inputs.map((a) => Math.fround(Math.sqrt(norm2(a))));
    const abar = new Float64Array(d);
    for (const a of inputs) for (let j = 0; j < d; j++) abar[j]! += a[j]! / n;
    const total = new Float64Array(d);
    for (let t = 0; t < R; t++) {
      for (let i = 0; i < n; i++) {
        const ctx = ctxOf(d, n, i, t);
        q.decodeInto(total, encode(q, inputs[i]!, ctx), ctx);
      }
    }
    for (let j = 0; j < d; j++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += radii[i]! ** 2 - inputs[i]![j]! ** 2;
      const se = Math.sqrt(n * v) / (n * Math.sqrt(R));
      expect(Math.abs(total[j]! / (n * R) - abar[j]!)).toBeLessThan(5 * se);
    }
  });

  it('on homogeneous inputs has MSE (4‖a‖²/n²)·Σ f_j(1 − f_j) ≤ d‖a‖²/n² (d = 256, n = 32)', () => {
    const d = 256;
    const n = 32;
    const R = 400;
    const a = gaussian(d, 77);
    const exact = cqExact(a, n);
    const mse = measuredMse(q, a, n, R, 3);
    const a2 = norm2(a);
    // SPEC B.4's simulation at this size: 0.171‖a‖² (bound 0.25‖a‖²).
    expect(exact.mse / a2).toBeGreaterThan(0.15);
    expect(exact.mse / a2).toBeLessThan(0.19);
    expect(Math.abs(mse - exact.mse)).toBeLessThan(5 * Math.sqrt(exact.variance / R));
    expect(mse).toBeLessThanOrEqual((d * a2) / (n * n));
  });

  it('beats IQ by a factor that grows like n on homogeneous inputs (n = 2, 8, 32, 128)', () => {
    // ratio = MSE_IQ/MSE_CQ = n·(d − ‖a‖²/r²)/(4 Σ_j f_j(1 − f_j)) with the exact formulas above. Since
    // f(1 − f) ≤ 1/4, ratio/n ≥ (d − 1)/d for every input (CQ's worst case, all f_j = 1/2). For Gaussian a,
    // n·y_j = n/2 + (n/2)(a_j/r) with a_j/r ≈ N(0, 1/d): once (n/2)/√d ≥ 1 (n ≥ 32 at d = 256) the f_j are
    // uniform to within 1e-8, so Σ f(1 − f) = d/6 ± 5·sqrt(d/180) (E U(1−U) = 1/6, Var = 1/180) and
    // ratio/n ∈ [(d − 1)/(4(d/6 + 5√(d/180))), (d − 1)/(4(d/6 − 5√(d/180)))] = [1.31, 1.74] at d = 256.
    // For smaller n the f_j crowd near 0 and 1 and the ratio exceeds n more. Each measured MSE has relative
    // standard error sqrt(Var/R)/MSE; the ratio's is the root sum of squares, and bands widen by 5 of them.
    const d = 256;
    const R = 200;
    const a = gaussian(d, 5);
    const iq = createIq();
    const lower = (d - 1) / d;
    const spread = 5 * Math.sqrt(d / 180);
    const band = [(d - 1) / (4 * (d / 6 + spread)), (d - 1) / (4 * (d / 6 - spread))] as const;
    let previous = 0;
    for (const n of [2, 8, 32, 128]) {
      const ce = cqExact(a, n);
      const ie = iqExact(a, n);
      const cq = measuredMse(q, a, n, R, 40 + n);
      const iqMse = measuredMse(iq, a, n, R, 40 + n);
      const rel = Math.sqrt(ce.variance / R / ce.mse ** 2 + ie.variance / R / ie.mse ** 2);
      const ratio = iqMse / cq;
      // Each MSE matches its exact value, hence the ratio matches the exact ratio.
      expect(Math.abs(cq - ce.mse)).toBeLessThan(5 * Math.sqrt(ce.variance / R));
      expect(Math.abs(iqMse - ie.mse)).toBeLessThan(5 * Math.sqrt(ie.variance / R));
      expect(Math.abs(ratio / (ie.mse / ce.mse) - 1)).toBeLessThan(5 * rel);
      expect(ratio / n).toBeGreaterThan(lower * (1 - 5 * rel));
      if (n >= 32) {
        expect(ratio / n).toBeGreaterThan(band[0] * (1 - 5 * rel));
        expect(ratio / n).toBeLessThan(band[1] * (1 + 5 * rel));
      }
      expect(ratio).toBeGreaterThan(previous);
      previous = ratio;
    }
  });
});
