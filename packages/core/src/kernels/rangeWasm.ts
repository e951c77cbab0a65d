import { cqRetry, type CqStream } from './rangeJs.js';
import { RANGE_WASM } from './rangeWasmBytes.js';

/**
 * The SIMD kernels of range.wat behind the same calls as rangeJs.ts (same bits, same sums). The caller's
 * vectors live in the JavaScript heap, so each call streams them through wasm memory in chunks of CHUNK
 * coordinates (64 KiB of float64: the copy lands in cache and the kernel reads it from there, so a
 * vector still crosses main memory once per pass). Memory layout, in bytes:
 *   [0, 16384)   per byte value b, 8 sign masks (bit k of b clear → the float64 sign bit): ±r by one xor
 *   ACC          8 float64 lane sums of sumSquares
 *   A            CHUNK float64 inputs, or the CHUNK-coordinate block of a decode's sum
 *   OUT          CHUNK/8 bytes of encoded bits
 *   RAD          the decode's radii, then its payload slices (CHUNK/8 bytes each); grown on demand
 */

const CHUNK = 8192; // a multiple of 32 (whole words of bits) and of 8 (sumSquares' lanes)
const ACC = 16384;
const A = ACC + 64;
const OUT = A + 8 * CHUNK;
const RAD = OUT + CHUNK / 8;
const PAGE = 65536;

/** The slice of the WebAssembly API used here (core compiles without DOM or Node types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const platform = globalThis as unknown as { WebAssembly?: WasmApi; atob?: (s: string) => string };

interface Exports {
  memory: WasmMemory;
  sumsq(p: number, m: number, acc: number): void;
  iq(a: number, out: number, m: number, j0: number, r: number, c: number, k0: number, k1: number): void;
  cq(a: number, out: number, m: number, j0: number, r: number, scale: number, c: number, n: number, mine: number, sk0: number, sk1: number, jk0: number, jk1: number): void;
  add(sum: number, m: number, slices: number, stride: number, radii: number, count: number): void;
}

export class WasmRangeKernels {
  private readonly x: Exports;
  private f64!: Float64Array;
  private u8!: Uint8Array;
  /** The stream whose rejected shifts the kernel's imported cqRetry redraws (set around each cq call). */
  private retry: CqStream | null = null;

  constructor(bytes: Uint8Array) {
    const api = platform.WebAssembly;
    if (!api) throw new Error('no WebAssembly');
    const instance = new api.Instance(new api.Module(bytes), {
      env: { cqRetry: (j: number) => cqRetry(this.retry!, j >>> 0) },
    });
    this.x = instance.exports as unknown as Exports;
    this.views();
    const masks = new BigUint64Array(this.x.memory.buffer, 0, 256 * 8);
    for (let b = 0; b < 256; b++) for (let k = 0; k < 8; k++) masks[8 * b + k] = (b >>> k) & 1 ? 0n : 0x8000000000000000n;
  }

  private views(): void {
    this.f64 = new Float64Array(this.x.memory.buffer);
    this.u8 = new Uint8Array(this.x.memory.buffer);
  }

  private ensure(bytes: number): void {
    const have = this.x.memory.buffer.byteLength;
    if (bytes > have) {
      this.x.memory.grow(Math.ceil((bytes - have) / PAGE));
      this.views();
    }
  }

  sumSquares(a: Float64Array, d: number): number {
    const f = this.f64;
    f.fill(0, ACC / 8, ACC / 8 + 8);
    for (let j0 = 0; j0 < d; j0 += CHUNK) {
      const m = Math.min(CHUNK, d - j0);
      f.set(a.subarray(j0, j0 + m), A / 8);
      this.x.sumsq(A, m, ACC);
    }
    const s = f.subarray(ACC / 8, ACC / 8 + 8);
    return ((s[0]! + s[4]!) + (s[2]! + s[6]!)) + ((s[1]! + s[5]!) + (s[3]! + s[7]!)); // prettier-ignore
  }

  iqBits(a: Float64Array, d: number, out: Uint8Array, r: number, k0: number, k1: number): void {
    const c = 2 ** 31 / r;
    for (let j0 = 0; j0 < d; j0 += CHUNK) {
      const m = Math.min(CHUNK, d - j0);
      this.f64.set(a.subarray(j0, j0 + m), A / 8);
      this.x.iq(A, OUT, m, j0, r, c, k0 | 0, k1 | 0);
      out.set(this.u8.subarray(OUT, OUT + ((m + 7) >>> 3)), j0 >>> 3);
    }
  }

  /** CQ for n ≤ 65535 (the kernel multiplies 16-bit draws by n in 16-bit lanes); others use rangeJs. */
  cqBits(a: Float64Array, d: number, out: Uint8Array, r: number, q: CqStream): void {
    const scale = q.n / (2 * r);
    const c = (q.n * 2 ** 31) / r; // = scale·2^32 exactly (power-of-two scaling of a rounded quotient)
    this.retry = q;
    try {
      for (let j0 = 0; j0 < d; j0 += CHUNK) {
        const m = Math.min(CHUNK, d - j0);
        this.f64.set(a.subarray(j0, j0 + m), A / 8);
        this.x.cq(A, OUT, m, j0, r, scale, c, q.n, q.mine, q.sk0 | 0, q.sk1 | 0, q.jk0 | 0, q.jk1 | 0);
        out.set(this.u8.subarray(OUT, OUT + ((m + 7) >>> 3)), j0 >>> 3);
      }
    } finally {
      this.retry = null;
    }
  }

  addSigns(sum: Float64Array, d: number, payloads: readonly Uint8Array[], offset: number, radii: ArrayLike<number>): void {
    const count = payloads.length;
    const stride = CHUNK / 8;
    const slices = RAD + 8 * count;
    this.ensure(slices + count * stride);
    const f = this.f64;
    const u = this.u8;
    for (let i = 0; i < count; i++) f[RAD / 8 + i] = radii[i]!;
    for (let j0 = 0; j0 < d; j0 += CHUNK) {
      const m = Math.min(CHUNK, d - j0);
      const from = offset + (j0 >>> 3);
      const bytes = (m + 7) >>> 3;
      f.set(sum.subarray(j0, j0 + m), A / 8);
      for (let i = 0; i < count; i++) u.set(payloads[i]!.subarray(from, from + bytes), slices + i * stride);
      this.x.add(A, m, slices, stride, RAD, count);
      sum.set(f.subarray(A / 8, A / 8 + m), j0);
    }
  }
}

/** The kernels, or null where WebAssembly SIMD is not available (the JavaScript path then serves). */
export function loadWasmRangeKernels(): WasmRangeKernels | null {
  try {
    const binary = platform.atob!(RANGE_WASM);
    return new WasmRangeKernels(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}
