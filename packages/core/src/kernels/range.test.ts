import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CounterRng, streamKeys } from '../rng.js';
import { cqStream, jsRangeKernels as js, kernelVector, rangeKernels, wasmRangeKernels, type RangeKernels } from './range.js';

/**
 * The WebAssembly kernels (range.wat) against the JavaScript reference (rangeJs.ts): the same bytes and the
 * same sums, bit for bit, on every input shape the chunked, 8-lane, 32-bit-word code paths distinguish
 * (d = 1, d not a multiple of 8 or 32, across the 8192-coordinate chunk, huge and tiny values, CQ's
 * rejection path), and the committed module is what its source assembles to.
 */

const DIMS = [1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 1000, 8191, 8192, 8193, 20001];

/** Inputs of every shape for dimension d: Gaussian, mixed magnitudes, huge, tiny, zeros and −0, one spike. */
function inputs(d: number): Float64Array[] {
  const rng = new CounterRng(d, 0, 0, 'kernel-inputs');
  const gauss = Float64Array.from({ length: d }, () => rng.normal());
  const mixed = gauss.map((x, j) => x * 10 ** ((j % 13) - 6));
  const huge = gauss.map((x) => x * 1e150);
  const tiny = gauss.map((x) => x * 1e-150);
  const zeros = Float64Array.from({ length: d }, (_, j) => (j % 3 === 0 ? -0 : 0));
  const spike = new Float64Array(d);
  spike[d >> 1] = -3.5;
  return [gauss, mixed, huge, tiny, zeros, spike];
}

const radiusOf = (k: RangeKernels, a: Float64Array): number => Math.fround(Math.sqrt(k.sumSquares(a, a.length)));

