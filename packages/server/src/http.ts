import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { carriesToken } from './security.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Who may use a route: `token` (the default) asks for the dashboard token when the run has a secret; `open`
 * never does (/healthz for health checks, and static files that carry nothing of the run).
 */
export type Access = 'token' | 'open';

export interface FrontOptions {
  /** PEM certificate chain and key: HTTPS and wss:// on the one port; null: plain HTTP and ws://. */
  tls: { cert: string | Buffer; key: string | Buffer } | null;
  /** The dashboard token that `token` routes ask for (`?token=` or `Authorization: Bearer`); null: none. */
  token: string | null;
  /** A TLS connection that failed its handshake (a client that does not trust the certificate, say). */
  onTlsError?: (err: Error & { code?: string }, remote: string) => void;
  /**
   * A connection must have sent a whole request (or upgrade) within this long, and may idle this long between
   * requests (default 10 s, the protocol's hello timeout): a peer that opens TCP and never finishes its
   * upgrade must not hold a descriptor for Node's 60–90 s defaults.
   */
  requestTimeoutMs?: number;
}

/** The HTTP side of the server's one port: plain routes by path, and WebSocket upgrades by path. */
export interface HttpFront {
  /** The HTTP or HTTPS server that handles requests and upgrades. */
  readonly http: HttpServer | HttpsServer;
  /** What listens on the port: `http` itself, or with TLS a server in front of it that tells TLS from plain text. */
  readonly listener: NetServer;
  readonly scheme: 'http' | 'https';
  /** Adds a route; `token` routes answer 401 without the dashboard token when there is one. */
  route(path: string, handler: RouteHandler, access?: Access): void;
  /** Takes upgrades on `path` away from the default (the protocol's) upgrade handler. */
  upgrade(path: string, handler: UpgradeHandler, access?: Access): void;
  /** Whether `req` may see `token` routes (always, without a token). */
  authorized(req: IncomingMessage): boolean;
  /** Stops listening and closes every connection. */
  close(): void;
}

const UNAUTHORIZED = "this marina server's dashboard and /metrics need its token: add ?token=TOKEN or send Authorization: Bearer TOKEN (the server logs it at start)\n";

/** Sent to a plain-text request on a TLS port, so a ws:// client can tell the operator to use wss://. */
const TLS_REQUIRED =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nX-Marina-Error: tls-required\r\nConnection: close\r\n\r\nthis marina server speaks TLS only: use wss:// (or https://)\n';

/**
 * An HTTP(S) server whose unrouted upgrades go to `protocolUpgrade` (the protocol authenticates its own
 * clients by challenge) and unrouted requests get 404.
 */
export function createHttpFront(protocolUpgrade: UpgradeHandler, opts: FrontOptions = { tls: null, token: null }): HttpFront {
  const routes = new Map<string, { handler: RouteHandler; access: Access }>();
  const upgrades = new Map<string, { handler: UpgradeHandler; access: Access }>();
  const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0]!;
  const authorized = (req: IncomingMessage) => opts.token === null || carriesToken(req, opts.token);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const route = routes.get(pathOf(req));
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    } else if (route.access === 'token' && !authorized(req)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="marina"' });
      res.end(UNAUTHORIZED);
    } else route.handler(req, res);
  };
  const ms = opts.requestTimeoutMs ?? 10_000;
  // headersTimeout and requestTimeout are enforced every connectionsCheckingInterval (30 s by default).
  const limits = { headersTimeout: ms, requestTimeout: ms, connectionsCheckingInterval: Math.min(1000, ms) };
  const http = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: ms, ...limits }, onRequest) : createServer(limits, onRequest);
  // Idle sockets (before a request, between keep-alive requests) go too; ws clears this on the upgraded ones.
  http.on(opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => socket.setTimeout(ms, () => socket.destroy()));
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const route = upgrades.get(pathOf(req));
    if (!route) return protocolUpgrade(req, socket, head);
    if (route.access === 'token' && !authorized(req)) {
      socket.on('error', () => socket.destroy());
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nWWW-Authenticate: Bearer realm="marina"\r\nConnection: close\r\n\r\n${UNAUTHORIZED}`);
      return;
    }
    route.handler(req, socket, head);
  });
  const tls = opts.tls ? tlsFront(http as HttpsServer, opts.onTlsError, ms) : null;
  return {
    http,
    listener: tls?.listener ?? http,
    scheme: opts.tls ? 'https' : 'http',
    route: (path, handler, access = 'token') => void routes.set(path, { handler, access }),
    upgrade: (path, handler, access = 'token') => void upgrades.set(path, { handler, access }),
    authorized,
    close() {
      if (tls) return tls.close();
      http.close();
      http.closeAllConnections();
    },
  };
}

/**
 * The listener of a TLS port: it reads a connection's first bytes and hands a TLS handshake (record type 0x16)
 * to the HTTPS server (`emit('connection')`, the documented way to inject a socket; the TLS socket takes the
 * bytes already read), and answers plain text with a 400 that names wss://. It tracks every socket, as the
 * HTTPS server, never listening itself, does not.
 */
function tlsFront(https: HttpsServer, onTlsError: FrontOptions['onTlsError'], ms: number): { listener: NetServer; close(): void } {
  const sockets = new Set<Socket>();
  // The peer's address, noted on arrival: a failed handshake is reported once the socket is gone (and its address with it).
  const remotes = new WeakMap<object, string>();
  https.on('tlsClientError', (err: Error & { code?: string }, tlsSocket: object) =>
    // A TLS socket made from a plain one keeps it as `_parent` (Node's _tls_wrap; not documented, hence the fallback).
    onTlsError?.(err, remotes.get((tlsSocket as { _parent?: object })._parent ?? tlsSocket) ?? 'unknown peer'),
  );
  const listener = createNetServer((socket) => {
    sockets.add(socket);
    remotes.set(socket, `${socket.remoteAddress}:${socket.remotePort}`);
    socket.on('close', () => sockets.delete(socket));
    // Every socket gets an error listener: a reset during the first read must not take the server down.
    socket.on('error', () => socket.destroy());
    // A connection that sends nothing is not kept forever.
    socket.setTimeout(ms, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      if (first[0] === 0x16) https.emit('connection', socket);
      else socket.end(TLS_REQUIRED);
    });
  });
  return {
    listener,
    close() {
      listener.close();
      https.closeAllConnections();
      for (const s of sockets) s.destroy();
    },
  };
}
