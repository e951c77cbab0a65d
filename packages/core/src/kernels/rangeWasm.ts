import type { CqStream } from './rangeJs.js';
import { RANGE_WASM, RANGE_WASM_UNSHARED } from './rangeWasmBytes.js';

/**
 * The SIMD kernels of range.wat behind the same calls as rangeJs.ts (same bits, same sums).
 *
 * A vector from `vector(d)` lives in wasm memory and the kernels read and write it in place. Any other
 * Float64Array (in the JavaScript heap) is streamed through wasm memory in chunks of CHUNK coordinates
 * (64 KiB: the copy lands in cache and the kernel reads it there), which costs one more read of it per
 * pass. Layout of each instance's memory, in bytes (vectors from `vector` are allocated above TOP):
 *   [0, 16384)   per byte value b, 8 sign masks (bit k of b clear → the float64 sign bit): ±r by one xor
 *   ACC          8 float64 lane sums of sumSquares; CQ's 32-byte scratch for retried shifts
 *   A            CHUNK float64 inputs, or the CHUNK-coordinate block of a decode's sum
 *   OUT          CHUNK/8 bytes of encoded bits
 *   RAD          the radii of a group of up to GROUP payloads
 *   SL           their slices of the block, CHUNK/8 bytes each
 */

const CHUNK = 8192; // a multiple of 32 (whole words of bits) and of 8 (sumSquares' lanes)
const GROUP = 64; // payloads per kernel call; a round with more adds them group after group (same order)
const ACC = 16384;
const A = ACC + 64;
const OUT = A + 8 * CHUNK;
const RAD = OUT + CHUNK / 8;
const SL = RAD + 8 * GROUP;
const TOP = SL + GROUP * (CHUNK / 8);
const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB, range.wat's declared maximum

/** The slice of the WebAssembly API used here (core compiles without DOM or Node types). */
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const platform = globalThis as unknown as { WebAssembly?: WasmApi; atob?: (s: string) => string };

interface Exports {
  sumsq(p: number, m: number, acc: number): void;
  iq(a: number, out: number, m: number, j0: number, r: number, c: number, k0: number, k1: number): void;
  cq(a: number, out: number, m: number, j0: number, r: number, scale: number, c: number, n: number, mine: number, sk0: number, sk1: number, jk0: number, jk1: number, rk0: number, rk1: number, scratch: number): void;
  add(sum: number, m: number, slices: number, stride: number, radii: number, count: number): void;
}

/** One instance of range.wat with its memory and scratch; `resident` tells the vectors that live in it. */
class Engine {
  private readonly x: Exports;
  private readonly memory: WasmMemory;
  /** Every buffer object a shared memory has had (each grow gives a new one): a view on any is resident. */
  private readonly buffers = new Set<ArrayBufferLike>();
  private f64!: Float64Array;
  private u8!: Uint8Array;
  /** Views of the OUT bytes: a whole chunk's, and the last length asked for (a run's d keeps it). */
  private outFull!: Uint8Array;
  private outTail!: Uint8Array;
  private top = TOP;

  constructor(api: WasmApi, module: object, shared: boolean) {
    this.memory = new api.Memory({ initial: Math.ceil(TOP / PAGE), maximum: MAX_PAGES, shared });
    const instance = new api.Instance(module, {
      env: { memory: this.memory },
    });
    this.x = instance.exports as Exports;
    this.views();
    const masks = new BigUint64Array(this.memory.buffer, 0, 256 * 8);
    for (let b = 0; b < 256; b++) for (let k = 0; k < 8; k++) masks[8 * b + k] = (b >>> k) & 1 ? 0n : 0x8000000000000000n;
  }

  private views(): void {
    this.buffers.add(this.memory.buffer);
    this.f64 = new Float64Array(this.memory.buffer);
    this.u8 = new Uint8Array(this.memory.buffer);
    this.outFull = this.u8.subarray(OUT, OUT + CHUNK / 8);
    this.outTail = this.outFull;
  }

