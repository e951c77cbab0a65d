import { ProtocolError } from '@marina/protocol';
import { CounterRng } from '../rng.js';
import { applySigns as applySignWords, expandSigns, fwht, l1Norm, rotationScratch, signBits } from '../kernels/hadamard.js';
import { rangeKernels } from '../kernels/range.js';
import type { Compressor } from './types.js';
import { expectLength, readScale } from './floats.js';

/**
 * DRIVE, one bit per coordinate after a random rotation (Vargaftik et al. 2021; SPEC B.9 with its
 * correction, decision 6).
 *
 * 1. pad a to d' = the next power of two ≥ d with zeros;
 * 2. rotate: z = R·a with R a random orthogonal d' × d' matrix drawn from the client's own streams
 *    (seed, round, rank, purpose), which the server regenerates from the sender's rank;
 * 3. send sign(z) (d' bits, 1 for z_i ≥ 0) and the unbiased scale S = ‖a‖₂²/‖z‖₁ as float32 (32 bits),
 *    ‖a‖₂² summed in rangeJs.sumSquares' 8-lane order and ‖z‖₁ in hadamard.ts's l1Norm 4-lane order
 *    (protocol 3: vectorisable orders);
 * 4. server: â = Rᵀ·(S·sign(z)), truncated to d.
 * ⟨â, a⟩ = S‖z‖₁ = ‖a‖² exactly, so any bias is orthogonal to a; E‖â − a‖² = E[S²d'] − ‖a‖².
 *
 * Which R (SPEC B.9 "Correction"): DRIVE is unbiased when R is a uniformly random rotation. One randomized
 * Hadamard H·D is not: on sparse or structured inputs it is biased at every d (a = (3, 1, 0, …) decoded to
 * (10/3, 0, …) every round). So:
 * - d' ≤ HAAR_MAX_DIM (64): R is uniform (Haar) on the orthogonal group, d' − 1 Householder reflections
 *   (`haarVectors`), O(d'²) ≤ O(64·d'). Exactly unbiased for every input; ω depends on d' alone.
 * - d' > 64: R = H·D₂·H·D₁, two randomized Hadamard rotations (H the Walsh–Hadamard matrix over √d', D₁,
 *   D₂ independent Rademacher diagonals from the purposes "drive" and "drive-2"), O(d' log d'). Not exactly
 *   unbiased: the measured bias is below Monte-Carlo noise on dense, k-sparse and structured inputs
 *   except near-equal 2-sparse ones, where it is about 10% of ‖a‖ at d' = 128, 3% at 1024 and 1.3% at
 *   4096 for a = (1, 0.99, 0, …) (drive.test.ts pins it). Two rotations cannot do better at small d' —
 *   at d' = 2, H·D₂·H·D₁ is a signed permutation and â = S·sign(a) every round — hence the Haar range.
 *
 * Ties: a coordinate of z that is zero in exact arithmetic (common on structured inputs under H) comes
 * out as ±rounding noise whose sign follows the input's structure, not the randomness, which biased
 * a = (0.3, 0.1, 0, …) at d = 1024 (bias² 1e-4‖a‖²) while (3, 1, 0, …), computed exactly, was clean.
 * |z_i| ≤ 2^−40·‖z‖₂ (far above the transforms' rounding error, far below any real coordinate) counts
 * as zero and sends bit 1; with D₂ → −D₂ equally likely, such coordinates cancel in expectation.
 *
 * ω (`driveOmega`): π/2 − 1 for d' ≤ 64 (the Haar value rises with d' towards it: 0.273 at d' = 2,
 * 0.564 at 64); above, 0.65, bounding the values measured on dense, sparse and structured inputs (0.598
 * at worst, d' = 128).
 * A zero vector sends S = 0 (and zero bits) and decodes to zeros. Scratch buffers are reused.
 */
