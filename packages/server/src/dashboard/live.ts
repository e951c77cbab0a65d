import type { WebSocket } from 'ws';
import type { RoundTraffic } from '@marina/protocol';
import type { RoundRecord, RunSummary } from '@marina/core';
import type { RunView } from '../view.js';

/** How often buffered rounds go out to dashboards (ms): a browser redraws at most this often. */
const FLUSH_MS = 250;
/** A new dashboard gets at most this many past rounds (evenly thinned, the last one kept). */
const MAX_SNAPSHOT_POINTS = 20_000;
/** A dashboard that cannot keep up is dropped rather than buffered without bound (bytes). */
const MAX_BUFFERED = 16 * 1024 * 1024;

/** Rounds as parallel arrays (the shape uPlot plots). `bits`: mean algorithm bits per client spent before x^t. */
export interface Points {
  round: number[];
  gradNormSq: (number | null)[];
  bits: number[];
  seconds: number[];
}

/**
 * The dashboard's live feed: JSON text messages on `/live`, a socket apart from the protocol's, so nothing
 * here is in the run's ledger or socket statistics.
 *
 * - `init`: the run (id, configuration, theory), connection state and every past round (thinned);
 * - `rounds`: rounds finished since the last message, with per-client cumulative uplink bytes and totals;
 * - `clients`: the connected count changed;
 * - `end`: the run is over (stop reason and summary totals).
 *
 * Rounds are batched every FLUSH_MS, so a run at thousands of rounds per second costs a few messages per
 * second per dashboard.
 */
