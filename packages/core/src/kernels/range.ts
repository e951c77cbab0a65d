import * as js from './rangeJs.js';
import type { CqStream } from './rangeJs.js';
import { loadWasmRangeKernels, type WasmRangeKernels } from './rangeWasm.js';

export { cqShift, cqStream, CqStreamSlot, type CqStream } from './rangeJs.js';

/** The kernels of the one-bit range quantizers (IQ, CQ), whichever implementation runs them. */
export interface RangeKernels {
  /** Σ a_j², j < d, in the fixed 8-lane order of rangeJs.sumSquares. */
  sumSquares(a: Float64Array, d: number): number;
  /** IQ's d bits of `a` against [−r, r] into out[at..at + ⌈d/8⌉) (at default 0), private stream keys (k0, k1). */
  iqBits(a: Float64Array, d: number, out: Uint8Array, r: number, k0: number, k1: number, at?: number): void;
  /** CQ's d bits of `a` against [−r, r] into out[at..at + ⌈d/8⌉) (at default 0). */
  cqBits(a: Float64Array, d: number, out: Uint8Array, r: number, q: CqStream, at?: number): void;
  /** sum_j += ±radii[i] for each payload i in order, bits from payloads[i][offset..] (already validated). */
  addSigns(sum: Float64Array, d: number, payloads: readonly Uint8Array[], offset: number, radii: ArrayLike<number>): void;
}

/** The JavaScript reference. */
export const jsRangeKernels: RangeKernels = js;

/** The WebAssembly SIMD kernels (range.wat), or null where WebAssembly SIMD is unavailable. */
export const wasmRangeKernels: WasmRangeKernels | null = loadWasmRangeKernels();

/**
 * A zeroed Float64Array of length d that the kernels read and write in place (in wasm memory; never freed,
 * so for a run's long-lived vectors), or a plain one where the SIMD kernels are unavailable. Any
 * Float64Array works with the kernels; one from here saves a copy of it per pass.
 */
export const kernelVector = (d: number): Float64Array => wasmRangeKernels?.vector(d) ?? new Float64Array(d);

/**
 * Below these dimensions the JavaScript path runs: a wasm call's fixed cost (~0.2 µs: the chunk set-up and
 * the call) is then more than it saves. Measured crossovers on the development machine (2-core EPYC, Node 24):
 * IQ with its radius ~128 coordinates, CQ ~32, the decode of 16 payloads ~64.
 */
export const WASM_MIN_D = { iq: 128, cq: 32, add: 64 } as const;

/** CQ's SIMD kernel multiplies 16-bit draws by n in 16-bit lanes. */
const WASM_MAX_N = 0xffff;

const w = wasmRangeKernels;

/** What the compressors call: the SIMD kernels where they apply, the reference otherwise (same results). */
export const rangeKernels: RangeKernels = w
  ? {
      sumSquares: (a, d) => (d >= WASM_MIN_D.iq ? w : js).sumSquares(a, d),
      iqBits: (a, d, out, r, k0, k1, at = 0) => (d >= WASM_MIN_D.iq ? w : js).iqBits(a, d, out, r, k0, k1, at),
      cqBits: (a, d, out, r, q, at = 0) => (d >= WASM_MIN_D.cq && q.n <= WASM_MAX_N ? w : js).cqBits(a, d, out, r, q, at),
      addSigns: (sum, d, payloads, offset, radii) => (d >= WASM_MIN_D.add ? w : js).addSigns(sum, d, payloads, offset, radii),
    }
  : jsRangeKernels;
