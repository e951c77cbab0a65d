import { packedSymbolBits, packSymbols } from '@marina/protocol';
import { hash32, streamKeys } from '../rng.js';
import { rangeKernels } from '../kernels/range.js';
import { addSymbols, checkWords, ditherTables, encodeNatural, encodeStandard } from '../kernels/dithering.js';
import type { Compressor } from './types.js';
import { ExponentReader, expectLength, readScale } from './floats.js';

/**
 * The shared machinery of random dithering (SPEC B.6–B.8, decisions 7, 11, 12, 16, 19):
 * Q(a)_j = r·sign(a_j)·ξ_j with r = fround(‖a‖_p) and ξ_j the random rounding of u_j = |a_j|/r (clamped to
 * [0, 1], decision 11) to one of the two adjacent levels, with the probabilities that make E ξ_j = u_j.
 *
 * - `standard` levels {0, 1/s, …, 1} (QSGD = D_sta^{2,s}, ternary = D_sta^{∞,1});
 * - `natural` levels {0, 2^{1−s}, …, 1/2, 1} (D_nat^{p,s}).
 *
 * Wire: the float32 r, then one symbol per coordinate, s + sign·level index ∈ [0, 2s], packed by decision
 * 12 (k symbols of alphabet m = 2s + 1 per 32-bit word, k the largest with m^k ≤ 2^32). Algorithm bits are
 * the CQ-MARINA table's 31 + d·log2(2s + 1) (decision 7). The rounding thresholds are private: coordinate j
 * goes up a level iff h_j < f_j·2^32, f_j its exact fraction between the two levels and h_j = hash32 of the
 * stream (seed, round, rank, purpose) at j (protocol 3; kernels/dithering.ts, `ditherSymbol` the reference).
 */
export interface DitheringSpec {
  name: string;
  scheme: 'standard' | 'natural';
  /** s ≥ 1: nonzero levels. */
  levels: number;
  /** p ≥ 1, or Infinity. */
  norm: number;
  /** Key of the private rounding randomness. */
  purpose: string;
  /** ω for dimension d, with where it comes from. */
  omega(d: number): { omega: number; note: string };
}

export function createDithering(spec: DitheringSpec): Compressor {
  const exponent = new ExponentReader();
  const { name, scheme, levels: s, norm: p, purpose } = spec;
  if (!(Number.isInteger(s) && s >= 1 && s <= 0x7fff)) throw new RangeError(`${name}: levels must be an integer in [1, 32767], got ${s}`);
  if (!(p >= 1)) throw new RangeError(`${name}: norm must be a number ≥ 1 or Infinity, got ${p}`);
  const m = 2 * s + 1;
  // value[sym] = sign·level for sym = s + sign·index: a table of 2s + 1 doubles, built once.
  const value = new Float64Array(m);
  for (let l = 1; l <= s; l++) {
    const level = scheme === 'standard' ? l / s : 2 ** (l - s);
    value[s + l] = level;
    value[s - l] = -level;
  }
  const tables = ditherTables(s, value);
  const bits = (d: number): number => 31 + d * Math.log2(m);
  const wire = (d: number): number => 32 + packedSymbolBits(d, m);
  let symbols = new Int32Array(0);

  return {
    name,
    unbiased: true,
    correlated: false,
    bits: (ctx) => bits(ctx.d),
    expectedBits: (d) => bits(d),
    payloadBits: (ctx) => wire(ctx.d),
    encode(a, ctx, out, sumSquares) {
      const { d } = ctx;
      // p = 2 with Σa² given (summed in the same order while the caller formed a): no norm pass.
      const r = Math.fround(p === 2 && sumSquares !== undefined ? Math.sqrt(sumSquares) : pNorm(a, d, p));
      new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, r, true);
      if (r === 0 || !Number.isFinite(r)) {
        // A zero vector sends r = 0 and all-zero levels (decision 11); a non-finite r is refused by the server.
        if (symbols.length < d) symbols = new Int32Array(d);
        const sym = symbols.subarray(0, d);
        sym.fill(s);
        packSymbols(sym, m, out, 4);
        return;
      }
      const [k0, k1] = streamKeys(ctx.seed, ctx.round, ctx.rank, purpose);
      const inv = 1 / r;
      if (scheme === 'standard') encodeStandard(a, d, inv, tables, k0, k1, out, 4);
      else if (s <= 1023) encodeNatural(a, d, inv, tables, k0, k1, out, 4);
      else {
        // Natural levels below the normal doubles: the reference, one coordinate at a time.
        if (symbols.length < d) symbols = new Int32Array(d);
        const sym = symbols.subarray(0, d);
        for (let j = 0; j < d; j++) sym[j] = ditherSymbol(a[j]!, inv, scheme, s, hash32(k0, k1, j), exponent);
        packSymbols(sym, m, out, 4);
      }
    },
    decodeInto(sum, payload, ctx) {
      const { d } = ctx;
      const what = `${name} update`;
      expectLength(payload, 4 + 4 * Math.ceil(d / tables.perWord), what);
      const r = readScale(payload, 0, what);
      checkWords(payload, 4, d, tables); // throws on a symbol outside [0, 2s], before the sum is touched
      addSymbols(sum, d, payload, 4, r, tables);
    },
    constants(d, n) {
      const { omega, note } = spec.omega(d);
      return { omega, A: omega / n, B: 0, note: `${note}; independent clients (A, B) = (ω/n, 0)` };
    },
    zeta: (d) => d,
  };
}

