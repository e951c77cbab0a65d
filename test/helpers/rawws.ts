import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * WebSocket bytes written and read by hand (RFC 6455), for tests that must send what no WebSocket library
 * would: garbage around the opening handshake, frames cut short, frames declaring more than they carry, and
 * literal replays of a recorded byte stream. Server frames are read back to see what the server answered.
 */

/** WebSocket opcodes (RFC 6455 §5.2). */
export const Opcode = { Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** An opening handshake request for `path`, with any extra header lines. */
export function upgradeRequest(port: number, path = '/', extra: string[] = []): string {
  const key = randomBytes(16).toString('base64');
  return [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', ...extra, '', ''].join('\r\n');
}

/**
 * One frame as a client sends it: masked (as RFC 6455 requires of clients) unless told otherwise, with the
 * payload length field saying `declared` bytes (default: the payload's own length) whatever actually follows.
 */
export function clientFrame(opcode: number, payload: Uint8Array, opts: { mask?: boolean; declared?: number } = {}): Buffer {
  const mask = opts.mask ?? true;
  const len = opts.declared ?? payload.length;
  const head: number[] = [0x80 | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 0x10000) head.push(m | 126, len >>> 8, len & 0xff);
  else head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  const key = mask ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, body]);
}

export interface Frame {
  opcode: number;
  payload: Buffer;
  /** The frame's own bytes on the wire, as they came (header, mask key, payload still masked). */
  raw: Buffer;
}

/** The complete frames at the start of `bytes` (masked ones unmasked), and how many bytes they took. */
export function parseFrames(bytes: Buffer): { frames: Frame[]; used: number } {
  const frames: Frame[] = [];
  let at = 0;
  for (;;) {
    if (bytes.length < at + 2) break;
    const opcode = bytes[at]! & 0x0f;
    const masked = (bytes[at + 1]! & 0x80) !== 0;
    let len = bytes[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      if (bytes.length < p + 2) break;
      len = bytes.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (bytes.length < p + 8) break;
      len = Number(bytes.readBigUInt64BE(p));
      p += 8;
    }
    const key = masked ? bytes.subarray(p, p + 4) : null;
    if (masked) p += 4;
    if (bytes.length < p + len) break;
    const payload = Buffer.from(bytes.subarray(p, p + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    frames.push({ opcode, payload, raw: Buffer.from(bytes.subarray(at, p + len)) });
    at = p + len;
  }
  return { frames, used: at };
}

/** The status code of a close frame (1005, "no status", when it carries none). */
export const closeCodeOf = (f: Frame): number => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005);

/** An HTTP message's head (up to the blank line) and the bytes after it; head null while incomplete. */
export function splitHttp(bytes: Buffer): { head: string | null; body: Buffer } {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return { head: null, body: bytes };
  return { head: bytes.subarray(0, end).toString('latin1'), body: bytes.subarray(end + 4) };
}

/** What a raw peer saw: the server's HTTP head, the frames after it, and who ended the connection. */
export interface RawOutcome {
  head: string | null;
  frames: Frame[];
  /**
   * The server ended it: it closed the TCP connection, or sent a close frame (which the peer answers by
   * ending its side, as a WebSocket peer would). False: the peer's own deadline ended it.
   */
  closedByServer: boolean;
}

/**
 * A raw TCP peer of 127.0.0.1:`port`: `script` writes whatever it wants once connected; everything the server
 * sends is collected until the connection closes, or `deadlineMs` passes (then the peer closes it).
 */
export function rawPeer(port: number, script: (socket: Socket) => void, deadlineMs: number): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let byServer = true;
    const timer = setTimeout(() => {
      byServer = false;
      socket.destroy();
    }, deadlineMs);
    const frames = () => {
      const { head, body } = splitHttp(received);
      return { head, frames: head === null ? [] : parseFrames(body).frames };
    };
    socket.on('connect', () => script(socket));
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      // The server's close frame: end our side rather than keep the server waiting for our close frame.
      if (frames().frames.some((f) => f.opcode === Opcode.Close)) socket.end();
    });
    socket.on('error', () => {}); // a reset is an answer too: 'close' reports it
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...frames(), closedByServer: byServer });
    });
  });
}
