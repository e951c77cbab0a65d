import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter, packSymbols, symbolsPerWord, unpackSymbols } from '@marina/protocol';
import { CounterRng, hash32, HashRng, streamKeys } from '../rng.js';
import { ditherSymbol, pNorm } from '../compressors/dithering.js';
import { ExponentReader } from '../compressors/floats.js';
import { createNatural } from '../compressors/natural.js';
import { createIdentity } from '../compressors/identity.js';
import { createRandk } from '../compressors/randk.js';
import { createNaturalDithering } from '../compressors/naturalDithering.js';
import { createQsgd } from '../compressors/qsgd.js';
import { createTernary } from '../compressors/ternary.js';
import type { CompressContext, Compressor } from '../compressors/types.js';
import { encodeNaturalFieldsJs, naturalField } from './natural.js';
import { ditherTables, encodeNaturalJs, encodeStandardJs, wasmDithering, WASM_MIN_D } from './dithering.js';
import { applySigns, expandSigns, fwht, fwhtJs, fwhtReference, l1Norm, rotationScratch, signBits, wasmHadamard } from './hadamard.js';
import { readFields, writeFields } from './bitFields.js';

/**
 * The fast kernels of the dithering family, natural compression and DRIVE's transform against plain
 * references written from the definitions (one coordinate at a time, BitWriter/BitReader, packSymbols,
 * the textbook Hadamard loop; TopK's index fields): the same bytes and the same sums, bit for bit, for every d in 1..2000 and
 * some large d, on Gaussian, mixed-magnitude, huge, tiny, zero/−0 and spike inputs.
 */

const ALL = Array.from({ length: 2000 }, (_, i) => i + 1);
const LARGE = [4096, 65537, 300_001];

function inputs(d: number, all: boolean): Float64Array[] {
  const rng = new CounterRng(d, 0, 0, 'kernel-inputs');
  const gauss = Float64Array.from({ length: d }, () => rng.normal());
  const mixed = gauss.map((x, j) => x * 10 ** ((j % 13) - 6));
  if (!all) return [mixed];
  const huge = gauss.map((x) => x * 1e150);
  const tiny = gauss.map((x) => x * 1e-300); // subnormal and below-2^-126 magnitudes
  const zeros = Float64Array.from({ length: d }, (_, j) => (j % 3 === 0 ? -0 : 0));
  const spike = new Float64Array(d);
  spike[d >> 1] = -3.5;
  const wide = gauss.map((x, j) => x * 2 ** ((j % 97) * 3 - 150)); // across float32's exponent range
  return [gauss, mixed, huge, tiny, zeros, spike, wide];
}

const ctxOf = (d: number, rank = 3): CompressContext => ({ d, n: 4, slot: rank, rank, seed: 7, round: 11 });
const bytesOf = (q: Compressor, ctx: CompressContext): number => Math.ceil(q.payloadBits(ctx) / 8);

/** A starting sum with values of every size, so that the additions' rounding shows. */
function startSum(d: number): Float64Array {
  const rng = new CounterRng(d, 1, 0, 'kernel-sum');
  return Float64Array.from({ length: d }, (_, j) => rng.normal() * 10 ** ((j % 7) - 3));
}

const same = (x: Float64Array, y: Float64Array): boolean => x.length === y.length && x.every((v, j) => Object.is(v, y[j]));

