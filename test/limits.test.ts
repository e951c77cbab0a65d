import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { marina, MARINA, sameRunRows, startServerProcess, tempDir } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * Limits on what a connection may cost (issue 11): connections that never say hello are cut off after the
 * hello deadline, at most --max-pending wait at once (more are refused at once), and at most 32 dashboards
 * watch; an honest run beside them finishes equal to marina sim.
 */
const run = ['--clients', '3', '--dim', '32', '--rounds', '300', '--seed', '9', '--p', '0.3', '--stop-at-target', 'false'];
const procs = reaper();

/** A connection that opens the WebSocket and then says nothing; resolves with the close code. */
function silent(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', () => {});
    ws.on('close', (code) => resolve(code));
  });
}

describe('limits on connections', () => {
  it('silent connections are cut off (hello deadline) or refused (pending cap); dashboards are capped; the honest run equals sim', async () => {
    const dir = tempDir('limits');
    const server = procs.add(await startServerProcess([...run, '--hello-timeout', '700', '--max-pending', '20', '--linger', '5', '--out', join(dir, 'net')]));
    const url = `ws://127.0.0.1:${server.port}`;
    const t0 = performance.now();
    const idle = Array.from({ length: 100 }, () => silent(url));
    const codes = await Promise.all(idle);
    const waited = performance.now() - t0;
    const count = (c: number) => codes.filter((x) => x === c).length;
    expect(count(4019)).toBeGreaterThanOrEqual(79); // MARINA_ERR_BUSY: more than 20 waiting
    expect(count(4013)).toBeLessThanOrEqual(21); // MARINA_ERR_TIMEOUT: no hello within 700 ms
    expect(count(4019) + count(4013)).toBe(100);
    expect(waited).toBeLessThan(10_000);

    // The honest clients join now that the silent ones are gone, and the run goes on.
    const clients = Array.from({ length: 3 }, () => {
      const child = spawn(process.execPath, [MARINA, 'client', '--server', url, '--log-level', 'warn'], { stdio: 'ignore' });
      procs.add(child);
      return new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    });
    // Dashboards: 32 at most; the 33rd upgrade is refused with 503.
    const dashboards = await Promise.all(
      Array.from({ length: 34 }, () =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(`${url}/live`);
          ws.on('open', () => resolve('open'));
          ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
          ws.on('error', () => resolve('error'));
        }),
      ),
    );
    expect(dashboards.filter((d) => d === 'open')).toHaveLength(32);
    expect(dashboards.filter((d) => d === '503')).toHaveLength(2);
    expect(await Promise.all(clients)).toEqual([0, 0, 0]);
    server.child.kill('SIGTERM'); // ends the linger
    expect((await server.exited).code).toBe(0);
    const sim = await marina(['sim', ...run, '--out', join(dir, 'sim'), '--quiet']);
    expect(sim.code, sim.stderr).toBe(0);
    const { rowsA, rowsB } = sameRunRows(join(dir, 'net'), join(dir, 'sim'));
    expect(rowsA.map((r) => r.slice(0, 7))).toEqual(rowsB.map((r) => r.slice(0, 7)));
  }, 120_000);

  it('a frozen client (SIGSTOP) misses its pong and is cut off long before the round timeout; a new client takes its rank', async () => {
    const dir = tempDir('limits-ping');
    // Every round evaluated: the run is cut by SIGTERM and compared with a sim of as many rounds, whose last round
    // --eval-every auto would evaluate and the cut run's not.
    const long = ['--clients', '3', '--dim', '32', '--seed', '9', '--p', '0.3', '--stop-at-target', 'false', '--eval-every', '1'];
    const server = procs.add(await startServerProcess([...long, '--rounds', '1000000', '--ping-interval', '300', '--round-timeout', '60000', '--join-timeout', '60000', '--out', join(dir, 'net')]));
    const url = `ws://127.0.0.1:${server.port}`;
    const client = () => {
      const child = spawn(process.execPath, [MARINA, 'client', '--server', url, '--log-level', 'warn'], { stdio: 'ignore' });
      procs.add(child);
      return child;
    };
    const frozen = client();
    client();
    client();
    await roundsAtLeast(join(dir, 'net'), 50); // the run is under way
    const cut = new Promise<void>((resolve) => server.child.stderr!.on('data', (d) => String(d).includes('no pong to the last ping') && resolve()));
    const t0 = performance.now();
    frozen.kill('SIGSTOP');
    // Rounds stop (the frozen rank owes its update); the missed pong frees the rank within two intervals.
    await cut;
    expect(performance.now() - t0).toBeLessThan(5_000);
    const before = lines(join(dir, 'net'));
    client(); // takes the vacated rank and recomputes what it owes
    await roundsAtLeast(join(dir, 'net'), before + 50);
    server.child.kill('SIGTERM');
    await server.exited;
    frozen.kill('SIGKILL');
    // The run so far equals an in-process run of as many rounds.
    const done = lines(join(dir, 'net'));
    const sim = await marina(['sim', ...long, '--rounds', String(done), '--out', join(dir, 'sim'), '--quiet']);
    expect(sim.code, sim.stderr).toBe(0);
    const { rowsA, rowsB } = sameRunRows(join(dir, 'net'), join(dir, 'sim'));
    expect(rowsA.map((r) => r.slice(0, 7))).toEqual(rowsB.map((r) => r.slice(0, 7)));
  }, 120_000);

  it('a client against a port that accepts TCP and never answers gives up after its handshake timeout, saying so', async () => {
    const { createServer } = await import('node:net');
    const mute = createServer(() => {});
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    const port = (mute.address() as { port: number }).port;
    try {
      const t0 = performance.now();
      const r = await marina(['client', '--server', `ws://127.0.0.1:${port}`, '--handshake-timeout', '300', '--retries', '2', '--backoff', '50', '--log-level', 'silent']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/MARINA_ERR_CONNECT: .*handshake has timed out/);
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      mute.close();
    }
  });
});

function lines(dir: string): number {
  const path = join(dir, 'rounds.jsonl');
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0;
}

async function roundsAtLeast(dir: string, n: number): Promise<void> {
  for (let i = 0; i < 1500 && lines(dir) < n; i++) await new Promise((r) => setTimeout(r, 20));
  if (lines(dir) < n) throw new Error(`${dir}/rounds.jsonl did not reach ${n} rounds`);
}
