import { describe, expect, it } from 'vitest';
import { protocolErrorCode } from '@marina/protocol/testing';
import { createDrive, driveOmega, driveSign, fwht, HAAR_MAX_DIM, haarRotate, haarVectors, nextPow2, type HaarScratch } from './drive.js';
import { compress, contextFor, decodeMessage, encodeMessage, gaussian, maxZScore, moments, sparse, sqNorm } from './testkit.js';

/** Sylvester's ±1 Hadamard entry H_ij = (−1)^{popcount(i & j)}. */
function h(i: number, j: number): number {
  let x = i & j;
  let p = 0;
  while (x) {
    p ^= x & 1;
    x >>>= 1;
  }
  return p ? -1 : 1;
}

/** The rotation R of (seed, round, rank) as an explicit d′ × d′ matrix (rows), built from its definition. */
function rotation(d: number, seed: number, round: number, rank: number): number[][] {
  const dp = nextPow2(d);
  if (dp <= HAAR_MAX_DIM) {
    // Columns R·e_j through haarRotate; its own orthogonality is checked below.
    const scratch: HaarScratch = { w: new Float64Array(0), c: new Float64Array(0) };
    haarVectors(seed, round, rank, dp, scratch);
    const cols = Array.from({ length: dp }, (_, j) => {
      const e = new Float64Array(dp);
      e[j] = 1;
      haarRotate(e, dp, scratch);
      return e;
    });
    return Array.from({ length: dp }, (_, i) => cols.map((c) => c[i]!));
  }
  // SPEC B.9's correction: R = H·D₂·H·D₁ with H = ±1 Hadamard/√d′.
  const D1 = Array.from({ length: dp }, (_, j) => driveSign(seed, round, rank, j, 'drive'));
  const D2 = Array.from({ length: dp }, (_, k) => driveSign(seed, round, rank, k, 'drive-2'));
  return Array.from({ length: dp }, (_, i) =>
    Array.from({ length: dp }, (_, j) => {
      let s = 0;
      for (let k = 0; k < dp; k++) s += h(i, k) * D2[k]! * h(k, j);
      return (s * D1[j]!) / dp;
    }),
  );
}

/** DRIVE by its definition (SPEC B.9) with an explicit rotation: z = R·a, S = ‖a‖²/‖z‖₁, â = Rᵀ(S·sign z). */
function reference(a: Float64Array, seed: number, round: number, rank: number): { S: number; signs: number[]; decoded: Float64Array } {
  const d = a.length;
  const R = rotation(d, seed, round, rank);
  const z = R.map((row) => row.reduce((s, r, j) => s + r * (j < d ? a[j]! : 0), 0));
  const S = Math.fround(sqNorm(a) / z.reduce((s, v) => s + Math.abs(v), 0));
  const signs = z.map((v) => (v >= 0 ? 1 : -1));
  const decoded = Float64Array.from({ length: d }, (_, j) => R.reduce((s, row, i) => s + row[j]! * S * signs[i]!, 0));
  return { S, signs, decoded };
}

/** Monte-Carlo moments of â over `rounds` fresh rounds (client rank 3 of 8, seed 1). */
const draws = (a: Float64Array, rounds: number) => moments(a, rounds, (round) => compress(createDrive(), createDrive(), a, contextFor(a.length, 8, 3, round, 1, 3)));

