import { HashRng, SHARED } from '../rng.js';
import type { Compressor, CompressContext } from './types.js';
import { expectLength, readFloat32s, writeFloat32s } from './floats.js';
import { sampleWithoutReplacement } from './randk.js';

/**
 * PermK (Szlendak, Tyurin, Richtárik 2021; SPEC B.2, decisions 13 and 20): the n senders of a round split
 * the coordinates through one shared random arrangement drawn from (run seed, round, SHARED, "permk") (the
 * hash32 stream, HashRng: protocol 3), so the server rebuilds every sender's block from the round alone and
 * no index travels.
 *
 * d ≥ n: blocks of ⌊d/n⌋ or ⌈d/n⌉ consecutive positions of a uniform random permutation π of [d]
 * (HashRng.shuffle: a scatter shuffle from 2^21 coordinates, cache-friendly); the d mod n larger blocks go
 * to the slots (i − r) mod n < d mod n, r a shared uniform shift. Each coordinate is then
 * owned by each slot with probability exactly 1/n, and the owner scales by n: every Q_i is unbiased, the
 * blocks cover each coordinate once, and E‖(1/n)ΣQ_i(a_i) − ā‖² = (1/n)Σ‖a_i‖² − ‖ā‖², i.e. (A, B) = (1, 1)
 * with equality (decision 20). ω = n − 1.
 *
 * d < n: the multiset holding every coordinate q = ⌊n/d⌋ times plus n mod d distinct coordinates, chosen at
 * random, once more (decision 13), shuffled over the slots; the slot's coordinate j is scaled by n/c_j, c_j
 * the number of senders covering j, so that after the server divides by n each coordinate is the mean over
 * the senders that sent it. Each Q_i is unbiased; the covering set of j is a uniform c_j-subset, so
 * E‖mean − ā‖² = F·((1/n)Σ‖a_i‖² − ‖ā‖²) with F = (n·E[1/c_j] − 1)/(n − 1) (see `permkConstant`).
 *
 * Bits: 32 per value actually sent (decision 13); values travel raw as float32, the server scales them.
 * The layout of the last round is cached, so the server rebuilds it once per round, not once per sender.
 */
