import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configFields } from '@marina/core';
import { MARINA, readSummary, sameRunRows, tempDir } from './helpers/cli.js';
import { cleanEnv, probe, run, runOk, tail, waitFor, isAlive } from './helpers/exec.js';
import { checkWire, duplicateSegments, ledgerSocketBytes, parseMib, parseProcNetDev } from './helpers/wire.js';

/**
 * The deployment as a user runs it (ARCHITECTURE "Deployment"): the image from the Dockerfile, and
 * docker-compose.yml bringing up one server and 4 clients (`--scale client=4`) on the network compose makes.
 * Only `docker` and `docker-compose` (or `docker compose`) commands touch the cluster. Checks: every container
 * exits 0; the run folder in the bind mount has, round by round, the iterates (xHash) and ledger of `marina sim`
 * with the same configuration; the ledger adds up to the server's socket bytes, and those to the server
 * container's eth0 counters up to Ethernet/IP/TCP headers. Needs a Docker engine (../shared/tools/docker-engine
 * makes one here); without one the suite is skipped, saying why.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENTS = 4;
const LINGER_S = 12;
const IMAGE = 'marina:test';
const PROJECT = `marina-test-${process.pid}`;
const CONFIG = { method: 'marina', compressor: 'cq', dim: 256, rounds: 300, seed: 7, p: 0.2 };

function findCompose(): string[] | null {
  if (probe('docker-compose', ['version']).ok) return ['docker-compose'];
  if (probe('docker', ['compose', 'version']).ok) return ['docker', 'compose'];
  return null;
}

const engine = probe('docker', ['info', '--format', '{{.ServerVersion}}']);
const compose = engine.ok ? findCompose() : null;
const skipReason = !engine.ok
  ? `no Docker engine answers (docker info: ${engine.output.split('\n').slice(-1)[0] || 'failed'}); run ../shared/tools/docker-engine as root, or start Docker`
  : !compose
    ? 'neither docker-compose nor `docker compose` is installed'
    : null;
if (skipReason) console.warn(`SKIPPED test/cluster.test.ts (docker-compose cluster): ${skipReason}`);

describe.skipIf(skipReason !== null)('docker-compose cluster: server + 4 clients from one image', () => {
  const dir = skipReason ? '' : tempDir('cluster');
  const runsDir = join(dir, 'runs');
  const configDir = join(dir, 'config');
  const sharedData = join(ROOT, '..', 'shared', 'datasets');
  const datasetsDir = existsSync(sharedData) ? sharedData : join(dir, 'datasets');
  const env = cleanEnv({
    IMAGE,
    RUNS_DIR: runsDir,
    RUN_NAME: 'run',
    DATASETS_DIR: datasetsDir,
    CONFIG_DIR: configDir,
    PUBLISH: '127.0.0.1:', // "127.0.0.1::7070": any free host port, so a server already on 7070 does not matter
    MARINA_CLIENTS: String(CLIENTS),
    MARINA_CONFIG: '/config/run.yaml',
    MARINA_LINGER: String(LINGER_S),
    MARINA_LOG_LEVEL: 'info',
  });
  const dc = (args: string[], timeoutMs: number, extra: Record<string, string> = {}) =>
    run(compose![0]!, [...compose!.slice(1), '-p', PROJECT, '-f', 'docker-compose.yml', ...args], { cwd: ROOT, env: { ...env, ...extra }, timeoutMs });
  const docker = (args: string[], timeoutMs = 60_000) => runOk('docker', args, { env, timeoutMs });

  /** Takes down the projects of earlier runs of this test that were killed before their afterAll. */
  async function removeStale(): Promise<void> {
    const labels = (await docker(['ps', '-a', '--filter', 'label=com.docker.compose.project', '--format', '{{.Label "com.docker.compose.project"}}'])).stdout;
    for (const project of new Set(labels.split('\n').filter((l) => /^marina-test-\d+$/.test(l)))) {
      const pid = Number(project.slice('marina-test-'.length));
      if (pid === process.pid || isAlive(pid)) continue;
      console.warn(`removing the stale compose project ${project}`);
      await run(compose![0]!, [...compose!.slice(1), '-p', project, '-f', 'docker-compose.yml', 'down', '-v', '--timeout', '1'], { cwd: ROOT, env, timeoutMs: 120_000 });
    }
  }

  afterAll(async () => {
    if (skipReason) return;
    const down = await dc(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000).catch((e: Error) => ({ code: -1, stderr: e.message }));
    if (down.code !== 0) console.warn(`docker-compose down failed (${down.code}): ${down.stderr}`);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      console.warn(`could not remove ${dir}: ${(e as Error).message}`);
    }
  }, 240_000);

  it('docker-compose config accepts docker-compose.yml', async () => {
    await removeStale();
    const r = await dc(['config'], 60_000);
    expect(r.code, r.stderr).toBe(0);
    // docker-compose 1.29 prints volumes in short syntax, Compose v2 in long syntax.
    const services = (parseYaml(r.stdout) as { services: Record<string, Record<string, any>> }).services;
    const mount = (service: string, target: string) =>
      (services[service]!['volumes'] as (string | { target: string; read_only?: boolean })[]).map((v) =>
        typeof v === 'string' ? { target: v.split(':')[1], readOnly: v.endsWith(':ro') } : { target: v.target, readOnly: v.read_only === true },
      ).find((v) => v.target === target);
    expect(mount('server', '/data')).toEqual({ target: '/data', readOnly: true });
    expect(mount('client', '/data')).toEqual({ target: '/data', readOnly: true });
    expect(mount('server', '/config')).toEqual({ target: '/config', readOnly: true });
    expect(mount('server', '/runs')).toEqual({ target: '/runs', readOnly: false });
    expect(services['client']!['depends_on']['server']['condition']).toBe('service_healthy');
    expect(services['server']!['healthcheck']['test'].join(' ')).toMatch(/node -e .*\/healthz/);
    // Every run field (the run's own and every registry entry's options) reaches the server as MARINA_<FIELD>.
    const passed = Object.keys(services['server']!['environment'] as Record<string, unknown>);
    const missing = configFields().map((f) => `MARINA_${f.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`).filter((v) => !passed.includes(v));
    expect(missing, 'add these to docker-compose.yml').toEqual([]);
  });

  it('the image builds, runs as the node user with native bufferutil, and holds no TypeScript toolchain', async () => {
    const started = performance.now();
    const build = await run('docker', ['build', '-t', IMAGE, '.'], { cwd: ROOT, env, timeoutMs: 900_000 });
    expect(build.code, tail(build.stdout + build.stderr)).toBe(0);
    const check = await docker(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c',
      'id -un; cd /app && node -e "require(\'node-gyp-build\')(require(\'path\').dirname(require.resolve(\'bufferutil\'))); console.log(\'bufferutil native\')" ' +
      '&& test ! -e node_modules/typescript && test ! -e node_modules/vitest && test ! -e packages/cli/src && echo lean']);
    expect(check.stdout.trim().split('\n')).toEqual(['node', 'bufferutil native', 'lean']);
    const help = await docker(['run', '--rm', IMAGE, '--help']);
    expect(help.stdout).toMatch(/marina server/);
    const size = Number((await docker(['image', 'inspect', IMAGE, '--format', '{{.Size}}'])).stdout.trim());
    console.log(`image ${IMAGE}: ${(size / 1e6).toFixed(1)} MB (docker image inspect .Size), built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }, 960_000);

  it('server + 4 clients run to the end, equal marina sim round by round, and the wire bytes match eth0', async () => {
    const t0 = performance.now();
    const secs = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    mkdirSync(runsDir, { recursive: true });
    chmodSync(runsDir, 0o777); // the server writes as the image's node user (uid 1000)
    mkdirSync(configDir, { recursive: true });
    chmodSync(configDir, 0o755);
    mkdirSync(datasetsDir, { recursive: true });
    const configFile = join(configDir, 'run.yaml');
    writeFileSync(configFile, Object.entries(CONFIG).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n', { mode: 0o644 });

    const up = await dc(['up', '-d', '--no-build', '--scale', `client=${CLIENTS}`], 300_000);
    expect(up.code, up.stderr).toBe(0);
    const ids = async (service: string) =>
      (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', `label=com.docker.compose.service=${service}`])).stdout.trim().split('\n').filter(Boolean);
    const [server] = await ids('server');
    const clients = await ids('client');
    expect(server).toBeDefined();
    expect(clients).toHaveLength(CLIENTS);
    const logs = async () => tail((await dc(['logs', '--no-color'], 60_000)).stdout, 60);
    const state = async (id: string) => (await docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id])).stdout.trim();

    // Mounts as documented: data sets and config read-only, the run folder writable.
    const mounts = JSON.parse((await docker(['inspect', '--format', '{{json .Mounts}}', server!])).stdout) as { Destination: string; RW: boolean }[];
    expect(Object.fromEntries(mounts.map((m) => [m.Destination, m.RW]))).toEqual({ '/runs': true, '/data': false, '/config': false });
    const net = (await docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}/{{.IPPrefixLen}} {{end}}', server!])).stdout.trim();
    console.log(`cluster up (server healthy, ${CLIENTS} clients started) after ${secs()}`);

    // The run's summary appears in the bind mount once every client socket has closed; the server then lingers.
    const out = join(runsDir, 'run');
    await waitFor('summary.json in the bind mount', async () => {
      if (existsSync(join(out, 'summary.json'))) return true;
      const s = await state(server!);
      if (!s.startsWith('running')) throw new Error(`server is ${s} before writing summary.json\n${await logs()}`);
      return undefined;
    }, 300_000, 250);
    await new Promise((r) => setTimeout(r, 500)); // the last ACKs of the closing handshakes
    const proc = (await docker(['exec', server!, 'cat', '/proc/net/dev', '/proc/net/snmp', '/proc/net/netstat'])).stdout;
    expect(await state(server!), 'the interface counters must be read while the server lingers').toMatch(/^running/);
    console.log(`run over after ${secs()}; counters read`);

    const exitCodes = async (idsToWait: string[]) => (await docker(['wait', ...idsToWait], (LINGER_S + 60) * 1000)).stdout.trim().split('\n').map(Number);
    const clientCodes = await exitCodes(clients);
    expect(clientCodes, await logs()).toEqual(clients.map(() => 0));
    const [serverCode] = await exitCodes([server!]);
    expect(serverCode, await logs()).toBe(0);
    console.log(`server exited 0 after its ${LINGER_S} s linger, ${secs()}`);

    // Traffic stayed on the network compose made: every client socket came from its subnet.
    const summary = readSummary(out);
    for (const s of summary['sockets'] as { remote: string }[]) expect(sameSubnet(s.remote, net), `${s.remote} not on ${net}`).toBe(true);

    // Same iterates and ledger as the in-process run of the same configuration.
    const sim = await run(process.execPath, [MARINA, 'sim', '--config', configFile, '--clients', String(CLIENTS), '--out', join(dir, 'sim'), '--quiet'], { env: cleanEnv(), timeoutMs: 120_000 });
    expect(sim.code, sim.stderr).toBe(0);
    const { a, rowsA, rowsB } = sameRunRows(out, join(dir, 'sim'));
    expect(a.length).toBeGreaterThan(10);
    expect(rowsA).toEqual(rowsB);
    expect(a.some((r) => r['kind'] === 'dense') && a.some((r) => r['kind'] === 'compressed')).toBe(true);

    // Ledger = sockets exactly; sockets vs. eth0 up to headers.
    const socketBytes = ledgerSocketBytes(a, summary, CLIENTS);
    checkWire(`compose (${CLIENTS} clients, d = ${CONFIG.dim}, ${a.length} rounds), server eth0`, parseProcNetDev(proc, 'eth0'), socketBytes, duplicateSegments(parseMib(proc)));
    console.log(`cluster test run took ${secs()}`);
  }, 900_000);

  it('with docker-compose.secret.yml: clients prove the compose secret, a client container without it is refused (exit 4); equal to marina sim', async () => {
    await dc(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000);
    // As README "Security" says to make it: 64 hex digits, readable by uid 1000 (the image's node user).
    const secretFile = join(dir, 'marina.secret');
    writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
    chmodSync(secretFile, 0o644);
    // The run lingers, so the intruder below meets a server whatever the timing (after the run it is refused all the same).
    const extra = { SECRET_FILE: secretFile, RUN_NAME: 'secret', MARINA_LINGER: '8' };
    const secretFiles = ['-f', 'docker-compose.yml', '-f', 'docker-compose.secret.yml'];
    const dcs = (args: string[], timeoutMs: number) =>
      run(compose![0]!, [...compose!.slice(1), '-p', PROJECT, ...secretFiles, ...args], { cwd: ROOT, env: { ...env, ...extra }, timeoutMs });
    const config = await dcs(['config'], 60_000);
    expect(config.code, config.stderr).toBe(0);
    const services = (parseYaml(config.stdout) as { services: Record<string, Record<string, any>> }).services;
    for (const s of ['server', 'client']) {
      expect(services[s]!['environment']['MARINA_SECRET_FILE']).toBe('/run/secrets/marina');
      expect(JSON.stringify(services[s]!['secrets'])).toContain('marina');
    }
    expect(String(services['server']!['environment']['MARINA_INSECURE'])).toBe('false');

    const up = await dcs(['up', '-d', '--no-build', '--scale', `client=${CLIENTS}`], 300_000);
    expect(up.code, up.stderr).toBe(0);
    const all = (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])).stdout.trim().split('\n').filter(Boolean);
    expect(all).toHaveLength(CLIENTS + 1);
    // An intruder on the compose network, without the secret: refused before it gets a rank.
    const network = (await docker(['inspect', '--format', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', all[0]!])).stdout.trim().split(' ')[0]!;
    const intruder = await run('docker', ['run', '--rm', '--network', network, IMAGE, 'client', '--server', 'ws://server:7070', '--retries', '30', '--log-level', 'silent'], { env, timeoutMs: 120_000 });
    expect(intruder.code, intruder.stderr).toBe(4);
    expect(intruder.stderr).toMatch(/^marina client: MARINA_ERR_AUTH: this run requires its secret/);
    const codes = (await docker(['wait', ...all], 300_000)).stdout.trim().split('\n').map(Number);
    const logs = tail((await dcs(['logs', '--no-color'], 60_000)).stdout, 60);
    expect(codes, logs).toEqual(all.map(() => 0));
    // The server announced a secret and the dashboard token; it never printed the secret.
    expect(logs).toMatch(/"secret":true/);
    expect(logs).toMatch(/"token":"[0-9a-f]{64}"/);
    const sim = await run(process.execPath, [MARINA, 'sim', '--config', join(configDir, 'run.yaml'), '--clients', String(CLIENTS), '--out', join(dir, 'sim-secret'), '--quiet'], { env: cleanEnv(), timeoutMs: 120_000 });
    expect(sim.code, sim.stderr).toBe(0);
    const { a, rowsA, rowsB } = sameRunRows(join(runsDir, 'secret'), join(dir, 'sim-secret'));
    expect(a.length).toBeGreaterThan(10);
    expect(rowsA).toEqual(rowsB);
    // Four ranked sockets (the clients) and the intruder's, unranked.
    const sockets = readSummary(join(runsDir, 'secret'))['sockets'] as { rank: number }[];
    expect(sockets.filter((s) => s.rank >= 0).map((s) => s.rank).sort()).toEqual([0, 1, 2, 3]);
  }, 600_000);

  it.skipIf(!existsSync(join(sharedData, 'a9a.gz')))('logreg on a9a mounted read-only: each client container reads its rank\'s part; equal to marina sim', async () => {
    await dc(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000);
    const file = join(configDir, 'a9a.yaml');
    writeFileSync(file, 'problem: logreg\ndata: /data/a9a.gz\nrounds: 60\nseed: 7\n', { mode: 0o644 });
    const extra = { MARINA_CONFIG: '/config/a9a.yaml', RUN_NAME: 'a9a', MARINA_LINGER: '0' };
    const up = await dc(['up', '-d', '--no-build', '--scale', `client=${CLIENTS}`], 300_000, extra);
    expect(up.code, up.stderr).toBe(0);
    const all = (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])).stdout.trim().split('\n').filter(Boolean);
    expect(all).toHaveLength(CLIENTS + 1);
    const codes = (await docker(['wait', ...all], 300_000)).stdout.trim().split('\n').map(Number);
    const logs = tail((await dc(['logs', '--no-color'], 60_000, extra)).stdout, 60);
    expect(codes, logs).toEqual(all.map(() => 0));
    const sim = await run(process.execPath, [MARINA, 'sim', '--config', file, '--data', join(sharedData, 'a9a.gz'), '--clients', String(CLIENTS), '--out', join(dir, 'sim-a9a'), '--quiet'], { env: cleanEnv(), timeoutMs: 120_000 });
    expect(sim.code, sim.stderr).toBe(0);
    const { a, rowsA, rowsB } = sameRunRows(join(runsDir, 'a9a'), join(dir, 'sim-a9a'));
    expect(a).toHaveLength(60);
    expect(rowsA).toEqual(rowsB);
    expect(readSummary(join(runsDir, 'a9a'))['shards'].map((x: { rows: number }) => x.rows)).toEqual([8141, 8140, 8140, 8140]);
  }, 600_000);
});

/** Whether "a.b.c.d:port" (maybe "::ffff:"-prefixed) lies in one of the "ip/len" networks listed. */
function sameSubnet(remote: string, networks: string): boolean {
  const ip = remote.replace(/^::ffff:/, '').replace(/:\d+$/, '');
  const toInt = (s: string) => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return networks.split(/\s+/).some((n) => {
    const [addr, len] = n.split('/');
    if (!addr || !len) return false;
    const size = 2 ** (32 - Number(len));
    return Math.floor(toInt(ip) / size) === Math.floor(toInt(addr) / size);
  });
}