  /** A zeroed vector above the scratch (a shared memory's views survive later grows). */
  vector(d: number): Float64Array {
    const at = this.top;
    const end = at + Math.ceil((8 * d) / 64) * 64;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      this.memory.grow(Math.ceil((end - have) / PAGE));
      this.views();
    }
    this.top = end;
    return new Float64Array(this.memory.buffer, at, d);
  }

  /** The byte address of `a` in this memory, or −1 if it lives elsewhere. */
  address(a: Float64Array): number {
    return this.buffers.has(a.buffer) ? a.byteOffset : -1;
  }

  /**
   * The address the kernel reads a[j0..j0+m) at: in place where `a` is resident (`at` ≥ 0), else copied into A.
   * A whole vector of one chunk is copied without a subarray (no allocation on the small-d path).
   */
  private input(a: Float64Array, at: number, j0: number, m: number): number {
    if (at >= 0) return at + 8 * j0;
    this.f64.set(m === a.length ? a : a.subarray(j0, j0 + m), A / 8);
    return A;
  }

  /** The first `bytes` encoded bytes at OUT: the full chunk's view, or the last tail's (kept while its length holds). */
  private encoded(bytes: number): Uint8Array {
    if (bytes === CHUNK / 8) return this.outFull;
    if (this.outTail.length !== bytes) this.outTail = this.u8.subarray(OUT, OUT + bytes);
    return this.outTail;
  }

  // The encode kernels below loop over the chunks inline (no closure per call): a client calls them once a
  // round per hosted client, and an allocation per call adds up to a scavenge every few thousand rounds.

  sumSquares(a: Float64Array, d: number): number {
    const f = this.f64;
    const s = ACC / 8;
    f.fill(0, s, s + 8);
    const at = this.address(a);
    if (at >= 0) this.x.sumsq(at, d, ACC);
    else {
      for (let j0 = 0; j0 < d; j0 += CHUNK) {
        const m = Math.min(CHUNK, d - j0);
        this.x.sumsq(this.input(a, at, j0, m), m, ACC);
      }
    }
    return ((f[s]! + f[s + 4]!) + (f[s + 2]! + f[s + 6]!)) + ((f[s + 1]! + f[s + 5]!) + (f[s + 3]! + f[s + 7]!)); // prettier-ignore
  }

  iqBits(a: Float64Array, d: number, out: Uint8Array, r: number, k0: number, k1: number, to: number): void {
    const c = 2 ** 31 / r;
    const at = this.address(a);
    for (let j0 = 0; j0 < d; j0 += CHUNK) {
      const m = Math.min(CHUNK, d - j0);
      this.x.iq(this.input(a, at, j0, m), OUT, m, j0, r, c, k0 | 0, k1 | 0);
      out.set(this.encoded((m + 7) >>> 3), to + (j0 >>> 3));
    }
  }

  cqBits(a: Float64Array, d: number, out: Uint8Array, r: number, q: CqStream, to: number): void {
    const scale = q.n / (2 * r);
    const c = (q.n * 2 ** 31) / r; // = scale·2^32 exactly (power-of-two scaling of a rounded quotient)
    const at = this.address(a);
    for (let j0 = 0; j0 < d; j0 += CHUNK) {
      const m = Math.min(CHUNK, d - j0);
      this.x.cq(this.input(a, at, j0, m), OUT, m, j0, r, scale, c, q.n, q.mine, q.sk0 | 0, q.sk1 | 0, q.jk0 | 0, q.jk1 | 0, q.rk0 | 0, q.rk1 | 0, ACC);
      out.set(this.encoded((m + 7) >>> 3), to + (j0 >>> 3));
    }
  }

  addSigns(sum: Float64Array, d: number, payloads: readonly Uint8Array[], offset: number, radii: ArrayLike<number>): void {
    const stride = CHUNK / 8;
    const f = this.f64;
    const u = this.u8;
    const at = this.address(sum);
    for (let j0 = 0; j0 < d; j0 += CHUNK) {
      const m = Math.min(CHUNK, d - j0);
      const from = offset + (j0 >>> 3);
      const bytes = (m + 7) >>> 3;
      // The kernel writes whole groups of 8 coordinates: in place only where the block ends on one.
      const inPlace = at >= 0 && (m & 7) === 0;
      const block = inPlace ? at + 8 * j0 : A;
      if (!inPlace) f.set(sum.subarray(j0, j0 + m), A / 8);
      for (let g = 0; g < payloads.length; g += GROUP) {
        const count = Math.min(GROUP, payloads.length - g);
        for (let i = 0; i < count; i++) {
          f[RAD / 8 + i] = radii[g + i]!;
          u.set(payloads[g + i]!.subarray(from, from + bytes), SL + i * stride);
        }
        this.x.add(block, m, SL, stride, RAD, count);
      }
      if (!inPlace) sum.set(f.subarray(A / 8, A / 8 + m), j0);
    }
  }
}

