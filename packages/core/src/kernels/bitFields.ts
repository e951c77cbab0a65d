/**
 * Fixed-width bit fields, LSB first (BitWriter/BitReader's order), a register at a time instead of a byte
 * at a time per field: TopK's indices. Widths 0..30; a field wider than 24 bits goes in two parts so the
 * register (< 8 pending bits plus the part) stays within 32 bits.
 */

/** Writes values[0..count) as b-bit fields at out[offset..]; returns the end offset (padding bits zero). */
export function writeFields(values: Int32Array, count: number, b: number, out: Uint8Array, offset: number): number {
  checkWidth(b);
  let acc = 0;
  let nb = 0;
  let p = offset;
  const lowBits = b > 24 ? 16 : b;
  const highBits = b - lowBits;
  const lowMask = lowBits === 0 ? 0 : 2 ** lowBits - 1;
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    acc |= (v & lowMask) << nb;
    nb += lowBits;
    while (nb >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      nb -= 8;
    }
    if (highBits > 0) {
      acc |= (v >>> lowBits) << nb;
      nb += highBits;
      while (nb >= 8) {
        out[p++] = acc & 0xff;
        acc >>>= 8;
        nb -= 8;
      }
    }
  }
  if (nb > 0) out[p++] = acc;
  return p;
}

/**
 * Reads count b-bit fields from payload[offset..] (the caller checked there are ⌈count·b/8⌉ bytes) into
 * out[0..count); returns the padding bits left in the last byte (0 for a canonical payload).
 */
export function readFields(payload: Uint8Array, offset: number, count: number, b: number, out: Int32Array): number {
  checkWidth(b);
  let acc = 0;
  let nb = 0;
  let p = offset;
  const lowBits = b > 24 ? 16 : b;
  const highBits = b - lowBits;
  const lowMask = lowBits === 0 ? 0 : 2 ** lowBits - 1;
  const highMask = highBits === 0 ? 0 : 2 ** highBits - 1;
  for (let i = 0; i < count; i++) {
    while (nb < lowBits) {
      acc |= payload[p++]! << nb;
      nb += 8;
    }
    let v = acc & lowMask;
    acc >>>= lowBits;
    nb -= lowBits;
    if (highBits > 0) {
      while (nb < highBits) {
        acc |= payload[p++]! << nb;
        nb += 8;
      }
      v |= (acc & highMask) << lowBits;
      acc >>>= highBits;
      nb -= highBits;
    }
    out[i] = v;
  }
  return acc;
}

function checkWidth(b: number): void {
  if (!(Number.isInteger(b) && b >= 0 && b <= 30)) throw new RangeError(`bit fields are 0..30 bits wide, got ${b}`);
}
