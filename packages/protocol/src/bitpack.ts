import { ProtocolError } from './errors.js';

/**
 * Writes bit fields least-significant bit first into a byte array (bit k of the stream is bit k%8 of
 * byte k>>3). Used by compressors to pack their payloads; a fresh writer per message, no allocation.
 */
export class BitWriter {
  private acc = 0;
  private accBits = 0;
  private pos: number;

  constructor(private readonly out: Uint8Array, byteOffset = 0) {
    this.pos = byteOffset;
  }

  /** Appends the low `nbits` (0..32) bits of `value`. */
  write(value: number, nbits: number): void {
    if (nbits === 0) return;
    const v = nbits === 32 ? value >>> 0 : (value & ((1 << nbits) - 1)) >>> 0;
    // acc holds < 8 pending bits, so acc | v << accBits needs up to 39 bits: split into two 32-bit steps.
    const room = 32 - this.accBits;
    if (nbits <= room) {
      this.acc = (this.acc | (v << this.accBits)) >>> 0;
      this.accBits += nbits;
      this.drain();
    } else {
      this.acc = (this.acc | (v << this.accBits)) >>> 0;
      this.accBits = 32;
      this.drain();
      this.acc = v >>> room;
      this.accBits += nbits - room;
      this.drain();
    }
  }

  /** Appends one bit (0 or 1); the hot path of one-bit quantizers. */
  bit(b: number): void {
    this.acc |= b << this.accBits;
    if (++this.accBits === 8) {
      this.out[this.pos++] = this.acc;
      this.acc = 0;
      this.accBits = 0;
    }
  }

  /** Flushes a partial last byte (its high bits are zero padding) and returns the end byte offset. */
  finish(): number {
    if (this.accBits > 0) {
      this.out[this.pos++] = this.acc & 0xff;
      this.acc = 0;
      this.accBits = 0;
    }
    return this.pos;
  }

  private drain(): void {
    while (this.accBits >= 8) {
      this.out[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.accBits -= 8;
    }
  }
}

/** Reads what BitWriter wrote, and checks on `finish` that the padding bits are zero. */
export class BitReader {
  private acc = 0;
  private accBits = 0;
  private pos: number;

  constructor(private readonly src: Uint8Array, byteOffset = 0) {
    this.pos = byteOffset;
  }

  /** Reads `nbits` (0..32) bits as an unsigned integer. */
  read(nbits: number): number {
    let value = 0;
    let got = 0;
    while (got < nbits) {
      if (this.accBits === 0) {
        if (this.pos >= this.src.length) {
          throw new ProtocolError('MARINA_ERR_TRUNCATED', `bit stream ended after ${this.pos} bytes`);
        }
        this.acc = this.src[this.pos++]!;
        this.accBits = 8;
      }
      const take = Math.min(nbits - got, this.accBits);
      value += (this.acc & ((1 << take) - 1)) * 2 ** got;
      this.acc >>>= take;
      this.accBits -= take;
      got += take;
    }
    return value;
  }

  /** Reads one bit; the hot path of one-bit quantizers. */
  bit(): number {
    if (this.accBits === 0) {
      if (this.pos >= this.src.length) {
        throw new ProtocolError('MARINA_ERR_TRUNCATED', `bit stream ended after ${this.pos} bytes`);
      }
      this.acc = this.src[this.pos++]!;
      this.accBits = 8;
    }
    const b = this.acc & 1;
    this.acc >>>= 1;
    this.accBits--;
    return b;
  }

  /** Checks that the stream was consumed to its last byte and that the padding bits are zero. */
  finish(): void {
    if (this.acc !== 0) {
      throw new ProtocolError('MARINA_ERR_NONZERO_PADDING', `padding bits of the last payload byte are not zero (0x${this.acc.toString(16)})`);
    }
    if (this.pos !== this.src.length) {
      throw new ProtocolError('MARINA_ERR_TRAILING_BYTES', `${this.src.length - this.pos} payload bytes left after the last field`);
    }
  }
}

/**
 * SPEC decision 12: symbols of an alphabet of size m are packed k to a 32-bit word, k the largest with
 * m^k ≤ 2^32 (20 trits per word for m = 3).
 */
export function symbolsPerWord(m: number): number {
  if (!Number.isInteger(m) || m < 2 || m > 2 ** 32) throw new RangeError(`alphabet size must be an integer in [2, 2^32], got ${m}`);
  let k = 0;
  let p = 1;
  while (p * m <= 2 ** 32) {
    p *= m;
    k++;
  }
  return k;
}

/** Bits that `count` symbols of alphabet size m take when packed by decision 12. */
export function packedSymbolBits(count: number, m: number): number {
  return 32 * Math.ceil(count / symbolsPerWord(m));
}

/** Packs symbols (each in [0, m)) into little-endian 32-bit words at `out[byteOffset..]`; returns the end offset. */
export function packSymbols(symbols: ArrayLike<number>, m: number, out: Uint8Array, byteOffset: number): number {
  const k = symbolsPerWord(m);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let pos = byteOffset;
  for (let start = 0; start < symbols.length; start += k) {
    const end = Math.min(start + k, symbols.length);
    let word = 0;
    // Horner from the last symbol of the word: word = s0 + m·(s1 + m·(…)); exact in a double (< 2^32).
    for (let j = end - 1; j >= start; j--) word = word * m + symbols[j]!;
    view.setUint32(pos, word, true);
    pos += 4;
  }
  return pos;
}

/** Inverse of packSymbols; rejects a word that encodes a value outside the alphabet. */
export function unpackSymbols(src: Uint8Array, byteOffset: number, m: number, out: Uint8Array | Uint16Array | Int32Array, count: number): number {
  const k = symbolsPerWord(m);
  const words = Math.ceil(count / k);
  if (byteOffset + 4 * words > src.length) {
    throw new ProtocolError('MARINA_ERR_TRUNCATED', `${count} symbols need ${4 * words} bytes, ${src.length - byteOffset} left`);
  }
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let pos = byteOffset;
  for (let start = 0; start < count; start += k) {
    const end = Math.min(start + k, count);
    let word = view.getUint32(pos, true);
    pos += 4;
    for (let j = start; j < end; j++) {
      const q = Math.floor(word / m);
      out[j] = word - q * m;
      word = q;
    }
    if (word !== 0) {
      throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `packed word at byte ${pos - 4} encodes more than ${end - start} symbols of alphabet ${m}`);
    }
  }
  return pos;
}
