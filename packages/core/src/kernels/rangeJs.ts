import { CounterRng, hash32, mix32, SHARED, streamKey0, streamKey1 } from '../rng.js';

/**
 * The one-bit range quantizers' kernels (IQ, CQ: SPEC B.3, B.4; protocol 3) in plain JavaScript: the
 * reference that the WebAssembly kernels (range.wat) must match bit for bit, and the path used where they
 * do not apply. Every kernel writes bit j of the stream as bit j%8 of byte j>>3 (BitWriter's order), the
 * padding bits of the last byte zero.
 */

const TWO32 = 0x1_0000_0000;
const INV_TWO32 = 1 / TWO32;

/**
 * Σ a_j² for j < d in a fixed, vectorisable order: 8 partial sums, lane k holding j ≡ k (mod 8) in order of
 * j, then ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)) (the order the SIMD kernel's f64x2 pairs add in).
 * The radius r = fround(√(that)) is decision 11's fround(‖a‖₂) with this summation order.
 */
export function sumSquares(a: Float64Array, d: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0; // prettier-ignore
  const full = d & ~7;
  for (let j = 0; j < full; j += 8) {
    const x0 = a[j]!, x1 = a[j + 1]!, x2 = a[j + 2]!, x3 = a[j + 3]!; // prettier-ignore
    const x4 = a[j + 4]!, x5 = a[j + 5]!, x6 = a[j + 6]!, x7 = a[j + 7]!; // prettier-ignore
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
    s4 += x4 * x4;
    s5 += x5 * x5;
    s6 += x6 * x6;
    s7 += x7 * x7;
  }
  const t = d - full;
  if (t > 0) s0 += a[full]! * a[full]!;
  if (t > 1) s1 += a[full + 1]! * a[full + 1]!;
  if (t > 2) s2 += a[full + 2]! * a[full + 2]!;
  if (t > 3) s3 += a[full + 3]! * a[full + 3]!;
  if (t > 4) s4 += a[full + 4]! * a[full + 4]!;
  if (t > 5) s5 += a[full + 5]! * a[full + 5]!;
  if (t > 6) s6 += a[full + 6]! * a[full + 6]!;
  return ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7));
}

/**
 * IQ (SPEC B.3): bit_j = [h_j < (a_j + r)·(2^31/r)], h_j = hash32(k0, k1, j), written from out[at]: the same comparison as
 * u_j < y_j = (a_j + r)/(2r) with u_j = h_j/2^32, scaled by 2^32 so no division per coordinate (the scaling
 * is exact, r being a nonzero float32). Values of y outside [0, 1] compare like their clamp.
 */
export function iqBits(a: Float64Array, d: number, out: Uint8Array, r: number, k0: number, k1: number, at = 0): void {
  const c = 2 ** 31 / r;
  let acc = 0;
  let p = at;
  for (let j = 0; j < d; j++) {
    acc |= +(hash32(k0, k1, j) < (a[j]! + r) * c) << (j & 7); // `+(a < b)`: a flag, not a mispredicted branch
    if ((j & 7) === 7) {
      out[p++] = acc;
      acc = 0;
    }
  }
  if (d & 7) out[p] = acc;
}

/**
 * CQ's shared and private randomness for one client in one round (SPEC B.4, decision 4), as key words:
 * slot_j = (s_j + ρ(slot)) mod n with s_j uniform in [0, n) drawn from the shared stream 'cq-shift' (retries
 * from 'cq-shift-retry'), ρ the shared permutation 'cq-rho', and the private jitter stream 'cq-jitter'.
 */
export interface CqStream {
  readonly n: number;
  /** ρ(slot): this client's offset, in [0, n). */
  readonly mine: number;
  readonly sk0: number;
  readonly sk1: number;
  readonly rk0: number;
  readonly rk1: number;
  readonly jk0: number;
  readonly jk1: number;
}

/** A CqStream that `cqStream` rewrites in place (a compressor keeps one, so a round allocates none). */
export class CqStreamSlot implements CqStream {
  n = 1;
  mine = 0;
  sk0 = 0;
  sk1 = 0;
  rk0 = 0;
  rk1 = 0;
  jk0 = 0;
  jk1 = 0;
}

/**
 * The part of a round's CqStream shared by every client: ρ and the shift keys, a function of (seed, round, n)
 * alone. Built once per round per process and read by every client the process hosts (ρ is O(n) to draw);
 * read-only once built. `perm` is replaced, never rewritten, when n changes.
 */
class CqRound {
  seed = -1;
  round = -1;
  n = 0;
  perm = new Int32Array(0);
  sk0 = 0;
  sk1 = 0;
  rk0 = 0;
  rk1 = 0;
}

/** The last round's shared part (the K clients of a process all ask for the same round in turn). */
const lastRound = new CqRound();

function cqRound(seed: number, round: number, n: number): CqRound {
  const c = lastRound;
  if (c.seed === seed && c.round === round && c.n === n) return c;
  c.seed = -1; // invalid until rebuilt (a throw below leaves no half-built entry)
  const perm = c.perm.length === n ? c.perm : new Int32Array(n);
  new CounterRng(seed, round, SHARED, 'cq-rho').permutation(perm);
  c.perm = perm;
  c.sk0 = streamKey0(seed, round, SHARED, 'cq-shift');
  c.sk1 = streamKey1(c.sk0);
  c.rk0 = streamKey0(seed, round, SHARED, 'cq-shift-retry');
  c.rk1 = streamKey1(c.rk0);
  c.n = n;
  c.round = round;
  c.seed = seed;
  return c;
}

/**
 * The CqStream of the client at position `slot` (0..n−1) with rank `rank`, written into `into` (default a new
 * one). The shared part comes from the last round's cache (`cqRound`): O(1) per client after the first.
 */