describe('dithering kernels = the per-coordinate reference', () => {
  const cases: [string, Compressor, 'standard' | 'natural', number, number, string][] = [
    ['qsgd s=4 p=2', createQsgd({ levels: 4, norm: 2 }), 'standard', 4, 2, 'qsgd'],
    ['qsgd s=7 p=1.5', createQsgd({ levels: 7, norm: 1.5 }), 'standard', 7, 1.5, 'qsgd'],
    ['qsgd s=300 p=inf', createQsgd({ levels: 300, norm: Infinity }), 'standard', 300, Infinity, 'qsgd'],
    ['ternary', createTernary(), 'standard', 1, Infinity, 'ternary'],
    ['natural-dithering s=4 p=2', createNaturalDithering({ levels: 4, norm: 2 }), 'natural', 4, 2, 'natural-dithering'],
    ['natural-dithering s=8 p=inf', createNaturalDithering({ levels: 8, norm: Infinity }), 'natural', 8, Infinity, 'natural-dithering'],
    ['natural-dithering s=1023 p=1', createNaturalDithering({ levels: 1023, norm: 1 }), 'natural', 1023, 1, 'natural-dithering'],
    ['natural-dithering s=1000 p=inf', createNaturalDithering({ levels: 1000, norm: Infinity }), 'natural', 1000, Infinity, 'natural-dithering'],
    ['natural-dithering s=2000 p=2 (reference path)', createNaturalDithering({ levels: 2000, norm: 2 }), 'natural', 2000, 2, 'natural-dithering'],
  ];
  const exponent = new ExponentReader();

  const reference = (a: Float64Array, ctx: CompressContext, scheme: 'standard' | 'natural', s: number, p: number, purpose: string): Uint8Array => {
    const { d } = ctx;
    const m = 2 * s + 1;
    const out = new Uint8Array(4 + 4 * Math.ceil(d / symbolsPerWord(m)));
    const r = Math.fround(pNorm(a, d, p));
    new DataView(out.buffer).setFloat32(0, r, true);
    const sym = new Int32Array(d).fill(s);
    if (r !== 0 && Number.isFinite(r)) {
      const [k0, k1] = streamKeys(ctx.seed, ctx.round, ctx.rank, purpose);
      for (let j = 0; j < d; j++) sym[j] = ditherSymbol(a[j]!, 1 / r, scheme, s, hash32(k0, k1, j), exponent);
    }
    packSymbols(sym, m, out, 4);
    return out;
  };

  const referenceDecode = (sum: Float64Array, payload: Uint8Array, d: number, scheme: 'standard' | 'natural', s: number): void => {
    const r = new DataView(payload.buffer, payload.byteOffset).getFloat32(0, true);
    const sym = new Int32Array(d);
    unpackSymbols(payload, 4, 2 * s + 1, sym, d);
    for (let j = 0; j < d; j++) {
      const l = Math.abs(sym[j]! - s);
      const level = l === 0 ? 0 : scheme === 'standard' ? l / s : 2 ** (l - s);
      sum[j]! += r * (sym[j]! < s ? -level : level);
    }
  };

  for (const [label, q, scheme, s, p, purpose] of cases) {
    it(`${label}: same bytes and same sums`, () => {
      const dims = s >= 1000 ? [1, 2, 9, 100, 1001, 4096] : [...ALL, ...LARGE];
      for (const d of dims) {
        const extra: Float64Array[] = [];
        if (s >= 1000 && d >= 9) {
          // Magnitudes down to the lowest natural levels 2^{1−s} and below, against a unit coordinate.
          extra.push(Float64Array.from({ length: d }, (_, j) => (j === 0 ? 1 : (j % 2 ? -1 : 1) * 1.37 * 2 ** (-((j * 37) % 1074)))));
        }
        for (const a of [...inputs(d, d % 97 === 1 || d > 2000), ...extra]) {
          const ctx = ctxOf(d);
          const want = reference(a, ctx, scheme, s, p, purpose);
          const got = new Uint8Array(bytesOf(q, ctx)).fill(0xee);
          q.encode(a, ctx, got);
          expect(got).toEqual(want);
          if (!Number.isFinite(new DataView(want.buffer).getFloat32(0, true))) continue;
          const wantSum = startSum(d);
          const gotSum = wantSum.slice();
          referenceDecode(wantSum, want, d, scheme, s);
          q.decodeInto(gotSum, got, ctx);
          expect(same(gotSum, wantSum)).toBe(true);
        }
      }
    });
  }

  it('the JavaScript encode (the fallback) = the WebAssembly SIMD encode the compressors use from WASM_MIN_D', () => {
    expect(wasmDithering).not.toBeNull(); // Node has WebAssembly SIMD
    for (const [scheme, s] of [['standard', 1], ['standard', 4], ['standard', 300], ['natural', 4], ['natural', 1000]] as const) {
      const value = new Float64Array(2 * s + 1);
      for (let l = 1; l <= s; l++) value[s + l] = -(value[s - l] = -(scheme === 'standard' ? l / s : 2 ** (l - s)));
      const t = ditherTables(s, value);
      for (const d of [WASM_MIN_D, 100, 8191, 8193, 65537]) {
        for (const a of inputs(d, true)) {
          let mx = 0;
          for (const x of a) mx = Math.max(mx, Math.abs(x));
          if (mx === 0) continue;
          const bytes = 4 * Math.ceil(d / t.perWord);
          const js = new Uint8Array(bytes + 4);
          const wasm = new Uint8Array(bytes + 4);
          const encodeJs = scheme === 'standard' ? encodeStandardJs : encodeNaturalJs;
          encodeJs(a, d, 1 / mx, t, 0x1234567, 0x89abcdef | 0, js, 4);
          wasmDithering!.encode(scheme === 'natural', a, d, 1 / mx, s, t.perWord, 0x1234567, 0x89abcdef | 0, wasm, 4);
          expect(wasm).toEqual(js);
        }
      }
    }
  });

  it('rounds up with the frequency of the fraction (the integer comparison is the threshold test)', () => {
    // One coordinate at u·s = 0.3 (standard) over many ranks: the level-1 share is 0.3 ± 5σ.
    const q = createQsgd({ levels: 1, norm: Infinity });
    const a = Float64Array.of(0.3, 1);
    let up = 0;
    const N = 20000;
    for (let rank = 0; rank < N; rank++) {
      const out = new Uint8Array(8);
      q.encode(a, ctxOf(2, rank), out);
      up += +(new DataView(out.buffer).getUint32(4, true) % 3 === 2);
    }
    expect(Math.abs(up / N - 0.3)).toBeLessThan(5 * Math.sqrt((0.3 * 0.7) / N));
  });
});

