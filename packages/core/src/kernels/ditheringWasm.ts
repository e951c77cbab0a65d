import { DITHER_WASM } from './ditherWasmBytes.js';

/**
 * dither.wat's SIMD encode behind dithering.ts's encodeStandard and encodeNatural (the same words) and
 * natural.ts's encodeNaturalFields (the same bytes). A
 * vector in the JavaScript heap goes through the module's memory a chunk at a time (C coordinates, a whole
 * number of words: the copy lands in cache and the kernel reads it there); the words come back the same way.
 */

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const platform = globalThis as unknown as { WebAssembly?: WasmApi; atob?: (s: string) => string };

type Kernel = (a: number, count: number, j0: number, inv: number, s: number, k0: number, k1: number, sym: number) => void;
interface Exports {
  memory: { readonly buffer: ArrayBuffer };
  standard: Kernel;
  natural: Kernel;
  pack(sym: number, count: number, m: number, k: number, out: number): void;
  fields(a: number, count: number, j0: number, k0: number, k1: number, fields: number): void;
  pack9(fields: number, groups: number, out: number): void;
}

/** Coordinates per chunk, before rounding down to whole words. */
const CHUNK = 8192;
const A = 0;
const SYM = 8 * (CHUNK + 8);
const OUT = SYM + 4 * (CHUNK + 8);

export class WasmDithering {
  private x: Exports | null = null;
  private f64 = new Float64Array(0);
  private u8 = new Uint8Array(0);

  constructor(
    private readonly api: WasmApi,
    private readonly module: object,
  ) {}

  /**
   * The ⌈d/k⌉ words of d symbols (alphabet m = 2s + 1, k per word) of `a` at out[offset..]: standard levels,
   * or natural levels (s ≤ 1023); inv = 1/r, r finite and > 0; hash keys (k0, k1).
   */
  encode(natural: boolean, a: Float64Array, d: number, inv: number, s: number, k: number, k0: number, k1: number, out: Uint8Array, offset: number): void {
    const x = (this.x ??= this.instance());
    const kernel = natural ? x.natural : x.standard;
    const C = k * Math.floor(CHUNK / k);
    const m = 2 * s + 1;
    for (let j0 = 0; j0 < d; j0 += C) {
      const count = Math.min(C, d - j0);
      this.f64.set(a.subarray(j0, j0 + count), A / 8);
      kernel(A, count, j0, inv, s, k0 | 0, k1 | 0, SYM);
      x.pack(SYM, count, m, k, OUT);
      const bytes = 4 * Math.ceil(count / k);
      out.set(this.u8.subarray(OUT, OUT + bytes), offset + 4 * (j0 / k));
    }
  }

  /**
   * Natural compression's 9-bit fields of a[0..8⌊d/8⌋) (whole groups of eight: nine bytes each) at out[0..);
   * returns how many coordinates it wrote (the caller writes the rest).
   */
  naturalFields(a: Float64Array, d: number, k0: number, k1: number, out: Uint8Array): number {
    const x = (this.x ??= this.instance());
    const C = CHUNK; // a multiple of 8
    const whole = d & ~7;
    for (let j0 = 0; j0 < whole; j0 += C) {
      const count = Math.min(C, whole - j0);
      this.f64.set(a.subarray(j0, j0 + count), A / 8);
      x.fields(A, count, j0, k0 | 0, k1 | 0, SYM);
      x.pack9(SYM, count / 8, OUT);
      out.set(this.u8.subarray(OUT, OUT + (9 * count) / 8), (9 * j0) / 8);
    }
    return whole;
  }

  private instance(): Exports {
    const x = new this.api.Instance(this.module, {}).exports as Exports;
    this.f64 = new Float64Array(x.memory.buffer);
    this.u8 = new Uint8Array(x.memory.buffer);
    return x;
  }
}

/** The SIMD encode, or null where WebAssembly SIMD is unavailable (the JavaScript kernels serve). */
export function loadWasmDithering(): WasmDithering | null {
  try {
    const api = platform.WebAssembly;
    if (!api || !platform.atob) return null;
    const bytes = Uint8Array.from(platform.atob(DITHER_WASM), (c) => c.charCodeAt(0));
    return new WasmDithering(api, new api.Module(bytes));
  } catch {
    return null;
  }
}