export function createDrive(): Compressor {
  const haar: HaarScratch = { w: new Float64Array(0), c: new Float64Array(0) };
  const bits = (d: number): number => nextPow2(d) + 32;
  return {
    name: 'drive',
    unbiased: true,
    correlated: false,
    bits: (ctx) => bits(ctx.d),
    expectedBits: (d) => bits(d),
    payloadBits: (ctx) => bits(ctx.d),
    encode(a, ctx, out, sumSquares) {
      const { d } = ctx;
      const dp = nextPow2(d);
      const { x, words } = rotationScratch(dp);
      // ‖a‖² in the fixed 8-lane order (protocol 3), or the same sum as the caller formed a
      const sq = sumSquares ?? rangeKernels.sumSquares(a, d);
      x.set(a.length === d ? a : a.subarray(0, d));
      if (sq === 0) {
        out.fill(0, 0, 4 + Math.ceil(dp / 8)); // S = 0 and zero bits: decodes to zeros (decision 11)
        return;
      }
      x.fill(0, d, dp);
      // x ← unit·R·a, unit = d' for the unnormalised Hadamard pair, 1 for Haar; z = x/unit.
      let unit: number;
      if (dp <= HAAR_MAX_DIM) {
        haarVectors(ctx.seed, ctx.round, ctx.rank, dp, haar);
        haarRotate(x, dp, haar);
        unit = 1;
      } else {
        hadamardPairForward(x, words, d, dp, ctx.seed, ctx.round, ctx.rank);
        unit = dp;
      }
      const l1 = l1Norm(x, dp);
      const S = Math.fround((sq * unit) / l1);
      new DataView(out.buffer, out.byteOffset, 4).setFloat32(0, S, true);
      const tie = -TIE * unit * Math.sqrt(sq); // ‖x‖₂ = unit·‖a‖₂
      signBits(x, dp, tie, out, 4);
    },
    decodeInto(sum, payload, ctx) {
      const { d } = ctx;
      const dp = nextPow2(d);
      expectLength(payload, 4 + Math.ceil(dp / 8), 'drive update');
      const S = readScale(payload, 0, 'drive update');
      const { x, words } = rotationScratch(dp);
      // Padding bits (d' < 8) must be zero: checked before the sum is touched.
      if (dp < 8 && payload[4]! >>> dp !== 0) throw new ProtocolError('MARINA_ERR_NONZERO_PADDING', 'drive update: padding bits of the last byte are not zero');
      expandSigns(payload, 4, dp, S, x);
      if (dp <= HAAR_MAX_DIM) {
        haarVectors(ctx.seed, ctx.round, ctx.rank, dp, haar);
        haarRotate(x, dp, haar, true);
        for (let i = 0; i < d; i++) sum[i]! += x[i]!;
      } else {
        hadamardPairInverse(x, words, d, dp, ctx.seed, ctx.round, ctx.rank);
        const inv = 1 / dp;
        for (let i = 0; i < d; i++) sum[i]! += x[i]! * inv;
      }
    },
    constants: (d, n) => {
      const omega = driveOmega(d);
      const how =
        nextPow2(d) <= HAAR_MAX_DIM
          ? "d' ≤ 64: uniform rotation, exactly unbiased, ω ≤ π/2 − 1"
          : "d' > 64: two randomized Hadamard rotations, ω bounds the values measured on dense, sparse and structured inputs";
      return { omega, A: omega / n, B: 0, note: `DRIVE (unbiased scale, SPEC B.9): ${how}; independent clients (A, B) = (ω/n, 0)` };
    },
    zeta: (d) => d,
  };
}

/** Padded dimensions up to this use a uniformly random (Haar) rotation; larger ones two Hadamard rotations. */
export const HAAR_MAX_DIM = 64;

/**
 * ω that DRIVE declares for dimension d (SPEC B.9): E‖â − a‖² ≤ ω‖a‖².
 * - d' ≤ 64 (Haar): ω = E[d'‖u‖₂²/‖u‖₁²] − 1 for u uniform on the sphere, the same for every input and
 *   increasing in d' towards π/2 − 1: 4/π − 1 = 0.2732 at d' = 2 (exact), then (numpy, 2·10⁶ draws,
 *   ± 0.0002) 0.4340 at 4, 0.5079 at 8, 0.5407 at 16, 0.5565 at 32, 0.5636 at 64. π/2 − 1 bounds them.
 * - d' > 64 (two Hadamard rotations): it depends on the input and is largest on inputs with a few equal
 *   entries. Worst measured (numpy, 2·10⁴–4·10⁴ draws, ± 0.001) over Gaussian, e_1, 2-sparse, 4-sparse,
 *   (3, 1, 0, …), constant and 0/±1 vectors with 2 to 32 nonzeros at chosen and random positions:
 *   0.598 at d' = 128 (four equal entries, wherever they are), 0.583 at 256, 0.576 at 512, 0.574 at 1024,
 *   0.572 at 2048 — above π/2 − 1 = 0.5708 by about 3/d'. Declared: 0.65, which leaves 0.05 for inputs
 *   not tried. drive.test.ts measures the same inputs in TypeScript.
 */
