import { runInNewContext } from 'node:vm';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createCompressor } from '../compressors/registry.js';
import type { CompressContext } from '../compressors/types.js';
import { CounterRng, SHARED, streamKeys } from '../rng.js';
import { cqStream, CqStreamSlot, kernelVector, wasmRangeKernels } from './range.js';

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
  for (let i = 0; i < 300_000; i++) f(i);
  gc();
  const calls = 2000;
  const before = getHeapStatistics().used_heap_size;
  for (let i = 0; i < calls; i++) f(i);
  return (getHeapStatistics().used_heap_size - before) / calls;
}

describe('the client\'s IQ and CQ encode', () => {
  it('allocates next to nothing per call (was 0.5–0.7 KB): no views, closures, DataViews or key arrays', () => {
    if (wasmRangeKernels === null) return console.log('skipped: no WebAssembly SIMD here (the JavaScript kernels allocate nothing either, but the figure was measured on the SIMD path)');
    for (const d of [1024, 20_007]) {
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