describe('range kernels: WebAssembly SIMD = the JavaScript reference', () => {
  const w = wasmRangeKernels!;

  it('are available in Node, and the committed module is what range.wat assembles to', () => {
    expect(wasmRangeKernels).not.toBeNull();
    const script = fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url));
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('sum squares in the same 8-lane order (the same double, even where a sequential sum differs)', () => {
    let differsFromSequential = 0;
    for (const d of DIMS) {
      for (const a of inputs(d)) {
        const s = js.sumSquares(a, d);
        expect(Object.is(w.sumSquares(a, d), s)).toBe(true);
        expect(Object.is(rangeKernels.sumSquares(a, d), s)).toBe(true);
        let seq = 0;
        for (const x of a) seq += x * x;
        if (seq !== s) differsFromSequential++;
        expect(Math.abs(seq - s)).toBeLessThanOrEqual(1e-12 * s);
      }
    }
    expect(differsFromSequential).toBeGreaterThan(0); // the order is part of the protocol, not a no-op
  });

  it('write the same IQ bytes, padding included', () => {
    for (const d of DIMS) {
      for (const [i, a] of inputs(d).entries()) {
        const r = radiusOf(js, a) || 1; // kernels are called with r > 0
        for (const rank of [0, 5]) {
          const [k0, k1] = streamKeys(3, 7 + i, rank, 'iq');
          const expected = new Uint8Array(Math.ceil(d / 8) + 2).fill(0xa5);
          const got = expected.slice();
          js.iqBits(a, d, expected, r, k0, k1);
          w.iqBits(a, d, got, r, k0, k1);
          expect(got).toEqual(expected);
          if (d % 8) expect(got[Math.ceil(d / 8) - 1]! >>> d % 8).toBe(0);
        }
      }
    }
  });

  it('write the same CQ bytes for every n, including the rejection path (n = 1000, 40000) and n = 1', () => {
    for (const d of DIMS) {
      for (const [i, a] of inputs(d).entries()) {
        const r = radiusOf(js, a) || 1;
        for (const n of [1, 2, 3, 16, 1000, 40000, 65535]) {
          const q = cqStream(11, 2 + i, n, (7 * i) % n, 9);
          const expected = new Uint8Array(Math.ceil(d / 8) + 2).fill(0x5a);
          const got = expected.slice();
          js.cqBits(a, d, expected, r, q);
          w.cqBits(a, d, got, r, q);
          expect(got).toEqual(expected);
        }
      }
    }
  });

  it('add the same sums over several payloads (radius 0, −0 sums, huge values, a payload offset)', () => {
    for (const d of DIMS) {
      const bytes = Math.ceil(d / 8);
      const rng = new CounterRng(d, 1, 0, 'kernel-payloads');
      const payloads = Array.from({ length: 5 }, (_, i) => {
        const p = Uint8Array.from({ length: 4 + bytes }, () => rng.u32() & 0xff);
        if (d % 8) p[3 + bytes]! &= (1 << d % 8) - 1;
        if (i === 2) p.fill(0xff, 4);
        return p;
      });
      for (const start of inputs(d)) {
        const radii = [1.5, 0, 3e300, 2 ** -149, Math.fround(Math.PI)];
        const expected = start.slice();
        const got = start.slice();
        js.addSigns(expected, d, payloads, 4, radii);
        w.addSigns(got, d, payloads, 4, radii);
        for (let j = 0; j < d; j++) if (!Object.is(got[j], expected[j])) expect([j, got[j]]).toEqual([j, expected[j]]);
        // One payload at a time in order gives the same sums as all at once.
        const one = start.slice();
        for (let i = 0; i < payloads.length; i++) rangeKernels.addSigns(one, d, [payloads[i]!], 4, [radii[i]!]);
        for (let j = 0; j < d; j++) if (!Object.is(one[j], expected[j])) expect([j, one[j]]).toEqual([j, expected[j]]);
      }
    }
  });

  it('use vectors in wasm memory in place, with the same results, and those stay valid as the memory grows', () => {
    const first = kernelVector(1000);
    first.set(inputs(1000)[0]!);
    for (const d of [1, 9, 8192, 8193, 20001]) {
      const start = inputs(d)[1]!;
      const a = kernelVector(d);
      a.set(start);
      expect(Object.is(w.sumSquares(a, d), js.sumSquares(start, d))).toBe(true);
      const r = radiusOf(js, start);
      const [k0, k1] = streamKeys(1, 2, 3, 'iq');
      const bits = (k: RangeKernels, v: Float64Array, cq: boolean): Uint8Array => {
        const out = new Uint8Array(Math.ceil(d / 8));
        if (cq) k.cqBits(v, d, out, r, cqStream(1, 2, 16, 3, 3));
        else k.iqBits(v, d, out, r, k0, k1);
        return out;
      };
      for (const cq of [false, true]) expect(bits(w, a, cq)).toEqual(bits(js, start, cq));
      // A resident sum (d mod 8 ≠ 0 takes the copying path for the last block).
      const payloads = [bits(js, start, false), bits(js, start, true)];
      const sum = kernelVector(d);
      sum.set(start);
      const expected = start.slice();
      js.addSigns(expected, d, payloads, 0, [r, 2 * r]);
      w.addSigns(sum, d, payloads, 0, [r, 2 * r]);
      expect(sum).toEqual(expected);
    }
    kernelVector(3_000_000); // grows the memory by 24 MB: earlier views are not detached
    expect(first.length).toBe(1000);
    expect(Object.is(w.sumSquares(first, 1000), js.sumSquares(inputs(1000)[0]!, 1000))).toBe(true);
  });

  it('add more payloads than one kernel call takes (groups of 64) in order', () => {
    const d = 100;
    const rng = new CounterRng(2, 0, 0, 'kernel-many');
    const payloads = Array.from({ length: 150 }, () => Uint8Array.from({ length: Math.ceil(d / 8) }, () => rng.u32() & 0xff)).map((p) => {
      p[p.length - 1]! &= (1 << d % 8) - 1;
      return p;
    });
    const radii = Float64Array.from({ length: 150 }, (_, i) => Math.fround(1 + i / 7));
    const expected = inputs(d)[0]!;
    const got = expected.slice();
    js.addSigns(expected, d, payloads, 0, radii);
    w.addSigns(got, d, payloads, 0, radii);
    expect(got).toEqual(expected);
  });
});