describe('natural compression kernels = the per-coordinate reference', () => {
  const q = createNatural();
  const f64 = new Float64Array(1);
  const u32 = new Uint32Array(f64.buffer);

  const reference = (a: Float64Array, ctx: CompressContext): Uint8Array => {
    const out = new Uint8Array(Math.ceil((9 * ctx.d) / 8));
    const [k0, k1] = streamKeys(ctx.seed, ctx.round, ctx.rank, 'natural');
    const w = new BitWriter(out, 0);
    for (let j = 0; j < ctx.d; j++) {
      f64[0] = a[j]!;
      w.write(naturalField(u32[1]!, u32[0]!, hash32(k0, k1, j)), 9);
    }
    w.finish();
    return out;
  };

  /** The definition by magnitudes (not bits): the field naturalField must give. */
  const byMagnitude = (x: number, h: number): number => {
    const m = Math.abs(x);
    const U = h / 2 ** 32;
    let code: number;
    if (m === 0) code = 0;
    else if (!(m < 2 ** 128)) code = 255;
    else if (m < 2 ** -126) code = U < m / 2 ** -126 ? 1 : 0;
    else {
      const e = new ExponentReader().floorLog2(m);
      code = Math.min(255, e + 127 + (U < m / 2 ** e - 1 ? 1 : 0));
    }
    return code === 0 ? 0 : (x < 0 ? 1 : 0) | (code << 1);
  };

  it('naturalField is the definition by magnitudes', () => {
    for (const d of [1000, 20001]) {
      for (const a of inputs(d, true)) {
        for (let j = 0; j < d; j++) {
          const h = hash32(d, 5, j);
          f64[0] = a[j]!;
          expect(naturalField(u32[1]!, u32[0]!, h)).toBe(byMagnitude(a[j]!, h));
        }
      }
    }
    for (const x of [2 ** 127, 1.9 * 2 ** 127, -(2 ** 128), Infinity, NaN, 2 ** -126, 2 ** -127, 5e-324, -0]) {
      for (const h of [0, 1, 2 ** 31, 2 ** 32 - 1]) {
        f64[0] = x;
        expect(naturalField(u32[1]!, u32[0]!, h)).toBe(byMagnitude(x, h));
      }
    }
  });

  it('the JavaScript encode (the fallback) = the WebAssembly SIMD encode', () => {
    for (const d of [WASM_MIN_D, 8191, 8192, 8200, 65537]) {
      for (const a of inputs(d, true)) {
        const ctx = ctxOf(d);
        const [k0, k1] = streamKeys(ctx.seed, ctx.round, ctx.rank, 'natural');
        const js = new Uint8Array(Math.ceil((9 * d) / 8));
        encodeNaturalFieldsJs(a, d, k0, k1, js);
        const got = new Uint8Array(js.length).fill(0xee);
        q.encode(a, ctx, got);
        expect(got).toEqual(js);
      }
    }
  });

  it('same bytes and same sums', () => {
    for (const d of [...ALL, ...LARGE]) {
      for (const a of inputs(d, d % 97 === 1 || d > 2000)) {
        const ctx = ctxOf(d);
        const want = reference(a, ctx);
        const got = new Uint8Array(bytesOf(q, ctx)).fill(0xee);
        q.encode(a, ctx, got);
        expect(got).toEqual(want);
        const wantSum = startSum(d);
        const gotSum = wantSum.slice();
        const r = new BitReader(want, 0);
        let finite = true;
        for (let j = 0; j < d; j++) {
          const f = r.read(9);
          if (f >>> 1 === 255) finite = false;
          wantSum[j]! += f >>> 1 === 0 ? 0 : (f & 1 ? -1 : 1) * 2 ** ((f >>> 1) - 127);
        }
        if (!finite) {
          expect(() => q.decodeInto(gotSum, got, ctx)).toThrow();
          continue;
        }
        q.decodeInto(gotSum, got, ctx);
        expect(same(gotSum, wantSum)).toBe(true);
      }
    }
  });
});

