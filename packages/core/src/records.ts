import type { RunConfig } from './config.js';
import type { RoundKind } from './methods/types.js';
import type { Theory } from './theory.js';

/** One line of rounds.jsonl (ARCHITECTURE "Outputs"). */
export interface RoundRecord {
  round: number;
  kind: RoundKind;
  coin: boolean;
  gamma: number;
  p: number;
  /** ‖∇f(x^t)‖² and f(x^t) at this round's iterate, or null when not evaluated. */
  gradNormSq: number | null;
  loss: number | null;
  bitsUp: number;
  senders: number;
  bitsUpPerClient: number;
  wireBytesUp: number;
  wireBytesDown: number;
  telemetryBytes: number;
  xHash: string;
  seconds: number;
}

/** Where a target was first met: cost counted up to the round that produced x^t (rounds 0..t−1). */
export interface TargetResult {
  kind: 'absolute' | 'relative';
  /** As configured (`target`, or `targetRel`). */
  value: number;
  /** The threshold on ‖∇f‖² it stands for. */
  threshold: number;
  reached: boolean;
  round: number | null;
  bitsPerClient: number | null;
  wireBytesUp: number | null;
  wireBytesDown: number | null;
}

export interface RunTotals {
  rounds: number;
  bitsPerClient: number;
  wireBytesUp: number;
  wireBytesDown: number;
  telemetryBytes: number;
  controlBytes: number;
  /** What the sockets counted beyond the ledger's messages: handshakes, pings, close frames, rejected or ignored frames. */
  connectionBytes: number | null;
  seconds: number;
}

export interface RunSummary {
  runId: string;
  mode: 'sim' | 'network';
  config: RunConfig;
  theory: Theory;
  totals: RunTotals;
  targets: TargetResult[];
  stopReason: string;
  final: { round: number; gradNormSq: number | null; loss: number | null; xHash: string };
}
