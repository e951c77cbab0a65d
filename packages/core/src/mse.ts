import { compressors, createCompressor } from './compressors/registry.js';
import type { CompressorOptions } from './compressors/types.js';
import { float32Norm } from './compressors/floats.js';
import type { Compressor, CompressContext, ConstantsConvention } from './compressors/types.js';
import { CounterRng, SHARED } from './rng.js';

/**
 * Empirical mean squared error of n clients' compressed messages (SPEC A.3, B):
 * E‖(1/n)Σ_i Q_i(a_i) − ā‖² / ((1/n)Σ_i‖a_i‖²), through the compressors' real `encode` and `decodeInto`
 * (bytes and all), beside the AB bound (A·mean‖a_i‖² − B·‖ā‖²)/mean‖a_i‖² of `constants()` and, where one is
 * known, the exact value. Each trial is one round (fresh shared and private randomness, decision 15).
 */

export type MseInput = 'homogeneous' | 'heterogeneous' | 'scaled';

export interface MseSpec {
  d: number;
  n: number;
  trials: number;
  /**
   * homogeneous: a_i = a for every client; heterogeneous: a_i = a + spread·N(0, I); scaled: a_i = ν_i·a with
   * ν_i = 1 + spread·N(0, 1), what MARINA's gradient differences are on SPEC D.1's quadratics with s = spread
   * (A_i = (ν_i/4)·T + c·I). a ~ N(0, I).
   */
  input: MseInput;
  spread: number;
  seed: number;
  /** Decision 5: the convention of the (A, B) shown as the bound. */
  convention: ConstantsConvention;
  /** k, levels and norm for the compressors that take them. */
  options: CompressorOptions;
}

/** One compressor's measured MSE beside its bound. */
export interface MseResult {
  compressor: string;
  unbiased: boolean;
  correlated: boolean;
  /** Expected algorithm bits per message (b_Q). */
  bitsPerMessage: number;
  trials: number;
  /** Sample mean over trials of ‖(1/n)ΣQ_i(a_i) − ā‖² / mean‖a_i‖². */
  mse: number;
  /** Standard error of `mse` (sample standard deviation over √trials). */
  stdErr: number;
  omega: number;
  A: number;
  B: number;
  /** (A·mean‖a_i‖² − B·‖ā‖²)/mean‖a_i‖²; NaN when the compressor has no (A, B) (biased). */
  bound: number;
  boundNote: string;
  /** The exact normalised MSE where a formula is known for these inputs, else null. */
  exact: number | null;
  exactNote: string | null;
}

export interface MseReport {
  spec: MseSpec;
  /** mean‖a_i‖² and ‖ā‖² of the inputs. */
  meanSqNorm: number;
  meanVecSqNorm: number;
  results: MseResult[];
}

/** The registered compressors that are unbiased (the default set of `marina mse`), in registry order. */
export function unbiasedCompressors(options?: CompressorOptions): string[] {
  return Object.keys(compressors).filter((name) => createCompressor(name, options).unbiased);
}

/**
 * The inputs a_0..a_{n−1}: a ~ N(0, I_d) from (seed, "mse-input"); heterogeneous adds spread·N(0, I_d) per
 * client from (seed, rank i, "mse-spread"). Round 0 keys the inputs; trials use rounds 1..trials.
 */
export function mseInputs(d: number, n: number, input: MseInput, spread: number, seed: number): Float64Array[] {
  const base = new Float64Array(d);
  const rng = new CounterRng(seed, 0, SHARED, 'mse-input');
  for (let j = 0; j < d; j++) base[j] = rng.normal();
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const a = Float64Array.from(base);
    if (input === 'heterogeneous') {
      const own = new CounterRng(seed, 0, i, 'mse-spread');
      for (let j = 0; j < d; j++) a[j]! += spread * own.normal();
    } else if (input === 'scaled') {
      const nu = 1 + spread * new CounterRng(seed, 0, i, 'mse-scale').normal();
      for (let j = 0; j < d; j++) a[j]! *= nu;
    }
    out.push(a);
  }
  return out;
}