/**
 * Two instances: one with an unshared memory streams JavaScript-heap vectors through its scratch (V8 copies
 * into a shared buffer 2-3× slower), one with a shared memory (growing it never detaches a view handed out
 * earlier) holds the vectors from `vector`, which the kernels then use in place.
 */
export class WasmRangeKernels {
  private readonly unshared: object;
  private readonly sharedModule: object | null;
  private heapEngine: Engine | null = null;
  /** Made on the first `vector` call; never where shared memory is unavailable (vectors are then plain). */
  private shared: Engine | null = null;

  /** Compiles both variants now (so a platform without SIMD fails here); memories are made on first use. */
  constructor(
    private readonly api: WasmApi,
    unsharedBytes: Uint8Array,
    sharedBytes: Uint8Array,
  ) {
    this.unshared = new api.Module(unsharedBytes);
    let shared: object | null = null;
    try {
      shared = new api.Module(sharedBytes);
    } catch {
      shared = null;
    }
    this.sharedModule = shared;
  }

  private get heap(): Engine {
    return (this.heapEngine ??= new Engine(this.api, this.unshared, false));
  }

  /** A zeroed Float64Array of length d in wasm memory, used in place by the kernels; never freed. */
  vector(d: number): Float64Array {
    if (this.shared === null && this.sharedModule !== null) {
      try {
        this.shared = new Engine(this.api, this.sharedModule, true);
      } catch {
        return new Float64Array(d);
      }
    }
    return this.shared ? this.shared.vector(d) : new Float64Array(d);
  }

  /** The engine whose memory holds `v`, else the one that copies it in. */
  private of(v: Float64Array): Engine {
    return this.shared !== null && this.shared.address(v) >= 0 ? this.shared : this.heap;
  }

  sumSquares(a: Float64Array, d: number): number {
    return this.of(a).sumSquares(a, d);
  }

  iqBits(a: Float64Array, d: number, out: Uint8Array, r: number, k0: number, k1: number, at = 0): void {
    this.of(a).iqBits(a, d, out, r, k0, k1, at);
  }

  /** CQ for n ≤ 65535 (the kernel multiplies 16-bit draws by n in 16-bit lanes); others use rangeJs. */
  cqBits(a: Float64Array, d: number, out: Uint8Array, r: number, q: CqStream, at = 0): void {
    this.of(a).cqBits(a, d, out, r, q, at);
  }

  addSigns(sum: Float64Array, d: number, payloads: readonly Uint8Array[], offset: number, radii: ArrayLike<number>): void {
    this.of(sum).addSigns(sum, d, payloads, offset, radii);
  }
}

/** The kernels, or null where WebAssembly SIMD is not available: the JavaScript path then serves. */
export function loadWasmRangeKernels(): WasmRangeKernels | null {
  try {
    const api = platform.WebAssembly;
    if (!api) return null;
    const bytes = (base64: string) => Uint8Array.from(platform.atob!(base64), (c) => c.charCodeAt(0));
    return new WasmRangeKernels(api, bytes(RANGE_WASM_UNSHARED), bytes(RANGE_WASM));
  } catch {
    return null;
  }
}
