/**
 * A compressor is a plain value (ARCHITECTURE "Compressors", STYLE lesson 1). Instances may hold reusable
 * scratch buffers, never algorithm state: every random draw comes from the context's (seed, round, rank).
 */
export interface CompressContext {
  /** Dimension of the vector. */
  readonly d: number;
  /** Number of clients compressing together this round (n, or r for PP-MARINA). */
  readonly n: number;
  /** This client's position among them, 0..n-1 (its rank unless a subset participates). */
  readonly slot: number;
  /** This client's rank: keys its private randomness. */
  readonly rank: number;
  readonly seed: number;
  readonly round: number;
}

/** Variance constants: ω for one client, (A, B) of the AB inequality across n clients (SPEC A.3). */
export interface CompressorConstants {
  omega: number;
  A: number;
  B: number;
  /** Where the constants come from, for the run summary. */
  note: string;
}

/** SPEC decision 5: `default` is what the MSE bounds satisfy; `paper` the 4× smaller CQ/IQ constants. */
export type ConstantsConvention = 'default' | 'paper';

export interface Compressor {
  readonly name: string;
  readonly unbiased: boolean;
  /** Needs randomness shared across clients of a round (CQ, PermK). */
  readonly correlated: boolean;
  /** Algorithm bits of one message as the papers count them (may be fractional, decision 12). */
  bits(ctx: CompressContext): number;
  /** Expected algorithm bits per message over the slots (b_Q in decision 9). */
  expectedBits(d: number, n: number): number;
  /** Exact payload length on the wire, in bits. */
  payloadBits(ctx: CompressContext): number;
  /**
   * Writes the compressed form of `a` into `out` (exactly ceil(payloadBits/8) bytes, zero padding).
   * `sumSquares`, when given, is Σ a_j² over j < d summed in kernels/rangeJs.sumSquares' fixed 8-lane order, which
   * the caller computed while forming `a` (methods/updateWriter.ts `differenceInto`): a compressor that needs
   * ‖a‖₂ in that order (IQ, CQ, dithering with p = 2, DRIVE) takes it instead of reading `a` once more. It must
   * be that sum bit for bit, so the payload is the same with or without it.
   */
  encode(a: Float64Array, ctx: CompressContext, out: Uint8Array, sumSquares?: number): void;
  /**
   * Validates an untrusted payload completely, then adds Q_slot(a) into `sum`. Throws a ProtocolError
   * before touching `sum` if the payload is malformed.
   */
  decodeInto(sum: Float64Array, payload: Uint8Array, ctx: CompressContext): void;
  /** ω and (A, B) for dimension d and n clients under a constants convention. */
  constants(d: number, n: number, convention: ConstantsConvention): CompressorConstants;
  /** Expected number of nonzero coordinates per message (ζ_Q of MARINA's p = ζ_Q/d). */
  zeta(d: number, n: number): number;
  /**
   * Present on a range quantizer with decision 3's shared range: a compressed round then goes in two
   * steps. The client's `encode` holds its vector; it sends `heldNorm()` (32 bits), gets R = the max of the
   * senders' norms, and `release(R)` writes the held vector's d bits into the payload `encode` was given.
   * The server `set(R)`s before decoding the round's messages.
   */
  readonly sharedRange?: SharedRange;
  /**
   * Present on a codec whose payloads can be judged without decoding them and added together (the one-bit range
   * quantizers): a server that only sums a round's updates holds their bytes and adds them all at once.
   */
  readonly blocked?: BlockedDecode;
}

/** Decoding a round's payloads together: one pass over the sum per round instead of one per payload. */
export interface BlockedDecode {
  /**
   * Validates an untrusted payload completely (what `decodeInto` checks before touching the sum), then returns
   * ‖Q‖₂ of the vector it decodes to, computed from the payload alone. Throws a ProtocolError if malformed.
   */
  payloadNorm(payload: Uint8Array, ctx: CompressContext): number;
  /**
   * Adds every payload's decoded vector into `sum`, in the order given: for each coordinate the same additions in
   * the same order as one `decodeInto` per payload, so the same sums bit for bit. Validates every payload before
   * `sum` is touched.
   */
  decodeManyInto(sum: Float64Array, payloads: readonly Uint8Array[], ctxs: readonly CompressContext[]): void;
}

export interface SharedRange {
  heldNorm(): number;
  release(R: number): void;
  set(R: number): void;
}

/** Per-compressor options, read from the run configuration by `compressorOptions` (compressors/options.ts). */
export interface CompressorOptions {
  /** RandK/TopK: coordinates kept (null: the compressor's default, d/n). */
  k: number | null;
  /** Dithering: number of nonzero levels s (decision 16: default 4). */
  levels: number;
  /** Dithering: the p-norm, a number ≥ 1 or Infinity (decision 16: default 2). */
  norm: number;
  /** IQ/CQ: each client's own range, or one shared range per round (decision 3; default client). */
  range?: 'client' | 'shared';
}
