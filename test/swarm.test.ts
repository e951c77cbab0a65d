import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configFields } from '@marina/core';
import { MARINA, readSummary, sameRunRows, tempDir } from './helpers/cli.js';
import { cleanEnv, probe, run, runOk, tail, waitFor, isAlive } from './helpers/exec.js';

/**
 * deploy/swarm/stack.yml as README "Scaling out" deploys it: `docker stack deploy` on a one-node swarm (made here
 * if the engine is in none, and left again afterwards), REPLICAS client tasks of `marina client --count COUNT`
 * (256 clients in all) and one server, the run's secret a Swarm secret, the run folder in a named volume. The
 * server is held back by a placement constraint on a node label until the clients have tried to reach it, so
 * the clients' retries are exercised, and the label is the one README's multi-machine steps use. Checks: every
 * client task completes with exit 0 and none was restarted; the run folder in the volume equals `marina sim` with
 * the same flags round by round; the stack, its secret, network and volume and the node label are gone after.
 * Needs a Docker engine (../shared/tools/docker-engine makes one here); without one the suite is skipped, saying why.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STACK_FILE = 'deploy/swarm/stack.yml';
const PUBLISH_FILE = 'deploy/swarm/publish.yml';
const IMAGE = 'marina:swarm-test';
const STACK = `marina-swarm-${process.pid}`;
const LABEL = `marina-swarm-test-${process.pid}`;
const REPLICAS = 4;
const COUNT = 64;
const CLIENTS = REPLICAS * COUNT;
/** The run, as MARINA_<FLAG> variables for the stack and as flags for `marina sim`. */
const RUN = { dim: 128, rounds: 40, seed: 5, p: 0.2, method: 'marina', compressor: 'cq' };

const engine = probe('docker', ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}']);
const stackCli = engine.ok ? probe('docker', ['stack', 'deploy', '--help']) : null;
const [swarmState, manager] = engine.ok ? engine.output.trim().split(' ') : [];
const skipReason = !engine.ok
  ? `no Docker engine answers (docker info: ${engine.output.split('\n').slice(-1)[0] || 'failed'}); run ../shared/tools/docker-engine as root, or start Docker`
  : !stackCli?.ok
    ? 'this docker client has no `docker stack` command'
    : swarmState === 'active' && manager !== 'true'
      ? 'this engine is a swarm worker; `docker stack deploy` needs a manager'
      : swarmState !== 'active' && swarmState !== 'inactive'
        ? `the engine's swarm is ${swarmState}; neither usable nor safe to initialise`
        : null;
if (skipReason) console.warn(`SKIPPED test/swarm.test.ts (Docker Swarm stack): ${skipReason}`);

