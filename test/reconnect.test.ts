import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { marina, MARINA, readRounds, readSummary, startServerProcess, tempDir } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * A client whose connection drops mid-run reconnects by itself; the server gives it the vacant rank with
 * x^{t−1} and x^t, it recomputes what it owes, and the run ends exactly as an undisturbed in-process run.
 * The drop is real: the client talks through a TCP relay that this test cuts.
 */
const config = ['--clients', '2', '--dim', '32', '--rounds', '400', '--seed', '8', '--p', '0.3', '--stop-at-target', 'false'];
let relay: Server | null = null;
const procs = reaper();

afterEach(() => {
  relay?.close();
});

/** A TCP relay to `port` whose live connections `cut()` destroys. */
function startRelay(port: number): Promise<{ port: number; cut(): number }> {
  const pairs = new Set<[Socket, Socket]>();
  relay = createServer((inbound) => {
    const outbound = createConnection(port, '127.0.0.1');
    // As ws does on its own sockets: without this, Nagle and delayed ACKs cost ~40 ms per round trip.
    inbound.setNoDelay(true);
    outbound.setNoDelay(true);
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const drop = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  return new Promise((resolve) =>
    relay!.listen(0, '127.0.0.1', () => {
      const address = relay!.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        cut() {
          const n = pairs.size;
          for (const [a, b] of pairs) {
            a.destroy();
            b.destroy();
          }
          pairs.clear();
          return n;
        },
      });
    }),
  );
}

function client(port: number): Promise<number | null> {
  const child = spawn(process.execPath, [MARINA, 'client', '--server', `ws://127.0.0.1:${port}`, '--log-level', 'warn', '--backoff', '50'], { stdio: 'ignore' });
  procs.add(child);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('a client whose connection drops mid-run', () => {
  it('reconnects, takes its rank back and the run equals the in-process run', async () => {
    const dir = tempDir('reconnect');
    const server = procs.add(await startServerProcess([...config, '--out', join(dir, 'net'), '--join-timeout', '30000']));
    const r = await startRelay(server.port);
    const exits = [client(server.port), client(r.port)];
    // Cut the relayed client's connection once the run is under way.
    const rounds = join(dir, 'net', 'rounds.jsonl');
    for (let i = 0; i < 200 && !(existsSync(rounds) && readFileSync(rounds, 'utf8').split('\n').length > 50); i++) await new Promise((res) => setTimeout(res, 25));
    expect(r.cut()).toBe(1);
    expect(await Promise.all(exits)).toEqual([0, 0]);
    expect((await server.exited).code).toBe(0);
    const sim = await marina(['sim', ...config, '--quiet', '--out', join(dir, 'sim')]);
    expect(sim.code, sim.stderr).toBe(0);
    const net = readRounds(join(dir, 'net'));
    expect(net).toHaveLength(400);
    expect(net.map((x) => x['xHash'])).toEqual(readRounds(join(dir, 'sim')).map((x) => x['xHash']));
    // Three sockets: the direct client, and the relayed client before and after the cut.
    expect(readSummary(join(dir, 'net'))['sockets']).toHaveLength(3);
  });
});
