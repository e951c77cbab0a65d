import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isProtocolError, ProtocolErrors } from '@marina/protocol';
import { applyEdits, toHex, type ByteEdit } from '@marina/protocol/testing';
import { compressors, createCompressor } from './registry.js';
import type { CompressContext, Compressor, CompressorOptions } from './types.js';

/**
 * Property-based tests (fast-check) of the Update payload decoders: every registered compressor's
 * `decodeInto(sum, payload, ctx)` (STYLE lessons 3–5, the `Compressor.decodeInto` contract in types.ts).
 * For random payloads and mutations of valid ones, at small d and n, each call adds a finite vector into
 * `sum` or throws a ProtocolError with a registry code before touching `sum`; it reads nothing outside the
 * payload view; it keeps no state from one call to the next; valid payloads always decode; a huge payload is
 * refused at once. IQ and CQ are also checked with decision 3's shared range. Fixed seeds keep CI
 * deterministic. The header and the other messages are fuzzed in protocol's fuzz.test.ts.
 */

const SEED = 42;
function run<Ts>(property: fc.IRawProperty<Ts>, numRuns: number): void {
  fc.assert(property, { seed: SEED, numRuns });
}

const DEFAULT: CompressorOptions = { k: null, levels: 4, norm: 2 };

interface Instance {
  label: string;
  name: string;
  options: CompressorOptions;
  /** Smallest d this instance accepts (RandK/TopK need k ≤ d). */
  minD: number;
}

/**
 * Every registered compressor with its defaults, option variants at the edges, and the shared range
 * (decision 3) of every entry that declares a `range` option. Derived from the registry: a new entry is
 * fuzzed without editing this file.
 */
const INSTANCES: Instance[] = [
  ...Object.keys(compressors).map((name) => ({ label: name, name, options: DEFAULT, minD: 1 })),
  ...Object.entries(compressors)
    .filter(([, entry]) => 'range' in entry.options)
    .map(([name]) => ({ label: `${name} {range: shared}`, name, options: { ...DEFAULT, range: 'shared' as const }, minD: 1 })),
  { label: 'randk {k: 1}', name: 'randk', options: { ...DEFAULT, k: 1 }, minD: 1 },
  { label: 'randk {k: 5}', name: 'randk', options: { ...DEFAULT, k: 5 }, minD: 5 },
  { label: 'topk {k: 1}', name: 'topk', options: { ...DEFAULT, k: 1 }, minD: 1 },
  { label: 'topk {k: 5}', name: 'topk', options: { ...DEFAULT, k: 5 }, minD: 5 },
  { label: 'qsgd {levels: 1, norm: inf}', name: 'qsgd', options: { ...DEFAULT, levels: 1, norm: Infinity }, minD: 1 },
  { label: 'qsgd {levels: 300, norm: 3}', name: 'qsgd', options: { ...DEFAULT, levels: 300, norm: 3 }, minD: 1 },
  { label: 'qsgd {levels: 32767, norm: 1}', name: 'qsgd', options: { ...DEFAULT, levels: 32767, norm: 1 }, minD: 1 },
  { label: 'natural-dithering {levels: 1, norm: 1}', name: 'natural-dithering', options: { ...DEFAULT, levels: 1, norm: 1 }, minD: 1 },
  { label: 'natural-dithering {levels: 16, norm: inf}', name: 'natural-dithering', options: { ...DEFAULT, levels: 16, norm: Infinity }, minD: 1 },
];

const isShared = (i: Instance): boolean => i.options.range === 'shared';

