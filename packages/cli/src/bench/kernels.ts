import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compressors, createCompressor, CounterRng, decodeRangeManyInto, hash32, jsRangeKernels, kernelVector, streamKeys, cqStream, type CompressContext } from '@marina/core';
import { fmtD, rate, summarize, type Figure } from './figures.js';

/**
 * The compressor-kernel figures of `marina bench` (issue 12): memcpy, then per d the production encode (also as
 * a client runs it, `encode-client`: the norm given) and decode-accumulate of CQ and IQ, the JavaScript
 * reference kernels (`<c>-jsref`), and a plain JavaScript loop of the same operation (`js-baseline`); then every other registered compressor's encode and decode
 * beside plain loops of what each must at least do (`js-f32`: read a double and write a float32, or add n
 * float32 payloads into the sum; `js-hash`: one hash32 and compare per coordinate). Decode counts the n·d
 * coordinates a round accumulates.
 */

/** A Gaussian vector of length d (fixed seed). */
function gaussian(d: number): Float64Array {
  const rng = new CounterRng(1, 0, 0, 'bench');
  const a = new Float64Array(d);
  for (let j = 0; j < d; j++) a[j] = rng.normal();
  return a;
}

/**
 * The plain loop the kernels are compared with: the same IQ operation written directly (sequential norm,
 * an inline xorshift32 for the thresholds, a branchless compare, bits packed a byte at a time).
 */
function baselineEncode(a: Float64Array, d: number, out: Uint8Array): void {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[j]! * a[j]!;
  const r = Math.fround(Math.sqrt(s));
  const c = 2 ** 31 / r;
  let x = 0x9e3779b9;
  let acc = 0;
  let p = 4;
  for (let j = 0; j < d; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    acc |= +(x >>> 0 < (a[j]! + r) * c) << (j & 7);
    if ((j & 7) === 7) {
      out[p++] = acc;
      acc = 0;
    }
  }
  if (d & 7) out[p] = acc;
}

/** The plain decode loop: each payload in turn adds ±r per coordinate into the whole sum. */
function baselineDecode(sum: Float64Array, d: number, payloads: readonly Uint8Array[], radii: Float64Array): void {
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const r = radii[i]!;
    for (let j = 0; j < d; j++) sum[j]! += (((p[4 + (j >>> 3)]! >>> (j & 7)) & 1) * 2 - 1) * r;
  }
}

/** Payload bytes kept per decode figure: beyond it, slots share payloads (any payload is valid for any slot). */
const PAYLOAD_BUDGET = 128 * 2 ** 20;

/**
 * encode.<c>.<d> and decode.<c>.<d> of a registered compressor other than CQ and IQ (measured above with
 * their own variants). Encode draws a fresh round each call (PermK then builds its arrangement, as a client
 * does once per round); decode adds n payloads with decodeInto, alternating two rounds when the payloads
 * are small enough to keep two sets (so PermK's server rebuilds its arrangement once per round).
 */
function compressorFigures(name: string, a: Float64Array, d: number, n: number, runs: number, sum: Float64Array): Figure[] {
  const q = createCompressor(name, { k: null, levels: 4, norm: 2 });
  const tag = fmtD(d);
  const ctxOf = (slot: number, round: number): CompressContext => ({ d, n, slot, rank: slot, seed: 1, round });
  const bytesOf = (ctx: CompressContext) => Math.ceil(q.payloadBits(ctx) / 8);
  let round = 1;
  const out = new Uint8Array(Math.max(...Array.from({ length: n }, (_, i) => bytesOf(ctxOf(i, 1)))) + 8);
  const encode = rate(`encode.${name}.${tag}`, 'Gcoord/s', d, runs, () => q.encode(a, ctxOf(3 % n, ++round), out), 'one client, a fresh round per call');
  const distinct = Math.max(1, Math.min(n, Math.floor(PAYLOAD_BUDGET / bytesOf(ctxOf(0, 1)))));
  const rounds = distinct === n ? [1, 2] : [1];
  const sets = rounds.map((r) =>
    Array.from({ length: distinct }, (_, i) => {
      const p = new Uint8Array(bytesOf(ctxOf(i, r)));
      q.encode(a, ctxOf(i, r), p);
      return p;
    }),
  );
  let k = 0;
  const decode = rate(
    `decode.${name}.${tag}`,
    'Gcoord/s',
    n * d,
    runs,
    () => {
      const r = k++ % rounds.length;
      const set = sets[r]!;
      for (let i = 0; i < n; i++) q.decodeInto(sum, set[i % distinct]!, ctxOf(i, rounds[r]!));
    },
    `n = ${n} decodeInto calls${distinct < n ? `, ${distinct} distinct payloads` : ''}`,
  );
  return [encode, decode];
}

