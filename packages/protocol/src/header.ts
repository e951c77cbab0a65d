import { ProtocolError } from './errors.js';

/** Protocol version: bump when any message layout, bit count or random-draw derivation changes (SPEC decision 15). */
export const PROTOCOL_VERSION = 3;

/** Every message starts with this fixed header; its size is a multiple of 8 so a float64 payload can be aligned. */
export const HEADER_BYTES = 24;

/** Message kinds. Control kinds carry a msgpack map; hot kinds carry raw bytes (ARCHITECTURE "Wire format"). */
export const Kind = {
  Hello: 1,
  Welcome: 2,
  Error: 3,
  Bye: 4,
  /** Server → client after the hello: the rank and the run's configuration (the join phase, version 2). */
  Assign: 5,
  /** Client → server: what its shard gives the theory (rows, features, d, L_i, fingerprint). */
  Report: 6,
  /**
   * Server → client, the first message on every connection: a fresh random nonce, and whether the run asks
   * for its secret; the client's hello then carries HMAC-SHA256(secret, nonce ‖ version ‖ client name).
   */
  Challenge: 7,
  RoundStart: 16,
  Update: 17,
  Eval: 18,
  /** Client → server, shared-range rounds (decision 3): the float32 norm of the vector it will quantize. */
  Norm: 19,
  /** Server → client, shared-range rounds: R, the max of the senders' norms, to quantize against. */
  Range: 20,
  /**
   * Server → client (version 3): the client state the server mirrors for this rank (DIANA's h_i, EF21's g_i),
   * float64, sent after the welcome to a client that takes a rank mid-run or joins a resumed run.
   */
  State: 21,
} as const;
export type KindName = keyof typeof Kind;
export type KindValue = (typeof Kind)[KindName];

const KIND_NAMES = new Map<number, KindName>(Object.entries(Kind).map(([k, v]) => [v, k as KindName]));

export function kindName(kind: number): KindName | undefined {
  return KIND_NAMES.get(kind);
}

/** Header flag bits. */
export const Flag = {
  /** RoundStart: the round's shared coin c_t. */
  Coin: 1 << 0,
  /** RoundStart: the addressee sends an update this round (PP-MARINA asks a subset). */
  Participate: 1 << 1,
  /** RoundStart: the addressee sends an evaluation report for x^t. */
  Evaluate: 1 << 2,
  /** Update: the payload is compressed (else dense float32). */
  Compressed: 1 << 3,
  /** RoundStart: x^{t−1} follows x^t, for a client that did not see round t−1 (joined late, or not asked). */
  Previous: 1 << 4,
} as const;

/** Every defined flag bit; the others are reserved and must be zero (ws refuses reserved bits likewise). */
const KNOWN_FLAGS = Object.values(Flag).reduce((a, b) => a | b, 0);

/** Rank field value for messages from the server. */
export const SERVER_RANK = 0xffffffff;

/**
 * The fixed 24-byte little-endian header:
 * kind u8 | version u8 | flags u16 | round u32 | rank u32 | aux u32 | payloadBits u64 (< 2^53).
 * The payload follows and takes exactly ceil(payloadBits / 8) bytes.
 */
export interface Header {
  kind: number;
  version: number;
  flags: number;
  round: number;
  rank: number;
  /** Message-specific 32-bit field (RoundStart, Eval: the dimension d). */
  aux: number;
  payloadBits: number;
}

export function writeHeader(target: Uint8Array, h: Header): void {
  if (!Number.isSafeInteger(h.payloadBits) || h.payloadBits < 0) {
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `payloadBits must be a safe non-negative integer, got ${h.payloadBits}`);
  }
  const v = new DataView(target.buffer, target.byteOffset, HEADER_BYTES);
  v.setUint8(0, h.kind);
  v.setUint8(1, h.version);
  v.setUint16(2, h.flags, true);
  v.setUint32(4, h.round, true);
  v.setUint32(8, h.rank, true);
  v.setUint32(12, h.aux, true);
  v.setUint32(16, h.payloadBits % 0x1_0000_0000, true);
  v.setUint32(20, Math.floor(h.payloadBits / 0x1_0000_0000), true);
}

/** Allocates a message of header + payload for `payloadBits` bits and writes the header. */
export function allocMessage(h: Omit<Header, 'version'>): Uint8Array {
  const msg = new Uint8Array(HEADER_BYTES + Math.ceil(h.payloadBits / 8));
  writeHeader(msg, { ...h, version: PROTOCOL_VERSION });
  return msg;
}

/**
 * Reads and checks the header of an untrusted message: length, version, kind, payload length against
 * `maxPayloadBytes` (before anything is allocated), and that the message holds exactly the declared bytes.
 */
export function readHeader(msg: Uint8Array, maxPayloadBytes: number): Header {
  if (msg.byteLength < HEADER_BYTES) {
    throw new ProtocolError('MARINA_ERR_TRUNCATED', `message of ${msg.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  }
  const v = new DataView(msg.buffer, msg.byteOffset, HEADER_BYTES);
  const kind = v.getUint8(0);
  const version = v.getUint8(1);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError('MARINA_ERR_BAD_VERSION', `protocol version ${version} is not supported (expected ${PROTOCOL_VERSION})`, { version });
  }
  if (!KIND_NAMES.has(kind)) {
    throw new ProtocolError('MARINA_ERR_BAD_KIND', `message kind ${kind} is unknown`, { kind });
  }
  const flags = v.getUint16(2, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${kindName(kind)} header sets reserved flag bits 0x${(flags & ~KNOWN_FLAGS).toString(16)}`, { flags });
  }
  const hi = v.getUint32(20, true);
  if (hi >= 1 << 21) {
    throw new ProtocolError('MARINA_ERR_TOO_LARGE', `payload length of 2^${Math.floor(Math.log2(hi)) + 32} bits exceeds 2^53`);
  }
  const payloadBits = hi * 0x1_0000_0000 + v.getUint32(16, true);
  const payloadBytes = Math.ceil(payloadBits / 8);
  if (payloadBytes > maxPayloadBytes) {
    throw new ProtocolError('MARINA_ERR_TOO_LARGE', `${kindName(kind)} payload of ${payloadBytes} bytes exceeds the limit of ${maxPayloadBytes} bytes`, { payloadBytes, maxPayloadBytes });
  }
  const expected = HEADER_BYTES + payloadBytes;
  if (msg.byteLength < expected) {
    throw new ProtocolError('MARINA_ERR_TRUNCATED', `${kindName(kind)} declares ${payloadBytes} payload bytes but only ${msg.byteLength - HEADER_BYTES} arrived`);
  }
  if (msg.byteLength > expected) {
    throw new ProtocolError('MARINA_ERR_TRAILING_BYTES', `${kindName(kind)} has ${msg.byteLength - expected} bytes after its declared payload`);
  }
  return {
    kind,
    version,
    flags,
    round: v.getUint32(4, true),
    rank: v.getUint32(8, true),
    aux: v.getUint32(12, true),
    payloadBits,
  };
}

/** The payload bytes of a message whose header has been read (a view, not a copy). */
export function payloadOf(msg: Uint8Array): Uint8Array {
  return msg.subarray(HEADER_BYTES);
}