/** Measures every compressor of `names` on the inputs of `spec`. */
export function measureMse(spec: MseSpec, names: string[]): MseReport {
  checkSpec(spec);
  const inputs = mseInputs(spec.d, spec.n, spec.input, spec.spread, spec.seed);
  const { meanSqNorm, meanVecSqNorm } = norms(inputs);
  return { spec, meanSqNorm, meanVecSqNorm, results: names.map((name) => compressorMse(name, inputs, spec)) };
}

/**
 * One compressor's MSE on `inputs` over spec.trials rounds: client i encodes a_i with its own context
 * (slot = rank = i, round = trial), the server decodes every payload into one sum, divides by n.
 */
export function compressorMse(name: string, inputs: Float64Array[], spec: MseSpec): MseResult {
  const { d, trials, seed, convention, options } = spec;
  const n = inputs.length;
  const client = createCompressor(name, options);
  const server = createCompressor(name, options);
  const { meanSqNorm, spreadSq, mean } = norms(inputs);
  const sum = new Float64Array(d);
  const payloads = inputs.map((_, i) => new Uint8Array(Math.ceil(client.payloadBits({ d, n, slot: i, rank: i, seed, round: 1 }) / 8)));
  // The norms do not change between trials: R is the same every round.
  const sharedR = inputs.reduce((R, a) => Math.max(R, float32Norm(a)), 0);
  server.sharedRange?.set(sharedR);
  let e1 = 0;
  let e2 = 0;
  for (let t = 1; t <= trials; t++) {
    sum.fill(0);
    for (let i = 0; i < n; i++) {
      const ctx: CompressContext = { d, n, slot: i, rank: i, seed, round: t };
      const payload = payloads[i]!;
      client.encode(inputs[i]!, ctx, payload);
      // Decision 3's shared range: each client's vector is held, and quantized against R = the max norm.
      client.sharedRange?.release(sharedR);
      server.decodeInto(sum, payload, ctx);
    }
    let err = 0;
    for (let j = 0; j < d; j++) {
      const e = sum[j]! / n - mean[j]!;
      err += e * e;
    }
    err /= meanSqNorm;
    e1 += err;
    e2 += err * err;
  }
  const mse = e1 / trials;
  const variance = trials > 1 ? Math.max(0, (e2 - trials * mse * mse) / (trials - 1)) : NaN;
  const c = client.constants(d, n, convention);
  const exact = exactMse(client, inputs, spec.input === 'homogeneous');
  return {
    compressor: name,
    unbiased: client.unbiased,
    correlated: client.correlated,
    bitsPerMessage: client.expectedBits(d, n),
    trials,
    mse,
    stdErr: Math.sqrt(variance / trials),
    omega: c.omega,
    A: c.A,
    B: c.B,
    // A·m − B·‖ā‖² = (A − B)·m + B·spread², spread² = (1/n)Σ‖a_i − ā‖² ≥ 0 taken directly: exactly 0 for
    // identical inputs, where m − ‖ā‖² would leave rounding noise (PermK's bound would read 5e-15, not 0).
    bound: ((c.A - c.B) * meanSqNorm + c.B * spreadSq) / meanSqNorm,
    boundNote: c.note,
    exact: exact?.value ?? null,
    exactNote: exact?.note ?? null,
  };
}

/**
 * Exact normalised MSE of the one-bit range quantizers (SPEC B.3, B.4), with each client's float32 radius
 * r_i = fround(‖a_i‖) and y_ij = (a_ij + r_i)/(2r_i) clamped to [0, 1], as the encoder computes them:
 *  - IQ, any inputs: (1/n²)Σ_i 4r_i²·Σ_j y_ij(1 − y_ij) (independent Bernoulli roundings; ≈ (d − 1)/n);
 *  - CQ, homogeneous inputs: (4r²/n²)·Σ_j f_j(1 − f_j), f_j = frac(n·y_j) (the n slots at coordinate j are a
 *    permutation, so ⌊n·y_j⌋ bits are set for sure and one more with probability f_j).
 * Both divided by mean‖a_i‖². Other compressors: null (their bound is shown instead).
 */
