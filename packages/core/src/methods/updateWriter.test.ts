import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { allocUpdate, Flag, Kind, ProtocolError, readRoundHeader, roundPayload } from '@marina/protocol';
import { describe, expect, it } from 'vitest';
import { compressors, createCompressor } from '../compressors/registry.js';
import type { CompressContext } from '../compressors/types.js';
import { jsRangeKernels, rangeKernels, wasmRangeKernels } from '../kernels/range.js';
import { CounterRng } from '../rng.js';
import { createIdentity } from '../compressors/identity.js';
import { residentVector } from './residentVector.js';
import { allRanks, type MethodEnv, type RoundPlan } from './types.js';
import { differenceInto, maxAbsOf, UpdateWriter } from './updateWriter.js';

/** A vector with values of many magnitudes and both signs, some zeros. */
function vectorOf(d: number, seed: number): Float64Array {
  return Float64Array.from({ length: d }, (_, j) => (j % 7 === 3 ? 0 : Math.sin(1.3 * j + seed) * (1 + ((j * seed) % 9))));
}

const envOf = (compressor: string, d: number, n: number): MethodEnv => ({
  d,
  n,
  seed: 7,
  compressor: createCompressor(compressor, { k: null, levels: 4, norm: 2 }),
  dense: createIdentity(),
  gamma: 0.1,
  p: 0.5,
});
const planOf = (round: number, n: number): RoundPlan => ({ round, kind: 'compressed', coin: false, senders: allRanks(n) });