export function driveOmega(d: number): number {
  return nextPow2(d) <= HAAR_MAX_DIM ? Math.PI / 2 - 1 : 0.65;
}

/** The smallest power of two ≥ d (d ≥ 1). */
export function nextPow2(d: number): number {
  return d <= 1 ? 1 : 2 ** (32 - Math.clz32(d - 1));
}

/**
 * The Rademacher sign D_i ∈ {−1, +1} of coordinate i in (seed, round, rank, purpose): bit i mod 32 of the
 * stream's word ⌊i/32⌋, 1 meaning +1. `drive` keys D₁, `drive-2` keys D₂ (d' > 64). For tests and
 * external decoders; `applySigns` does the same a word at a time.
 */
export function driveSign(seed: number, round: number, rank: number, i: number, purpose: 'drive' | 'drive-2' = 'drive'): number {
  return (new CounterRng(seed, round, rank, purpose).at(i >>> 5) >>> (i & 31)) & 1 ? 1 : -1;
}

/** In-place unnormalised fast Walsh–Hadamard transform of x[0..n), n a power of two: x ← H·x (kernels/hadamard.ts). */
export { fwht };

/** Reusable storage for the Householder factors of one Haar rotation (`haarVectors`). */
export interface HaarScratch {
  /** The vectors w of P_0, P_1, …, back to back: n(n+1)/2 − 1 values. */
  w: Float64Array;
  /** The pairs (2/wᵀw, −s) of each factor, then E's sign at index 2n. */
  c: Float64Array;
}

/**
 * Fills `h` with the Householder factors of the Haar rotation R = E·P_{n−2}⋯P_1·P_0 of
 * (seed, round, rank, "drive-haar"), n = d' (Stewart 1980; Mezzadri 2007): for k = 0..n−2, g ~ N(0, I_{n−k})
 * in draw order, u = g/‖g‖, s = sign(u_0) (+1 at 0), w = e_0 + s·u, and P_k = −s·(I − 2wwᵀ/wᵀw) acting on
 * coordinates k..n−1, so that P_k e_k = u; E flips the last coordinate when bit 0 of the next word is 1.
 * Rᵀ = P_0·(1 ⊕ P_1·(1 ⊕ ⋯ E)) with each P_k mapping e_k to a uniform direction of its subspace, so Rᵀ,
 * hence R, is Haar by induction on n. wᵀw = 2(1 + |u_0|) ≥ 2: no cancellation.
 */
export function haarVectors(seed: number, round: number, rank: number, n: number, h: HaarScratch): void {
  const total = (n * (n + 1)) / 2 - 1;
  if (h.w.length < total) h.w = new Float64Array(total);
  if (h.c.length < 2 * n + 1) h.c = new Float64Array(2 * n + 1);
  const { w, c } = h;
  const rng = new CounterRng(seed, round, rank, 'drive-haar');
  let off = 0;
  for (let k = 0; k < n - 1; k++) {
    const m = n - k;
    gaussians(rng, w, off, m);
    let nrm = 0;
    for (let j = off; j < off + m; j++) nrm += w[j]! * w[j]!;
    const inv = 1 / Math.sqrt(nrm);
    const u0 = w[off]! * inv;
    const s = u0 >= 0 ? 1 : -1;
    for (let j = 0; j < m; j++) w[off + j] = s * w[off + j]! * inv;
    w[off] = w[off]! + 1;
    c[2 * k] = 1 / (1 + Math.abs(u0));
    c[2 * k + 1] = -s;
    off += m;
  }
  c[2 * n] = rng.u32() & 1 ? -1 : 1;
}