/** The plain loops the other compressors are compared with (see kernelFigures). */
function plainFigures(a: Float64Array, d: number, n: number, runs: number, sum: Float64Array): Figure[] {
  const tag = fmtD(d);
  const f32 = new Float32Array(d);
  const bits = new Uint8Array(Math.ceil(d / 8));
  return [
    rate(`encode.js-f32.${tag}`, 'Gcoord/s', d, runs, () => {
      for (let j = 0; j < d; j++) f32[j] = a[j]!;
    }, 'plain JS loop: float64 to float32'),
    rate(`encode.js-hash.${tag}`, 'Gcoord/s', d, runs, () => {
      let acc = 0;
      for (let j = 0; j < d; j++) {
        acc |= +(hash32(0x1234, 0x5678, j) < (a[j]! + 4) * 0x2000_0000) << (j & 7);
        if ((j & 7) === 7) {
          bits[j >>> 3] = acc;
          acc = 0;
        }
      }
    }, 'plain JS loop: hash32, compare, a bit per coordinate'),
    rate(`decode.js-f32.${tag}`, 'Gcoord/s', n * d, runs, () => {
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sum[j]! += f32[j]!;
    }, `plain JS loop: n = ${n} float32 vectors added into the sum`),
  ];
}

export function kernelFigures(dims: readonly number[], n: number, runs: number, log: (line: string) => void): Figure[] {
  const figures: Figure[] = [];
  const push = (f: Figure) => {
    figures.push(f);
    log(`${f.name}: ${f.median.toPrecision(3)} ${f.unit}`);
  };
  const dMax = Math.max(...dims);
  {
    const src = gaussian(dMax);
    const dst = new Float64Array(dMax);
    push(rate('memcpy', 'GB/s', 8 * dMax, runs, () => dst.set(src), `Float64Array.set of ${fmtD(dMax)} doubles (bytes copied)`));
  }
  for (const d of dims) {
    const a = gaussian(d);
    const tag = fmtD(d);
    const bytes = 4 + Math.ceil(d / 8);
    const sum = new Float64Array(d);
    const resident = kernelVector(d);
    resident.set(a);
    const residentSum = kernelVector(d);
    for (const name of ['cq', 'iq']) {
      const q = createCompressor(name, { k: null, levels: 4, norm: 2 });
      const ctxOf = (slot: number): CompressContext => ({ d, n, slot, rank: slot, seed: 1, round: 1 });
      const out = new Uint8Array(bytes);
      push(rate(`encode.${name}.${tag}`, 'Gcoord/s', d, runs, () => q.encode(a, ctxOf(3), out), 'radius pass + bits pass, vector in the JS heap'));
      push(rate(`encode-resident.${name}.${tag}`, 'Gcoord/s', d, runs, () => q.encode(resident, ctxOf(3), out), 'the same, vector in wasm memory (kernelVector)'));
      // As a client runs it: Σa² summed while forming the vector (methods/updateWriter.ts differenceInto), so
      // the encode is the bits pass alone over the vector in wasm memory.
      const sq = jsRangeKernels.sumSquares(a, d);
      push(rate(`encode-client.${name}.${tag}`, 'Gcoord/s', d, runs, () => q.encode(resident, ctxOf(3), out, sq), 'bits pass alone: Σa² given, as the client folds it into forming the vector (wasm memory)'));
      const payloads = Array.from({ length: n }, (_, i) => {
        const p = new Uint8Array(bytes);
        q.encode(a, ctxOf(i), p);
        return p;
      });
      push(rate(`decode.${name}.${tag}`, 'Gcoord/s', n * d, runs, () => decodeRangeManyInto(sum, payloads, d, 'bench', null), `n = ${n} payloads, one pass over the sum`));
      push(rate(`decode-resident.${name}.${tag}`, 'Gcoord/s', n * d, runs, () => decodeRangeManyInto(residentSum, payloads, d, 'bench', null), 'the same, sum in wasm memory'));
      push(rate(`decode-each.${name}.${tag}`, 'Gcoord/s', n * d, runs, () => payloads.forEach((p, i) => q.decodeInto(sum, p, ctxOf(i))), `n = ${n} decodeInto calls, n passes`));
      // The JavaScript reference kernels alone (what runs where WebAssembly SIMD does not).
      const js = jsRangeKernels;
      const [k0, k1] = streamKeys(1, 1, 3, 'iq');
      const cq = cqStream(1, 1, n, 3, 3);
      push(
        rate(`encode.${name}-jsref.${tag}`, 'Gcoord/s', d, runs, () => {
          const r = Math.fround(Math.sqrt(js.sumSquares(a, d)));
          if (name === 'iq') js.iqBits(a, d, out.subarray(4), r, k0, k1);
          else js.cqBits(a, d, out.subarray(4), r, cq);
        }),
      );
      const radii = Float64Array.from(payloads, (p) => new DataView(p.buffer, p.byteOffset).getFloat32(0, true));
      push(rate(`decode.${name}-jsref.${tag}`, 'Gcoord/s', n * d, runs, () => js.addSigns(sum, d, payloads, 4, radii)));
    }
    const out = new Uint8Array(bytes);
    push(rate(`encode.js-baseline.${tag}`, 'Gcoord/s', d, runs, () => baselineEncode(a, d, out), 'plain JS loop: norm, xorshift, compare'));
    const payloads = Array.from({ length: n }, () => out.slice());
    const radii = new Float64Array(n).fill(1.5);
    push(rate(`decode.js-baseline.${tag}`, 'Gcoord/s', n * d, runs, () => baselineDecode(sum, d, payloads, radii), 'plain JS loop, payload by payload'));
    for (const f of plainFigures(a, d, n, runs, sum)) push(f);
    for (const name of Object.keys(compressors)) {
      if (name === 'cq' || name === 'iq') continue;
      for (const f of compressorFigures(name, a, d, n, runs, sum)) push(f);
    }
  }
  return figures;
}

