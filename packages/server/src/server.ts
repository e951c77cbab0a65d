import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  decodeHello, decodeReport, encodeAssign, encodeBye, encodeChallenge, encodeError, encodeWelcome, type Hello, isProtocolError, Kind, kindName, Ledger,
  MAX_CONTROL_BYTES, NONCE_BYTES, payloadOf, ProtocolError, ProtocolErrors, readHeader, wsFrameBytes,
} from '@marina/protocol';
import {
  checkFacts, Coordinator, getProblem, maxPayloadBytes, resolveRun, type RoundRecord, type RunConfig, type RunSetup, type RunSummary,
  getMethod, type ShardFacts, testEvaluator, unresolvedSummary, validateRun, type Dataset,
} from '@marina/core';
import { nodeHooks, runIdOf } from './hash.js';
import { RunFolder } from './runFolder.js';
import { attachMetrics } from './metrics.js';
import { attachDashboard } from './dashboard/routes.js';
import { createHttpFront } from './http.js';
import { RunLifecycle } from './lifecycle.js';
import { CheckpointError, type CheckpointFile } from './checkpoint.js';
import { RunSink } from './sink.js';
import { RankTable, type Conn, type SocketStats } from './ranks.js';
import { AuthThrottle, bindingRefusal, dashboardToken, expectedProof, isLoopback, proofMatches } from './security.js';
import type { RunView } from './view.js';

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
  /** `--test-data`, read by the caller: the server evaluates test loss and accuracy at the iterate (telemetry). */
  testData?: Dataset | null;
  /**
   * The run's secret (the bytes of `--secret-file`), or null: every hello must then prove it (challenge and
   * response), and the dashboard and /metrics ask for the token derived from it (README "Security").
   */
  secret?: Uint8Array | null;
  /** Allow a non-loopback `host` without a secret (`--insecure`): anyone who reaches the port may join. */
  insecure?: boolean;
  /** A new connection must say hello within this long (default 10 s), or it is cut off. */
  helloTimeoutMs?: number;
  /** A ranked client must report its shard within this long after its hello (default 300 s: data takes time to read). */
  reportTimeoutMs?: number;
  /** Connections that have not joined yet (no accepted hello) at most; more are refused at once (default 64). */
  maxPending?: number;
  /** Failed authentications per address per minute before its connections are refused for the rest of it (default 10; 0: no limit). */
  maxAuthFailures?: number;
  /**
   * Liveness: every this many ms each protocol socket is pinged; one that has not answered the previous ping is
   * cut off (a frozen or vanished client; default 30 s). Ping and pong frames count as connection bytes.
   */
  pingIntervalMs?: number;
  /** Write checkpoint.json every this many rounds (0: only when stopped by a signal). */
  checkpointEvery?: number;
  /** Continue the run of this checkpoint (its folder is `out`): config, reports and coordinator state. */
  resume?: CheckpointFile | null;
  /** PEM certificate chain and key (`--tls-cert`, `--tls-key`): HTTPS and wss:// on the one port. */
  tls?: { cert: string | Buffer; key: string | Buffer } | null;
}

/**
 * Events: 'roundStart' (round number), 'round' (RoundRecord, and the ledger's RoundTraffic with per-client
 * numbers), 'clients' (connected count), 'resolved' (RunSetup), 'end' (RunSummary).
 */
export interface MarinaServer extends RunView, EventEmitter {
  readonly port: number;
  /** The round state machine, once every client has reported its shard (null during the join phase). */
  readonly coordinator: Coordinator | null;
  /** Resolves with the summary once the run has ended and every client socket closed. */
  readonly done: Promise<RunSummary & { sockets: SocketStats[] }>;
  /** Ends the run now (SIGTERM): clients get bye, outputs are written. */
  shutdown(reason: string): void;
  /** Connected clients by rank. */
  connected(): number;
}

/**
 * The parameter server: one port for WebSocket and HTTP. The join phase: it assigns ranks in arrival order
 * and sends each client the configuration; each client reports what its shard gives the theory (rows,
 * features, d, L_i, fingerprint); once all n have reported, the server resolves the run once (constants, p,
 * γ, x⁰) and welcomes every client with it. Then it drives the coordinator round by round. It holds no math:
 * bytes go to core's Coordinator, which accumulates in rank order.
 */
