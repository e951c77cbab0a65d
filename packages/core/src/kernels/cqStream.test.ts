import { runInNewContext } from 'node:vm';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createCompressor } from '../compressors/registry.js';
import type { CompressContext } from '../compressors/types.js';
import { CounterRng, SHARED, streamKeys } from '../rng.js';
import { cqStream, CqStreamSlot, jsRangeKernels, kernelVector, rangeKernels, wasmRangeKernels } from './range.js';

/** CqStream by its definition (decision 4), drawn afresh: what the per-round cache must reproduce. */
function definition(seed: number, round: number, n: number, slot: number, rank: number) {
  const perm = new Int32Array(n);
  new CounterRng(seed, round, SHARED, 'cq-rho').permutation(perm);
  const [sk0, sk1] = streamKeys(seed, round, SHARED, 'cq-shift');
  const [rk0, rk1] = streamKeys(seed, round, SHARED, 'cq-shift-retry');
  const [jk0, jk1] = streamKeys(seed, round, rank, 'cq-jitter');
  return [n, perm[slot]!, sk0, sk1, rk0, rk1, jk0, jk1];
}

const words = (q: ReturnType<typeof cqStream>) => [q.n, q.mine, q.sk0 >>> 0, q.sk1 >>> 0, q.rk0 >>> 0, q.rk1 >>> 0, q.jk0 >>> 0, q.jk1 >>> 0];

describe('cqStream (the round\'s shared part built once per process)', () => {
  it('is its definition for every client, whatever rounds, seeds and n were asked for before', () => {
    const rng = new CounterRng(4, 0, 0, 'cq-cache');
    const into = new CqStreamSlot();
    for (let i = 0; i < 400; i++) {
      // Runs of the same round (the clients a process hosts), interleaved with other seeds, rounds and n.
      const seed = rng.int(3);
      const round = rng.int(4);
      const n = [1, 2, 7, 128, 1000][rng.int(5)]!;
      const slot = rng.int(n);
      const rank = rng.int(5000);
      expect(words(cqStream(seed, round, n, slot, rank, into)), `seed ${seed} round ${round} n ${n} slot ${slot}`).toEqual(definition(seed, round, n, slot, rank));
    }
  });

  it('gives the K clients of a round the slots of a permutation, and refuses a slot outside [0, n)', () => {
    const n = 300;
    const mine = Array.from({ length: n }, (_, slot) => cqStream(9, 3, n, slot, slot).mine);
    expect([...mine].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(() => cqStream(9, 3, n, n, 0)).toThrow(RangeError);
    expect(() => cqStream(9, 3, n, -1, 0)).toThrow(RangeError);
  });
});

/** Bytes allocated per call of `f` once the JIT has optimised it (the V8 heap's growth over calls, no GC between). */
function allocatedPerCall(f: (i: number) => void): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 60_000; i++) f(i);
  gc();
  const calls = 2000;
  const before = getHeapStatistics().used_heap_size;
  for (let i = 0; i < calls; i++) f(i);
  return (getHeapStatistics().used_heap_size - before) / calls;
}

describe('the client\'s IQ and CQ encode', () => {
  it('allocates next to nothing per call (was 0.5–0.7 KB): no views, closures, DataViews or key arrays', () => {
    if (wasmRangeKernels === null) return console.log('skipped: no WebAssembly SIMD here (the JavaScript kernels allocate nothing either, but the figure was measured on the SIMD path)');
    for (const d of [1024, 8200]) { // one chunk; two (a full one and a tail)
      const a = kernelVector(d);
      for (let j = 0; j < d; j++) a[j] = Math.sin(j);
      for (const name of ['cq', 'iq']) {
        const q = createCompressor(name, { k: null, levels: 4, norm: 2 });
        const ctx = { d, n: 128, slot: 0, rank: 0, seed: 1, round: 1 };
        const out = new Uint8Array(Math.ceil(q.payloadBits(ctx as CompressContext) / 8));
        // The 128 clients of a round, as one process hosts them, with the sum of squares given as the client does.
        // (CQ's permutation of the slots is drawn once per round per process, not counted here.)
        const perCall = allocatedPerCall((i) => {
          ctx.slot = ctx.rank = i & 127;
          q.encode(a, ctx, out, 1234.5);
        });
        // What is left are heap numbers (16 B each) where V8 boxes a double passed across a call that it did not
        // inline: 16–41 B measured; one view, closure, DataView or key array more would add 40–200 B.
        expect(perCall, `${name}, d = ${d}: ${perCall.toFixed(1)} B per call`).toBeLessThan(64);
      }
    }
  });
});

describe('the bits kernels at an offset (the radius before them in the same payload, no subarray)', () => {
  it('write the bytes they write at 0, from byte `at`, and leave the bytes before it alone (JS, SIMD, heap and wasm vectors)', () => {
    const kernels = wasmRangeKernels ? [jsRangeKernels, rangeKernels, wasmRangeKernels] : [jsRangeKernels];
    for (const d of [5, 64, 129, 8192, 8199, 20_001]) {
      const heap = Float64Array.from({ length: d }, (_, j) => Math.sin(0.7 * j) * (1 + (j % 5)));
      const resident = kernelVector(d);
      resident.set(heap);
      const r = Math.fround(Math.sqrt(jsRangeKernels.sumSquares(heap, d)));
      const bytes = Math.ceil(d / 8);
      const q = cqStream(3, 4, 16, 5, 5);
      for (const k of kernels) {
        for (const a of [heap, resident]) {
          for (const cq of [false, true]) {
            const at0 = new Uint8Array(bytes);
            const at4 = new Uint8Array(4 + bytes).fill(0xee);
            if (cq) {
              k.cqBits(a, d, at0, r, q);
              k.cqBits(a, d, at4, r, q, 4);
            } else {
              k.iqBits(a, d, at0, r, 11, 12);
              k.iqBits(a, d, at4, r, 11, 12, 4);
            }
            expect(at4.subarray(0, 4)).toEqual(new Uint8Array(4).fill(0xee));
            expect(at4.subarray(4), `d = ${d}, ${cq ? 'cq' : 'iq'}`).toEqual(at0);
          }
        }
      }
    }
  });
});