/** NumPy's version, or null when python3 with numpy is not on this machine (nothing is installed here). */
export function numpyVersion(): string | null {
  try {
    return execFileSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 }).trim();
  } catch {
    return null;
  }
}

/** numpy.encode.<d> and numpy.decode.<d> from bench/iq_numpy.py, a plain NumPy IQ written for this comparison. */
export function numpyFigures(d: number, n: number, runs: number, log: (line: string) => void): Figure[] {
  const script = fileURLToPath(new URL('../../bench/iq_numpy.py', import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} is missing`);
  const out = execFileSync('python3', [script, String(d), String(n), String(runs)], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000 });
  const parsed = JSON.parse(out.trim().split('\n').pop()!) as { encode: number[]; decode: number[] };
  const tag = fmtD(d);
  const figures = [
    summarize(`numpy.encode.${tag}`, 'Gcoord/s', parsed.encode.map((s) => d / s / 1e9), 'plain NumPy IQ (PCG64 thresholds)'),
    summarize(`numpy.decode.${tag}`, 'Gcoord/s', parsed.decode.map((s) => (n * d) / s / 1e9), `plain NumPy, n = ${n} payloads`),
  ];
  for (const f of figures) log(`${f.name}: ${f.median.toPrecision(3)} ${f.unit}`);
  return figures;
}
