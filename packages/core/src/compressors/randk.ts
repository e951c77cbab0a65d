import { HashRng, type CounterRng } from '../rng.js';
import type { CompressorOptions } from './types.js';
import type { Compressor } from './types.js';
import { expectLength, readFloat32s } from './floats.js';

/**
 * RandK (SPEC B.1, decision 18): K coordinates chosen uniformly without replacement, scaled by d/K.
 *
 * The index set is drawn from (run seed, round, rank, "randk") (the hash32 stream, HashRng: protocol 3):
 * independent across clients, and the server draws the same set when it decodes, so only the K values
 * travel (32K bits, no indices).
 * The client sends the raw values as float32 in the order drawn; the server multiplies by d/K.
 * ω = d/K − 1 exactly; independent clients give (A, B) = (ω/n, 0).
 */
export function createRandk(options: Pick<CompressorOptions, 'k'>): Compressor {
  checkKOption(options.k, 'randk');
  const kOf = (d: number, n: number): number => resolveK(options.k, d, n, 'randk');
  let idx = new Int32Array(0);
  let mark = new Uint8Array(0);
  let vals = new Float32Array(0);

  /** The K indices of (seed, round, rank) into idx[0..K). */
  const draw = (d: number, K: number, seed: number, round: number, rank: number): void => {
    if (mark.length < d) mark = new Uint8Array(d);
    if (idx.length < K) idx = new Int32Array(K);
    sampleWithoutReplacement(new HashRng(seed, round, rank, 'randk'), d, K, idx, mark);
  };

  return {
    name: 'randk',
    unbiased: true,
    correlated: false,
    bits: (ctx) => 32 * kOf(ctx.d, ctx.n),
    expectedBits: (d, n) => 32 * kOf(d, n),
    payloadBits: (ctx) => 32 * kOf(ctx.d, ctx.n),
    encode(a, ctx, out) {
      const K = kOf(ctx.d, ctx.n);
      draw(ctx.d, K, ctx.seed, ctx.round, ctx.rank);
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < K; i++) view.setFloat32(4 * i, a[idx[i]!]!, true);
    },
    decodeInto(sum, payload, ctx) {
      const { d } = ctx;
      const K = kOf(d, ctx.n);
      expectLength(payload, 4 * K, 'randk update');
      if (vals.length < K) vals = new Float32Array(K);
      const v = readFloat32s(payload, 0, K, vals, 'randk update');
      draw(d, K, ctx.seed, ctx.round, ctx.rank);
      const scale = d / K;
      for (let i = 0; i < K; i++) sum[idx[i]!]! += scale * v[i]!;
    },
    constants(d, n) {
      const K = kOf(d, n);
      const omega = d / K - 1;
      return { omega, A: omega / n, B: 0, note: `RandK, K = ${K}: ω = d/K − 1, independent clients (A, B) = (ω/n, 0) (decision 18)` };
    },
    zeta: (d, n) => kOf(d, n),
  };
}

/** Refuses a k option that is not a positive integer (k ≤ d is checked once d is known). */
export function checkKOption(k: number | null, name: string): void {
  if (k !== null && !(Number.isInteger(k) && k >= 1)) throw new RangeError(`${name}: k must be a positive integer, got ${k}`);
}

/** K for dimension d and n clients: the option, or max(1, ⌊d/n⌋) (SPEC D.1, D.5); never above d. */
export function resolveK(k: number | null, d: number, n: number, name: string): number {
  if (k === null) return Math.max(1, Math.floor(d / n));
  if (k > d) throw new RangeError(`${name}: k = ${k} exceeds the dimension d = ${d}`);
  return k;
}

/**
 * Robert Floyd's sampling: K distinct integers of [0, d), uniform over K-subsets, with exactly K draws and
 * O(K) work. `mark` (length ≥ d, all zero) is a membership scratch and is left all zero again.
 */
export function sampleWithoutReplacement(rng: CounterRng, d: number, K: number, out: Int32Array, mark: Uint8Array): void {
  let i = 0;
  for (let j = d - K; j < d; j++) {
    const t = rng.int(j + 1);
    const pick = mark[t] === 1 ? j : t;
    mark[pick] = 1;
    out[i++] = pick;
  }
  for (let m = 0; m < K; m++) mark[out[m]!] = 0;
}
