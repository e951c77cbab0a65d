import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  decodeHello, encodeBye, encodeError, encodeWelcome, isProtocolError, Kind, kindName, MAX_CONTROL_BYTES,
  payloadOf, ProtocolError, readHeader, wsFrameBytes,
} from '@marina/protocol';
import { Coordinator, setupRun, type RoundRecord, type RunConfig, type RunSummary } from '@marina/core';
import { nodeHooks, runIdOf } from './hash.js';
import { RunFolder } from './runFolder.js';
import { attachMetrics } from './metrics.js';
import { attachDashboard } from './dashboard/routes.js';
import { createHttpFront, type RouteHandler, type UpgradeHandler } from './http.js';

export interface ServerOptions {
  config: RunConfig;
  port: number;
  host: string;
  /** Run folder, or null to write nothing. */
  out: string | null;
  force: boolean;
  logger: Logger;
  /** A connected client that has not answered within this long is disconnected. */
  roundTimeoutMs: number;
  /** How long a vacant rank may wait for a client to take it before the run is aborted. */
  joinTimeoutMs: number;
  /** How long to wait for all n clients to join before giving up (0: no limit). */
  waitTimeoutMs: number;
  /** Seconds to keep serving HTTP after the run ends (dashboard, /metrics, /healthz). */
  lingerSeconds: number;
}

/** One socket's byte counts: what the kernel socket counted, and how it splits. */
export interface SocketStats {
  rank: number;
  remote: string;
  bytesRead: number;
  bytesWritten: number;
  handshakeRead: number;
  handshakeWritten: number;
  /** Frame bytes of the messages this socket carried (ledger-accounted and rejected ones). */
  framesRead: number;
  framesWritten: number;
}

interface Conn {
  ws: WebSocket;
  socket: Socket;
  rank: number;
  /** Set once the server has rejected this connection: frames it still delivers while closing are ignored. */
  rejected: boolean;
  log: Logger;
  stats: SocketStats;
}

/**
 * Events: 'roundStart' (round number), 'round' (RoundRecord, and the ledger's RoundTraffic with per-client
 * numbers), 'clients' (connected count), 'end' (RunSummary).
 */
export interface MarinaServer extends EventEmitter {
  readonly port: number;
  readonly coordinator: Coordinator;
  readonly runId: string;
  /** Resolves with the summary once the run has ended and every client socket closed. */
  readonly done: Promise<RunSummary & { sockets: SocketStats[] }>;
  /** Extra HTTP routes (the dashboard and metrics attach here). */
  route(path: string, handler: RouteHandler): void;
  /**
   * Takes WebSocket upgrades on `path` away from the protocol (the dashboard's live feed). Such sockets are
   * not clients: their bytes are in no ledger and no socket statistics.
   */
  upgrade(path: string, handler: UpgradeHandler): void;
  /** Ends the run now (SIGTERM): clients get bye, outputs are written. */
  shutdown(reason: string): void;
  /** Connected clients by rank. */
  connected(): number;
}

/**
 * The parameter server: one port for WebSocket and HTTP. It waits for n clients, assigns ranks in arrival
 * order, sends each the run configuration, then drives the coordinator round by round. It holds no math:
 * bytes go to core's Coordinator, which accumulates in rank order.
 */