export class LiveFeed {
  private readonly sockets = new Set<WebSocket>();
  private readonly n: number;
  /** Per-client cumulative algorithm wire bytes up (the ledger's per-client numbers). */
  private readonly uplink: Float64Array;
  /** Latest `--test-data` evaluation (null without test data). */
  private test: { loss: number; accuracy: number | null } | null = null;
  private pending: Points = emptyPoints();
  /** Past rounds for dashboards that open later: every `stride`-th round, halved when it grows too long. */
  private history: Points = emptyPoints();
  private stride = 1;
  private latest: { round: number; gradNormSq: number | null; bits: number; seconds: number } | null = null;
  private connected = 0;
  private phase: 'waiting' | 'running' | 'finished' = 'waiting';
  private stopReason: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly server: RunView) {
    this.n = server.clients;
    this.uplink = new Float64Array(this.n);
    server.on('round', (record: RoundRecord, traffic: RoundTraffic | null) => this.onRound(record, traffic));
    server.on('resolved', () => {
      this.flush();
      for (const ws of this.sockets) this.send(ws, this.snapshot());
    });
    server.on('clients', (count: number) => {
      this.connected = count;
      this.broadcast({ type: 'clients', connected: count });
    });
    server.on('end', (summary: RunSummary) => {
      this.flush();
      this.phase = 'finished';
      this.stopReason = summary.stopReason;
      this.broadcast({ type: 'end', stopReason: summary.stopReason, totals: summary.totals, final: summary.final });
    });
  }

  /** Takes a dashboard socket: sends it the run so far, then keeps it updated. */
  add(ws: WebSocket): void {
    // Send what is buffered to the others first, so the newcomer's snapshot and later batches do not overlap.
    this.flush();
    ws.on('error', () => this.sockets.delete(ws));
    ws.on('close', () => this.sockets.delete(ws));
    // The feed is one-way; anything a browser sends is ignored.
    ws.on('message', () => {});
    this.sockets.add(ws);
    this.send(ws, this.snapshot());
    if (!this.timer) {
      this.timer = setInterval(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Closes every dashboard socket (the server stopped serving HTTP). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const ws of this.sockets) ws.close(1001, 'server closing');
    // A browser that does not answer the close handshake must not keep the process alive.
    setTimeout(() => {
      for (const ws of this.sockets) ws.terminate();
    }, 1000).unref();
  }

  private onRound(record: RoundRecord, traffic: RoundTraffic | null): void {
    this.phase = 'running';
    if (record.testLoss !== null) this.test = { loss: record.testLoss, accuracy: record.testAccuracy };
    // Cost counted up to the round that produced x^t (rounds 0..t−1), as targets are (records.ts): the ledger
    // has closed round t already.
    const bitsBefore = (this.server.ledger.totals.bitsUp - record.bitsUp) / this.n;
    // Points wait for the next flush only when someone watches: with no dashboard open the pending batch
    // would grow by a point a round for the whole run (a newcomer gets the thinned history instead).
    if (this.sockets.size > 0) {
      const p = this.pending;
      p.round.push(record.round);
      p.gradNormSq.push(record.gradNormSq);
      p.bits.push(bitsBefore);
      p.seconds.push(record.seconds);
    }
    this.remember(record, bitsBefore);
    if (traffic) for (let i = 0; i < this.n; i++) this.uplink[i]! += traffic.perClient[i]!.wireBytesUp;
  }

  /** Keeps a bounded, evenly thinned history: memory stays O(MAX_SNAPSHOT_POINTS) however long the run. */
  private remember(record: RoundRecord, bits: number): void {
    this.latest = { round: record.round, gradNormSq: record.gradNormSq, bits, seconds: record.seconds };
    if (record.round % this.stride !== 0) return;
    pushPoint(this.history, this.latest);
    if (this.history.round.length >= 2 * MAX_SNAPSHOT_POINTS) {
      const h = this.history;
      const keep = (_: unknown, i: number) => i % 2 === 0;
      this.history = { round: h.round.filter(keep), gradNormSq: h.gradNormSq.filter(keep), bits: h.bits.filter(keep), seconds: h.seconds.filter(keep) };
      this.stride *= 2;
    }
  }

  /** The run's totals, read from its one ledger. */
  private get totals(): { bitsPerClient: number; wireBytesUp: number; wireBytesDown: number; telemetryBytes: number } {
    const t = this.server.ledger.totals;
    return { bitsPerClient: t.bitsUp / this.n, wireBytesUp: t.wireBytesUp, wireBytesDown: t.wireBytesDown, telemetryBytes: t.telemetryBytes };
  }

  private flush(): void {
    if (this.pending.round.length === 0) return;
    const points = this.pending;
    this.pending = emptyPoints();
    this.broadcast({ type: 'rounds', points, uplink: Array.from(this.uplink), totals: this.totals, connected: this.connected, test: this.test });
  }

  private snapshot(): Record<string, unknown> {
    const config = this.server.config;
    const resolved = this.server.resolved();
    // Until every client has reported its shard the theory is unknown (the join phase).
    const theory = resolved?.theory ?? { status: 'waiting for every client to report its shard' };
    const points = clonePoints(this.history);
    const last = this.latest;
    if (last && points.round.at(-1) !== last.round) pushPoint(points, last);
    return {
      type: 'init',
      runId: this.server.runId,
      config,
      d: resolved?.d ?? null,
      theory,
      phase: this.phase,
      stopReason: this.stopReason,
      connected: this.connected,
      points,
      uplink: Array.from(this.uplink),
      totals: this.totals,
      test: this.test,
    };
  }

  private broadcast(msg: Record<string, unknown>): void {
    if (this.sockets.size === 0) return;
    const text = JSON.stringify(msg);
    for (const ws of this.sockets) this.send(ws, text);
  }

  /** Open dashboard sockets. */
  get size(): number {
    return this.sockets.size;
  }

  private send(ws: WebSocket, msg: Record<string, unknown> | string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      this.sockets.delete(ws);
      ws.terminate();
      return;
    }
    ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }
}

function emptyPoints(): Points {
  return { round: [], gradNormSq: [], bits: [], seconds: [] };
}

function clonePoints(p: Points): Points {
  return { round: [...p.round], gradNormSq: [...p.gradNormSq], bits: [...p.bits], seconds: [...p.seconds] };
}

function pushPoint(p: Points, x: { round: number; gradNormSq: number | null; bits: number; seconds: number }): void {
  p.round.push(x.round);
  p.gradNormSq.push(x.gradNormSq);
  p.bits.push(x.bits);
  p.seconds.push(x.seconds);
}
