import { randomFillSync } from 'node:crypto';

/**
 * The masking keys of a client's frames (ws's `generateMask` option), drawn as ws draws its own (from a pool of
 * crypto-random bytes), except that an all-zero key is drawn again. ws masks a message by copying it into the
 * frame it writes, so the caller may reuse the message's buffer as soon as `send` returns (the client runner
 * reuses its update and report buffers round after round); with an all-zero key it skips the copy and writes
 * the caller's buffer as is, possibly later, once the socket drains. Redrawing that one key in 2^32 keeps every
 * frame a copy; the keys stay uniform over the other 2^32 − 1, which is all masking needs (RFC 6455 §5.3).
 * `fill` is the source of random bytes (tests give their own).
 */
export function maskGenerator(fill: (pool: Buffer) => void = randomFillSync): (mask: Buffer) => void {
  const pool = Buffer.alloc(8192);
  let at = pool.length;
  return (mask) => {
    do {
      if (at === pool.length) {
        fill(pool);
        at = 0;
      }
      mask[0] = pool[at]!;
      mask[1] = pool[at + 1]!;
      mask[2] = pool[at + 2]!;
      mask[3] = pool[at + 3]!;
      at += 4;
    } while ((mask[0]! | mask[1]! | mask[2]! | mask[3]!) === 0);
  };
}

/** One generator for the process: every client of a host shares it (JavaScript runs one send at a time). */
export const nonzeroMask = maskGenerator();