describe('Hadamard kernels = the textbook loops', () => {
  it('fwht (JavaScript and WebAssembly SIMD) gives the same doubles as the stage-by-stage transform, n = 1 … 2^20', () => {
    expect(wasmHadamard).not.toBeNull(); // Node has WebAssembly SIMD
    for (let n = 1; n <= 1 << 20; n <<= 1) {
      const rng = new CounterRng(n, 0, 0, 'fwht');
      const x = Float64Array.from({ length: n }, (_, j) => rng.normal() * 10 ** ((j % 11) - 5));
      const fast = [x.slice(), x.slice(), x.slice()];
      fwhtReference(x, n);
      fwht(fast[0]!, n);
      fwhtJs(fast[1]!, n);
      if (n >= 4) wasmHadamard!.fwht(fast[2]!, n);
      else fwhtJs(fast[2]!, n);
      for (const y of fast) expect(same(x, y)).toBe(true);
    }
    // A longer array than n: only x[0..n) is transformed, the rest is left alone.
    const x = Float64Array.from({ length: 300 }, (_, j) => j - 100);
    const y = x.slice();
    fwhtReference(x, 256);
    wasmHadamard!.fwht(y, 256);
    expect(same(x, y)).toBe(true);
  });

  it('Rademacher signs in wasm memory and in the heap flip the same coordinates; l1Norm sums in its 4-lane order', () => {
    for (const n of [4, 33, 64, 100, 1024, 4099]) {
      const rng = new CounterRng(n, 0, 0, 'rademacher');
      const a = Float64Array.from({ length: n }, (_, j) => (j % 7 === 0 ? 0 : rng.normal()));
      const words = Uint32Array.from({ length: Math.ceil(n / 32) }, () => rng.u32());
      const want = a.map((v, i) => ((words[i >>> 5]! >>> (i & 31)) & 1 ? v : -v));
      for (const count of [n, n - 3]) {
        const scratch = rotationScratch(n);
        scratch.x.set(a);
        scratch.words.set(words);
        applySigns(scratch.x, count, scratch.words); // in place in wasm memory from 64 on
        const heap = a.slice();
        applySigns(heap, count, words);
        for (let i = 0; i < n; i++) {
          const expected = i < count ? want[i]! : a[i]!;
          expect(Object.is(scratch.x[i], expected) && Object.is(heap[i], expected)).toBe(true);
        }
      }
      const lanes = [0, 0, 0, 0];
      for (let i = 0; i < n; i++) lanes[i % 4]! += Math.abs(a[i]!);
      expect(Object.is(l1Norm(a, n), (lanes[0]! + lanes[1]!) + (lanes[2]! + lanes[3]!))).toBe(true);
    }
  });

  it('sign bits and their expansion match BitWriter and BitReader', () => {
    for (const n of [...ALL.slice(0, 300), 1024, 4096, 65536]) {
      const rng = new CounterRng(n, 0, 0, 'signs');
      const x = Float64Array.from({ length: n }, (_, j) => (j % 5 === 0 ? 0 : rng.normal()));
      const tie = -1e-3;
      const want = new Uint8Array(Math.ceil(n / 8) + 2);
      const w = new BitWriter(want, 2);
      for (let i = 0; i < n; i++) w.bit(x[i]! >= tie ? 1 : 0);
      w.finish();
      const got = new Uint8Array(want.length);
      signBits(x, n, tie, got, 2);
      expect(got).toEqual(want);
      const back = new Float64Array(n);
      expandSigns(got, 2, n, 0.75, back);
      const r = new BitReader(want, 2);
      for (let i = 0; i < n; i++) expect(Object.is(back[i], r.bit() ? 0.75 : -0.75)).toBe(true);
    }
  });
});