describe('drive', () => {
  it('counts and sends d′ + 32 bits, d′ the next power of two (decision 6)', () => {
    const q = createDrive();
    for (const [d, dp] of [[1, 1], [2, 2], [3, 4], [5, 8], [8, 8], [60, 64], [64, 64], [65, 128], [123, 128], [500, 512], [1024, 1024], [1025, 2048]]) {
      expect(nextPow2(d!)).toBe(dp);
      const ctx = contextFor(d!, 3);
      expect(q.bits(ctx)).toBe(dp! + 32);
      expect(q.payloadBits(ctx)).toBe(dp! + 32);
      expect(q.expectedBits(d!, 3)).toBe(dp! + 32);
      expect(encodeMessage(q, gaussian(d!, d!), ctx).length).toBe(4 + Math.ceil(dp! / 8));
    }
  });

  it('transforms with the Walsh–Hadamard matrix in O(d log d) (fwht agrees with H·x)', () => {
    for (const n of [1, 2, 4, 8, 32]) {
      const x = gaussian(n, n);
      const y = Float64Array.from(x);
      fwht(y, n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += h(i, j) * x[j]!;
        expect(y[i]).toBeCloseTo(s, 12);
      }
    }
  });

  it('rotates by an orthogonal R: Haar factors up to d′ = 64, H·D₂·H·D₁ above; haarRotate(·, transpose) is Rᵀ', () => {
    for (const d of [1, 2, 3, 8, 64, 65]) {
      const R = rotation(d, 4, 2, 1);
      const n = R.length;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const dot = R.reduce((s, row) => s + row[i]! * row[j]!, 0);
          expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
    }
    const scratch: HaarScratch = { w: new Float64Array(0), c: new Float64Array(0) };
    haarVectors(4, 2, 1, 16, scratch);
    const R = rotation(16, 4, 2, 1);
    const x = gaussian(16, 3);
    const y = Float64Array.from(x);
    haarRotate(y, 16, scratch, true);
    for (let j = 0; j < 16; j++) expect(y[j]).toBeCloseTo(R.reduce((s, row, i) => s + row[j]! * x[i]!, 0), 12);
  });

  it('sends sign(R·a) and S = ‖a‖²/‖R·a‖₁, and decodes Rᵀ(S·sign z) truncated to d (SPEC B.9), in both ranges', () => {
    for (const d of [1, 2, 3, 5, 12, 16, 33, 64, 100, 128]) {
      const a = gaussian(d, 100 + d);
      const [seed, round, rank] = [7, 3 + d, d % 4];
      const ctx = contextFor(d, 4, rank, round, seed);
      const ref = reference(a, seed, round, rank);
      const payload = encodeMessage(createDrive(), a, ctx);
      expect(new DataView(payload.buffer).getFloat32(0, true)).toBeCloseTo(ref.S, 5);
      ref.signs.forEach((s, i) => expect((payload[4 + (i >>> 3)]! >>> (i & 7)) & 1).toBe(s > 0 ? 1 : 0));
      const y = decodeMessage(createDrive(), payload, ctx);
      for (let i = 0; i < d; i++) expect(y[i]).toBeCloseTo(ref.decoded[i]!, 5);
      // ⟨â, a⟩ = S·‖z‖₁ = ‖a‖² up to the float32 rounding of S.
      const dot = y.reduce((s, v, i) => s + v * a[i]!, 0);
      expect(Math.abs(dot / sqNorm(a) - 1)).toBeLessThan(1e-7);
    }
  });

  it('uses the sender’s own rotation: another rank or round decodes differently (both ranges)', () => {
    for (const d of [64, 128]) {
      const a = gaussian(d, 1);
      const p = encodeMessage(createDrive(), a, contextFor(d, 2, 0, 1, 1, 0));
      const mine = decodeMessage(createDrive(), p, contextFor(d, 2, 0, 1, 1, 0));
      const other = decodeMessage(createDrive(), p, contextFor(d, 2, 0, 1, 1, 1));
      const later = decodeMessage(createDrive(), p, contextFor(d, 2, 0, 2, 1, 0));
      expect(sqNorm(mine.map((v, i) => v - a[i]!))).toBeLessThan(sqNorm(a));
      expect(Array.from(other)).not.toEqual(Array.from(mine));
      expect(Array.from(later)).not.toEqual(Array.from(mine));
    }
  });

  // SPEC B.9's correction. Sparse and structured inputs, where one randomized Hadamard rotation was biased
  // at every d ((3, 1, 0, …) decoded to (10/3, 0, …) every round; the 4-sparse vector had ω ≈ 1.48).
  // Over R rounds, with ω the declared constant and S_ω = Z·SE of the measured ω:
  // - unbiased in norm: E‖mean − a‖² = E‖â − a‖²/R ≤ ω‖a‖²/R, so ‖mean − a‖ ≤ Z·sqrt(ω‖a‖²/R);
  // - unbiased per coordinate: |mean_j − a_j| ≤ Z·(sample standard error of coordinate j);
  // - E‖â − a‖²/‖a‖² ≤ ω + Z·SE (Monte-Carlo slack: Z standard errors of the mean squared error);
  // with Z = 5 and a float32 slack of 1e-6‖a‖. One rotation fails the first two on (3, 1, 0, …) and the
  // 4-sparse input at every d; without the tie rule two rotations fail the second on (0.3, 0.1, 0, …) at
  // d = 1024.
  const Z = 5;
  const ROUNDS = 1000;
  const inputs = (d: number): [string, Float64Array][] => [
    ['(3, 1, 0, …)', sparse(d, [[0, 3], [1, 1]])],
    ['(0.3, 0.1, 0, …)', sparse(d, [[0, 0.3], [1, 0.1]])],
    ['e_1', sparse(d, [[0, 1]])],
    ['1-sparse', sparse(d, [[d - 1, -2.5]])],
    ['2-sparse (1, −1)', sparse(d, [[0, 1], [d - 1, -1]])],
    ['2-sparse', sparse(d, [[d >> 1, 0.7], [d - 1, -1.9]])],
    ['4-sparse', sparse(d, [[0, 1], [1, -2], [d >> 1, 0.5], [d - 1, 3]])],
    ['4 equal', sparse(d, [[0, 1], [1, 1], [2, 1], [3, 1]])],
    ['constant', new Float64Array(d).fill(1)],
    ['gaussian', gaussian(d, d)],
  ];

  it.each([2, 8, 64, 128, 1024])('is unbiased and meets its declared ω on sparse, structured and dense inputs, d = %i', (d) => {
    const omega = createDrive().constants(d, 8, 'default').omega;
    for (const [name, a] of inputs(d)) {
      if (sqNorm(a) === 0 || (name === '4 equal' && d < 4)) continue;
      const sq = sqNorm(a);
      const m = draws(a, ROUNDS);
      const what = `d = ${d}, ${name}`;
      const meanErr = Math.sqrt(sqNorm(m.mean.map((v, j) => v - a[j]!)));
      expect(meanErr, `${what}: ‖mean − a‖`).toBeLessThanOrEqual(Z * Math.sqrt((omega * sq) / ROUNDS) + 1e-6 * Math.sqrt(sq));
      expect(maxZScore(m, a, 1e-6 * Math.sqrt(sq)), `${what}: largest z-score of the mean`).toBeLessThan(Z);
      expect(m.mse / sq, `${what}: measured ω ± ${m.mseStdErr / sq}`).toBeLessThanOrEqual(omega + (Z * m.mseStdErr) / sq);
    }
  });

  // A uniform rotation makes ω a function of d′ alone, E[d′‖u‖₂²/‖u‖₁²] − 1 for u uniform on the sphere:
  // 4/π − 1 at d′ = 2 (exact); numpy (2·10⁶ draws, ± 0.0002) 0.4340 at 4, 0.5079 at 8, 0.5565 at 32. The
  // measured value must match it on every input (Z standard errors plus the reference's 0.0002); one
  // Hadamard rotation at d′ = 2 gave 1/9 on (3, 1) and 0 on e_1.
  it.each([
    [2, 4 / Math.PI - 1],
    [4, 0.434],
    [8, 0.5079],
    [32, 0.5565],
  ])('is a uniform rotation for d′ = %i ≤ 64: ω equals the Haar value %f on every input', (d, haarOmega) => {
    for (const a of [sparse(d, [[0, 3], [1, 1]]), sparse(d, [[0, 1]]), new Float64Array(d).fill(1), gaussian(d, 2)]) {
      const m = draws(a, 2000);
      expect(Math.abs(m.mse / sqNorm(a) - haarOmega)).toBeLessThan((Z * m.mseStdErr) / sqNorm(a) + 0.0002);
    }
    expect(driveOmega(d)).toBeGreaterThan(haarOmega);
  });

  // Known limit of two Hadamard rotations (d′ > 64), reported in SPEC B.9 / the README: on 2-sparse inputs
  // with nearly equal magnitudes, coordinates of z that vanish at equal magnitudes keep the sign of the
  // small difference, which follows a, not the randomness. numpy: mean of â_1 ≈ 1.097 at d′ = 128, 1.030
  // at 1024, 1.013 at 4096 for a = (1, 0.99, 0, …). This pins it; a fix must change this test.
  it('two Hadamard rotations stay biased on a = (1, 0.99, 0, …): ≈ 3% on a_1 at d = 1024 (documented limit)', () => {
    const a = sparse(1024, [[0, 1], [1, 0.99]]);
    const m = draws(a, ROUNDS);
    expect(maxZScore(m, a, 0)).toBeGreaterThan(10);
    expect(m.mean[0]! - 1).toBeGreaterThan(0.02);
    expect(m.mean[0]! - 1).toBeLessThan(0.04);
  });

  it('declares ω = π/2 − 1 for d′ ≤ 64 and 0.65 above, (A, B) = (ω/n, 0)', () => {
    for (const [d, omega] of [[1, Math.PI / 2 - 1], [2, Math.PI / 2 - 1], [64, Math.PI / 2 - 1], [65, 0.65], [1024, 0.65]] as const) {
      for (const n of [1, 8]) {
        const c = createDrive().constants(d, n, 'default');
        expect(c.omega).toBe(omega);
        expect(c.A).toBe(omega / n);
        expect(c.B).toBe(0);
        expect(createDrive().constants(d, n, 'paper')).toEqual(c);
      }
    }
  });

  it('a zero vector sends S = 0 and decodes to zeros', () => {
    for (const d of [10, 100]) {
      const ctx = contextFor(d, 1);
      const p = encodeMessage(createDrive(), new Float64Array(d), ctx);
      expect(Array.from(p)).toEqual(new Array(p.length).fill(0));
      expect(Array.from(decodeMessage(createDrive(), p, ctx))).toEqual(new Array(d).fill(0));
    }
  });

  it('refuses a negative or non-finite scale and nonzero padding (d′ < 8), before touching the sum', () => {
    const q = createDrive();
    const ctx = contextFor(3, 1); // d′ = 4: 4 padding bits
    const good = encodeMessage(q, Float64Array.from([1, -2, 3]), ctx);
    const sum = new Float64Array(3).fill(1);
    for (const s of [-1, NaN, Infinity]) {
      const p = good.slice();
      new DataView(p.buffer).setFloat32(0, s, true);
      expect(protocolErrorCode(() => q.decodeInto(sum, p, ctx))).toBe('MARINA_ERR_OUT_OF_RANGE');
    }
    const padded = good.slice();
    padded[4]! |= 0x80;
    expect(protocolErrorCode(() => q.decodeInto(sum, padded, ctx))).toBe('MARINA_ERR_NONZERO_PADDING');
    expect(Array.from(sum)).toEqual([1, 1, 1]);
  });
});