describe('UpdateWriter (a client half\'s updates, buffers reused)', () => {
  it('every compressor writes every payload byte, padding included, so a reused message needs no zeroing', () => {
    // The writer relies on this: a message of the last round is overwritten, not cleared. Registry-wide, so a
    // new compressor that leaves bytes unwritten fails here.
    const options = (range: 'client' | 'shared') => ({ k: null, levels: 4, norm: 2, range });
    for (const name of Object.keys(compressors)) {
      for (const range of name === 'iq' || name === 'cq' ? (['client', 'shared'] as const) : (['client'] as const)) {
        for (const d of [1, 7, 33, 100, 1000]) {
          for (const n of [1, 3, 16]) {
            for (const a of [vectorOf(d, 1), new Float64Array(d)]) {
              const ctx: CompressContext = { d, n, slot: n - 1, rank: n - 1, seed: 3, round: 5 };
              const [q1, q2] = [createCompressor(name, options(range)), createCompressor(name, options(range))];
              const bytes = Math.ceil(q1.payloadBits(ctx) / 8);
              const clean = new Uint8Array(bytes);
              const dirty = new Uint8Array(bytes).fill(0xff);
              q1.encode(a, ctx, clean);
              q2.encode(a, ctx, dirty);
              q1.sharedRange?.release(2);
              q2.sharedRange?.release(2);
              expect(dirty, `${name} (${range} range), d = ${d}, n = ${n}`).toEqual(clean);
            }
          }
        }
      }
    }
  });

  it('returns the same message each round, rewritten: the bytes a fresh encode gives, for dense and compressed updates', () => {
    for (const name of ['cq', 'iq', 'randk', 'natural']) {
      const d = 300;
      const n = 4;
      const env = envOf(name, d, n);
      const fresh = envOf(name, d, n);
      const writer = new UpdateWriter(env, 2);
      const seen = new Set<Uint8Array>();
      for (let round = 1; round <= 6; round++) {
        const compressed = round % 3 !== 0;
        writer.v.set(vectorOf(d, round));
        const msg = writer.encode(planOf(round, n), 2, compressed);
        seen.add(msg);
        const codec = compressed ? fresh.compressor : fresh.dense;
        const ctx: CompressContext = { d, n, slot: 2, rank: 2, seed: 7, round };
        const expected = allocUpdate(round, compressed, codec.payloadBits(ctx));
        codec.encode(vectorOf(d, round), ctx, roundPayload(expected));
        expect(msg, `${name}, round ${round}`).toEqual(expected);
        const h = readRoundHeader(msg, 8 * d);
        expect([h.kind, h.round, (h.flags & Flag.Compressed) !== 0]).toEqual([Kind.Update, round, compressed]);
        // decodeOwn decodes what was sent, as the server does.
        const own = new Float64Array(d).fill(5);
        writer.decodeOwn(planOf(round, n), 2, compressed, own);
        const server = new Float64Array(d);
        codec.decodeInto(server, roundPayload(expected), ctx);
        expect(own).toEqual(server);
      }
      expect(seen.size, name).toBe(2); // one compressed, one dense
    }
  });

  it('keeps its update vector in the kernels\' wasm memory where there is one', () => {
    const writer = new UpdateWriter(envOf('cq', 64, 2), 0);
    expect(writer.v.length).toBe(64);
    if (wasmRangeKernels !== null) expect(writer.v.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('refuses an update a float32 message cannot carry (MARINA_ERR_DIVERGED), naming the rank and round', () => {
    const writer = new UpdateWriter(envOf('cq', 8, 2), 1);
    writer.v[3] = 1e39;
    expect(() => writer.encode(planOf(4, 2), 1, true)).toThrow(ProtocolError);
    expect(() => writer.encode(planOf(4, 2), 1, true)).toThrow(/rank 1's update in round 4 .* the run diverged/);
    writer.v[3] = Number.NaN;
    expect(() => writer.encode(planOf(4, 2), 1, false)).toThrow(expect.objectContaining({ code: 'MARINA_ERR_DIVERGED' }));
  });
});

describe('differenceInto and maxAbsOf (the norm and the carriability check folded into forming the update)', () => {
  it('gives a − b exactly, in place too; maxAbsOf is NaN when any coordinate is', () => {
    const d = 50;
    const [a, b] = [vectorOf(d, 2), vectorOf(d, 5)];
    const out = new Float64Array(d);
    const sq = differenceInto(out, a, b, d);
    expect(out).toEqual(Float64Array.from(a, (x, j) => x - b[j]!));
    expect(maxAbsOf(out, d)).toBe(Math.max(...out.map(Math.abs)));
    for (const j of [0, 17, 47, d - 1]) {
      const bad = a.slice();
      bad[j] = Number.NaN;
      expect(differenceInto(new Float64Array(d), bad, b, d), `NaN at ${j}`).toBeNaN();
      expect(maxAbsOf(bad, d), `NaN at ${j}`).toBeNaN();
      bad[j] = -Infinity;
      expect(differenceInto(new Float64Array(d), bad, b, d)).toBe(Infinity);
    }
    // In place (out = a), as DIANA and EF21 form v − h.
    const v = a.slice();
    expect(differenceInto(v, v, b, d)).toBe(sq);
    expect(v).toEqual(out);
  });

  it('refuses through the folded sum exactly what the separate check refuses, with the same max in the message', () => {
    const d = 37;
    const writer = new UpdateWriter(envOf('cq', d, 2), 1);
    const zero = new Float64Array(d);
    // Carriable up to FLOAT32_MAX itself (Σv² ≈ 1.2e77, past the shortcut: the exact max decides), refused above.
    for (const [big, refused] of [[1e30, false], [3.4028234663852886e38, false], [3.5e38, true], [1e39, true], [1e200, true], [Infinity, true], [Number.NaN, true]] as const) {
      for (const j of [0, 36]) {
        const a = vectorOf(d, 3);
        a[j] = big;
        const sq = differenceInto(writer.v, a, zero, d);
        const go = () => writer.encode(planOf(4, 2), 1, true, writer.v, sq);
        if (refused) expect(go, `${big} at ${j}`).toThrow(`has max|v_j| = ${Math.abs(big)},`);
        else expect(go, `${big} at ${j}`).not.toThrow();
      }
    }
  });

  it('sums the squares bit for bit as sumSquares does (JS and SIMD), every tail d mod 8, NaN and Infinity included', () => {
    const rng = new CounterRng(12, 0, 0, 'fold');
    const kernels = wasmRangeKernels ? [jsRangeKernels, rangeKernels, wasmRangeKernels] : [jsRangeKernels];
    let differs = 0;
    for (const d of [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 63, 100, 127, 128, 129, 1000, 1023, 4099, 8191, 8193, 20_007]) {
      for (let trial = 0; trial < 4; trial++) {
        // Magnitudes from 2^−30 to 2^30, so the order of the additions shows in the last bits.
        const draw = () => (rng.float() - 0.5) * 2 ** (Math.floor(rng.float() * 61) - 30);
        const a = Float64Array.from({ length: d }, draw);
        const b = Float64Array.from({ length: d }, draw);
        if (trial === 2 && d > 0) a[Math.floor(rng.float() * d)] = Number.NaN;
        if (trial === 3 && d > 0) b[d - 1] = -Infinity;
        const out = residentVector(Math.max(d, 1));
        const sq = differenceInto(out, a, b, d);
        for (const k of kernels) expect(Object.is(sq, k.sumSquares(out, d)), `d = ${d}, trial ${trial}`).toBe(true);
        // A sequential sum would differ somewhere: the test sees the order (NaN and Infinity aside).
        let seq = 0;
        for (let j = 0; j < d; j++) seq += out[j]! * out[j]!;
        if (!Object.is(seq, sq)) differs++;
      }
    }
    expect(differs).toBeGreaterThan(10);
  });

  it('encodes the same bytes with the folded sum as with the compressor\'s own pass, for every compressor', () => {
    for (const name of Object.keys(compressors)) {
      for (const range of name === 'iq' || name === 'cq' ? (['client', 'shared'] as const) : (['client'] as const)) {
        for (const d of [1, 13, 64, 200, 1029]) {
          const env = { ...envOf(name, d, 3), compressor: createCompressor(name, { k: null, levels: 4, norm: 2, range }) };
          const own = { ...env, compressor: createCompressor(name, { k: null, levels: 4, norm: 2, range }) };
          const [w1, w2] = [new UpdateWriter(env, 1), new UpdateWriter(own, 1)];
          for (let round = 1; round <= 3; round++) {
            const [a, b] = [vectorOf(d, round), vectorOf(d, round + 7)];
            const folded = w1.encode(planOf(round, 3), 1, true, w1.v, differenceInto(w1.v, a, b, d));
            w2.v.set(a);
            for (let j = 0; j < d; j++) w2.v[j]! -= b[j]!;
            const plain = w2.encode(planOf(round, 3), 1, true);
            const [shared1, shared2] = [env.compressor.sharedRange, own.compressor.sharedRange];
            if (shared1 && shared2) {
              // The shared range's norm, the first message of its round, from the folded sum too.
              expect(shared1.heldNorm()).toBe(shared2.heldNorm());
              shared1.release(2.5);
              shared2.release(2.5);
            }
            expect(folded, `${name} (${range}), d = ${d}, round ${round}`).toEqual(plain);
          }
        }
      }
    }
  });
});

describe('residentVector', () => {
  it('hands a collected vector\'s memory out again, zeroed, so wasm memory does not grow with every client half built', async () => {
    if (wasmRangeKernels === null) return console.log('skipped: no WebAssembly SIMD here, vectors are plain arrays');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const d = 12_345; // a length no other test uses
    let v: Float64Array | null = residentVector(d);
    v.fill(3);
    const at = v.byteOffset;
    v = null;
    // The registry's callback runs some time after the collection: a bounded wait, then the same place again.
    let again: Float64Array | null = null;
    for (let i = 0; i < 100 && again === null; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
      const w = residentVector(d);
      if (w.byteOffset === at) again = w;
    }
    expect(again, 'the dropped vector\'s place was not handed out again').not.toBeNull();
    expect(again!.every((x) => x === 0)).toBe(true);
    // A live vector's place is never handed out twice.
    const other = residentVector(d);
    expect(other.byteOffset).not.toBe(at);
  });
});
