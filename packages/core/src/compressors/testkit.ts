import type { Compressor, CompressContext } from './types.js';

/**
 * Pure helpers for compressor tests and simulations: encode and decode one message in process, and the
 * Monte-Carlo moments of Q(a) over rounds (each round is fresh randomness, SPEC decision 15). No vitest
 * import, so benchmarks and scripts may use them too.
 */

/** A compression context; `rank` defaults to `slot`. */
export function contextFor(d: number, n: number, slot = 0, round = 1, seed = 1, rank = slot): CompressContext {
  return { d, n, slot, rank, seed, round };
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
