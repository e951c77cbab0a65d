/**
 * The one registry of protocol errors (STYLE lesson 5): each stable string code maps to the WebSocket
 * close code (4000–4999, application range) that a peer sending such bytes is disconnected with.
 */
export const ProtocolErrors = {
  MARINA_ERR_TRUNCATED: 4001,
  MARINA_ERR_TRAILING_BYTES: 4002,
  MARINA_ERR_BAD_KIND: 4003,
  MARINA_ERR_BAD_VERSION: 4004,
  MARINA_ERR_BAD_FIELD: 4005,
  MARINA_ERR_OUT_OF_RANGE: 4006,
  MARINA_ERR_TOO_LARGE: 4007,
  MARINA_ERR_NONZERO_PADDING: 4008,
  MARINA_ERR_NOT_FINITE: 4009,
  MARINA_ERR_UNEXPECTED: 4010,
  MARINA_ERR_BAD_CONFIG: 4011,
  MARINA_ERR_RUN_FULL: 4012,
  MARINA_ERR_TIMEOUT: 4013,
  MARINA_ERR_PEER: 4014,
  /** A data file (LIBSVM, IDX) is malformed: the message names the file and the line. */
  MARINA_ERR_BAD_DATA: 4015,
  /** A client's shard does not fit the run: another feature count, an empty shard, another shard on rejoin. */
  MARINA_ERR_BAD_SHARD: 4016,
  /**
   * The hello does not prove knowledge of the run's secret (`--secret-file`): no proof where the server asks
   * for one, or a proof that is not HMAC-SHA256(secret, the challenge's nonce ‖ version ‖ client name).
   */
  MARINA_ERR_AUTH: 4017,
  /**
   * A client's update would carry values its float32 message cannot (|v_j| > 3.4e38, or not finite): the run
   * diverged. Not a fault of the bytes: the server ends the run with stopReason `diverged` (a result).
   */
  MARINA_ERR_DIVERGED: 4018,
  /**
   * The server is busy: too many connections are waiting to join at once (`--max-pending`). Retriable, unlike
   * MARINA_ERR_RUN_FULL: the client backs off and tries again, and gets in once the others have joined.
   */
  MARINA_ERR_BUSY: 4019,
  /**
   * A well-formed message from an authenticated client whose values are absurd: its decoded norm is far above
   * what the client's own smoothness constant, the iterates and its earlier messages allow (README "Security",
   * the plausibility rule). The client is refused; its rank can be taken by another.
   */
  MARINA_ERR_IMPLAUSIBLE: 4020,
  /** Too many failed authentications from this address lately: refused before any check (README "Security"). */
  MARINA_ERR_RATE_LIMITED: 4021,
} as const;

export type ProtocolErrorCode = keyof typeof ProtocolErrors;

/** A typed, serializable protocol error: `code` is stable, `message` names the field, the value and what was expected. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly closeCode: number;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ProtocolErrorCode, message: string, data?: Record<string, unknown>) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.closeCode = ProtocolErrors[code];
    this.data = data;
  }

  /** The wire form carried by an error message. */
  toJSON(): { code: ProtocolErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isProtocolError(e: unknown): e is ProtocolError {
  return e instanceof ProtocolError;
}
