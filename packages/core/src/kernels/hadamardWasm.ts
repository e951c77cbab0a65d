import { HADAMARD_WASM } from './hadamardWasmBytes.js';

/**
 * hadamard.wat's SIMD transform behind hadamard.ts's fwht (the same doubles). The module owns its memory;
 * a call copies the vector in, transforms it there and copies it back (two streaming copies beside the
 * log2(n) passes of the transform). Memory is made on first use and grows to the largest n seen.
 */

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const platform = globalThis as unknown as { WebAssembly?: WasmApi; atob?: (s: string) => string };

interface Exports {
  memory: WasmMemory;
  fwht(n: number): void;
  signs(count: number, words: number): void;
}

const PAGE = 65536;
/** hadamard.wat's declared maximum: 32768 pages, 2 GiB; n ≤ 2^27 doubles with their sign words. */
const MAX_N = 2 ** 27;

/**
 * The module's memory holds one rotation at a time: n doubles at byte 0, then ⌈n/32⌉ sign words. `view(n)`
 * gives both as typed arrays (valid until the next `view` with a larger n); the kernels run on them in place.
 */
export class WasmHadamard {
  private x: Exports | null = null;
  private n = -1;
  private vec = new Float64Array(0);
  private signWords = new Uint32Array(0);

  constructor(
    private readonly api: WasmApi,
    private readonly module: object,
  ) {}

  /** The vector (length n) and sign words (length ⌈n/32⌉) in wasm memory, n in [4, 2^27]. */
  view(n: number): { x: Float64Array; words: Uint32Array } {
    if (!(n >= 4 && n <= MAX_N)) throw new RangeError(`wasm Hadamard: n must be in [4, 2^27], got ${n}`);
    const k = (this.x ??= new this.api.Instance(this.module, {}).exports as Exports);
    if (n !== this.n || this.vec.buffer !== k.memory.buffer) {
      const need = Math.ceil((8 * n + 4 * Math.ceil(n / 32)) / PAGE) - k.memory.buffer.byteLength / PAGE;
      if (need > 0) k.memory.grow(need);
      this.vec = new Float64Array(k.memory.buffer, 0, n);
      this.signWords = new Uint32Array(k.memory.buffer, 8 * n, Math.ceil(n / 32));
      this.n = n;
    }
    return { x: this.vec, words: this.signWords };
  }

  /** Whether x is the current view's vector (the kernels then work in place). */
  holds(x: Float64Array): boolean {
    return this.x !== null && x === this.vec && x.buffer === this.x.memory.buffer;
  }

  /** x ← H·x over the view's first n doubles (n a power of two ≥ 4, ≤ the view's length). */
  fwhtInPlace(n: number): void {
    this.x!.fwht(n);
  }

  /** x[i] ← ±x[i] by the view's sign words, i < count. */
  signsInPlace(count: number): void {
    this.x!.signs(count, 8 * this.n);
  }

  /** x[0..n) ← H·x[0..n) for any Float64Array: copied into the view, transformed, copied back. */
  fwht(x: Float64Array, n: number): void {
    const v = this.view(n).x;
    v.set(n === x.length ? x : x.subarray(0, n));
    this.x!.fwht(n);
    x.set(v);
  }
}
/** The SIMD transform, or null where WebAssembly SIMD is unavailable (the JavaScript fwht serves). */
export function loadWasmHadamard(): WasmHadamard | null {
  try {
    const api = platform.WebAssembly;
    if (!api || !platform.atob) return null;
    const bytes = Uint8Array.from(platform.atob(HADAMARD_WASM), (c) => c.charCodeAt(0));
    return new WasmHadamard(api, new api.Module(bytes));
  } catch {
    return null;
  }
}
