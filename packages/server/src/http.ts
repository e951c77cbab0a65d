import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The HTTP side of the server's one port: plain routes by path, and WebSocket upgrades by path. */
export interface HttpFront {
  readonly http: HttpServer;
  route(path: string, handler: RouteHandler): void;
  /** Takes upgrades on `path` away from the default (the protocol's) upgrade handler. */
  upgrade(path: string, handler: UpgradeHandler): void;
}

/** An HTTP server whose unrouted upgrades go to `protocolUpgrade` and unrouted requests get 404. */
export function createHttpFront(protocolUpgrade: UpgradeHandler): HttpFront {
  const routes = new Map<string, RouteHandler>();
  const upgrades = new Map<string, UpgradeHandler>();
  const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0]!;
  const http = createServer((req, res) => {
    const handler = routes.get(pathOf(req));
    if (handler) return handler(req, res);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => (upgrades.get(pathOf(req)) ?? protocolUpgrade)(req, socket, head));
  return {
    http,
    route: (path, handler) => void routes.set(path, handler),
    upgrade: (path, handler) => void upgrades.set(path, handler),
  };
}
