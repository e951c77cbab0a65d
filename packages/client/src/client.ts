import { createHmac, randomInt } from 'node:crypto';
import { createSecureContext, getCACertificates, rootCertificates, type SecureContext } from 'node:tls';
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  decodeAssign, decodeBye, decodeChallenge, decodeError, decodeWelcome, encodeHello, encodeReport, Kind, kindName, MAX_CONTROL_BYTES, payloadOf,
  proofInput, ProtocolError, readHeader,
} from '@marina/protocol';
import { ClientRunner, clientShard, getProblem, resolveConfig, type ClientShard, type RunConfig } from '@marina/core';
import { loadClientData, nodeSha256, type DataReader } from '@marina/data';
import type { JoinGate } from './gate.js';
import { nonzeroMask } from './mask.js';


export interface ClientOptions {
  /** ws://host:port of the server, or wss://host:port for TLS. */
  url: string;
  logger: Logger;
  /** Free-form identification sent in the hello. */
  name: string;
  /** Connection attempts before giving up (the server may not be up yet). */
  retries: number;
  /** First retry delay; doubles each attempt up to 5 s. */
  backoffMs: number;
  /** This client's own data file (private; never sent), or null: the run's `--data` at the same path, or generated. */
  data: string | null;
  /** The rank to ask for (the rank the own file is the shard of), or null: any free rank. */
  rank: number | null;
  /**
   * The run's secret (the bytes of `--secret-file`), or null. With it the client answers the server's challenge
   * with HMAC-SHA256(secret, nonce ‖ version ‖ name), and refuses a server that asks for none.
   */
  secret?: Uint8Array | null;
  /** PEM certificate(s) to trust for wss:// (`--ca`), besides Node's default and the system's CA stores. */
  ca?: string | Buffer | null;
  /** The WebSocket opening handshake must complete within this long (default 10 s), else the attempt fails. */
  handshakeTimeoutMs?: number;
  /** With no message from the server for this long (default 600 s), the connection counts as lost and is retried. */
  idleTimeoutMs?: number;
  /**
   * The TLS context for wss:// (what `trustedContext` builds from `ca`): a host of many clients builds it once
   * and shares it (it is read-only once built). Default: built here.
   */
  secureContext?: SecureContext | null;
  /**
   * Bounds how many clients of one process are joining at once (connecting, until the server gives a rank), so
   * a host of many clients stays within the server's `--max-pending`. Null: no bound.
   */
  gate?: JoinGate | null;
  /**
   * How many clients of this process were given `data` (default 1). Above 1 the path cannot be a per-client
   * shard file: it must be the run's `--data`, of which each client reads its rank's part.
   */
  dataSharedBy?: number;
  /** The run's data file read once for all the clients of this process that read it (`hostClients`). */
  sharedRead?: DataReader | null;
}

export interface ClientResult {
  rank: number;
  rounds: number;
  bye: { reason: string; message: string };
}

/**
 * Raised when the server ends the run with an error or an aborted bye, or the connection fails for good. `code`
 * is the server's (MARINA_ERR_AUTH: the secret was refused), or the client's own: MARINA_ERR_TLS (the server's
 * certificate is not trusted, or the TLS handshake failed), MARINA_ERR_SCHEME (ws:// against a TLS server, or
 * wss:// against a plain one), MARINA_ERR_CONNECT, MARINA_ERR_ABORTED.
 */
export class ClientError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ClientError';
  }
}

/**
 * A client: connects (retrying with backoff until the server answers), says hello, gets its rank and the
 * configuration (assign), builds its shard and reports what the theory needs of it (rows, features, d, L_i,
 * fingerprint; never the rows), gets the run as the server resolved it (welcome), answers rounds until the
 * server's bye. It holds no math itself: core's ClientRunner turns a RoundStart's bytes into the reply's bytes.
 */
export async function runClient(opts: ClientOptions): Promise<ClientResult> {
  let delay = opts.backoffMs;
  let attempt = 0;
  // The shard survives reconnects: a client that gets its rank back does not read its data again.
  const cache: ShardCache = { key: null, shard: null };
  const secureContext = opts.url.startsWith('wss:') ? opts.secureContext ?? trustedContext(opts.ca ?? null) : null;
  for (;;) {
    attempt++;
    // Held from dialling until the server gives a rank (or the attempt fails): the server's pending window.
    const leave = opts.gate ? await opts.gate.enter() : () => {};
    try {
      return await session(opts, secureContext, cache, {
        onAssign: leave,
        onWelcome() {
          // Welcomed: a later loss of the connection starts a fresh series of attempts.
          attempt = 0;
          delay = opts.backoffMs;
        },
      });
    } catch (e) {
      if (!(e instanceof ConnectError) || attempt >= opts.retries) throw e instanceof ConnectError ? new ClientError(e.busy ? 'MARINA_ERR_BUSY' : 'MARINA_ERR_CONNECT', e.message) : e;
      // Jittered: clients refused together (BUSY, a server restart) must not all come back at the same moment.
      const wait = jittered(delay);
      opts.logger.info({ attempt, delayMs: wait, err: e.message }, e.midRun ? 'connection lost mid-run; reconnecting' : e.busy ? 'server busy; retrying' : 'server not reachable yet; retrying');
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(5000, delay * 2);
    } finally {
      leave();
    }
  }
}