export async function startServer(opts: ServerOptions): Promise<MarinaServer> {
  const { config, logger } = opts;
  const setup = setupRun(config);
  const coordinator = new Coordinator(setup, nodeHooks);
  const runId = runIdOf(config);
  // Opened once the port is ours, so a port in use leaves no half-made run folder behind.
  let folder: RunFolder | null = null;
  const n = config.clients;
  const byRank: (Conn | null)[] = new Array(n).fill(null);
  const allConns = new Set<Conn>();
  const closedStats: SocketStats[] = [];
  const events = new EventEmitter();
  let phase: 'waiting' | 'running' | 'ending' | 'done' = 'waiting';
  let roundTimer: NodeJS.Timeout | null = null;
  let joinTimer: NodeJS.Timeout | null = null;
  let resolveDone!: (s: RunSummary & { sockets: SocketStats[] }) => void;
  const done = new Promise<RunSummary & { sockets: SocketStats[] }>((r) => (resolveDone = r));

  // A maximum message size from d: the largest honest client message is an eval report (8(d+1) bytes),
  // or, for tiny d, a hello (at least 1 KiB).
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: Math.max(24 + coordinator.maxPayloadBytes, 1024) });
  const front = createHttpFront((req, socket, head) => wss.handleUpgrade(req, socket as Socket, head, (ws) => onConnection(ws, req)));
  const http = front.http;
  front.route('/healthz', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, phase, round: coordinator.currentRound, connected: connectedCount() }));
  });

  function connectedCount(): number {
    return byRank.filter((c) => c !== null).length;
  }

  function send(conn: Conn, msg: Uint8Array): void {
    conn.stats.framesWritten += wsFrameBytes(msg.length, false);
    conn.ws.send(msg, { binary: true });
  }

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    const socket = req.socket;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const conn: Conn = {
      ws,
      socket,
      rank: -1,
      rejected: false,
      log: logger.child({ remote }),
      stats: { rank: -1, remote, bytesRead: 0, bytesWritten: 0, handshakeRead: socket.bytesRead, handshakeWritten: socket.bytesWritten, framesRead: 0, framesWritten: 0 },
    };
    allConns.add(conn);
    // Every socket gets an error listener: an unhandled 'error' would take the whole server down.
    ws.on('error', (err) => conn.log.warn({ err: err.message }, 'socket error'));
    ws.on('message', (data: Buffer, isBinary) => onMessage(conn, data, isBinary));
    ws.on('close', (code, reason) => onClose(conn, code, reason.toString()));
    conn.log.debug('connected');
  }

  function onMessage(conn: Conn, data: Buffer, isBinary: boolean): void {
    conn.stats.framesRead += wsFrameBytes(data.length, true);
    // ws still delivers frames while a rejected socket closes: they are counted, never acted on.
    if (conn.rejected) return;
    try {
      if (!isBinary) throw new ProtocolError('MARINA_ERR_BAD_KIND', 'text frames are not part of the marina protocol; send binary messages');
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (conn.rank < 0) return onHello(conn, bytes);
      if (bytes.length >= 1 && bytes[0] === Kind.Bye) {
        coordinator.ledger.up(conn.rank, 'control', bytes.length);
        conn.log.info('client said bye');
        conn.ws.close(1000);
        return;
      }
      if (phase !== 'running') throw new ProtocolError('MARINA_ERR_UNEXPECTED', `message of kind ${kindName(bytes[0] ?? -1) ?? bytes[0]} before the run started`);
      coordinator.accept(conn.rank, bytes);
    } catch (caught) {
      let e = caught;
      if (!isProtocolError(e)) {
        // Bytes from one client must never take the server down: treat the failure as that client's.
        logger.error({ err: e }, 'internal error while handling a message');
        e = new ProtocolError('MARINA_ERR_UNEXPECTED', `internal error while handling rank ${conn.rank}'s message: ${(e as Error).message}`);
      }
      const err = e as ProtocolError;
      const culprit = typeof err.data?.['rank'] === 'number' ? byRank[err.data['rank'] as number] ?? conn : conn;
      reject(culprit, err);
    } finally {
      progress();
    }
  }

  /**
   * Starts the run once n clients are in, and finishes every complete round. Outside the per-message
   * handling on purpose: a failure here (a full disk under the run folder, a listener that throws) is the
   * server's, not the client's whose message completed the round, and it ends the run cleanly.
   */
  function progress(): void {
    try {
      if (phase === 'waiting' && connectedCount() === n) {
        phase = 'running';
        logger.info({ clients: n }, 'all clients joined; starting the run');
        startNextRound();
      }
      advance();
    } catch (e) {
      logger.error({ err: e }, 'internal error while finishing a round');
      finish(`aborted: internal error: ${(e as Error).message}`);
    }
  }

  function onHello(conn: Conn, bytes: Uint8Array): void {
    const h = readHeader(bytes, MAX_CONTROL_BYTES);
    if (h.kind !== Kind.Hello) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `expected hello as the first message, got ${kindName(h.kind)}`);
    const hello = decodeHello(payloadOf(bytes));
    coordinator.ledger.up(-1, 'control', bytes.length);
    const rank = byRank.indexOf(null);
    if (phase === 'ending' || phase === 'done') throw new ProtocolError('MARINA_ERR_RUN_FULL', 'the run is over');
    if (rank < 0) throw new ProtocolError('MARINA_ERR_RUN_FULL', `all ${n} ranks are taken`);
    conn.rank = rank;
    conn.stats.rank = rank;
    conn.log = conn.log.child({ rank });
    byRank[rank] = conn;
    const welcome = encodeWelcome({ rank, clients: n, seed: config.seed, config: config as unknown as Record<string, unknown> });
    coordinator.ledger.down(rank, 'control', welcome.length);
    send(conn, welcome);
    conn.log.info({ client: hello.client }, 'client joined');
    events.emit('clients', connectedCount());
    if (phase === 'running') {
      // A rank that was vacated mid-run: the replacement recomputes what it owes from x^{t−1} and x^t.
      coordinator.rejoined(rank);
      if (connectedCount() === n && joinTimer) {
        clearTimeout(joinTimer);
        joinTimer = null;
      }
      if (coordinator.expects(rank)) {
        sendRoundStart(rank);
        armRoundTimer(); // the newcomer gets a full round timeout too
      }
    }
  }

  function reject(conn: Conn, err: ProtocolError): void {
    conn.rejected = true;
    conn.log.warn({ code: err.code, err: err.message }, 'rejecting client');
    if (conn.ws.readyState === conn.ws.OPEN) {
      const msg = encodeError({ code: err.code, message: err.message }, conn.rank < 0 ? undefined : conn.rank);
      coordinator.ledger.down(conn.rank, 'control', msg.length);
      send(conn, msg);
      conn.ws.close(err.closeCode, err.code);
    }
    vacate(conn);
  }

  function vacate(conn: Conn): void {
    if (conn.rank >= 0 && byRank[conn.rank] === conn) {
      byRank[conn.rank] = null;
      coordinator.forget(conn.rank);
      events.emit('clients', connectedCount());
      if (phase === 'running' && !setup.method.resumable) {
        // DIANA's h_i or EF21's g_i left with the client: a replacement could not recompute them.
        finish(`aborted: rank ${conn.rank} left, and ${config.method} keeps client state that a new client cannot recompute`);
      } else if (phase === 'running' && !joinTimer) {
        logger.warn({ rank: conn.rank, joinTimeoutMs: opts.joinTimeoutMs }, 'rank vacated; waiting for a client to take it');
        joinTimer = setTimeout(() => {
          joinTimer = null;
          if (connectedCount() < n) finish(`aborted: rank(s) ${byRank.flatMap((c, i) => (c ? [] : [i])).join(', ')} vacant for ${opts.joinTimeoutMs} ms`);
        }, opts.joinTimeoutMs);
      }
    }
  }

  function onClose(conn: Conn, code: number, reason: string): void {
    conn.stats.bytesRead = conn.socket.bytesRead;
    conn.stats.bytesWritten = conn.socket.bytesWritten;
    allConns.delete(conn);
    closedStats.push(conn.stats);
    if (phase === 'running' && conn.rank >= 0 && byRank[conn.rank] === conn) {
      conn.log.warn({ code, reason }, 'client disconnected mid-run');
    }
    vacate(conn);
    if (phase === 'ending' && allConns.size === 0) complete();
  }

  function sendRoundStart(rank: number): void {
    const conn = byRank[rank];
    if (!conn) return; // vacant: the replacement gets it on joining
    const msg = coordinator.roundStartFor(rank);
    coordinator.markSent(rank, msg);
    send(conn, msg);
  }

  function startNextRound(): void {
    const out = coordinator.startRound();
    if (!out) return finish(coordinator.stopReason ?? 'done');
    events.emit('roundStart', out.plan.round);
    for (const rank of out.addressees) sendRoundStart(rank);
    armRoundTimer();
  }

  function armRoundTimer(): void {
    if (roundTimer) clearTimeout(roundTimer);
    roundTimer = setTimeout(() => {
      for (const rank of coordinator.waitingFor()) {
        const conn = byRank[rank];
        if (conn) reject(conn, new ProtocolError('MARINA_ERR_TIMEOUT', `rank ${rank} did not answer round ${coordinator.currentRound} within ${opts.roundTimeoutMs} ms`));
      }
    }, opts.roundTimeoutMs);
  }

  /** Finishes every round that is complete and starts the next. */
  function advance(): void {
    while (phase === 'running' && coordinator.roundComplete()) {
      const record: RoundRecord = coordinator.finishRound();
      folder?.appendRound(record);
      events.emit('round', record, coordinator.lastTraffic);
      startNextRound();
    }
  }

  function finish(reason: string): void {
    if (phase === 'ending' || phase === 'done') return;
    coordinator.abort(reason);
    phase = 'ending';
    if (roundTimer) clearTimeout(roundTimer);
    if (joinTimer) clearTimeout(joinTimer);
    const aborted = reason.startsWith('aborted');
    logger.info({ reason }, aborted ? 'run aborted' : 'run finished');
    for (const conn of allConns) {
      if (conn.ws.readyState !== conn.ws.OPEN) continue;
      const bye = encodeBye({ reason: aborted ? 'aborted' : 'done', message: reason.replace(/^aborted: /, '') });
      coordinator.ledger.down(conn.rank, 'control', bye.length);
      send(conn, bye);
    }
    // Clients close on bye; a client that does not is cut off after a grace period.
    setTimeout(() => {
      for (const conn of allConns) conn.ws.terminate();
    }, 5000).unref();
    if (allConns.size === 0) complete();
  }

  function complete(): void {
    if (phase === 'done') return;
    phase = 'done';
    const sockets = closedStats;
    const socketTotal = sockets.reduce((s, c) => s + c.bytesRead + c.bytesWritten, 0);
    const t = coordinator.ledger.totals;
    const connectionBytes = socketTotal - (t.wireBytesUp + t.wireBytesDown + t.telemetryBytes + t.controlBytes);
    const summary = { ...coordinator.summary(runId, 'network', connectionBytes), sockets };
    folder?.writeSummary(summary);
    folder?.close();
    events.emit('end', summary);
    const closeHttp = () => {
      wss.close();
      http.close();
      http.closeAllConnections();
      resolveDone(summary);
    };
    if (opts.lingerSeconds > 0) {
      logger.info({ seconds: opts.lingerSeconds }, 'run over; lingering to serve HTTP');
      lingerTimer = setTimeout(closeHttp, opts.lingerSeconds * 1000);
      lingerClose = closeHttp;
    } else closeHttp();
  }
  let lingerTimer: NodeJS.Timeout | null = null;
  let lingerClose: (() => void) | null = null;

  await new Promise<void>((resolve, rejectListen) => {
    http.once('error', rejectListen);
    http.listen(opts.port, opts.host, () => resolve());
  });
  try {
    folder = opts.out ? RunFolder.open(opts.out, opts.force) : null;
  } catch (e) {
    http.close();
    throw e;
  }
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  logger.info({ port, host: opts.host, runId, clients: n, method: config.method, compressor: config.compressor, p: setup.theory.p, gamma: setup.theory.gamma }, 'server listening');
  if (opts.waitTimeoutMs > 0) {
    setTimeout(() => {
      if (phase === 'waiting') finish(`aborted: only ${connectedCount()} of ${n} clients joined within ${opts.waitTimeoutMs} ms`);
    }, opts.waitTimeoutMs).unref();
  }

  const server = Object.assign(events, {
    port,
    coordinator,
    runId,
    done,
    route: front.route,
    upgrade: front.upgrade,
    shutdown(reason: string) {
      if (phase === 'done') {
        if (lingerTimer) clearTimeout(lingerTimer);
        lingerClose?.();
      } else finish(`aborted: ${reason}`);
    },
    connected: connectedCount,
  }) as MarinaServer;
  // Attached before any client can connect (listen has resolved, but no I/O callback has run yet).
  attachMetrics(server);
  attachDashboard(server);
  return server;
}
