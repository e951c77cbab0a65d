import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARINA, readSummary, sameRunRows, tempDir } from './helpers/cli.js';
import { cleanEnv, isAlive, killGroup, probe, run, runOk, tail } from './helpers/exec.js';
import { addCounters, checkWire, duplicateSegments, ledgerSocketBytes, parseMib, zeroCounters, type Counters } from './helpers/wire.js';

/**
 * Clients on separate hosts, without Docker: network namespaces as hosts on one LAN. The server's namespace
 * holds a bridge with 10.77.0.1/24; each client namespace is joined to it by a veth pair and has its own address
 * 10.77.0.(10 + i). `marina server` runs in the server's namespace, `marina client --server ws://10.77.0.1:7070`
 * in each client's, all with one `--secret-file`, for a full MARINA + CQ run. The run equals `marina sim` round by round; the ledger adds up to
 * the server's socket bytes, and those to the veth counters on both sides of every link up to Ethernet/IP/TCP
 * headers. Needs root (CAP_NET_ADMIN) and iproute2; skipped otherwise, saying why.
 */
const CLIENTS = 3;
const PORT = 7070;
const PREFIX = `mnet-${process.pid}`;
const SERVER_NS = `${PREFIX}-s`;
const clientNs = (i: number) => `${PREFIX}-c${i}`;
const FLAGS = ['--method', 'marina', '--compressor', 'cq', '--clients', String(CLIENTS), '--dim', '64', '--rounds', '400', '--seed', '3', '--p', '0.2'];

function whyNot(): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux only (platform ${process.platform})`;
  if (process.getuid?.() !== 0) return `network namespaces need root (running as uid ${process.getuid?.()})`;
  if (!probe('ip', ['-V']).ok) return 'iproute2 (`ip`) is not installed';
  const name = `mnet-probe-${process.pid}`;
  const add = probe('ip', ['netns', 'add', name]);
  if (!add.ok) return `\`ip netns add\` is not permitted here: ${add.output}`;
  probe('ip', ['netns', 'del', name]);
  return null;
}

const skipReason = whyNot();
if (skipReason) console.warn(`SKIPPED test/netns.test.ts (clients in network namespaces): ${skipReason}`);

const ip = (args: string[]) => runOk('ip', args, { timeoutMs: 20_000 });
const inNs = (ns: string, cmd: string[]) => runOk('ip', ['netns', 'exec', ns, ...cmd], { timeoutMs: 20_000 });

/** One interface's counters, read from /sys/class/net inside a namespace. */
async function counters(ns: string, dev: string): Promise<Counters> {
  const keys = ['rx_bytes', 'rx_packets', 'tx_bytes', 'tx_packets'];
  const out = await inNs(ns, ['cat', ...keys.map((k) => `/sys/class/net/${dev}/statistics/${k}`)]);
  const [rxBytes, rxPackets, txBytes, txPackets] = out.stdout.trim().split('\n').map(Number);
  return { rxBytes: rxBytes!, rxPackets: rxPackets!, txBytes: txBytes!, txPackets: txPackets! };
}

/** Deletes namespaces left by an earlier run of this test that was killed before its afterAll. */
async function removeStale(): Promise<void> {
  const list = (await ip(['netns', 'list'])).stdout;
  for (const m of list.matchAll(/^(mnet-(\d+)-\S+)/gm)) {
    const pid = Number(m[2]);
    if (!isAlive(pid) || pid === process.pid) await run('ip', ['netns', 'del', m[1]!], { timeoutMs: 20_000 });
  }
}

