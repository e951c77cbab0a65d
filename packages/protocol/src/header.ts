import { ProtocolError } from './errors.js';

/** Protocol version: bump when any message layout, bit count or random-draw derivation changes (SPEC decision 15). */
export const PROTOCOL_VERSION = 3;

/** Control messages (hello … bye) start with this fixed header (`readHeader`); round messages have a compact one. */
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
 * Reads and checks the header of an untrusted control message: length, version, kind, payload length against
 * `maxPayloadBytes` (before anything is allocated), and that the message holds exactly the declared bytes. A
 * round message (compact header, `readRoundHeader`) is refused here with MARINA_ERR_UNEXPECTED.
 */
export function readHeader(msg: Uint8Array, maxPayloadBytes: number): Header {
  if (msg.byteLength < HEADER_BYTES) {
    // Kind and version first: a short round message is refused as what it is, not as a truncated control one.
    if (msg.byteLength >= 2) {
      const kind = checkKindAndVersion(msg);
      if (isRoundKind(kind)) throw notControl(kind);
    }
    throw new ProtocolError('MARINA_ERR_TRUNCATED', `message of ${msg.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  }
  const v = new DataView(msg.buffer, msg.byteOffset, HEADER_BYTES);
  const kind = checkKindAndVersion(msg);
  const version = PROTOCOL_VERSION;
  if (isRoundKind(kind)) throw notControl(kind);
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

/** The payload bytes of a control message whose header has been read (a view, not a copy). */
export function payloadOf(msg: Uint8Array): Uint8Array {
  return msg.subarray(HEADER_BYTES);
}

/** Byte 0 is the kind and byte 1 the version in both layouts: checked first, so any message is told apart. */
function checkKindAndVersion(msg: Uint8Array): number {
  const kind = msg[0]!;
  const version = msg[1]!;
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError('MARINA_ERR_BAD_VERSION', `protocol version ${version} is not supported (expected ${PROTOCOL_VERSION})`, { version });
  }
  if (!KIND_NAMES.has(kind)) {
    throw new ProtocolError('MARINA_ERR_BAD_KIND', `message kind ${kind} is unknown`, { kind });
  }
  return kind;
}

function notControl(kind: number): ProtocolError {
  return new ProtocolError('MARINA_ERR_UNEXPECTED', `${kindName(kind)} is a round message; a control message was expected here`, { kind });
}

/*
 * Round messages (RoundStart, Update, Eval, Norm, Range, State) have a compact header: the receiver already knows
 * the sender's rank (its connection, or itself), d (the welcome) and the payload's exact length (the round's plan
 * and codec), and the WebSocket frame gives the message's length, so none of those is carried:
 *
 *   kind u8 | version u8 | flags u8 | round: u32 (downlink) or its low 16 bits, u16 (uplink)
 *
 * and the payload is the rest of the message. Downlink messages carry the whole round because a client that has
 * just joined does not know it; uplink ones carry t mod 2^16, which is enough for the server (which knows t) to
 * refuse a stale, replayed or early message: an honest one is never more than a round away.
 */

/** Compact header of a server → client round message (RoundStart, Range, State). */
export const DOWNLINK_HEADER_BYTES = 7;
/** Compact header of a client → server round message (Update, Eval, Norm). */
export const UPLINK_HEADER_BYTES = 5;

/** Whether `kind` is a round message (compact header) rather than a control one (24-byte header). */
export function isRoundKind(kind: number): boolean {
  return kind >= Kind.RoundStart && kind <= Kind.State;
}

function isUplinkKind(kind: number): boolean {
  return kind === Kind.Update || kind === Kind.Eval || kind === Kind.Norm;
}

/** The compact header's size for a round kind (`isRoundKind`). */
export function roundHeaderBytes(kind: number): number {
  return isUplinkKind(kind) ? UPLINK_HEADER_BYTES : DOWNLINK_HEADER_BYTES;
}

/** The flags each round kind may set; any other bit is refused. */
const ROUND_FLAGS = new Map<number, number>([
  [Kind.RoundStart, Flag.Coin | Flag.Participate | Flag.Evaluate | Flag.Previous],
  [Kind.Update, Flag.Compressed],
]);

/** The compact header of a round message, as read from the wire. */
export interface RoundHeader {
  kind: number;
  flags: number;
  /** Downlink kinds: the round t. Uplink kinds: t mod 2^16 (`widenRound` resolves it against the receiver's round). */
  round: number;
  /** The payload's length: the rest of the message, which each decoder checks against the length it expects. */
  payloadBytes: number;
}

/** Allocates a round message of `payloadBytes` payload bytes and writes its compact header (uplink: round mod 2^16). */
export function allocRoundMessage(kind: number, flags: number, round: number, payloadBytes: number): Uint8Array {
  if (!isRoundKind(kind)) throw new RangeError(`allocRoundMessage: kind ${kind} is not a round message`);
  if (!Number.isSafeInteger(round) || round < 0 || round > 0xffffffff) {
    throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `round must be a 32-bit unsigned integer, got ${round}`);
  }
  const hb = roundHeaderBytes(kind);
  const msg = new Uint8Array(hb + payloadBytes);
  writeRoundHeader(msg, kind, flags, round);
  return msg;
}

/** Writes a round message's compact header into the first `roundHeaderBytes(kind)` bytes of `target`. */
export function writeRoundHeader(target: Uint8Array, kind: number, flags: number, round: number): void {
  target[0] = kind;
  target[1] = PROTOCOL_VERSION;
  target[2] = flags;
  target[3] = round & 0xff;
  target[4] = (round >>> 8) & 0xff;
  if (!isUplinkKind(kind)) {
    target[5] = (round >>> 16) & 0xff;
    target[6] = (round >>> 24) & 0xff;
  }
}

/**
 * Reads and checks the compact header of an untrusted round message: version, kind (a round kind), the flags
 * that kind may set, and the payload's length against `maxPayloadBytes`. Nothing is allocated: the length is the
 * message's own, never a declared one.
 */
export function readRoundHeader(msg: Uint8Array, maxPayloadBytes: number): RoundHeader {
  if (msg.byteLength < 2) throw new ProtocolError('MARINA_ERR_TRUNCATED', `message of ${msg.byteLength} bytes is shorter than a round message's header`);
  const kind = checkKindAndVersion(msg);
  if (!isRoundKind(kind)) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `${kindName(kind)} is a control message; a round message was expected here`, { kind });
  const hb = roundHeaderBytes(kind);
  if (msg.byteLength < hb) throw new ProtocolError('MARINA_ERR_TRUNCATED', `${kindName(kind)} of ${msg.byteLength} bytes is shorter than its ${hb}-byte header`);
  const flags = msg[2]!;
  const allowed = ROUND_FLAGS.get(kind) ?? 0;
  if ((flags & ~allowed) !== 0) {
    const what = (flags & ~KNOWN_FLAGS) !== 0 ? 'reserved flag bits' : 'flag bits it may not set';
    throw new ProtocolError('MARINA_ERR_BAD_FIELD', `${kindName(kind)} header sets ${what} 0x${(flags & ~allowed).toString(16)}`, { flags });
  }
  const round = hb === UPLINK_HEADER_BYTES ? msg[3]! | (msg[4]! << 8) : (msg[3]! | (msg[4]! << 8) | (msg[5]! << 16) | (msg[6]! << 24)) >>> 0;
  const payloadBytes = msg.byteLength - hb;
  if (payloadBytes > maxPayloadBytes) {
    throw new ProtocolError('MARINA_ERR_TOO_LARGE', `${kindName(kind)} payload of ${payloadBytes} bytes exceeds the limit of ${maxPayloadBytes} bytes`, { payloadBytes, maxPayloadBytes });
  }
  return { kind, flags, round, payloadBytes };
}

/** The payload of a round message whose header has been read (a view, not a copy). */
export function roundPayload(msg: Uint8Array): Uint8Array {
  return msg.subarray(roundHeaderBytes(msg[0]!));
}

/**
 * The round nearest `current` whose low 16 bits are `low16` (an uplink header's round): `current` itself for an
 * honest message, and for a stale, replayed or early one the round it was meant for, to say so in the refusal.
 */
export function widenRound(low16: number, current: number): number {
  let delta = (low16 - current) & 0xffff;
  if (delta >= 0x8000) delta -= 0x10000;
  const r = current + delta;
  return r < 0 ? r + 0x10000 : r;
}