describe('bit fields = BitWriter and BitReader', () => {
  it('write and read the same bytes for every width 0..30 and counts 0..200, 5000', () => {
    for (let b = 0; b <= 30; b++) {
      for (const count of [...Array.from({ length: 201 }, (_, i) => i), 5000]) {
        const rng = new CounterRng(b, count, 0, 'fields');
        const values = Int32Array.from({ length: count }, () => (b === 0 ? 0 : rng.int(2 ** b)));
        const bytes = Math.ceil((count * b) / 8);
        const want = new Uint8Array(bytes + 3);
        const w = new BitWriter(want, 3);
        for (const v of values) w.write(v, b);
        w.finish();
        const got = new Uint8Array(bytes + 3);
        expect(writeFields(values, count, b, got, 3)).toBe(bytes + 3);
        expect(got).toEqual(want);
        const back = new Int32Array(count);
        expect(readFields(got, 3, count, b, back)).toBe(0);
        expect(back).toEqual(values);
        if ((count * b) % 8 !== 0) {
          got[bytes + 2]! |= 0x80; // a padding bit
          expect(readFields(got, 3, count, b, back)).not.toBe(0);
        }
      }
    }
    expect(() => writeFields(new Int32Array(1), 1, 31, new Uint8Array(8), 0)).toThrow(RangeError);
  });
});

describe('HashRng.permutation = Fisher–Yates over HashRng.int', () => {
  it('gives the same permutation and leaves the stream at the same place, n = 0 … 300, 1e5 and past 2^21', () => {
    const reference = (rng: HashRng, out: Int32Array): void => {
      for (let i = 0; i < out.length; i++) out[i] = i;
      for (let i = out.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = out[i]!;
        out[i] = out[j]!;
        out[j] = t;
      }
    };
    for (const n of [...Array.from({ length: 301 }, (_, i) => i), 100_000, 2 ** 21 + 5]) {
      const want = new Int32Array(n);
      const got = new Int32Array(n);
      const a = new HashRng(n, 1, 2, 'perm');
      const b = new HashRng(n, 1, 2, 'perm');
      a.u32(); // start mid-stream
      b.u32();
      reference(a, want);
      b.permutation(got);
      expect(got).toEqual(want);
      expect(b.u32()).toBe(a.u32());
    }
  });
});

