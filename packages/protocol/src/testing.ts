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