/**
 * The reference for one coordinate (what the kernels must match): the symbol of x given 1/r, the scheme,
 * s and the coordinate's 32-bit hash h (the threshold U = h/2^32, exact).
 */
export function ditherSymbol(x: number, inv: number, scheme: 'standard' | 'natural', s: number, h: number, exponent: ExponentReader): number {
  let u = Math.abs(x) * inv;
  if (u > 1) u = 1;
  const U = h / 0x1_0000_0000;
  const l = scheme === 'standard' ? roundStandard(u, s, U) : roundNatural(u, s, U, exponent);
  return x < 0 ? s - l : s + l;
}

/** Level index of u ∈ [0, 1] on {0, 1/s, …, 1}: ⌊us⌋, plus one with probability us − ⌊us⌋. */
function roundStandard(u: number, s: number, U: number): number {
  const t = u * s;
  const lo = Math.floor(t);
  return lo >= s ? s : lo + (U < t - lo ? 1 : 0);
}

/**
 * Level index of u ∈ [0, 1] on {0, 2^{1−s}, …, 1} (index l ≥ 1 is 2^{l−s}): between 2^e ≤ u < 2^{e+1} it is
 * e + s, plus one with probability u/2^e − 1; below 2^{1−s}, 1 with probability u·2^{s−1}, else 0.
 */
function roundNatural(u: number, s: number, U: number, exponent: ExponentReader): number {
  if (u === 0) return 0;
  const e = exponent.floorLog2(u);
  if (e >= 0) return s; // u = 1
  // Below the lowest level: 1 with probability u·2^{s−1} (< 1 here). Two exact power-of-two steps, since
  // 2^{s−1} alone overflows for s > 1024 while u ≥ 2^−1074.
  if (e < 1 - s) return U < u * 2 ** Math.min(s - 1, 1000) * 2 ** Math.max(0, s - 1001) ? 1 : 0;
  return e + s + (U < u / 2 ** e - 1 ? 1 : 0);
}

/**
 * ‖a‖_p over a[0..d) for p ≥ 1 or Infinity; p = 2 sums the squares in kernels/rangeJs.sumSquares' 8-lane
 * order (SIMD where available), p = 1 sequentially. General p scales by the largest magnitude first, so |a_j|^p
 * neither overflows nor underflows; NaN propagates (the server then refuses the message).
 */
export function pNorm(a: Float64Array, d: number, p: number): number {
  if (p === 2) return Math.sqrt(rangeKernels.sumSquares(a, d)); // the fixed 8-lane order (protocol 3)
  if (p === 1) {
    let s = 0;
    for (let j = 0; j < d; j++) s += Math.abs(a[j]!);
    return s;
  }
  let mx = 0;
  for (let j = 0; j < d; j++) {
    const v = Math.abs(a[j]!);
    if (!(v <= mx)) mx = v; // NaN wins
  }
  if (p === Infinity || mx === 0 || !Number.isFinite(mx)) return mx;
  let s = 0;
  for (let j = 0; j < d; j++) s += (Math.abs(a[j]!) / mx) ** p;
  return mx * s ** (1 / p);
}