/** A compressor of `i`; with a shared range, R already set (the server sets R before decoding a round). */
function make(i: Instance, R: number): Compressor {
  const q = createCompressor(i.name, i.options);
  if (isShared(i)) q.sharedRange!.set(R);
  return q;
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries.

/** A round's context at small d and n: any slot of the n, any rank, seed and round. */
const contextArb = (minD: number): fc.Arbitrary<CompressContext> =>
  fc
    .record({ d: fc.integer({ min: minD, max: 40 }), n: fc.integer({ min: 1, max: 9 }), rank: fc.integer({ min: 0, max: 2 ** 20 }), seed: fc.integer({ min: 0, max: 0xffffffff }), round: fc.integer({ min: 0, max: 0xffffffff }) })
    .chain((c) => fc.integer({ min: 0, max: c.n - 1 }).map((slot) => ({ ...c, slot })));

/** The shared range R a server may set: any finite float32 ≥ 0 (the max of the senders' checked norms). */
const rangeArb = fc.oneof(fc.constantFrom(0, 1, 3.4028234663852886e38), fc.float({ min: 0, noNaN: true, noDefaultInfinity: true }));

/** A running sum of moderate finite values (so that adding any valid decoded vector stays finite). */
const sumArb = (d: number): fc.Arbitrary<Float64Array> => fc.float64Array({ min: -1e6, max: 1e6, noNaN: true, minLength: d, maxLength: d });

/** A client vector: finite, from tiny to float32-sized magnitudes, sometimes all zero or with one spike. */
const vectorArb = (d: number): fc.Arbitrary<Float64Array> =>
  fc.oneof(
    fc.float64Array({ min: -1e30, max: 1e30, noNaN: true, minLength: d, maxLength: d }),
    fc.float64Array({ min: -10, max: 10, noNaN: true, minLength: d, maxLength: d }),
    fc.constant(new Float64Array(d)),
    fc.tuple(fc.integer({ min: 0, max: d - 1 }), fc.double({ min: -1e30, max: 1e30, noNaN: true })).map(([j, v]) => Object.assign(new Float64Array(d), { [j]: v })),
  );

/** Bytes of a given length: random, or all 0x00 / 0xff, or random over a valid-looking float32 prefix. */
const bytesOf = (len: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ minLength: len, maxLength: len }),
    fc.constantFrom(0x00, 0xff, 0x80, 0x7f).map((b) => new Uint8Array(len).fill(b)),
    fc.tuple(fc.float({ noNaN: false }), fc.uint8Array({ minLength: len, maxLength: len })).map(([x, b]) => {
      if (len >= 4) new DataView(b.buffer).setFloat32(0, x, true);
      return b;
    }),
  );

interface Placement {
  before: number;
  fill: number;
  after: Uint8Array;
}
const placement: fc.Arbitrary<Placement> = fc.record({ before: fc.integer({ min: 0, max: 9 }), fill: fc.integer({ min: 0, max: 255 }), after: fc.uint8Array({ maxLength: 16 }) });

type Mutation = Exclude<ByteEdit, { op: 'splice' }>;

const at = fc.nat();
const someBytes = fc.uint8Array({ minLength: 1, maxLength: 12 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), at, value: fc.integer({ min: 0, max: 255 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('extend' as const), bytes: someBytes }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('insert' as const), at, bytes: someBytes }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 8 }) }), weight: 1 },
);

const mutate = (bytes: Uint8Array, edits: Mutation[]): Uint8Array => applyEdits(bytes, edits);

// ---------------------------------------------------------------------------------------------------------
// The property every decodeInto call must satisfy.

/** Longest error message a peer accepts back (decodeError's limit): the server echoes it in its Error message. */
const MAX_ERROR_MESSAGE = 4000;

type Outcome = { ok: true; sum: string } | { ok: false; code: string };