export function exactMse(q: Compressor, inputs: Float64Array[], homogeneous: boolean): { value: number; note: string } | null {
  const n = inputs.length;
  const { meanSqNorm } = norms(inputs);
  if (meanSqNorm === 0) return null;
  if (q.name === 'iq') {
    // With decision 3's shared range every client quantizes against R = max_i r_i instead of its own r_i.
    const shared = q.sharedRange ? inputs.reduce((R, a) => Math.max(R, float32Norm(a)), 0) : null;
    let total = 0;
    for (const a of inputs) {
      const r = shared ?? float32Norm(a);
      if (r === 0) continue;
      let s = 0;
      for (let j = 0; j < a.length; j++) {
        const y = clamp01((a[j]! + r) * (1 / (2 * r)));
        s += y * (1 - y);
      }
      total += 4 * r * r * s;
    }
    return { value: total / (n * n) / meanSqNorm, note: `IQ exact: (1/n²)Σ_i 4r_i²Σ_j y_ij(1 − y_ij) (≈ (d − 1)/n)${shared === null ? '' : ', r_i = R'}, SPEC B.3` };
  }
  if (q.name === 'cq' && homogeneous) {
    const a = inputs[0]!;
    const r = float32Norm(a);
    let s = 0;
    for (let j = 0; j < a.length; j++) {
      const ny = n * clamp01((a[j]! + r) * (1 / (2 * r)));
      const f = ny - Math.floor(ny);
      s += f * (1 - f);
    }
    return { value: ((4 * r * r) / (n * n)) * s / meanSqNorm, note: 'CQ exact, homogeneous: (4/n²)Σ_j f_j(1 − f_j)·‖a‖², f_j = frac(n·y_j), SPEC B.4' };
  }
  return null;
}

/** mean‖a_i‖², ‖ā‖², (1/n)Σ‖a_i − ā‖² and ā. */
function norms(inputs: Float64Array[]): { meanSqNorm: number; meanVecSqNorm: number; spreadSq: number; mean: Float64Array } {
  const n = inputs.length;
  const d = inputs[0]!.length;
  const mean = new Float64Array(d);
  let sq = 0;
  // Running mean: stays exactly a when every a_i = a (a sum divided by n need not).
  for (let i = 0; i < n; i++) {
    const a = inputs[i]!;
    for (let j = 0; j < d; j++) {
      mean[j]! += (a[j]! - mean[j]!) / (i + 1);
      sq += a[j]! * a[j]!;
    }
  }
  let m2 = 0;
  for (let j = 0; j < d; j++) m2 += mean[j]! * mean[j]!;
  let spread = 0;
  for (const a of inputs) {
    for (let j = 0; j < d; j++) {
      const e = a[j]! - mean[j]!;
      spread += e * e;
    }
  }
  return { meanSqNorm: sq / n, meanVecSqNorm: m2, spreadSq: spread / n, mean };
}

const clamp01 = (y: number): number => (y < 0 ? 0 : y > 1 ? 1 : y);

function checkSpec(spec: MseSpec): void {
  const int = (name: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`mse: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  int('d', spec.d, 1);
  int('n', spec.n, 1);
  int('trials', spec.trials, 2);
  if (!(Number.isFinite(spec.spread) && spec.spread >= 0)) throw new RangeError(`mse: spread must be a number ≥ 0, got ${spec.spread}`);
  if (!['homogeneous', 'heterogeneous', 'scaled'].includes(spec.input)) throw new RangeError(`mse: input must be homogeneous, heterogeneous or scaled, got ${String(spec.input)}`);
}