/**
 * Sends a round's replies (an update and an evaluation report) in one socket write: the TCP socket under ws is
 * corked around them, so their frames leave in one writev instead of one syscall each. ws copies each message as
 * it masks it (client frames are masked, never with an all-zero key: `nonzeroMask`), so the runner may reuse
 * the buffers as soon as this returns.
 */
export function sendAll(ws: WebSocket, replies: readonly Uint8Array[]): void {
  if (replies.length === 1) return ws.send(replies[0]!);
  // ws keeps its net.Socket private (`_socket`, stable across ws 8); without it each message is its own write.
  const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  socket?.cork();
  try {
    for (const reply of replies) ws.send(reply);
  } finally {
    socket?.uncork();
  }
}

/** A wait drawn uniformly from [ms/2, ms]: timing only, never a result, so from the OS and not the run's keyed generator. */
function jittered(ms: number): number {
  const half = Math.floor(ms / 2);
  return half + randomInt(ms - half + 1);
}

/**
 * The connection failed or dropped without a bye or an error message from the server: safe to retry. Mid-run,
 * the server gives the returning client a vacant rank and x^{t−1} with x^t, so it recomputes what it owes.
 */
class ConnectError extends Error {
  /** `busy`: the server refused with MARINA_ERR_BUSY (too many connections waiting to join): retry later. */
  constructor(message: string, readonly midRun: boolean, readonly busy = false) {
    super(message);
  }
}

interface ShardCache {
  key: string | null;
  shard: ClientShard | null;
}

/** This rank's shard: read from the data (the own file, or this rank's part of the run's file), or generated. */
async function shardOf(opts: ClientOptions, config: RunConfig, rank: number, cache: ShardCache): Promise<ClientShard> {
  const key = JSON.stringify([rank, config, opts.data]);
  if (cache.key === key && cache.shard) return cache.shard;
  const data = await loadClientData(config, rank, opts.data, opts.sharedRead ?? null);
  const shard = clientShard(config, rank, data, nodeSha256);
  cache.key = key;
  cache.shard = shard;
  return shard;
}

/**
 * One `--data` path given to K > 1 clients of a process (`marina client --count K`) must be the run's file, of
 * which each reads its rank's part: a per-client shard file would make K clients hold the same rows.
 */
function checkSharedData(opts: ClientOptions, config: RunConfig): void {
  const k = opts.dataSharedBy ?? 1;
  if (k <= 1 || opts.data === null || opts.data === config.data || getProblem(config.problem).data === 'none') return;
  throw new ProtocolError(
    'MARINA_ERR_BAD_CONFIG',
    `--data ${opts.data} is given to all ${k} clients of this process (--count ${k}) but is not the run's --data (${config.data ?? 'none'}): ` +
      `name each client's own file with {rank} in the path (e.g. --data shard-{rank}.txt with --rank)`,
    { field: 'data' },
  );
}

/**
 * What a wss:// client trusts: Node's default CA store (its bundled roots and NODE_EXTRA_CA_CERTS), the
 * system's, and `--ca`. Built once: every reconnect reuses it.
 */
export function trustedContext(ca: string | Buffer | null): SecureContext {
  let store: string[];
  try {
    store = [...getCACertificates('default'), ...getCACertificates('system')];
  } catch {
    store = [...rootCertificates]; // a Node without getCACertificates, or no readable system store
  }
  return createSecureContext({ ca: ca === null ? store : [...store, ca] });
}

/** OpenSSL's words for a TLS client that got plain text back: the server does not speak TLS. */
const NOT_TLS = /wrong version number|packet length too long|http request|unknown protocol/i;

/** A connection error that retrying cannot fix: a certificate not trusted, or the wrong scheme. Null for the rest. */
function tlsFailure(url: string, err: Error & { code?: string }): ClientError | null {
  const code = err.code ?? '';
  const ssl = code === 'EPROTO' || code.startsWith('ERR_SSL_');
  if (ssl && NOT_TLS.test(err.message)) {
    return new ClientError('MARINA_ERR_SCHEME', `${url} does not speak TLS (the server was started without --tls-cert): use ${url.replace(/^wss:/, 'ws:')}`);
  }
  if (ssl || code.startsWith('ERR_TLS_') || /CERT|ISSUER|SELF_SIGNED|SIGNATURE|HOSTNAME|INVALID_CA|PATH_LENGTH|INVALID_PURPOSE/.test(code)) {
    const reason = err.message.split('\n')[0]!.replace(/; if the root CA is installed locally.*$/, '');
    return new ClientError('MARINA_ERR_TLS', `cannot trust ${url}: ${reason} (${code}); give --ca FILE with the CA that signed the server's certificate`);
  }
  return null;
}

