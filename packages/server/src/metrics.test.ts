import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { WebSocket } from 'ws';
import { resolveConfig } from '@marina/core';
import { startServer, type MarinaServer } from './server.js';

/** Servers in this process (no client ever joins): metrics and dashboard routes without a run. */
const servers: MarinaServer[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.shutdown('test over');
    await s.done;
  }
});

async function start(seed: number): Promise<MarinaServer> {
  const server = await startServer({
    config: resolveConfig({ clients: 2, dim: 8, rounds: 3, seed }),
    port: 0,
    host: '127.0.0.1',
    out: null,
    force: false,
    logger: pino({ level: 'silent' }),
    roundTimeoutMs: 5000,
    joinTimeoutMs: 5000,
    waitTimeoutMs: 0,
    lingerSeconds: 0,
  });
  servers.push(server);
  return server;
}

describe('metrics and dashboard routes', () => {
  it('two servers in one process keep separate registries', async () => {
    const [a, b] = [await start(1), await start(2)];
    const [ta, tb] = await Promise.all([a, b].map(async (s) => (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text()));
    expect(ta).toContain(`marina_rounds_total{run="${a.runId}"} 0`);
    expect(tb).toContain(`marina_rounds_total{run="${b.runId}"} 0`);
    expect(ta).not.toContain(b.runId);
    expect(ta).toContain('marina_clients{run=');
  });

  it('serves the page and uPlot from the package, and a /live socket is not a client', async () => {
    const s = await start(3);
    const base = `http://127.0.0.1:${s.port}`;
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/dashboard/uPlot.iife.min.js');
    const lib = await fetch(`${base}/dashboard/uPlot.iife.min.js`);
    expect(lib.status).toBe(200);
    expect(await lib.text()).toMatch(/uPlot/);
    expect((await fetch(`${base}/dashboard/uPlot.min.css`)).status).toBe(200);
    expect((await fetch(`${base}/dashboard/app.js`)).status).toBe(200);

    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/live`);
    const init = await new Promise<Record<string, any>>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, any>));
      ws.once('error', reject);
    });
    expect(init['type']).toBe('init');
    expect(init['runId']).toBe(s.runId);
    expect(init['config']['clients']).toBe(2);
    expect(init['phase']).toBe('waiting');
    // The dashboard socket took no rank, and it is in no ledger.
    expect(s.connected()).toBe(0);
    expect(s.ledger.totals.controlBytes).toBe(0);
    ws.close();
  });
});
