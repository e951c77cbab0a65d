/**
 * Randomness as a pure function of where it is used (ARCHITECTURE "Randomness", SPEC decision 15).
 *
 * A stream is keyed by (run seed, round, rank, purpose); its i-th 32-bit output is a hash of (key, i).
 * No generator state survives a round, so an in-process run, a networked run and a resumed run draw the
 * same numbers. The hash is Wellons' "triple32" integer finalizer applied twice with key words mixed in;
 * changing it changes every run, so it is part of PROTOCOL_VERSION.
 *
 * Hot kernels use `hash32` instead (protocol 3): the same key schedule, then a 2-multiply keyed finalizer per
 * draw, cheap enough to vectorise (kernels/): CQ's shared shifts and jitter, IQ's, the dithering family's
 * and natural compression's rounding thresholds, and through `HashRng` RandK's index sets and PermK's
 * arrangements. DRIVE's signs and rotations keep CounterRng (one draw per 32 coordinates, or per d'² ≤ 4096).
 */

/** Rank used for randomness shared by all clients of a round (CQ shifts, PermK permutations, the coin). */
export const SHARED = 0xffffffff;

/** Wellons' triple32: a bijective 32-bit mixer with very low bias. */
export function mix32(x: number): number {
  x ^= x >>> 17;
  x = Math.imul(x, 0xed5ad4bb);
  x ^= x >>> 11;
  x = Math.imul(x, 0xac4c1b51);
  x ^= x >>> 15;
  x = Math.imul(x, 0x31848bab);
  x ^= x >>> 14;
  return x >>> 0;
}

