import { CounterRng } from '../rng.js';
import type { Compressor, CompressContext } from './types.js';

/**
 * Pure helpers for compressor tests and simulations: seeded test vectors, encode and decode one message in
 * process, the server's mean of n messages, the Monte-Carlo moments of Q(a) over rounds (each round is fresh
 * randomness, SPEC decision 15), and exact error formulas to check them against. No vitest import, so
 * benchmarks and scripts may use them too.
 */

/** A compression context; `rank` defaults to `slot`. */
export function contextFor(d: number, n: number, slot = 0, round = 1, seed = 1, rank = slot): CompressContext {
  return { d, n, slot, rank, seed, round };
}

/** A seeded test vector of d independent N(0, scale²) values, keyed (seed, round, rank 0, "test-vector"). */
export function gaussian(d: number, seed: number, scale = 1, round = 0): Float64Array {
  const rng = new CounterRng(seed, round, 0, 'test-vector');
  return Float64Array.from({ length: d }, () => scale * rng.normal());
}

/** A d-vector with the given (index, value) entries and zeros elsewhere (indices ≥ d are dropped). */
export function sparse(d: number, entries: readonly (readonly [number, number])[]): Float64Array {
  const a = new Float64Array(d);
  for (const [i, v] of entries) if (i < d) a[i] = v;
  return a;
}

/**
 * The inputs every unbiased compressor's MSE and unbiasedness are checked on (SPEC B.9's correction: a
 * compressor that is unbiased on Gaussian inputs may not be on sparse or structured ones): a Gaussian
 * vector, e_1, a 4-sparse vector (1, −2, 0.5, 3 at positions 0, 1, ⌊d/2⌋, d − 1; d ≥ 4), (3, 1, 0, …) and
 * the constant vector of ones.
 */
export function testInputs(d: number, seed = 1): [string, Float64Array][] {
  const out: [string, Float64Array][] = [
    ['gaussian', gaussian(d, seed)],
    ['e_1', sparse(d, [[0, 1]])],
  ];
  if (d >= 4) out.push(['4-sparse', sparse(d, [[0, 1], [1, -2], [d >> 1, 0.5], [d - 1, 3]])]);
  if (d >= 2) out.push(['(3, 1, 0, …)', sparse(d, [[0, 3], [1, 1]])]);
  out.push(['constant', new Float64Array(d).fill(1)]);
  return out;
}

/** Encodes `a` into a fresh buffer of exactly ceil(payloadBits/8) bytes. */
export function encodeMessage(q: Compressor, a: Float64Array, ctx: CompressContext): Uint8Array {
  const out = new Uint8Array(Math.ceil(q.payloadBits(ctx) / 8));
  q.encode(a, ctx, out);
  return out;
}

/** Decodes one payload into a zero vector of length ctx.d. */
export function decodeMessage(q: Compressor, payload: Uint8Array, ctx: CompressContext): Float64Array {
  const sum = new Float64Array(ctx.d);
  q.decodeInto(sum, payload, ctx);
  return sum;
}

/** Q(a) as the server sees it: `client` encodes, `server` (another instance) decodes. */
export function compress(client: Compressor, server: Compressor, a: Float64Array, ctx: CompressContext): Float64Array {
  return decodeMessage(server, encodeMessage(client, a, ctx), ctx);
}

/**
 * (1/n)Σ_i Q_i(a_i) as the server forms it in one round: client i encodes a_i at slot = rank = i (n = the
 * number of inputs), `server` decodes every message into one running sum, which is then divided by n.
 */
export function serverMean(client: Compressor, server: Compressor, inputs: Float64Array[], round: number, seed = 1): Float64Array {
  const n = inputs.length;
  const d = inputs[0]!.length;
  const sum = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const ctx = contextFor(d, n, i, round, seed);
    server.decodeInto(sum, encodeMessage(client, inputs[i]!, ctx), ctx);
  }
  for (let j = 0; j < d; j++) sum[j]! /= n;
  return sum;
}

/** Bit j of a CQ/IQ payload: the bits follow the 4-byte float32 radius, least significant first. */
export const rangeBit = (payload: Uint8Array, j: number): number => (payload[4 + (j >> 3)]! >> (j & 7)) & 1;

/** Monte-Carlo moments of an estimator of a vector `target` over independent rounds. */
export interface Moments {
  rounds: number;
  /** Per-coordinate sample mean of the estimate. */
  mean: Float64Array;
  /** Per-coordinate sample variance (n − 1 denominator). */
  variance: Float64Array;
  /** Sample mean of ‖estimate − target‖². */
  mse: number;
  /** Standard error of `mse` (sample std of ‖estimate − target‖² over √rounds). */
  mseStdErr: number;
}