const bitsOf = (a: Float64Array): string => toHex(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

/**
 * Decodes `payload` into a copy of `sum0` on `q`: either a ProtocolError with a registry code (and close
 * code, and a short message) and the sum bit for bit unchanged, or a sum that is still all finite.
 */
function decodeOnce(q: Compressor, sum0: Float64Array, payload: Uint8Array, ctx: CompressContext): Outcome {
  const sum = sum0.slice();
  try {
    q.decodeInto(sum, payload, ctx);
  } catch (e) {
    if (!isProtocolError(e)) throw new Error(`${q.name}.decodeInto threw something other than a ProtocolError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
    if (!Object.hasOwn(ProtocolErrors, e.code) || e.closeCode !== ProtocolErrors[e.code]) throw new Error(`${q.name}: code ${e.code} / close code ${e.closeCode} not in the registry`);
    if (e.message.length === 0 || e.message.length > MAX_ERROR_MESSAGE) throw new Error(`${q.name}: ${e.code} message of ${e.message.length} characters`);
    expect(bitsOf(sum), `${q.name} threw ${e.code} after writing into sum`).toBe(bitsOf(sum0));
    return { ok: false, code: e.code };
  }
  expect(sum.length).toBe(sum0.length);
  expect(sum.every(Number.isFinite), `${q.name} added a non-finite value`).toBe(true);
  return { ok: true, sum: bitsOf(sum) };
}

/**
 * The full property for one payload: `decodeOnce` on the (possibly used) instance `q`, the same outcome on a
 * fresh instance (no state carried between calls), and the same again with the payload at an odd offset
 * inside a larger buffer of other bytes (nothing outside the view is read). Names the input on failure.
 */
function expectDecodes(i: Instance, R: number, q: Compressor, sum0: Float64Array, payload: Uint8Array, ctx: CompressContext, place: Placement): Outcome {
  try {
    const first = decodeOnce(q, sum0, payload.slice(), ctx);
    expect(decodeOnce(make(i, R), sum0, payload.slice(), ctx)).toEqual(first);
    const big = new Uint8Array(place.before + payload.length + place.after.length);
    big.fill(place.fill);
    big.set(payload, place.before);
    big.set(place.after, place.before + payload.length);
    expect(decodeOnce(q, sum0, big.subarray(place.before, place.before + payload.length), ctx)).toEqual(first);
    return first;
  } catch (e) {
    if (e instanceof Error) e.message = `${i.label}, ctx ${JSON.stringify(ctx)}${isShared(i) ? `, R = ${R}` : ''}, payload ${toHex(payload)}: ${e.message}`;
    throw e;
  }
}

/** A valid payload of `a` in `ctx`, as the client sends it (shared range: the client's own norm as R). */
function encodeValid(i: Instance, a: Float64Array, ctx: CompressContext): { payload: Uint8Array; R: number } {
  const client = createCompressor(i.name, i.options);
  const payload = new Uint8Array(Math.ceil(client.payloadBits(ctx) / 8));
  client.encode(a, ctx, payload);
  if (!isShared(i)) return { payload, R: 0 };
  const R = client.sharedRange!.heldNorm();
  client.sharedRange!.release(R);
  return { payload, R };
}

// ---------------------------------------------------------------------------------------------------------
// Allocation.

function findGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc'); // then take gc from a fresh context, as Jest's --detectLeaks does
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}
const gc = findGc();
const MB = 1024 * 1024;

// =========================================================================================================

describe('fuzz: every registered compressor is covered', () => {
  it('INSTANCES holds every registry entry, and the shared range of every entry with a range option', () => {
    expect(new Set(INSTANCES.map((i) => i.name))).toEqual(new Set(Object.keys(compressors)));
    for (const [name, entry] of Object.entries(compressors)) {
      if ('range' in entry.options) expect(INSTANCES.some((i) => i.name === name && isShared(i))).toBe(true);
    }
  });
});

for (const i of INSTANCES) {
  describe(`fuzz: ${i.label} decodeInto`, () => {
    it('random payloads (the right length or any other): a finite sum or a registry error with the sum untouched', () => {
      const q = make(i, 0);
      const input = fc.tuple(contextArb(i.minD), rangeArb).chain(([ctx, R]) => {
        const len = Math.ceil(q.payloadBits(ctx) / 8);
        return fc.record({
          ctx: fc.constant(ctx),
          R: fc.constant(R),
          payload: fc.oneof({ arbitrary: bytesOf(len), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: len + 9 }).chain(bytesOf), weight: 1 }),
          sum: sumArb(ctx.d),
          place: placement,
        });
      });
      run(
        fc.property(input, ({ ctx, R, payload, sum, place }) => {
          if (isShared(i)) q.sharedRange!.set(R);
          expectDecodes(i, R, q, sum, payload, ctx, place);
        }),
        400,
      );
    });

    it('valid payloads always decode (encode → decodeInto), on used and fresh instances alike', () => {
      const q = make(i, 0);
      const input = contextArb(i.minD).chain((ctx) => fc.record({ ctx: fc.constant(ctx), a: vectorArb(ctx.d), sum: sumArb(ctx.d), place: placement }));
      run(
        fc.property(input, ({ ctx, a, sum, place }) => {
          const { payload, R } = encodeValid(i, a, ctx);
          if (isShared(i)) q.sharedRange!.set(R);
          expect(expectDecodes(i, R, q, sum, payload, ctx, place).ok).toBe(true);
        }),
        300,
      );
    });

    it('mutated valid payloads (bit flips, bytes set, truncation, extension, insertion, deletion): a finite sum or a registry error with the sum untouched', () => {
      const q = make(i, 0);
      const input = contextArb(i.minD).chain((ctx) =>
        fc.record({ ctx: fc.constant(ctx), a: vectorArb(ctx.d), sum: sumArb(ctx.d), edits: fc.array(mutation, { minLength: 1, maxLength: 3 }), place: placement }),
      );
      run(
        fc.property(input, ({ ctx, a, sum, edits, place }) => {
          const { payload, R } = encodeValid(i, a, ctx);
          if (isShared(i)) q.sharedRange!.set(R);
          expectDecodes(i, R, q, sum, mutate(payload, edits), ctx, place);
        }),
        500,
      );
    });

    it('a payload of 16 MiB (what a lax header limit would let through) is refused at once, allocating nothing', () => {
      const q = make(i, 1);
      const huge = new Uint8Array(16 * MB);
      run(
        fc.property(contextArb(i.minD), (ctx) => {
          const sum = new Float64Array(ctx.d);
          gc?.();
          const before = process.memoryUsage();
          const t0 = performance.now();
          const r = decodeOnce(q, sum, huge, ctx);
          const ms = performance.now() - t0;
          const after = process.memoryUsage();
          expect(r).toEqual({ ok: false, code: 'MARINA_ERR_TRAILING_BYTES' });
          expect(after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers)).toBeLessThan(gc ? 50 * MB : 200 * MB);
          expect(ms).toBeLessThan(2000); // generous for a loaded CI machine; the heap bound is the sharp check
        }),
        5,
      );
    });
  });
}