export function createPermk(): Compressor {
  let key = '';
  /** d ≥ n: a permutation of [d]. d < n: the coordinate of each slot (length n). */
  let order = new Int32Array(0);
  /** d ≥ n: block offsets into `order` by slot (length n + 1). */
  let start = new Int32Array(0);
  /** d < n: c_j, the number of senders covering coordinate j. */
  let cover = new Int32Array(0);
  let extra = new Int32Array(0);
  let mark = new Uint8Array(0);
  let gather = new Float64Array(0);
  let vals = new Float32Array(0);

  /** Builds (or reuses) the round's arrangement. */
  const layout = (ctx: CompressContext): void => {
    const { d, n, seed, round } = ctx;
    if (!(ctx.slot >= 0 && ctx.slot < n)) throw new RangeError(`permk: slot ${ctx.slot} outside [0, ${n})`);
    const k = `${seed}/${round}/${d}/${n}`;
    if (k === key) return;
    key = '';
    const rng = new HashRng(seed, round, SHARED, 'permk');
    if (d >= n) {
      const q = Math.floor(d / n);
      const rem = d % n;
      const shift = rng.int(n); // first draw of the stream: blockSize() reads it alone
      if (start.length !== n + 1) start = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) start[i + 1] = start[i]! + q + (isLarge(i, shift, n, rem) ? 1 : 0);
      if (order.length !== d) order = new Int32Array(d);
      rng.shuffle(order);
    } else {
      const q = Math.floor(n / d);
      const rem = n % d;
      if (cover.length !== d) cover = new Int32Array(d);
      if (order.length !== n) order = new Int32Array(n);
      if (mark.length < d) mark = new Uint8Array(d);
      if (extra.length < rem) extra = new Int32Array(rem);
      sampleWithoutReplacement(rng, d, rem, extra, mark);
      cover.fill(q);
      let p = 0;
      for (let j = 0; j < d; j++) for (let c = 0; c < q; c++) order[p++] = j;
      for (let e = 0; e < rem; e++) {
        const j = extra[e]!;
        cover[j]!++;
        order[p++] = j;
      }
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
    }
    key = k;
  };

  /** Number of values the slot sends this round: ⌊d/n⌋ or ⌈d/n⌉ for d ≥ n, 1 for d < n. */
  const blockSize = (ctx: CompressContext): number => {
    const { d, n } = ctx;
    if (d < n) return 1;
    const q = Math.floor(d / n);
    const rem = d % n;
    if (rem === 0) return q;
    const shift = new HashRng(ctx.seed, ctx.round, SHARED, 'permk').int(n);
    return q + (isLarge(ctx.slot, shift, n, rem) ? 1 : 0);
  };

  return {
    name: 'permk',
    unbiased: true,
    correlated: true,
    bits: (ctx) => 32 * blockSize(ctx),
    expectedBits: (d, n) => (d >= n ? (32 * d) / n : 32),
    payloadBits: (ctx) => 32 * blockSize(ctx),
    encode(a, ctx, out) {
      layout(ctx);
      if (ctx.d >= ctx.n) {
        const from = start[ctx.slot]!;
        const size = start[ctx.slot + 1]! - from;
        if (gather.length < size) gather = new Float64Array(size);
        for (let p = 0; p < size; p++) gather[p] = a[order[from + p]!]!;
        writeFloat32s(gather, out, 0, size);
      } else {
        new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, a[order[ctx.slot]!]!, true);
      }
    },
    decodeInto(sum, payload, ctx) {
      const size = blockSize(ctx);
      expectLength(payload, 4 * size, 'permk update');
      if (vals.length < size) vals = new Float32Array(size);
      const v = readFloat32s(payload, 0, size, vals, 'permk update');
      layout(ctx);
      const { d, n } = ctx;
      if (d >= n) {
        const from = start[ctx.slot]!;
        for (let p = 0; p < size; p++) sum[order[from + p]!]! += n * v[p]!;
      } else {
        const j = order[ctx.slot]!;
        sum[j]! += (n / cover[j]!) * v[0]!;
      }
    },
    constants(d, n) {
      if (d >= n) return { omega: n - 1, A: 1, B: 1, note: 'PermK, d ≥ n: (A, B) = (1, 1) exactly (decision 20); ω = n − 1 for one client' };
      const F = permkConstant(d, n);
      return {
        omega: F * (n - 1),
        A: F,
        B: F,
        note:
          n % d === 0
            ? 'PermK, d < n, d | n: (A, B) = ((d − 1)/(n − 1), same); ω = d − 1 for one client'
            : `PermK, d < n, n mod d ≠ 0: (A, B) = (F, F), F = (n·E[1/c] − 1)/(n − 1) = ${F.toPrecision(6)} > (d − 1)/(n − 1) (uneven coverage, decision 13)`,
      };
    },
    zeta: (d, n) => (d >= n ? d / n : 1),
  };
}

/**
 * PermK's (A, B) = (F, F) for d < n: a coordinate covered by c of the n senders (a uniform c-subset) is
 * their mean, with error variance σ_j²·(n − c)/(c(n − 1)); c is q + 1 with probability (n mod d)/d, else q.
 * F = E[(n − c)/(c(n − 1))] = (n·E[1/c] − 1)/(n − 1); it equals (d − 1)/(n − 1) when d divides n and is larger
 * otherwise (Jensen: E[1/c] ≥ 1/E[c] = d/n). One client's ω is n·E[1/c] − 1 = F·(n − 1).
 */
export function permkConstant(d: number, n: number): number {
  if (d >= n) return 1;
  const q = Math.floor(n / d);
  const rem = n % d;
  const meanInv = rem / (d * (q + 1)) + (d - rem) / (d * q);
  return (n * meanInv - 1) / (n - 1);
}

/** Whether slot i holds one of the d mod n larger blocks under the shared shift. */
function isLarge(i: number, shift: number, n: number, rem: number): boolean {
  let r = i - shift;
  if (r < 0) r += n;
  return r < rem;
}