export async function startServer(opts: ServerOptions): Promise<MarinaServer> {
  const { config, logger } = opts;
  const secret = opts.secret ?? null;
  // Configuration errors that need no client (a biased compressor with MARINA, …) are refused before listening.
  validateRun(config);
  const refusal = bindingRefusal(opts.host, secret, opts.insecure ?? false);
  if (refusal) throw new ServerStartError(refusal);
  const token = secret ? dashboardToken(secret) : null;
  const throttle = new AuthThrottle(secret ? (opts.maxAuthFailures ?? 10) : 0);
  const ledger = new Ledger(config.clients);
  let setup: RunSetup | null = null;
  let coordinator: Coordinator | null = null;
  /** The first accepted report of each rank: a client that takes the rank later must bring the same shard. */
  /** Whether a client can be replaced from the iterates alone (MARINA's family, GD, DCGD): what resume needs too. */
  const resumable = getMethod(config.method).resumable;
  const facts: (ShardFacts | null)[] = opts.resume ? [...opts.resume.facts] : new Array(config.clients).fill(null);
  if (opts.resume && !resumable) throw new CheckpointError(`${config.method} keeps client state the server does not mirror: a resumed server cannot restore it`);
  const runId = runIdOf(config);
  // Opened once the port is ours, so a port in use leaves no half-made run folder behind.
  let sink = new RunSink(null, { runId, config, facts }, 0, resumable);
  const n = config.clients;
  const ranks = new RankTable(n);
  const life = new RunLifecycle();
  const events = new EventEmitter();
  let resolveDone!: (s: RunSummary & { sockets: SocketStats[] }) => void;
  const done = new Promise<RunSummary & { sockets: SocketStats[] }>((r) => (resolveDone = r));

  // A maximum message size from d: the largest honest client message is an eval report (8(d+1) bytes), or a
  // control message. Where d is known only once clients report (data problems without --features), a bound.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: Math.max(24 + maxPayloadBytes(dimensionBound(config)), MAX_CONTROL_BYTES + 24) });
  const front = createHttpFront((req, socket, head) => wss.handleUpgrade(req, socket as Socket, head, (ws) => onConnection(ws, req)), {
    tls: opts.tls ?? null,
    token,
    requestTimeoutMs: opts.helloTimeoutMs ?? 10_000,
    onTlsError: (err, remote) => logger.warn({ remote, code: err.code, err: err.message }, 'TLS handshake failed (does the client trust this certificate? does it speak TLS?)'),
  });
  const http = front.listener;
  // Open to health checks; with a secret, only a holder of the dashboard token sees more than ok and phase.
  front.route('/healthz', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const state = { ok: true, phase: life.phase };
    res.end(JSON.stringify(front.authorized(req) ? { ...state, round: coordinator?.currentRound ?? 0, connected: ranks.connected() } : state));
  }, 'open');

  function send(conn: Conn, msg: Uint8Array): void {
    // Backpressure: a client that stops reading must not grow our memory without bound.
    if (conn.ws.bufferedAmount > MAX_SEND_BUFFER) {
      if (!conn.rejected) reject(conn, new ProtocolError('MARINA_ERR_TIMEOUT', `${conn.ws.bufferedAmount} bytes wait to be sent to this client: it does not read`));
      return;
    }
    conn.stats.framesWritten += wsFrameBytes(msg.length, false);
    conn.ws.send(msg, BINARY);
  }

  /** Liveness: every socket must have answered the last ping by the next one. */
  const alive = new WeakMap<Conn, boolean>();
  const pinger = setInterval(() => {
    for (const conn of ranks.open) {
      if (conn.rejected || conn.ws.readyState !== conn.ws.OPEN) continue;
      if (alive.get(conn) === false) {
        conn.log.warn({ rank: conn.rank }, 'no pong to the last ping; cutting the connection');
        conn.ws.terminate();
        continue;
      }
      alive.set(conn, false);
      conn.ws.ping();
    }
  }, opts.pingIntervalMs ?? 30_000);
  pinger.unref();

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    const socket = req.socket;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const conn: Conn = {
      ws,
      socket,
      nonce: randomBytes(NONCE_BYTES),
      rank: -1,
      reported: false,
      rejected: false,
      deadline: null,
      log: logger.child({ remote }),
      stats: { rank: -1, remote, bytesRead: 0, bytesWritten: 0, handshakeRead: socket.bytesRead, handshakeWritten: socket.bytesWritten, framesRead: 0, framesWritten: 0 },
    };
    ranks.open.add(conn);
    // Every socket gets an error listener: an unhandled 'error' would take the whole server down.
    ws.on('error', (err) => conn.log.warn({ err: err.message }, 'socket error'));
    ws.on('pong', () => alive.set(conn, true));
    ws.on('message', (data: Buffer, isBinary) => onMessage(conn, data, isBinary));
    ws.on('close', (code, reason) => onClose(conn, code, reason.toString()));
    conn.log.debug('connected');
    // An address with too many failed authentications lately is refused before any work is done for it.
    if (throttle.blocked(socket.remoteAddress ?? '', Date.now())) {
      return reject(conn, new ProtocolError('MARINA_ERR_RATE_LIMITED', `more than ${throttle.limit} failed authentications from ${socket.remoteAddress} within ${throttle.windowMs / 1000} s; try again later`));
    }
    // Limits (issue 11): a bounded number of connections may wait to join, each for a bounded time. The refusal
    // is retriable (BUSY, not RUN_FULL): 1024 clients dialling at once get in by backing off (issue 13).
    const pending = [...ranks.open].filter((c) => c.rank < 0 && !c.rejected).length;
    if (pending > (opts.maxPending ?? 64)) {
      return reject(conn, new ProtocolError('MARINA_ERR_BUSY', `${pending - 1} connections are already waiting to join (at most ${opts.maxPending ?? 64}); try again later`));
    }
    armDeadline(conn, opts.helloTimeoutMs ?? 10_000, 'hello');
    // The first message of every connection: this connection's nonce, which a hello must MAC with the secret.
    const challenge = encodeChallenge({ nonce: conn.nonce, secret: secret !== null });
    ledger.down(-1, 'control', challenge.length);
    send(conn, challenge);
  }

  /** Cuts `conn` off if it has not got past `step` of the join within `ms`. */
  function armDeadline(conn: Conn, ms: number, step: 'hello' | 'shard report'): void {
    if (conn.deadline) clearTimeout(conn.deadline);
    conn.deadline = setTimeout(() => {
      conn.deadline = null;
      const late = step === 'hello' ? conn.rank < 0 : !conn.reported;
      if (late && !conn.rejected) reject(conn, new ProtocolError('MARINA_ERR_TIMEOUT', `no ${step} within ${ms} ms of ${step === 'hello' ? 'connecting' : 'the hello'}`));
    }, ms);
    conn.deadline.unref();
  }

  function onMessage(conn: Conn, data: Buffer, isBinary: boolean): void {
    conn.stats.framesRead += wsFrameBytes(data.length, true);
    // ws still delivers frames while a rejected socket closes: they are counted, never acted on.
    if (conn.rejected) return;
    try {
      if (!isBinary) throw new ProtocolError('MARINA_ERR_BAD_KIND', 'text frames are not part of the marina protocol; send binary messages');
      const bytes: Uint8Array = data; // a Buffer is a Uint8Array: no view is made per message
      if (conn.rank < 0) return onHello(conn, bytes);
      if (bytes.length >= 1 && bytes[0] === Kind.Bye) {
        ledger.up(conn.rank, 'control', bytes.length);
        conn.log.info('client said bye');
        conn.ws.close(1000);
        return;
      }
      if (!conn.reported) return onReport(conn, bytes);
      if (life.phase !== 'running' || !coordinator) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `message of kind ${kindName(bytes[0] ?? -1) ?? bytes[0]} before the run started`);
      coordinator.accept(conn.rank, bytes);
      sendRanges();
    } catch (caught) {
      let e = caught;
      if (!isProtocolError(e)) {
        // Bytes from one client must never take the server down: treat the failure as that client's.
        logger.error({ err: e }, 'internal error while handling a message');
        e = new ProtocolError('MARINA_ERR_UNEXPECTED', `internal error while handling rank ${conn.rank}'s message: ${(e as Error).message}`);
      }
      const err = e as ProtocolError;
      const culprit = typeof err.data?.['rank'] === 'number' ? ranks.holder(err.data['rank'] as number) ?? conn : conn;
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
      if (life.phase === 'joining' && ranks.allReported()) {
        // Every rank has reported: resolve the run once (constants, p, γ, x⁰) and welcome every client with it.
        try {
          setup = resolveRun(config, facts as ShardFacts[]);
        } catch (e) {
          // What the reports make impossible (validateRun checked what the configuration alone could).
          return finish(`aborted: cannot resolve the run from the clients' reports: ${(e as Error).message}`);
        }
        const test = opts.testData ? testEvaluator(setup, opts.testData, config.testData ?? 'test data') : null;
        coordinator = new Coordinator(setup, nodeHooks, ledger, test);
        if (opts.resume) {
          coordinator.restore(opts.resume.coordinator);
          logger.info({ round: coordinator.currentRound }, 'resumed from the checkpoint');
        }
        events.emit('resolved', setup);
        life.start();
        logger.info({ clients: n, d: setup.d, p: setup.theory.p, gamma: setup.theory.gamma }, 'every client reported its shard; run resolved, starting');
        // A resumed run's clients are all new: each gets its rank's mirrored state (DIANA, EF21) with the welcome.
        for (const conn of ranks.held()) sendWelcome(conn, opts.resume != null);
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
    ledger.up(-1, 'control', bytes.length);
    if (secret) authenticate(conn, hello, secret);
    if (life.over) throw new ProtocolError('MARINA_ERR_RUN_FULL', 'the run is over');
    const rank = ranks.take(conn, hello.rank);
    conn.log = conn.log.child({ rank });
    armDeadline(conn, opts.reportTimeoutMs ?? 300_000, 'shard report');
    const assign = encodeAssign({ rank, clients: n, seed: config.seed, config: { ...config } });
    ledger.down(rank, 'control', assign.length);
    send(conn, assign);
    conn.log.info({ client: hello.client }, 'client joined; waiting for its shard report');
    events.emit('clients', ranks.connected());
  }

  /** Before any rank is given: the hello's proof must be HMAC-SHA256(secret, this connection's nonce ‖ version ‖ name). */
  function authenticate(conn: Conn, hello: Hello, key: Uint8Array): void {
    const address = conn.socket.remoteAddress ?? '';
    if (hello.proof === undefined) {
      throttle.failed(address, Date.now());
      throw new ProtocolError('MARINA_ERR_AUTH', 'this run requires its secret: the hello carries no proof; give the client the server\'s secret file (--secret-file or MARINA_SECRET_FILE)');
    }
    if (!proofMatches(expectedProof(key, conn.nonce, hello.client), hello.proof)) {
      throttle.failed(address, Date.now());
      throw new ProtocolError('MARINA_ERR_AUTH', 'the hello\'s proof does not match this run\'s secret: the client\'s --secret-file is not the server\'s');
    }
    throttle.succeeded(address);
    conn.log.debug({ client: hello.client }, 'client proved the secret');
  }

  /** The join phase's second step: a client's shard facts, checked against the run and the rank's first report. */
  function onReport(conn: Conn, bytes: Uint8Array): void {
    const h = readHeader(bytes, MAX_CONTROL_BYTES);
    if (h.kind !== Kind.Report) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `expected the shard report after assign, got ${kindName(h.kind)}`);
    if (h.rank !== conn.rank) throw new ProtocolError('MARINA_ERR_BAD_FIELD', `report from rank ${conn.rank} claims rank ${h.rank}`);
    const report = decodeReport(payloadOf(bytes));
    ledger.up(conn.rank, 'control', bytes.length);
    const rank = conn.rank;
    checkFacts(config, rank, report, facts.find((f, r) => f !== null && r !== rank) ?? null, facts[rank] ?? null);
    if (setup && report.d !== setup.d) throw new ProtocolError('MARINA_ERR_BAD_SHARD', `rank ${rank}: its model has d = ${report.d}, the run d = ${setup.d}`, { rank });
    facts[rank] ??= report;
    conn.reported = true;
    if (conn.deadline) clearTimeout(conn.deadline);
    conn.deadline = null;
    conn.log.info({ rows: report.rows, features: report.features, d: report.d, Li: report.Li, LiKind: report.LiKind }, 'shard reported');
    if (life.phase === 'running' && coordinator) {
      sendWelcome(conn, true);
      // A rank that was vacated mid-run: the replacement recomputes what it owes from x^{t−1} and x^t.
      coordinator.rejoined(rank);
      if (ranks.connected() === n) life.disarm('join');
      if (coordinator.expects(rank)) {
        sendRoundStart(rank);
        armRoundTimer(); // the newcomer gets a full round timeout too
      }
    }
  }

  /** The welcome; with `withState`, then the rank's client state (a client taking the rank mid-run or on resume). */
  function sendWelcome(conn: Conn, withState: boolean): void {
    const env = setup!.environment;
    const welcome = encodeWelcome({ d: env.d, gamma: env.gamma, p: env.p, params: { ...env.params } as Record<string, number> });
    ledger.down(conn.rank, 'control', welcome.length);
    send(conn, welcome);
    const state = withState ? coordinator?.stateFor(conn.rank) : null;
    if (state) {
      ledger.down(conn.rank, 'control', state.length);
      send(conn, state);
    }
  }

  function reject(conn: Conn, err: ProtocolError): void {
    conn.rejected = true;
    conn.log.warn({ code: err.code, err: err.message }, 'rejecting client');
    if (conn.ws.readyState === conn.ws.OPEN) {
      const msg = encodeError({ code: err.code, message: err.message }, conn.rank < 0 ? undefined : conn.rank);
      ledger.down(conn.rank, 'control', msg.length);
      send(conn, msg);
      conn.ws.close(err.closeCode, err.code);
    }
    vacate(conn);
  }

  function vacate(conn: Conn): void {
    if (!ranks.vacate(conn)) return;
    coordinator?.forget(conn.rank);
    events.emit('clients', ranks.connected());
    if (life.phase !== 'running') return;
    if (!resumable) {
      finish(`aborted: rank ${conn.rank} left, and ${config.method} keeps client state that a new client cannot recompute`);
    } else if (!life.armed('join')) {
      logger.warn({ rank: conn.rank, joinTimeoutMs: opts.joinTimeoutMs }, 'rank vacated; waiting for a client to take it');
      life.arm('join', opts.joinTimeoutMs, () => {
        if (ranks.connected() < n) finish(`aborted: rank(s) ${ranks.vacant().join(', ')} vacant for ${opts.joinTimeoutMs} ms`);
      });
    }
  }

  function onClose(conn: Conn, code: number, reason: string): void {
    if (conn.deadline) clearTimeout(conn.deadline);
    ranks.close(conn);
    if (code === ProtocolErrors.MARINA_ERR_DIVERGED && life.phase === 'running' && coordinator && ranks.holder(conn.rank) === conn) {
      // The client could not send its update: its values are beyond float32. A result, not the client's fault.
      coordinator.diverge(`rank ${conn.rank}'s update in round ${coordinator.currentRound} would overflow its float32 message`);
      finish(coordinator.stopReason!);
    }
    if (life.phase === 'running' && ranks.holder(conn.rank) === conn) conn.log.warn({ code, reason }, 'client disconnected mid-run');
    vacate(conn);
    if (life.phase === 'ending' && !rankedOpen()) complete();
  }

  /** Whether a connection that took a rank is still open (the run's end waits for those only). */
  function rankedOpen(): boolean {
    for (const conn of ranks.open) if (conn.rank >= 0) return true;
    return false;
  }

  function sendRoundStart(rank: number): void {
    const conn = ranks.holder(rank);
    // Vacant, or taken by a client still joining: it gets the RoundStart once welcomed.
    if (!conn || !conn.reported || !coordinator) return;
    const msg = coordinator.roundStartFor(rank);
    coordinator.markSent(rank, msg);
    send(conn, msg);
  }

  /** A shared-range round's R, to every rank owed it (decision 3). */
  function sendRanges(): void {
    for (const { rank, msg } of coordinator!.takeRanges()) {
      const conn = ranks.holder(rank);
      if (!conn) continue; // vacant: the replacement re-sends its norm and is owed R then
      coordinator!.markRangeSent(rank, msg);
      send(conn, msg);
    }
  }

  function startNextRound(): void {
    const out = coordinator!.startRound();
    if (!out) return finish(coordinator!.stopReason ?? 'done');
    events.emit('roundStart', out.plan.round);
    for (const rank of out.addressees) sendRoundStart(rank);
    armRoundTimer();
  }

  /**
   * (Re)starts the round deadline: every client still owed must answer within the round timeout from now. Lazy:
   * one timer stays armed across rounds and this only stamps the time (no clearTimeout/setTimeout per round);
   * when the timer fires before the deadline of the latest stamp, it is armed again for the rest.
   */
  let roundArmedAt = 0;
  function armRoundTimer(): void {
    roundArmedAt = performance.now();
    if (!life.armed('round')) life.arm('round', opts.roundTimeoutMs, roundDeadline);
  }

  function roundDeadline(): void {
    const left = opts.roundTimeoutMs - (performance.now() - roundArmedAt);
    if (left > 0) return life.arm('round', left, roundDeadline);
    if (!coordinator) return;
    for (const rank of coordinator.waitingFor()) {
      const conn = ranks.holder(rank);
      if (conn) reject(conn, new ProtocolError('MARINA_ERR_TIMEOUT', `rank ${rank} did not answer round ${coordinator.currentRound} within ${opts.roundTimeoutMs} ms`));
    }
  }

  /** Finishes every round that is complete and starts the next. */
  function advance(): void {
    while (life.phase === 'running' && coordinator && coordinator.roundComplete()) {
      const record: RoundRecord = coordinator.finishRound();
      sink.round(record, coordinator);
      events.emit('round', record, coordinator.lastTraffic);
      startNextRound();
    }
  }

  function finish(reason: string, bySignal = false): void {
    if (!life.end(reason)) return;
    coordinator?.abort(reason);
    const aborted = reason.startsWith('aborted');
    // Stopped by a signal with a checkpoint written: clients are told to come back (a resumed server takes them).
    const shutdown = sink.ending(aborted, bySignal);
    logger.info({ reason, checkpoint: shutdown }, aborted ? (shutdown ? 'run stopped; resume it with --resume' : 'run aborted') : 'run finished');
    for (const conn of ranks.open) {
      // No bye to a connection without a rank: it took no part, and "done" would tell it it had. Its hello, if it
      // comes while the server lingers, is answered as ever (an unproven secret first, then "the run is over").
      if (conn.ws.readyState !== conn.ws.OPEN || conn.rank < 0) continue;
      const bye = encodeBye({ reason: aborted ? (shutdown ? 'shutdown' : 'aborted') : 'done', message: reason.replace(/^aborted: /, '') });
      ledger.down(conn.rank, 'control', bye.length);
      send(conn, bye);
    }
    // Clients close on bye; a client that does not is cut off after a grace period.
    setTimeout(() => {
      for (const conn of ranks.open) conn.ws.terminate();
    }, 5000).unref();
    if (!rankedOpen()) complete();
  }

  function complete(): void {
    if (!life.complete()) return;
    const sockets = ranks.closed;
    const socketTotal = sockets.reduce((s, c) => s + c.bytesRead + c.bytesWritten, 0);
    const t = ledger.totals;
    // A resumed run's ledger holds the rounds of earlier server processes, whose socket counts died with them.
    const connectionBytes = opts.resume ? null : socketTotal - (t.wireBytesUp + t.wireBytesDown + t.telemetryBytes + t.controlBytes);
    const base = coordinator ? coordinator.summary(runId, 'network', connectionBytes) : unresolvedSummary(config, runId, ledger, connectionBytes, life.endReason ?? 'running');
    const summary = { ...base, sockets };
    sink.close(summary);
    events.emit('end', summary);
    clearInterval(pinger);
    const closeHttp = () => {
      wss.close();
      front.close();
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
    http.once('error', (e: NodeJS.ErrnoException) => rejectListen(listenError(e, opts.host, opts.port)));
    http.listen(opts.port, opts.host, () => resolve());
  });
  try {
    const folder = opts.resume && opts.out ? RunFolder.resume(opts.out, opts.resume.coordinator.round) : opts.out ? RunFolder.open(opts.out, opts.force) : null;
    sink = new RunSink(folder, { runId, config, facts }, opts.checkpointEvery ?? 0, resumable);
  } catch (e) {
    front.close();
    throw e;
  }
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const security = { tls: front.scheme === 'https', secret: secret !== null };
  logger.info({ port, host: opts.host, ...security, runId, clients: n, problem: config.problem, method: config.method, compressor: config.compressor }, 'server listening');
  if (token) {
    logger.info({ token, dashboard: `${front.scheme}://HOST:${port}/?token=${token}` }, 'clients must prove the run\'s secret; the dashboard, /live and /metrics need this read-only token');
  } else if (isLoopback(opts.host)) {
    logger.info({ host: opts.host }, `no --secret-file: listening on ${opts.host} only (this machine); clients on other machines need --secret-file (or --insecure)`);
  } else {
    logger.warn({ host: opts.host }, `--insecure: listening on ${opts.host} without a secret; anyone who reaches port ${port} can join the run`);
  }
  if (opts.waitTimeoutMs > 0) {
    life.arm('wait', opts.waitTimeoutMs, () => {
      if (life.phase === 'joining') finish(`aborted: only ${ranks.connected()} of ${n} clients joined within ${opts.waitTimeoutMs} ms`);
    }, true);
  }

  const server = Object.assign(events, {
    port,
    coordinator: null,
    runId,
    config,
    clients: n,
    ledger,
    resolved: () => setup,
    done,
    route: front.route,
    upgrade: front.upgrade,
    shutdown(reason: string) {
      if (life.phase === 'done') {
        if (lingerTimer) clearTimeout(lingerTimer);
        lingerClose?.();
      } else finish(`aborted: ${reason}`, true);
    },
    connected: () => ranks.connected(),
  }) as MarinaServer;
  // A live property: the coordinator exists once the run is resolved (Object.assign would copy today's null).
  Object.defineProperty(server, 'coordinator', { get: () => coordinator });
  // Attached before any client can connect (listen has resolved, but no I/O callback has run yet).
  attachMetrics(server);
  attachDashboard(server);
  return server;
}