describe.skipIf(skipReason !== null)(`Docker Swarm: ${STACK_FILE}, ${REPLICAS} client tasks × --count ${COUNT}`, () => {
  const dir = skipReason ? '' : tempDir('swarm');
  const secretFile = join(dir, 'marina.secret');
  const runVars = Object.fromEntries(Object.entries(RUN).map(([k, v]) => [`MARINA_${k.toUpperCase()}`, String(v)]));
  const env = cleanEnv({
    IMAGE,
    SECRET_FILE: secretFile,
    RUN_NAME: 'run',
    REPLICAS: String(REPLICAS),
    MARINA_COUNT: String(COUNT),
    MARINA_CLIENTS: String(CLIENTS),
    MARINA_LOG_LEVEL: 'info', // the clients' "server not reachable yet; retrying" lines are checked
    SERVER_CONSTRAINT: `node.labels.${LABEL} == go`,
    ...runVars,
  });
  const docker = (args: string[], timeoutMs = 60_000) => runOk('docker', args, { cwd: ROOT, env, timeoutMs });
  let initialisedSwarm = false;
  let hadGwBridge = true;
  let labelled = false;
  let nodeId = ''; // `docker node update` takes no `self`

  /** Names, states and errors of the stack's tasks, history included (a restarted task leaves its failed one). */
  async function tasks(): Promise<{ service: string; desired: string; state: string; error: string }[]> {
    const out = (await docker(['stack', 'ps', STACK, '--no-trunc', '--format', '{{.Name}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}'])).stdout;
    return out.trim().split('\n').filter(Boolean).map((l) => {
      const [name, desired, state, error] = l.split('|') as [string, string, string, string];
      return { service: name.replace(/\.\d+$/, '').replace(`${STACK}_`, ''), desired, state: state.split(' ')[0]!, error };
    });
  }
  const containersOf = async (service: string) =>
    (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.swarm.service.name=${STACK}_${service}`])).stdout.trim().split('\n').filter(Boolean);
  const logsOf = async (service: string, lines = 40) => {
    const r = await run('docker', ['service', 'logs', '--raw', '--tail', String(lines), `${STACK}_${service}`], { env, timeoutMs: 60_000 });
    return tail(r.stdout + r.stderr, lines);
  };

  /** Removes stacks (and their volumes) of earlier runs of this test killed before their afterAll. */
  async function removeStale(): Promise<void> {
    const stacks = (await docker(['stack', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter((s) => /^marina-swarm-\d+$/.test(s));
    for (const stack of stacks) {
      const pid = Number(stack.slice('marina-swarm-'.length));
      if (pid === process.pid || isAlive(pid)) continue;
      console.warn(`removing the stale stack ${stack}`);
      await removeStack(stack);
    }
  }

  /** `docker stack rm`, then the volume once no container holds it (stack rm returns before they are gone). */
  async function removeStack(stack: string): Promise<void> {
    await run('docker', ['stack', 'rm', stack], { env, timeoutMs: 60_000 });
    await waitFor(`the containers of ${stack} to go`, async () => {
      const left = (await docker(['ps', '-a', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`])).stdout.trim();
      return left === '' ? true : undefined;
    }, 120_000, 500);
    await waitFor(`the network of ${stack} to go`, async () => {
      const left = (await docker(['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`])).stdout.trim();
      return left === '' ? true : undefined;
    }, 60_000, 500);
    const volumes = (await docker(['volume', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`])).stdout.trim().split('\n').filter(Boolean);
    if (volumes.length > 0) await docker(['volume', 'rm', ...volumes]);
  }

  beforeAll(async () => {
    if (swarmState === 'inactive') {
      // docker_gwbridge, which the swarm makes, outlives `swarm leave`: removed after unless it was there before.
      hadGwBridge = (await docker(['network', 'ls', '-q', '--filter', 'name=^docker_gwbridge$'])).stdout.trim() !== '';
      // Loopback only: this swarm's control plane is for this test, not for the machine's network.
      await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377']);
      initialisedSwarm = true;
      console.log('initialised a one-node swarm (left again after the test)');
    }
    nodeId = (await docker(['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim();
    await removeStale();
  }, 300_000);

  afterAll(async () => {
    if (skipReason) return;
    const problems: string[] = [];
    const step = async (what: string, f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    await step('removing the stack', () => removeStack(STACK));
    if (labelled) await step('removing the node label', () => docker(['node', 'update', '--label-rm', LABEL, nodeId]));
    if (initialisedSwarm) await step('leaving the swarm', () => docker(['swarm', 'leave', '--force']));
    if (initialisedSwarm && !hadGwBridge) await step('removing docker_gwbridge', () => docker(['network', 'rm', 'docker_gwbridge']));
    rmSync(dir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`cleanup failed:\n${problems.join('\n')}`);
  }, 300_000);

  it('docker stack config accepts the stack (and publish.yml on top): dnsrr, restart policies, secret, volume, every run field', async () => {
    const config = (files: string[]) => docker(['stack', 'config', ...files.flatMap((f) => ['-c', f])]).then((r) => parseYaml(r.stdout) as Record<string, any>);
    const stack = await config([STACK_FILE]);
    const { server, client } = stack['services'];
    expect(server.deploy.endpoint_mode).toBe('dnsrr');
    expect(server.ports).toBeUndefined(); // nothing on the host's interfaces unless publish.yml says so
    // Both restart on failure; the server's same command line then resumes its run (--restartable).
    for (const s of [server, client]) expect(s.deploy.restart_policy.condition).toBe('on-failure');
    expect(server.command).toContain('--restartable');
    expect(client.deploy.replicas).toBe(REPLICAS);
    expect(client.environment).toMatchObject({ MARINA_COUNT: String(COUNT), MARINA_SERVER: 'ws://server:7070', MARINA_SECRET_FILE: '/run/secrets/marina' });
    expect(server.command).toEqual(expect.arrayContaining(['--secret-file', '/run/secrets/marina', '--out', '/runs/run']));
    expect(server.healthcheck.test.join(' ')).toMatch(/node -e .*\/healthz/);
    expect(server.volumes).toEqual([expect.objectContaining({ type: 'volume', source: 'runs', target: '/runs' })]);
    for (const s of [server, client]) expect(s.secrets).toEqual([expect.objectContaining({ source: 'marina' })]);
    expect(server.deploy.placement.constraints).toEqual([`node.labels.${LABEL} == go`]);
    // Every run field reaches the server as MARINA_<FIELD> (set here, or passed through from the deploying shell).
    const passed = Object.keys(server.environment as Record<string, unknown>);
    const missing = configFields().map((f) => `MARINA_${f.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`).filter((v) => !passed.includes(v));
    expect(missing, `add these to ${STACK_FILE}`).toEqual([]);
    expect(server.environment).toMatchObject({ ...runVars, MARINA_CLIENTS: String(CLIENTS) });
    const published = await config([STACK_FILE, PUBLISH_FILE]);
    expect(published['services'].server.ports).toEqual([expect.objectContaining({ target: 7070, mode: 'host' })]);
  });

  it(`deploys; ${CLIENTS} clients wait for the server, every client task exits 0, the run equals marina sim`, async () => {
    const t0 = performance.now();
    const secs = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const build = await run('docker', ['build', '-t', IMAGE, '.'], { cwd: ROOT, env, timeoutMs: 900_000 });
    expect(build.code, tail(build.stdout + build.stderr)).toBe(0);
    console.log(`image ${IMAGE} built in ${secs()}`);
    writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    chmodSync(secretFile, 0o600); // read by `docker stack deploy` only; in the tasks it is a 0444 Swarm secret

    const t1 = performance.now();
    const deploy = await run('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', STACK_FILE, STACK], { cwd: ROOT, env, timeoutMs: 120_000 });
    expect(deploy.code, deploy.stderr).toBe(0);

    // The server cannot be placed until the node has the label: the clients start alone and retry.
    await waitFor('the client tasks to run', async () => {
      const running = (await tasks()).filter((t) => t.service === 'client' && t.state === 'Running');
      return running.length === REPLICAS ? true : undefined;
    }, 120_000, 500);
    const pending = (await tasks()).filter((t) => t.service === 'server');
    expect(pending.map((t) => t.state)).toEqual(['Pending']);
    await waitFor('the clients to retry', async () => ((await logsOf('client', 2000)).includes('server not reachable yet; retrying') ? true : undefined), 60_000, 1000);
    await docker(['node', 'update', '--label-add', `${LABEL}=go`, nodeId]);
    labelled = true;
    console.log(`clients retried while the server was held back; server placed after ${secs()}`);

    // Every task completes; a failed one (a restarted client, a server that stopped) fails the test at once.
    await waitFor('every task to complete', async () => {
      const all = await tasks();
      const failed = all.filter((t) => t.state === 'Failed' || t.state === 'Rejected' || (t.error !== '' && t.state !== 'Pending'));
      if (failed.length > 0) throw new Error(`tasks failed: ${JSON.stringify(failed)}\n${await logsOf('server')}\n${await logsOf('client')}`);
      return all.length === REPLICAS + 1 && all.every((t) => t.state === 'Complete') ? true : undefined;
    }, 180_000, 1000);
    const runSecs = (performance.now() - t1) / 1000;
    console.log(`stack run over after ${secs()} (${runSecs.toFixed(1)} s from deploy)`);

    const exitCodes = async (service: string) =>
      Promise.all((await containersOf(service)).map(async (id) => Number((await docker(['inspect', '--format', '{{.State.ExitCode}}', id])).stdout.trim())));
    expect(await exitCodes('client')).toEqual(Array(REPLICAS).fill(0));
    expect(await exitCodes('server')).toEqual([0]);

    // The run folder, from the volume through the server's (exited) container.
    const [server] = await containersOf('server');
    await docker(['cp', `${server}:/runs/run`, join(dir, 'swarm')]);
    const sim = await run(process.execPath, [MARINA, 'sim', '--clients', String(CLIENTS), ...Object.entries(RUN).flatMap(([k, v]) => [k.length === 1 ? `-${k}` : `--${k}`, String(v)]),
      '--out', join(dir, 'sim'), '--quiet'], { env: cleanEnv(), timeoutMs: 120_000 });
    expect(sim.code, sim.stderr).toBe(0);
    const { a, rowsA, rowsB } = sameRunRows(join(dir, 'swarm'), join(dir, 'sim'));
    expect(a).toHaveLength(RUN.rounds);
    expect(rowsA).toEqual(rowsB);
    expect(a.some((r) => r['kind'] === 'dense') && a.some((r) => r['kind'] === 'compressed')).toBe(true);
    // 256 ranked sockets, from the 4 client containers (their names carry the task's host and pid, NAME#i).
    const summary = readSummary(join(dir, 'swarm'));
    const ranked = (summary['sockets'] as { rank: number }[]).filter((s) => s.rank >= 0).map((s) => s.rank).sort((x, y) => x - y);
    expect(ranked).toEqual(Array.from({ length: CLIENTS }, (_, i) => i));
    expect(await logsOf('server', 100_000), 'the server announces that clients must prove the secret').toMatch(/"secret":true/);
    console.log(`swarm: ${REPLICAS} tasks × ${COUNT} clients, d = ${RUN.dim}, ${a.length} rounds equal to marina sim; whole test ${secs()}`);
  }, 900_000);
});
