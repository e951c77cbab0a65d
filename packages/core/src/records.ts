import type { Ledger } from '@marina/protocol';
import type { Divergence } from './coordinator.js';
import type { RunConfig } from './config.js';
import type { RoundKind } from './methods/types.js';
import type { ShardFacts } from './problems/types.js';
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
  /** `--test-data`: loss and accuracy of the held-out set at x^t (telemetry; null when not evaluated). */
  testLoss: number | null;
  testAccuracy: number | null;
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
  /** The first evaluated round whose x^t met it: reached by this round at the latest (`--eval-every`). */
  round: number | null;
  /**
   * The evaluated round before `round` (where it did not hold; null if none): rounds between were not evaluated.
   * For a ‖∇f‖² that falls round by round it was first met in (previousEvaluation, round], so exactly at `round`
   * when this is round − 1; a noisy one may also have dipped below it unseen. Absent in older summaries.
   */
  previousEvaluation?: number | null;
  bitsPerClient: number | null;
  wireBytesUp: number | null;
  wireBytesDown: number | null;
}

/**
 * A reached target's round as tables show it: "t", or "≤ t" when the round before t was not evaluated (the target
 * may have been met in a round between; `--eval-every`).
 */
export function shownTargetRound(r: Pick<TargetResult, 'round' | 'previousEvaluation'>): string {
  const gap = r.round !== null && r.previousEvaluation != null && r.previousEvaluation < r.round - 1;
  return gap ? `≤ ${r.round}` : String(r.round);
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
  /** d, resolved by the server from the clients' reports. */
  d: number | null;
  /**
   * What each client reported when it joined (index = rank): rows, features, its L_i and how it was obtained
   * (exact, bound, estimate), and its shard's fingerprint; `theory.exact` says which of L_-, L_+, L_± are
   * exact and which are decision 10's bounds from these L_i.
   */
  shards: ShardFacts[];
  /** The resolved theory; null when the run ended before every client reported (the join phase). */
  theory: Theory | null;
  totals: RunTotals;
  targets: TargetResult[];
  /** How the run stopped: `target: …`, `rounds: …`, `budget: …`, `diverged: …` or `aborted: …`. */
  stopReason: string;
  /** Where a diverged run diverged (stopReason `diverged: …`), else null. */
  divergence: Divergence | null;
  /** `marina local --link`: each client process's emulated link (README "Slow networks"); absent without. */
  link?: LinkSummary;
  final: { round: number; gradNormSq: number | null; loss: number | null; testLoss: number | null; testAccuracy: number | null; xHash: string };
}

/** The emulated links of a `marina local --link` run: the flags, and each rank's link as applied. */
export interface LinkSummary {
  link: string | null;
  slowLink: string | null;
  slowClients: number;
  /** The server's address on the links' bridge. */
  serverAddress: string;
  /** Index = rank. Rates in bits per second (null: not limited); delay and jitter one-way, each direction. */
  ranks: { spec: string; upBps: number | null; downBps: number | null; delayMs: number; jitterMs: number; lossPct: number }[];
}

/** The summary of a run that ended in its join phase (before every client reported): no theory, no rounds. */
export function unresolvedSummary(config: RunConfig, runId: string, ledger: Ledger, connectionBytes: number | null, stopReason: string): RunSummary {
  const t = ledger.totals;
  return {
    runId,
    mode: 'network',
    config,
    d: null,
    shards: [],
    theory: null,
    totals: { rounds: 0, bitsPerClient: 0, wireBytesUp: t.wireBytesUp, wireBytesDown: t.wireBytesDown, telemetryBytes: t.telemetryBytes, controlBytes: t.controlBytes, connectionBytes, seconds: 0 },
    targets: [],
    stopReason,
    divergence: null,
    final: { round: 0, gradNormSq: null, loss: null, testLoss: null, testAccuracy: null, xHash: '' },
  };
}