/** FNV-1a of a purpose label, so purposes are named in code but keyed by number. */
export function purposeId(purpose: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < purpose.length; i++) {
    h ^= purpose.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The two 32-bit key words of the stream (seed, round, rank, purpose), shared by CounterRng and hash32. */
export function streamKeys(seed: number, round: number, rank: number, purpose: string): [number, number] {
  const k = streamKey0(seed, round, rank, purpose);
  return [k >>> 0, streamKey1(k) >>> 0];
}

/**
 * streamKeys' first word as an int32 (the same 32 bits), without the pair's array: for encoders that must not
 * allocate per call (an int32 is a small integer to V8, a uint32 above 2^31 a heap number once returned).
 */
export function streamKey0(seed: number, round: number, rank: number, purpose: string): number {
  let k = mix32((seed >>> 0) ^ purposeId(purpose));
  k = mix32(k ^ (round >>> 0) ^ 0x9e3779b9);
  return mix32(k ^ (rank >>> 0)) | 0;
}

/** streamKeys' second word from its first, as an int32. */
export const streamKey1 = (k0: number): number => mix32(k0 ^ 0x85ebca6b) | 0;

/**
 * The i-th 32-bit draw of the fast stream with keys (k0, k1): Wellons' 2-multiply "lowbias32" finalizer
 * (constants 0x21f0aaad, 0x735a2d97) of i + k0, with k1 mixed in before the second multiply so that two
 * streams are not shifted copies of each other. Only 32-bit adds, xors, shifts and two multiplies: the
 * WebAssembly kernels compute it four lanes at a time and must agree bit for bit (kernels/range.wat).
 */
export function hash32(k0: number, k1: number, i: number): number {
  let x = (i + k0) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15) ^ k1, 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

const TWO32 = 0x1_0000_0000;
const INV_TWO32 = 1 / TWO32;

/**
 * A counter-based stream for one (seed, round, rank, purpose). Drawing is sequential within the stream
 * for convenience; `at(i)` reads any position directly.
 */
export class CounterRng {
  protected readonly k0: number;
  protected readonly k1: number;
  protected counter = 0;

  constructor(seed: number, round: number, rank: number, purpose: string) {
    const [k0, k1] = streamKeys(seed, round, rank, purpose);
    this.k0 = k0;
    this.k1 = k1;
  }

  /** The i-th 32-bit output of the stream. */
  at(i: number): number {
    return mix32(mix32((i + this.k0) >>> 0) ^ this.k1);
  }

  /** Next uniform 32-bit unsigned integer. */
  u32(): number {
    return this.at(this.counter++);
  }

  /** Next uniform double in [0, 1) with 32 bits of resolution (enough for stochastic rounding). */
  float(): number {
    return this.at(this.counter++) / TWO32;
  }

  /** Next uniform double in (0, 1) with 53 bits of resolution. */
  float53(): number {
    const hi = this.at(this.counter++) >>> 5; // 27 bits
    const lo = this.at(this.counter++) >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Uniform integer in [0, n) without modulo bias (decision 15: multiply-shift with rejection). */
  int(n: number): number {
    if (!(n >= 1 && n <= TWO32 && Number.isInteger(n))) throw new RangeError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    if (n <= 0x200000) {
      // Lemire: u·n < 2^53 is exact in a double; reject the low part below (2^32 mod n). That threshold
      // is < n, so a low part ≥ n is accepted without computing it (the common case: no division).
      for (;;) {
        const m = this.u32() * n;
        const hi = Math.floor(m * INV_TWO32);
        const lo = m - hi * TWO32;
        if (lo >= n || lo >= (TWO32 - n) % n) return hi;
      }
    }
    const mask = 2 ** Math.ceil(Math.log2(n)) - 1;
    for (;;) {
      const u = mask >= TWO32 - 1 ? this.u32() : this.u32() & mask;
      if ((u >>> 0) < n) return u >>> 0;
    }
  }

  /** Standard normal draw (Box–Muller, cosine branch only, so one draw costs two uniforms, always). */
  normal(): number {
    const u1 = this.float53();
    const u2 = this.float53();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fills `out` with a uniform random permutation of 0..out.length-1 (Fisher–Yates). */
  permutation(out: Int32Array | Uint32Array): void {
    const n = out.length;
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
  }

  /** Bernoulli(p) draw. */
  bernoulli(p: number): boolean {
    return p >= 1 ? (this.u32(), true) : this.float() < p;
  }
}

/**
 * CounterRng's draws (u32, int, permutation, …) over the fast hash: the i-th output is hash32(k0, k1, i),
 * the same key schedule. For index sampling on hot paths (RandK's set, PermK's arrangement; protocol 3),
 * where CounterRng's two triple32 rounds per draw cost more than the sampling itself.
 */
export class HashRng extends CounterRng {
  override at(i: number): number {
    return hash32(this.k0, this.k1, i);
  }

  /** CounterRng's Fisher–Yates with its `int` inlined over hash32 (the same draws, the same permutation). */
  override permutation(out: Int32Array | Uint32Array): void {
    for (let i = 0; i < out.length; i++) out[i] = i;
    this.shuffleRange(out, 0, out.length);
  }

  /**
   * A uniform random permutation of 0..n−1 into `out` that stays in cache for large n (Rao and Sandelius's
   * scatter shuffle): below `scatterMin` (SCATTER_MIN; tests lower it) it is `permutation`; from there each i goes to one of 256 piles by
   * the top 8 bits of its own draw (exactly uniform: 256 divides 2^32), the piles are laid out in pile order,
   * and each is shuffled by Fisher–Yates with the stream's next draws. The result ranks the items by
   * independent keys (pile, uniform order within the pile), so every permutation is equally likely.
   */
  shuffle(out: Int32Array | Uint32Array, scatterMin = SCATTER_MIN): void {
    const n = out.length;
    if (n < scatterMin) {
      this.permutation(out);
      return;
    }
    const { k0, k1 } = this;
    const c0 = this.counter;
    const start = new Int32Array(257);
    for (let i = 0; i < n; i++) start[(hash32(k0, k1, c0 + i) >>> 24) + 1]!++;
    for (let b = 1; b <= 256; b++) start[b]! += start[b - 1]!;
    const next = start.slice(0, 256);
    for (let i = 0; i < n; i++) out[next[hash32(k0, k1, c0 + i) >>> 24]!++] = i;
    this.counter = c0 + n;
    for (let b = 0; b < 256; b++) this.shuffleRange(out, start[b]!, start[b + 1]!);
  }

  /** Fisher–Yates on out[lo..hi) as it stands, CounterRng.int's draws inlined over hash32. */
  private shuffleRange(out: Int32Array | Uint32Array, lo: number, hi: number): void {
    const { k0, k1 } = this;
    let c = this.counter;
    for (let i = hi - lo - 1; i > 0; i--) {
      const range = i + 1;
      let j: number;
      if (range <= 0x200000) {
        for (;;) {
          const m = hash32(k0, k1, c++) * range;
          const h = Math.floor(m * INV_TWO32);
          const l = m - h * TWO32;
          if (l >= range || l >= (TWO32 - range) % range) {
            j = h;
            break;
          }
        }
      } else {
        this.counter = c;
        j = this.int(range);
        c = this.counter;
      }
      const t = out[lo + i]!;
      out[lo + i] = out[lo + j]!;
      out[lo + j] = t;
    }
    this.counter = c;
  }
}

/**
 * From this many items `HashRng.shuffle` scatters into piles first: measured crossover (2-core EPYC, Node 24:
 * 0.14 vs 0.11 G items/s at 1.5e6, 0.02 vs 0.055 at 4e6, 0.014 vs 0.059 at 1e7), where one Fisher–Yates
 * leaves the caches.
 */
export const SCATTER_MIN = 1 << 21;

