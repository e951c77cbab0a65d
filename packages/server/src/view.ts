import type { EventEmitter } from 'node:events';
import type { Ledger } from '@marina/protocol';
import type { RunConfig, RunSetup } from '@marina/core';
import type { Access, RouteHandler, UpgradeHandler } from './http.js';

/**
 * What the dashboard and /metrics read of a running server: a narrow view, so they depend on this
 * interface and not on `server.ts` (which attaches them). Events: 'roundStart' (round), 'round'
 * (RoundRecord, RoundTraffic), 'clients' (connected count), 'resolved' (RunSetup), 'end' (RunSummary).
 */
export interface RunView extends EventEmitter {
  readonly runId: string;
  readonly config: RunConfig;
  /** n. */
  readonly clients: number;
  /** The run's one ledger: every total is read from it. */
  readonly ledger: Ledger;
  /** The run as resolved from the clients' reports; null during the join phase. */
  resolved(): RunSetup | null;
  /** Settles once the run has ended and every client socket closed. */
  readonly done: Promise<unknown>;
  /**
   * Extra HTTP routes (the dashboard and metrics attach here). With a secret, a route asks for the dashboard
   * token unless its access is `open` (README "Security").
   */
  route(path: string, handler: RouteHandler, access?: Access): void;
  /** Takes WebSocket upgrades on `path` away from the protocol (the dashboard's live feed); token-guarded likewise. */
  upgrade(path: string, handler: UpgradeHandler, access?: Access): void;
}