/** Moments of `draw(round)` around `target` over rounds firstRound .. firstRound + rounds − 1. */
export function moments(target: Float64Array, rounds: number, draw: (round: number) => Float64Array, firstRound = 1): Moments {
  const d = target.length;
  const s1 = new Float64Array(d);
  const s2 = new Float64Array(d);
  let e1 = 0;
  let e2 = 0;
  for (let t = 0; t < rounds; t++) {
    const y = draw(firstRound + t);
    let err = 0;
    for (let j = 0; j < d; j++) {
      const v = y[j]!;
      s1[j]! += v;
      s2[j]! += v * v;
      const e = v - target[j]!;
      err += e * e;
    }
    e1 += err;
    e2 += err * err;
  }
  const mean = new Float64Array(d);
  const variance = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    mean[j] = s1[j]! / rounds;
    variance[j] = Math.max(0, (s2[j]! - rounds * mean[j]! * mean[j]!) / (rounds - 1));
  }
  const mse = e1 / rounds;
  const mseVar = Math.max(0, (e2 - rounds * mse * mse) / (rounds - 1));
  return { rounds, mean, variance, mse, mseStdErr: Math.sqrt(mseVar / rounds) };
}

/**
 * The largest per-coordinate deviation of the sample mean from `target`, in standard errors, after
 * subtracting an absolute slack `tol` (float32 rounding of values and scales). The standard error uses the
 * exact per-coordinate `variance` when given (needed when a coordinate is nonzero only rarely, so that its
 * sample variance may be 0), else the sample variance. Unbiasedness tests require it to be at most about 5.
 */
export function maxZScore(m: Moments, target: Float64Array, tol: number, variance: ArrayLike<number> = m.variance): number {
  let worst = 0;
  for (let j = 0; j < target.length; j++) {
    const dev = Math.max(0, Math.abs(m.mean[j]! - target[j]!) - tol);
    if (dev === 0) continue;
    const se = Math.sqrt(variance[j]! / m.rounds);
    worst = Math.max(worst, se === 0 ? Infinity : dev / se);
  }
  return worst;
}

/**
 * Monte-Carlo E‖(1/n)Σ_i Q_i(a) − a‖² over rounds 0..rounds − 1, all n clients encoding the same a (the
 * homogeneous error of SPEC B.3, B.4), each round's mean formed by `serverMean`.
 */
export function homogeneousMse(client: Compressor, server: Compressor, a: Float64Array, n: number, rounds: number, seed: number): number {
  const inputs = new Array<Float64Array>(n).fill(a);
  return moments(a, rounds, (t) => serverMean(client, server, inputs, t, seed), 0).mse;
}

/** ‖a‖₂². */
export function sqNorm(a: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j]! * a[j]!;
  return s;
}

/**
 * Exact per-coordinate variances of unbiased random rounding of u_j = min(1, |a_j|/r) to the adjacent
 * values of the ascending `levels` (0 first, 1 last), scaled back by r: r²(u_j − lo_j)(hi_j − u_j).
 */
export function roundingVariances(a: ArrayLike<number>, r: number, levels: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  if (r === 0) return out;
  for (let j = 0; j < a.length; j++) {
    const u = Math.min(1, Math.abs(a[j]!) / r);
    let i = 1;
    while (i < levels.length - 1 && levels[i]! < u) i++;
    out[j] = r * r * (u - levels[i - 1]!) * (levels[i]! - u);
  }
  return out;
}

/** Their sum: the exact E‖Q(a) − a‖² of such a quantizer. */
export function roundingVariance(a: ArrayLike<number>, r: number, levels: ArrayLike<number>): number {
  return roundingVariances(a, r, levels).reduce((x, y) => x + y, 0);
}

/**
 * Exact error of the mean of n independent IQ messages of the same a (SPEC B.3), r = fround(‖a‖₂): per
 * client and coordinate X = Q_j − a_j is r − a_j w.p. y_j = (a_j + r)/(2r) and −r − a_j otherwise, mean 0,
 * variance v_j = r² − a_j², fourth moment m4_j = y_j(r − a_j)⁴ + (1 − y_j)(r + a_j)⁴. For e_j = (1/n)Σ_i X_i:
 * E e_j² = v_j/n, so `mse` = E‖e‖² = (d r² − ‖a‖²)/n ≈ (d − 1)‖a‖²/n, and `variance` = Var ‖e‖² =
 * Σ_j (m4_j + (2n − 3)v_j²)/n³ (the e_j are independent). A test oracle derived apart from mse.ts's.
 */
export function iqExactError(a: Float64Array, n: number): { mse: number; variance: number } {
  const r = Math.fround(Math.sqrt(sqNorm(a)));
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
