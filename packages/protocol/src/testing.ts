import { ProtocolError, type ProtocolErrorCode, ProtocolErrors } from './errors.js';

/**
 * Helpers shared by the test suites of every package (protocol's own, core's compressors and methods):
 * error assertions, hex fixtures and a seeded generator. Plain functions that throw an Error on mismatch,
 * with no test-runner import, so they hold one definition of "the right error" (STYLE lesson 5: code, close
 * code and exact message) and any runner or script may use them.
 */

/**
 * Calls `fn` and returns the ProtocolError it throws, after checking its `code`, that its close code is the
 * registry's for that code, and (when given) its message: exactly for a string, by search for a RegExp.
 * Throws if `fn` returns or throws anything else.
 */
export function expectProtocolError(fn: () => unknown, code: ProtocolErrorCode, message?: string | RegExp): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof ProtocolError)) {
    throw new Error(`expected a ProtocolError ${code}, ${caught === undefined ? 'but nothing was thrown' : `got ${shown(caught)}`}`);
  }
  const e = caught;
  if (e.code !== code) throw new Error(`expected ProtocolError code ${code}, got ${e.code} ("${e.message}")`);
  if (e.closeCode !== ProtocolErrors[code]) throw new Error(`${code} carries close code ${e.closeCode}, expected ${ProtocolErrors[code]}`);
  if (typeof message === 'string' && e.message !== message) {
    throw new Error(`${code} message is\n  "${e.message}"\nexpected\n  "${message}"`);
  }
  if (message instanceof RegExp && !message.test(e.message)) throw new Error(`${code} message "${e.message}" does not match ${message}`);
  return e;
}

/**
 * The code of the ProtocolError `fn` throws, or undefined when it returns. Any other error is rethrown:
 * a decoder fed bad bytes must fail with a typed error, never a crash.
 */
export function protocolErrorCode(fn: () => unknown): ProtocolErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return undefined;
}

/** Lower-case hex of `bytes`, two digits a byte, for golden-bytes fixtures. */
export const toHex = (bytes: Uint8Array): string => Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');

/** The bytes of a hex string; whitespace is ignored, so fixtures may group fields. */
export const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.replace(/\s+/g, '').match(/../g) ?? [], (h) => parseInt(h, 16));

/** A golden fixture's bytes with one edit applied through a DataView: the fixture with a corrupted field. */
export function editedHex(hex: string, edit: (view: DataView) => void): Uint8Array {
  const bytes = fromHex(hex);
  edit(new DataView(bytes.buffer));
  return bytes;
}

/**
 * A tiny seeded generator for test data, since protocol must not import core's CounterRng: Numerical
 * Recipes' 32-bit LCG, each output built from the high halves of two steps (its low bits are poor).
 * Plenty for choosing field widths and values; not for statistics.
 */
export function lcg(seed: number): { u32(): number; int(n: number): number } {
  let s = seed >>> 0;
  const u32 = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const hi = s >>> 16;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((hi << 16) | (s >>> 16)) >>> 0;
  };
  return { u32, int: (n) => Math.floor((u32() / 2 ** 32) * n) };
}

function shown(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** One edit of a message's bytes, as the fuzz tests mutate valid messages. Positions wrap around the length. */
export type ByteEdit =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'extend'; bytes: Uint8Array }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'splice'; at: number; donor: Uint8Array; from: number; count: number };

/** `bytes` with `edits` applied in order, as a new array (the input is left as it was). */
export function applyEdits(bytes: Uint8Array, edits: readonly ByteEdit[]): Uint8Array<ArrayBuffer> {
  let b: Uint8Array<ArrayBuffer> = bytes.slice();
  for (const m of edits) {
    const pos = (x: number): number => x % (b.length + 1);
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[m.at % b.length]! ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length > 0) b[m.at % b.length] = m.value;
        break;
      case 'truncate':
        b = b.slice(0, pos(m.at));
        break;
      case 'extend':
        b = concatBytes(b, m.bytes);
        break;
      case 'insert':
        b = concatBytes(b.subarray(0, pos(m.at)), m.bytes, b.subarray(pos(m.at)));
        break;
      case 'delete':
        b = concatBytes(b.subarray(0, pos(m.at)), b.subarray(pos(m.at) + m.count));
        break;
      case 'splice': {
        const from = m.from % (m.donor.length + 1);
        b = concatBytes(b.subarray(0, pos(m.at)), m.donor.subarray(from, from + m.count), b.subarray(pos(m.at) + m.count));
        break;
      }
    }
  }
  return b;
}

/** The parts one after another, in a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
