import { BitReader, BitWriter } from '@marina/protocol';
import { CounterRng } from '../rng.js';
import type { Compressor } from './types.js';
import { expectLength, readScale } from './floats.js';

/**
 * DRIVE, one bit per coordinate after a random rotation (Vargaftik et al. 2021; SPEC B.9, decision 6).
 *
 * 1. pad a to d' = the next power of two ≥ d with zeros;
 * 2. rotate: z = H·D·a/√d', D the Rademacher signs of (seed, round, rank, "drive") — the client's own
 *    stream, which the server regenerates from the sender's rank — and H the ±1 Walsh–Hadamard matrix;
 * 3. send sign(z) (d' bits, 1 for z_i ≥ 0) and the unbiased scale S = ‖a‖₂²/‖z‖₁ as float32 (32 bits);
 * 4. server: â = D·H·(S·sign(z))/√d' (the inverse rotation), truncated to d.
 * ⟨â, a⟩ = S‖z‖₁ = ‖a‖² exactly, so the error is orthogonal to a in the rotation's direction and
 * E‖â − a‖² = E[S²d'] − ‖a‖² ≈ (π/2 − 1)‖a‖² for large d (SPEC B.9). It is unbiased over uniform rotations
 * and only close to it for the randomized Hadamard, whose 2^{d'} sign patterns are too few when d' is
 * small: for d' = 2 the output is deterministic, â = (‖a‖²/a_1, 0) when |a_1| > |a_2|; at d = 16 the squared
 * bias is about 14× the variance of a 2000-round mean; from d ≈ 100 on it is lost in the noise. `unbiased`
 * is true in the sense of the SPEC table ("≈ yes"). A zero vector sends S = 0 (and zero bits) and decodes
 * to zeros.
 * The transform is the in-place O(d' log d') fast Walsh–Hadamard transform on a reused scratch buffer.
 */
export function createDrive(): Compressor {
  let x = new Float64Array(0);
  const bits = (d: number): number => nextPow2(d) + 32;
  return {
    name: 'drive',
    unbiased: true,
    correlated: false,
    bits: (ctx) => bits(ctx.d),
    expectedBits: (d) => bits(d),
    payloadBits: (ctx) => bits(ctx.d),
    encode(a, ctx, out) {
      const { d } = ctx;
      const dp = nextPow2(d);
      if (x.length < dp) x = new Float64Array(dp);
      const rng = new CounterRng(ctx.seed, ctx.round, ctx.rank, 'drive');
      let sq = 0;
      let word = 0;
      for (let i = 0; i < d; i++) {
        if ((i & 31) === 0) word = rng.at(i >>> 5);
        const v = a[i]!;
        sq += v * v;
        x[i] = (word >>> (i & 31)) & 1 ? v : -v;
      }
      x.fill(0, d, dp);
      fwht(x, dp);
      // z = x/√d', so ‖z‖₁ = Σ|x_i|/√d'.
      let l1 = 0;
      for (let i = 0; i < dp; i++) l1 += Math.abs(x[i]!);
      const S = sq === 0 ? 0 : Math.fround((sq * Math.sqrt(dp)) / l1);
      new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, S, true);
      const w = new BitWriter(out, 4);
      if (S === 0) for (let i = 0; i < dp; i++) w.bit(0);
      else for (let i = 0; i < dp; i++) w.bit(x[i]! >= 0 ? 1 : 0);
      w.finish();
    },
    decodeInto(sum, payload, ctx) {
      const { d } = ctx;
      const dp = nextPow2(d);
      expectLength(payload, 4 + Math.ceil(dp / 8), 'drive update');
      const S = readScale(payload, 0, 'drive update');
      if (x.length < dp) x = new Float64Array(dp);
      const r = new BitReader(payload, 4);
      for (let i = 0; i < dp; i++) x[i] = r.bit() ? S : -S;
      r.finish(); // padding bits (d' < 8) must be zero: checked before the sum is touched
      fwht(x, dp);
      const inv = 1 / Math.sqrt(dp);
      const rng = new CounterRng(ctx.seed, ctx.round, ctx.rank, 'drive');
      let word = 0;
      for (let i = 0; i < d; i++) {
        if ((i & 31) === 0) word = rng.at(i >>> 5);
        const v = x[i]! * inv;
        sum[i]! += (word >>> (i & 31)) & 1 ? v : -v;
      }
    },
    constants: (_d, n) => {
      const omega = Math.PI / 2 - 1;
      return { omega, A: omega / n, B: 0, note: 'DRIVE (unbiased scale): ω ≈ π/2 − 1, the large-d value (SPEC B.9); independent clients (A, B) = (ω/n, 0)' };
    },
    zeta: (d) => d,
  };
}

/** The smallest power of two ≥ d (d ≥ 1). */
export function nextPow2(d: number): number {
  return d <= 1 ? 1 : 2 ** (32 - Math.clz32(d - 1));
}

/**
 * The Rademacher sign D_i ∈ {−1, +1} of coordinate i in (seed, round, rank, "drive"): bit i mod 32 of the
 * stream's word ⌊i/32⌋, 1 meaning +1. For tests and external decoders; the hot loops inline it.
 */
export function driveSign(seed: number, round: number, rank: number, i: number): number {
  return (new CounterRng(seed, round, rank, 'drive').at(i >>> 5) >>> (i & 31)) & 1 ? 1 : -1;
}

/** In-place unnormalised fast Walsh–Hadamard transform of x[0..n), n a power of two: x ← H·x. */
export function fwht(x: Float64Array, n: number): void {
  for (let h = 1; h < n; h <<= 1) {
    for (let i = 0; i < n; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const u = x[j]!;
        const v = x[j + h]!;
        x[j] = u + v;
        x[j + h] = u - v;
      }
    }
  }
}
