import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import type { RunView } from '../view.js';
import { LiveFeed } from './live.js';
import { DASHBOARD_PAGE } from './page.js';
import { DASHBOARD_SCRIPT } from './script.js';

/** Path of the dashboard's live feed (a WebSocket apart from the protocol's, which takes every other path). */
export const LIVE_PATH = '/live';

/** uPlot's browser build, served from the installed package: the dashboard works offline (no CDN). */
const ASSETS: Record<string, { module: string; type: string }> = {
  '/dashboard/uPlot.iife.min.js': { module: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/uPlot.min.css': { module: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/**
 * The live dashboard on the server's HTTP port: the page at `/`, its script and uPlot at `/dashboard/*`, and
 * the live feed on `/live`. Dashboard sockets are not protocol clients: no rank, no ledger entry.
 */
/** Live dashboard sockets at most; more are refused with 503. */
export const MAX_DASHBOARDS = 32;

export function attachDashboard(server: RunView): void {
  const feed = new LiveFeed(server);
  // The browser sends nothing but control frames; a small maxPayload keeps a stray client from costing memory.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4096 });
  server.upgrade(LIVE_PATH, (req, socket, head) => {
    // Every socket gets an error listener before anything else can fail on it.
    socket.on('error', () => socket.destroy());
    // A bounded number of watchers: each costs a socket and its send buffer (issue 11's limits).
    if (feed.size >= MAX_DASHBOARDS) {
      socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${MAX_DASHBOARDS} dashboards are open already\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => feed.add(ws));
  });
  void server.done.then(() => {
    feed.close();
    wss.close();
  });

  const page = (res: ServerResponse) => serve(res, 'text/html; charset=utf-8', DASHBOARD_PAGE, 'no-cache');
  server.route('/', (_req, res) => page(res));
  server.route('/index.html', (_req, res) => page(res));
  // The script and uPlot are the package's own code, the same for every run: open, so the page needs the token
  // only in its own address (and passes it on to /live). The page and /live show the run: token-guarded.
  server.route('/dashboard/app.js', (_req, res) => serve(res, 'text/javascript; charset=utf-8', DASHBOARD_SCRIPT, 'no-cache'), 'open');
  const require = createRequire(import.meta.url);
  for (const [path, asset] of Object.entries(ASSETS)) {
    let body: Buffer | null = null;
    server.route(path, (_req, res) => {
      try {
        body ??= readFileSync(require.resolve(asset.module));
      } catch (e) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`cannot read ${asset.module}: ${(e as Error).message}\n`);
        return;
      }
      serve(res, asset.type, body, 'max-age=3600');
    }, 'open');
  }
}

function serve(res: ServerResponse, type: string, body: string | Buffer, cache: string): void {
  // no-referrer: a page opened as /?token=… must not hand its address (the token) to anything it loads.
  res.writeHead(200, { 'content-type': type, 'cache-control': cache, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  res.end(body);
}