describe.skipIf(skipReason !== null)('clients on separate hosts (network namespaces, veth, bridge)', () => {
  const children: ChildProcess[] = [];
  const namespaces = [SERVER_NS, ...Array.from({ length: CLIENTS }, (_, i) => clientNs(i))];

  beforeAll(async () => {
    await removeStale();
    for (const ns of namespaces) {
      await ip(['netns', 'add', ns]);
      // No IPv6 on these links: link-local addresses, DAD and MLD would put frames on them that no socket sent.
      await run('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'], { timeoutMs: 20_000 });
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await ip(['-n', SERVER_NS, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', SERVER_NS, 'addr', 'add', '10.77.0.1/24', 'dev', 'br0']);
    await ip(['-n', SERVER_NS, 'link', 'set', 'br0', 'up']);
    for (let i = 0; i < CLIENTS; i++) {
      await ip(['-n', SERVER_NS, 'link', 'add', `port${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs(i)]);
      await ip(['-n', SERVER_NS, 'link', 'set', `port${i}`, 'master', 'br0', 'up']);
      await ip(['-n', clientNs(i), 'addr', 'add', `10.77.0.${10 + i}/24`, 'dev', 'eth0']);
      await ip(['-n', clientNs(i), 'link', 'set', 'eth0', 'up']);
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of children) killGroup(c);
    for (const ns of namespaces) {
      const r = await run('ip', ['netns', 'del', ns], { timeoutMs: 20_000 }).catch((e: Error) => ({ code: -1, stderr: e.message }));
      if (r.code !== 0 && !/No such file/.test(r.stderr)) console.warn(`ip netns del ${ns}: ${r.stderr}`);
    }
  }, 120_000);

  /** Starts `node marina ...args` inside `ns`; resolves with the exit code and output. */
  function marinaIn(ns: string, args: string[], onStderr?: (text: string) => void): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string }> } {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, MARINA, ...args], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr);
    });
    return { child, exited: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))) };
  }

  it('a MARINA + CQ run across 4 hosts equals marina sim, and its wire bytes match the veth counters', async () => {
    const t0 = performance.now();
    const dir = tempDir('netns');
    const out = join(dir, 'server');
    // Hosts on a LAN: the server listens on its LAN address, which takes the run's secret (README "Security").
    const secret = join(dir, 'secret');
    writeFileSync(secret, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const ports = Array.from({ length: CLIENTS }, (_, i) => `port${i}`);
    const before = {
      server: await Promise.all(ports.map((p) => counters(SERVER_NS, p))),
      clients: await Promise.all(Array.from({ length: CLIENTS }, (_, i) => counters(clientNs(i), 'eth0'))),
    };

    let listening!: () => void;
    const isListening = new Promise<void>((r) => (listening = r));
    const server = marinaIn(SERVER_NS, ['server', '--port', String(PORT), '--host', '10.77.0.1', '--secret-file', secret, '--out', out, '--quiet', '--log-level', 'info', ...FLAGS], (text) => {
      if (text.includes('"msg":"server listening"')) listening();
    });
    const bounded = <T>(what: string, p: Promise<T>, ms: number) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms).unref())]);
    await bounded('server start', Promise.race([isListening, server.exited.then((r) => Promise.reject(new Error(`server exited ${r.code}\n${tail(r.stderr)}`)))]), 30_000);

    const clients = Array.from({ length: CLIENTS }, (_, i) =>
      marinaIn(clientNs(i), ['client', '--server', `ws://10.77.0.1:${PORT}`, '--secret-file', secret, '--name', `host-${i}`, '--retries', '20', '--log-level', 'warn']),
    );
    const results = await bounded('the run', Promise.all([server.exited, ...clients.map((c) => c.exited)]), 180_000);
    for (const r of results) expect(r.code, tail(r.stderr)).toBe(0);
    console.log(`netns run: server + ${CLIENTS} clients exited 0 after ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const after = {
      server: await Promise.all(ports.map((p) => counters(SERVER_NS, p))),
      clients: await Promise.all(Array.from({ length: CLIENTS }, (_, i) => counters(clientNs(i), 'eth0'))),
    };
    const delta = (a: Counters[], b: Counters[]) => a.reduce((acc, c, i) => addCounters(acc, addCounters(c, b[i]!, -1)), zeroCounters());
    const mib = await inNs(SERVER_NS, ['cat', '/proc/net/snmp', '/proc/net/netstat']);
    const duplicates = duplicateSegments(parseMib(mib.stdout));

    // Same iterates and ledger as the in-process run.
    const sim = await run(process.execPath, [MARINA, 'sim', ...FLAGS, '--out', join(dir, 'sim'), '--quiet'], { env: cleanEnv(), timeoutMs: 120_000 });
    expect(sim.code, sim.stderr).toBe(0);
    const { a, rowsA, rowsB } = sameRunRows(out, join(dir, 'sim'));
    expect(a.length).toBeGreaterThan(10);
    expect(rowsA).toEqual(rowsB);

    // Every client socket came from its own host's address.
    const summary = readSummary(out);
    const remotes = (summary['sockets'] as { remote: string }[]).map((s) => s.remote.replace(/^::ffff:/, '').replace(/:\d+$/, '')).sort();
    expect(remotes).toEqual(Array.from({ length: CLIENTS }, (_, i) => `10.77.0.${10 + i}`));

    const socketBytes = ledgerSocketBytes(a, summary, CLIENTS);
    const label = `netns (${CLIENTS} clients, d = 64, ${a.length} rounds)`;
    checkWire(`${label}, server's bridge ports`, delta(after.server, before.server), socketBytes, duplicates);
    checkWire(`${label}, clients' eth0`, delta(after.clients, before.clients), socketBytes, duplicates);
    console.log(`netns test took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 300_000);
});