/** The largest d a client may report, for the transport's message limit: known from the configuration where it can be. */
function dimensionBound(config: RunConfig): number {
  const problem = getProblem(config.problem);
  if (problem.data === 'none') return problem.dim(config, 0);
  return config.features !== null ? problem.dim(config, config.features) : 1 << 22;
}

/** The server cannot start for a reason the operator can fix (exit status 2, one line). */
export class ServerStartError extends Error {
  override name = 'ServerStartError';
}

/** A listen failure in the operator's words: which flag to change, and to what. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  if (e.code === 'EADDRINUSE') return new ServerStartError(`port ${port} on ${host} is in use (another marina server?): choose another --port, or --port 0 for any free one`);
  if (e.code === 'EACCES') return new ServerStartError(`port ${port} on ${host} needs privileges this user lacks: choose a --port above 1023`);
  if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    const own = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
    return new ServerStartError(`--host ${host} is not an address of this machine: use 127.0.0.1 (this machine only), 0.0.0.0 (every interface; with --secret-file, or --insecure) or one of ${own.join(', ')}`);
  }
  return new ServerStartError(`cannot listen on ${host}:${port}: ${e.message}`);
}

/** ws.send's options for every protocol message (one object, not one per send). */
const BINARY = { binary: true } as const;

/** Bytes queued to one client past which it counts as not reading (issue 11's backpressure). */
const MAX_SEND_BUFFER = 256 * 1024 * 1024;