export function cqStream(seed: number, round: number, n: number, slot: number, rank: number, into: CqStreamSlot = new CqStreamSlot()): CqStream {
  if (!(n >= 1 && n <= 0x200000 && Number.isInteger(n))) throw new RangeError(`CQ needs an integer n in [1, 2^21], got ${n}`);
  if (!(slot >= 0 && slot < n && Number.isInteger(slot))) throw new RangeError(`CQ needs a slot in [0, n = ${n}), got ${slot}`);
  const c = cqRound(seed, round, n);
  into.n = n;
  into.mine = c.perm[slot]!;
  into.sk0 = c.sk0;
  into.sk1 = c.sk1;
  into.rk0 = c.rk0;
  into.rk1 = c.rk1;
  into.jk0 = streamKey0(seed, round, rank, 'cq-jitter');
  into.jk1 = streamKey1(into.jk0);
  return into;
}

/**
 * The shared shift s_j, uniform in [0, n) without modulo bias (decision 15: multiply-shift with rejection).
 * For n ≤ 2^16 one 32-bit hash serves two coordinates: u = its low 16 bits for even j, its high 16 for odd j;
 * s = ⌊u·n/2^16⌋, rejected when u·n mod 2^16 < 2^16 mod n (never for n a power of two, at most 0.8% of
 * coordinates at n = 1000). For n > 2^16 one hash per coordinate, the same with 32 bits. A rejected draw
 * is replaced by cqRetry(q, j): exact, and the SIMD kernel computes the same in wasm for the rejected lanes.
 */
export function cqShift(q: CqStream, j: number): number {
  const n = q.n;
  if (n <= 0x10000) {
    const u = (hash32(q.sk0, q.sk1, j >>> 1) >>> ((j & 1) << 4)) & 0xffff;
    const m = u * n;
    return (m & 0xffff) >= 0x10000 % n ? m >>> 16 : cqRetry(q, j);
  }
  const m = hash32(q.sk0, q.sk1, j) * n;
  const hi = Math.floor(m * INV_TWO32);
  return m - hi * TWO32 >= TWO32 % n ? hi : cqRetry(q, j);
}

/**
 * A rejected shift's replacement: attempt c = 0, 1, … draws hash32(mix32(rk0 ^ c), rk1, j), 32-bit
 * multiply-shift, rejected below 2^32 mod n (probability < n/2^32 per attempt).
 */
export function cqRetry(q: CqStream, j: number): number {
  const threshold = TWO32 % q.n;
  for (let c = 0; ; c++) {
    const m = hash32(mix32((q.rk0 ^ c) >>> 0), q.rk1, j) * q.n;
    const hi = Math.floor(m * INV_TWO32);
    if (m - hi * TWO32 >= threshold) return hi;
  }
}

/**
 * CQ (SPEC B.4): bit_j = [(slot_j + γ_j)/n < y_j], written as slot_j + γ_j < z_j = (a_j + r)·(n/(2r)): the
 * bit is 1 when the slot is below ⌊z_j⌋, 0 above it, and at slot_j = ⌊z_j⌋ it is [h_j < (z_j − ⌊z_j⌋)·2^32]
 * with the private jitter h_j = hash32(jk0, jk1, j). Written from out[at].
 */
export function cqBits(a: Float64Array, d: number, out: Uint8Array, r: number, q: CqStream, at = 0): void {
  const n = q.n;
  const scale = n / (2 * r);
  let acc = 0;
  let p = at;
  for (let j = 0; j < d; j++) {
    let slot = cqShift(q, j) + q.mine;
    if (slot >= n) slot -= n;
    const z = (a[j]! + r) * scale;
    const floor = Math.floor(z);
    // The equality branch is taken for about 1/n of the coordinates; the rest is a flag.
    let bit = +(slot < floor);
    if (slot === floor) bit = +(hash32(q.jk0, q.jk1, j) < (z - floor) * TWO32);
    acc |= bit << (j & 7);
    if ((j & 7) === 7) {
      out[p++] = acc;
      acc = 0;
    }
  }
  if (d & 7) out[p] = acc;
}

/**
 * Adds ±r_i per coordinate for each payload i in order (bit 1: +r_i, bit 0: −r_i), reading d bits from
 * payloads[i][offset..]; each sum_j receives the payloads' terms in index order, so any blocking of the
 * coordinates gives the same sums. No validation: the caller has checked lengths and padding.
 */
export function addSigns(sum: Float64Array, d: number, payloads: readonly Uint8Array[], offset: number, radii: ArrayLike<number>): void {
  const full = d >>> 3;
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const r = radii[i]!;
    let j = 0;
    // (2b − 1)·r is exactly ±r; the sum sees x + (±r), as the SIMD kernel's sign-flipped r.
    for (let b = offset; b < offset + full; b++, j += 8) {
      const x = p[b]!;
      sum[j]! += ((x & 1) * 2 - 1) * r;
      sum[j + 1]! += (((x >>> 1) & 1) * 2 - 1) * r;
      sum[j + 2]! += (((x >>> 2) & 1) * 2 - 1) * r;
      sum[j + 3]! += (((x >>> 3) & 1) * 2 - 1) * r;
      sum[j + 4]! += (((x >>> 4) & 1) * 2 - 1) * r;
      sum[j + 5]! += (((x >>> 5) & 1) * 2 - 1) * r;
      sum[j + 6]! += (((x >>> 6) & 1) * 2 - 1) * r;
      sum[j + 7]! += (((x >>> 7) & 1) * 2 - 1) * r;
    }
    for (; j < d; j++) sum[j]! += (((p[offset + (j >>> 3)]! >>> (j & 7)) & 1) * 2 - 1) * r;
  }
}
