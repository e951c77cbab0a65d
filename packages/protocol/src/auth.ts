import { PROTOCOL_VERSION } from './header.js';

/**
 * Challenge and response (README "Security"). The run's secret never crosses the wire: the server opens every
 * connection with a Challenge holding NONCE_BYTES fresh random bytes; a client that knows the secret answers in
 * its hello with proof = HMAC-SHA256(secret, proofInput(nonce, client name)), PROOF_BYTES long, which the server
 * compares in constant time. A nonce is used for one connection only, so a recorded hello is worth nothing on
 * another. The MAC itself is computed where node:crypto is (server, client): this package opens nothing.
 */

/** Bytes of a challenge's nonce (32: as many as the HMAC's output, never repeated in practice). */
export const NONCE_BYTES = 32;

/** Bytes of a hello's proof: one HMAC-SHA256 output. */
export const PROOF_BYTES = 32;

/** The message MACed for the read-only dashboard token, HMAC-SHA256(secret, "dashboard") in hex. */
export const DASHBOARD_TOKEN_INPUT = 'dashboard';

/**
 * The bytes a client MACs with the secret: the challenge's nonce (32 bytes) ‖ the protocol version (1 byte) ‖
 * the client name of its hello (UTF-8). At least 33 bytes, so it never equals DASHBOARD_TOKEN_INPUT's 9.
 */
export function proofInput(nonce: Uint8Array, client: string): Uint8Array {
  const name = utf8(client);
  const out = new Uint8Array(nonce.length + 1 + name.length);
  out.set(nonce, 0);
  out[nonce.length] = PROTOCOL_VERSION;
  out.set(name, nonce.length + 1);
  return out;
}

/** UTF-8 bytes of `s` (as TextEncoder, which this package's `types: []` leaves out): a lone surrogate becomes U+FFFD. */
export function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}