/** What a session tells the retry loop: the server gave a rank (`onAssign`), the run was resolved (`onWelcome`). */
interface SessionHooks {
  onAssign(): void;
  onWelcome(): void;
}

function session(opts: ClientOptions, secureContext: SecureContext | null, cache: ShardCache, hooks: SessionHooks): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    // A port that accepts TCP and never answers fails the attempt after the handshake timeout, with a message.
    // Masks never all zero: ws then copies every message as it frames it, and the runner reuses its buffers.
    const ws = new WebSocket(opts.url, { perMessageDeflate: false, maxPayload: 0, generateMask: nonzeroMask, handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000, ...(secureContext ? { secureContext } : {}) });
    // A server that stops talking (a hung process, a cut without a FIN) is given up on after the idle timeout.
    const idleMs = opts.idleTimeoutMs ?? 600_000;
    // One timer per connection, re-armed lazily: a message only stamps the time (no timer per message, which
    // cost a Timeout object and two timer-list updates per client per round); when the timer fires early, it is
    // set again for what is left of the idle time since the last message.
    // In a one-element array: a double stored in a closure's variable is a new heap number each message.
    const heard = Float64Array.of(-1);
    const check = () => {
      const since = heard[0]! < 0 ? idleMs : performance.now() - heard[0]!;
      if (since < idleMs) {
        idle = setTimeout(check, idleMs - since);
        return;
      }
      if (heard[0]! >= 0) opts.logger.warn({ idleMs }, 'no message from the server for the idle timeout; reconnecting');
      ws.terminate();
    };
    let idle = setTimeout(check, idleMs);
    const quiet = () => {
      heard[0] = performance.now();
    };
    ws.on('close', () => clearTimeout(idle));
    // The server's liveness pings count as hearing from it (ws answers them by itself).
    ws.on('ping', () => quiet());
    const secret = opts.secret ?? null;
    let challenged = false;
    let log = opts.logger;
    let runner: ClientRunner | null = null;
    let joined: { config: RunConfig; shard: ClientShard } | null = null;
    let rank = -1;
    let rounds = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const fail = (err: Error) => {
      settle(() => reject(err));
      if (ws.readyState === ws.OPEN) {
        if (err instanceof ProtocolError) ws.close(err.closeCode, err.code);
        else ws.close(1011);
      }
    };

    ws.on('error', (err) => settle(() => reject(tlsFailure(opts.url, err) ?? new ConnectError(`${runner ? 'lost' : 'cannot reach'} ${opts.url}: ${err.message}`, runner !== null))));
    // An HTTP answer instead of the upgrade: a TLS port answers plain text so (http.ts); anything else is retried.
    ws.on('unexpected-response', (_req, res) => {
      const tlsOnly = res.headers['x-marina-error'] === 'tls-required';
      settle(() =>
        reject(
          tlsOnly
            ? new ClientError('MARINA_ERR_SCHEME', `${opts.url} speaks TLS only (the server was started with --tls-cert): use ${opts.url.replace(/^ws:/, 'wss:')}`)
            : new ConnectError(`cannot reach ${opts.url}: unexpected server response ${res.statusCode}`, runner !== null),
        ),
      );
      ws.terminate();
    });
    // Without a secret the hello goes at once; with one it waits for the challenge's nonce.
    ws.on('open', () => secret === null && ws.send(encodeHello({ client: opts.name, rank: opts.rank })));
    ws.on('close', (code, reason) => {
      const why = `server closed the connection ${runner ? 'without a bye' : 'before welcoming us'} (${code} ${reason.toString()})`;
      settle(() => reject(new ConnectError(why, runner !== null)));
    });
    ws.on('message', (data: Buffer) => {
      quiet();
      try {
        const bytes: Uint8Array = data; // a Buffer is a Uint8Array: no view is made per message
        if (bytes.length === 0) throw new ProtocolError('MARINA_ERR_TRUNCATED', 'empty message from the server');
        const kind = bytes[0]!;
        if (kind === Kind.RoundStart || kind === Kind.Range || kind === Kind.State) {
          if (!runner) throw new ProtocolError('MARINA_ERR_UNEXPECTED', `${kindName(kind)} before welcome`);
          sendAll(ws, runner.onMessage(bytes));
          if (kind === Kind.RoundStart) rounds++;
          return;
        }
        const h = readHeader(bytes, MAX_CONTROL_BYTES);
        const payload = payloadOf(bytes);
        if (h.kind === Kind.Challenge) {
          if (challenged || rank >= 0) throw new ProtocolError('MARINA_ERR_UNEXPECTED', 'a challenge after the first message of the connection');
          challenged = true;
          const challenge = decodeChallenge(payload);
          if (secret === null) return; // the hello went on open; a server that wants the secret refuses it
          if (!challenge.secret) {
            // The secret authenticates clients to the server; a server that does not ask lets anyone take a rank.
            throw new ClientError('MARINA_ERR_AUTH', `${opts.url} does not ask for a secret (started without --secret-file), but this client was given one: refusing to join a run anyone may join`);
          }
          const proof = createHmac('sha256', secret).update(proofInput(challenge.nonce, opts.name)).digest();
          ws.send(encodeHello({ client: opts.name, rank: opts.rank, proof }));
        } else if (h.kind === Kind.Assign) {
          if (rank >= 0) throw new ProtocolError('MARINA_ERR_UNEXPECTED', 'a second assign on one connection');
          const assign = decodeAssign(payload);
          const config = resolveConfig(assign.config);
          if (config.clients !== assign.clients || config.seed !== assign.seed) {
            throw new ProtocolError('MARINA_ERR_BAD_FIELD', 'assign: clients/seed disagree with the configuration it carries');
          }
          rank = assign.rank;
          hooks.onAssign();
          log = opts.logger.child({ rank });
          checkSharedData(opts, config);
          log.info({ clients: config.clients, problem: config.problem, method: config.method, compressor: config.compressor }, 'assigned a rank; building the shard');
          // Reading a data file takes a while: the shard is built off this handler, then reported.
          shardOf(opts, config, rank, cache).then((shard) => {
            if (settled) return;
            joined = { config, shard };
            ws.send(encodeReport(shard.facts, rank));
            log.info({ rows: shard.facts.rows, features: shard.facts.features, d: shard.facts.d, Li: shard.facts.Li }, 'shard reported');
          }, (e: Error) => {
            log.error({ err: e.message }, 'cannot build this rank\'s shard');
            fail(e);
          });
        } else if (h.kind === Kind.Welcome) {
          if (!joined || runner) throw new ProtocolError('MARINA_ERR_UNEXPECTED', 'welcome before this client reported its shard');
          const welcome = decodeWelcome(payload);
          if (welcome.d !== joined.shard.facts.d) throw new ProtocolError('MARINA_ERR_BAD_FIELD', `welcome: d = ${welcome.d}, this client's model has d = ${joined.shard.facts.d}`);
          runner = new ClientRunner(joined.config, { d: welcome.d, gamma: welcome.gamma, p: welcome.p, params: welcome.params }, joined.shard.problem, rank);
          hooks.onWelcome();
          log.info({ d: welcome.d, p: welcome.p, gamma: welcome.gamma }, 'welcomed: the run is resolved');
        } else if (h.kind === Kind.Bye) {
          const bye = decodeBye(payload);
          log.info({ reason: bye.reason, rounds }, 'server said bye');
          ws.close(1000);
          if (bye.reason === 'done') settle(() => resolve({ rank, rounds, bye }));
          // Stopped with a checkpoint: a resumed server will take this client back, so it keeps trying.
          else if (bye.reason === 'shutdown') settle(() => reject(new ConnectError(`the server stopped (${bye.message}); waiting for it to resume`, true)));
          else settle(() => reject(new ClientError('MARINA_ERR_ABORTED', `run ${bye.reason}: ${bye.message}`)));
        } else if (h.kind === Kind.Error) {
          const err = decodeError(payload);
          // Too many connections waiting to join, or too many failed authentications from this address lately
          // (someone else's): not a failure of this client, so it backs off and retries.
          if (err.code === 'MARINA_ERR_BUSY' || err.code === 'MARINA_ERR_RATE_LIMITED') return settle(() => reject(new ConnectError(`${opts.url} is busy: ${err.message}`, runner !== null, true)));
          log.error(err, 'server reported an error');
          settle(() => reject(new ClientError(err.code, err.message)));
        } else {
          throw new ProtocolError('MARINA_ERR_UNEXPECTED', `unexpected ${kindName(h.kind)} from the server`);
        }
      } catch (caught) {
        let e = caught as Error;
        // A server of another protocol version: told apart from other bad bytes (its own exit status).
        if (e instanceof ProtocolError && e.code === 'MARINA_ERR_BAD_VERSION') e = new ClientError(e.code, `the server speaks another protocol: ${e.message}`);
        log.error({ err: e.message }, 'cannot handle a message from the server');
        fail(e);
      }
    });
  });
}