/**
 * out[off..off + m) ← independent N(0, 1) draws by Marsaglia's polar method on the stream's 32-bit words:
 * pairs (v₁, v₂) uniform in the open square, kept when v₁² + v₂² < 1 (probability π/4), so about 1.3 words
 * per value and no trigonometry, against 4 words, a cosine and a logarithm for `CounterRng.normal`; it
 * matters at d'²/2 draws per message.
 */
function gaussians(rng: CounterRng, out: Float64Array, off: number, m: number): void {
  for (let j = 0; j < m; ) {
    const v1 = (rng.u32() + 0.5) * SCALE - 1;
    const v2 = (rng.u32() + 0.5) * SCALE - 1;
    const q = v1 * v1 + v2 * v2;
    if (q >= 1) continue; // q > 0 always: v₁, v₂ are odd multiples of 2^−32
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    out[off + j++] = v1 * f;
    if (j < m) out[off + j++] = v2 * f;
  }
}

/** 2/2^32: (u + 0.5)·SCALE − 1 maps a 32-bit word to the open interval (−1, 1). */
const SCALE = 2 / 0x1_0000_0000;

/**
 * x[0..n) ← R·x (the client's rotation in the Haar range), or Rᵀ·x with `transpose` (the server's), with
 * the factors that `haarVectors` put in `h`.
 */
export function haarRotate(x: Float64Array, n: number, h: HaarScratch, transpose = false): void {
  const { w, c } = h;
  if (!transpose) {
    let off = 0;
    for (let k = 0; k < n - 1; k++) {
      reflect(x, k, n, w, off, c[2 * k]!, c[2 * k + 1]!);
      off += n - k;
    }
    x[n - 1]! *= c[2 * n]!;
  } else {
    x[n - 1]! *= c[2 * n]!;
    let off = (n * (n + 1)) / 2 - 1;
    for (let k = n - 2; k >= 0; k--) {
      off -= n - k;
      reflect(x, k, n, w, off, c[2 * k]!, c[2 * k + 1]!);
    }
  }
}

/** x[k..n) ← sign·(x − w·(c·wᵀx)), w = haar[off..off + n − k): one factor P_k (symmetric, its own inverse). */
function reflect(x: Float64Array, k: number, n: number, haar: Float64Array, off: number, c: number, sign: number): void {
  let dot = 0;
  for (let j = k; j < n; j++) dot += haar[off + j - k]! * x[j]!;
  const t = dot * c;
  for (let j = k; j < n; j++) x[j] = sign * (x[j]! - t * haar[off + j - k]!);
}

/** x[0..dp) ← H·D₂·H·D₁·x (unnormalised: d'·R·x); x[d..dp) must be zero on entry. `words`: sign scratch. */
function hadamardPairForward(x: Float64Array, words: Uint32Array, d: number, dp: number, seed: number, round: number, rank: number): void {
  applySigns(x, words, d, new CounterRng(seed, round, rank, 'drive'));
  fwht(x, dp);
  applySigns(x, words, dp, new CounterRng(seed, round, rank, 'drive-2'));
  fwht(x, dp);
}

/** x[0..d) ← (D₁·H·D₂·H·x)[0..d) (unnormalised: d'·Rᵀ·x, truncated to d). */
function hadamardPairInverse(x: Float64Array, words: Uint32Array, d: number, dp: number, seed: number, round: number, rank: number): void {
  fwht(x, dp);
  applySigns(x, words, dp, new CounterRng(seed, round, rank, 'drive-2'));
  fwht(x, dp);
  applySigns(x, words, d, new CounterRng(seed, round, rank, 'drive'));
}

/** x[i] ← D_i·x[i] for i < count, D_i bit i mod 32 of the stream's word ⌊i/32⌋ (1: +1). */
function applySigns(x: Float64Array, words: Uint32Array, count: number, rng: CounterRng): void {
  const nw = Math.ceil(count / 32);
  for (let w = 0; w < nw; w++) words[w] = rng.at(w);
  applySignWords(x, count, words);
}

/** |z_i| ≤ TIE·‖z‖₂ counts as a zero of exact arithmetic (see the ties paragraph above). */
const TIE = 2 ** -40;