describe('float32 payloads: viewed where aligned, copied where not', () => {
  it('decode the same sums, and refuse a non-finite value before touching the sum, at every byte offset', () => {
    for (const q of [createIdentity(), createRandk({ k: 7 })]) {
      for (const d of [1, 7, 100, 4099]) {
        if (q.name === 'randk' && d < 7) continue;
        const ctx = ctxOf(d);
        const a = inputs(d, false)[0]!;
        const payload = new Uint8Array(bytesOf(q, ctx));
        q.encode(a, ctx, payload);
        const want = startSum(d);
        q.decodeInto(want, payload, ctx);
        for (const shift of [0, 1, 2, 3, 4]) {
          const moved = new Uint8Array(payload.length + shift).subarray(shift);
          moved.set(payload);
          const got = startSum(d);
          q.decodeInto(got, moved, ctx);
          expect(same(got, want)).toBe(true);
          new DataView(moved.buffer, moved.byteOffset).setFloat32(4 * ((d * 7) % (payload.length / 4)), NaN, true);
          const untouched = startSum(d);
          expect(() => q.decodeInto(untouched, moved, ctx)).toThrow(/not finite|is NaN/i);
          expect(same(untouched, startSum(d))).toBe(true);
        }
      }
    }
  });
});

describe('HashRng.shuffle (the scatter shuffle of PermK at large d)', () => {
  it('is a permutation, the same for the same keys, and plain Fisher–Yates below its threshold', () => {
    for (const n of [0, 1, 2, 3, 255, 256, 257, 5000]) {
      const a = new Int32Array(n);
      const b = new Int32Array(n);
      new HashRng(n, 4, 5, 'shuffle').shuffle(a, 0);
      new HashRng(n, 4, 5, 'shuffle').shuffle(b, 0);
      expect(a).toEqual(b);
      expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
      const c = new Int32Array(n);
      const d = new Int32Array(n);
      new HashRng(n, 4, 5, 'shuffle').shuffle(c);
      new HashRng(n, 4, 5, 'shuffle').permutation(d);
      expect(c).toEqual(d);
    }
  });

  it('= its definition written plainly: piles by the top 8 bits of draws c0 … c0 + n − 1, then Fisher–Yates per pile', () => {
    for (const n of [1, 2, 300, 5000, 70_000]) {
      const want = new Int32Array(n);
      const ref = new HashRng(n, 6, 7, 'shuffle');
      ref.u32(); // start mid-stream
      const piles: number[][] = Array.from({ length: 256 }, () => []);
      for (let i = 0; i < n; i++) piles[ref.u32() >>> 24]!.push(i);
      let p = 0;
      for (const pile of piles) {
        for (let i = pile.length - 1; i > 0; i--) {
          const j = ref.int(i + 1);
          [pile[i], pile[j]] = [pile[j]!, pile[i]!];
        }
        for (const item of pile) want[p++] = item;
      }
      const got = new Int32Array(n);
      const rng = new HashRng(n, 6, 7, 'shuffle');
      rng.u32();
      rng.shuffle(got, 0);
      expect(got).toEqual(want);
      expect(rng.u32()).toBe(ref.u32());
    }
  });

  it('draws every permutation of 4 items equally often (χ², 23 degrees of freedom), through the piles', () => {
    const N = 24_000;
    const counts = new Map<string, number>();
    for (let seed = 0; seed < N; seed++) {
      const a = new Int32Array(4);
      new HashRng(seed, 1, 2, 'shuffle-4').shuffle(a, 0);
      const key = a.join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(24);
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - N / 24) ** 2 / (N / 24);
    expect(chi2).toBeLessThan(60); // P(χ²₂₃ > 60) ≈ 4·10⁻⁵
  });

  it('puts each item at each position with frequency 1/n (n = 1000, 10 bins, χ² per item)', () => {
    const n = 1000;
    const N = 4000;
    const bins = [0, 1, 999].map(() => new Array(10).fill(0));
    for (let seed = 0; seed < N; seed++) {
      const a = new Int32Array(n);
      new HashRng(seed, 3, 4, 'shuffle-1000').shuffle(a, 0);
      for (let p = 0; p < n; p++) {
        const item = a[p]!;
        if (item === 0) bins[0]![Math.floor(p / 100)]++;
        else if (item === 1) bins[1]![Math.floor(p / 100)]++;
        else if (item === 999) bins[2]![Math.floor(p / 100)]++;
      }
    }
    for (const b of bins) {
      const chi2 = b.reduce((acc, c) => acc + (c - N / 10) ** 2 / (N / 10), 0);
      expect(chi2).toBeLessThan(40); // P(χ²₉ > 40) ≈ 7·10⁻⁶
    }
  });
});
