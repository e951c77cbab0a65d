import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { marina, MARINA, readSummary, sameRunRows, tempDir } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * Faults and resume: the server is killed (SIGKILL, or SIGTERM) mid-run and started again with --resume on
 * its folder; clients are killed and restarted; the run ends exactly as the fault-free in-process run.
 */
const run = ['--clients', '3', '--dim', '32', '--rounds', '400', '--p', '0.3', '--seed', '4', '--stop-at-target', 'false'];
const procs = reaper();

function start(args: string[]): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [MARINA, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.add(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))), stderr: () => err };
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

/** Resolves once rounds.jsonl in `dir` has at least `n` lines. */
async function roundsAtLeast(dir: string, n: number): Promise<void> {
  const path = join(dir, 'rounds.jsonl');
  for (let i = 0; i < 600; i++) {
    if (existsSync(path) && readFileSync(path, 'utf8').split('\n').filter(Boolean).length >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} did not reach ${n} rounds`);
}

describe('faults and resume', () => {
  /**
   * The chaos test: the server is stopped once by `signal` and resumed; clients are SIGKILLed and restarted
   * three times (once before the server's fault, twice after). MARINA's clients recompute what they owe from
   * x^{t−1} and x^t; DIANA's h_i and EF21's g_i come back from the server's mirror (the State message).
   */
  const cases: [string, string[], 'SIGKILL' | 'SIGTERM'][] = [
    ['marina', [], 'SIGKILL'],
    ['marina', [], 'SIGTERM'],
    ['diana', ['--method', 'diana', '--compressor', 'randk'], 'SIGKILL'],
    ['ef21', ['--method', 'ef21', '--compressor', 'topk'], 'SIGKILL'],
  ];
  for (const [label, method, signal] of cases) {
    it(`${label}: server ${signal}ed mid-run, then --resume; clients SIGKILLed and restarted three times; the run equals marina sim bit for bit`, async () => {
      const flags = [...run, ...method];
      const dir = tempDir(`resume-${label}-${signal}`);
      const out = join(dir, 'net');
      const port = await freePort();
      const server = start(['server', '--port', String(port), '--host', '127.0.0.1', ...flags, '--checkpoint-every', '10', '--out', out, '--quiet']);
      const client = () => start(['client', '--server', `ws://127.0.0.1:${port}`, '--log-level', 'warn', '--backoff', '50', '--retries', '400']);
      const clients = [client(), client(), client()];
      const killClient = (i: number) => {
        clients[i]!.child.kill('SIGKILL');
        clients.push(client()); // a new process takes the vacated rank
      };
      await roundsAtLeast(out, 20);
      killClient(1);
      await roundsAtLeast(out, 45);
      server.child.kill(signal);
      await server.exited;
      const checkpoint = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { coordinator: { round: number } };
      expect(checkpoint.coordinator.round).toBeGreaterThanOrEqual(40);
      const resumed = start(['server', '--port', String(port), '--host', '127.0.0.1', '--resume', out, '--quiet']);
      await roundsAtLeast(out, checkpoint.coordinator.round + 60);
      killClient(0);
      await roundsAtLeast(out, checkpoint.coordinator.round + 160);
      killClient(2);
      expect(await resumed.exited, resumed.stderr()).toBe(0);
      expect(await Promise.all(clients.slice(3).map((c) => c.exited))).toEqual([0, 0, 0]);
      // rounds.jsonl: every round once, none half-written; the checkpoint is gone with the finished run.
      expect(existsSync(join(out, 'checkpoint.json'))).toBe(false);
      const sim = await marina(['sim', ...flags, '--out', join(dir, 'sim'), '--quiet']);
      expect(sim.code, sim.stderr).toBe(0);
      const { a, rowsA, rowsB } = sameRunRows(out, join(dir, 'sim'));
      expect(a.map((r) => r['round'])).toEqual(Array.from({ length: 400 }, (_, i) => i));
      // Iterates and algorithm bits equal; wire bytes differ only where clients were sent x^{t−1} again.
      expect(rowsA.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[6]])).toEqual(rowsB.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[6]]));
      expect(readSummary(out)['final']['xHash']).toBe(readSummary(join(dir, 'sim'))['final']['xHash']);
    }, 120_000);
  }

  it('--restartable: one command line starts the run, resumes it after a SIGKILL, then says it has finished; another run\'s folder is refused', async () => {
    const dir = tempDir('restartable');
    const out = join(dir, 'net');
    const port = await freePort();
    const serverArgs = (flags: string[]) => ['server', '--port', String(port), '--host', '127.0.0.1', ...flags, '--checkpoint-every', '10', '--out', out, '--restartable', '--quiet'];
    const first = start(serverArgs(run));
    const clients = [0, 1, 2].map(() => start(['client', '--server', `ws://127.0.0.1:${port}`, '--log-level', 'warn', '--backoff', '50', '--retries', '400']));
    await roundsAtLeast(out, 45);
    first.child.kill('SIGKILL');
    await first.exited;
    const checkpoint = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { coordinator: { round: number } };
    expect(checkpoint.coordinator.round).toBeGreaterThanOrEqual(40);
    // Another configuration's checkpoint is not continued.
    const other = await marina(serverArgs(run.map((v, i) => (run[i - 1] === '--seed' ? '5' : v))));
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`the checkpoint in ${out} is another run's (it differs in seed)`);
    const again = start(serverArgs(run));
    expect(await again.exited, again.stderr()).toBe(0);
    expect(await Promise.all(clients.map((c) => c.exited))).toEqual([0, 0, 0]);
    const sim = await marina(['sim', ...run, '--out', join(dir, 'sim'), '--quiet']);
    expect(sim.code, sim.stderr).toBe(0);
    const { a, rowsA, rowsB } = sameRunRows(out, join(dir, 'sim'));
    expect(a.map((r) => r['round'])).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(rowsA.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[6]])).toEqual(rowsB.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[6]]));
    // The earlier server's socket counts died with it: a resumed run does not claim its connection bytes.
    expect(readSummary(out)['totals']['connectionBytes']).toBeNull();
    // Started once more (a supervisor that restarts on any exit), it leaves the finished run as it is.
    const done = await marina(serverArgs(run));
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain(`the run in ${out} has finished`);
    expect(readSummary(out)['final']['xHash']).toBe(readSummary(join(dir, 'sim'))['final']['xHash']);
    // A run aborted before its first checkpoint (here: nobody joined in time) is started again, not called finished.
    const early = join(dir, 'early');
    const earlyArgs = ['server', '--port', String(port), '--host', '127.0.0.1', ...run, '--out', early, '--restartable', '--wait-timeout', '4000', '--quiet'];
    const aborted = await marina(earlyArgs);
    expect(aborted.code).toBe(1);
    expect(String(readSummary(early)['stopReason'])).toMatch(/^aborted/);
    const joiners = [0, 1, 2].map(() => start(['client', '--server', `ws://127.0.0.1:${port}`, '--log-level', 'warn', '--backoff', '50', '--retries', '400']));
    const restarted = await marina(earlyArgs);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(await Promise.all(joiners.map((c) => c.exited))).toEqual([0, 0, 0]);
    expect(readSummary(early)['final']['xHash']).toBe(readSummary(join(dir, 'sim'))['final']['xHash']);
    // A folder --restartable cannot take as a run folder is refused (exit 2) and left as it is.
    const refusedFolder = async (name: string, file: string, content: string): Promise<string> => {
      const folder = join(dir, name);
      mkdirSync(folder);
      writeFileSync(join(folder, file), content);
      const r = await marina(['server', '--port', '0', ...run, '--out', folder, '--restartable']);
      expect(r.code).toBe(2);
      expect(readFileSync(join(folder, file), 'utf8')).toBe(content);
      return r.stderr;
    };
    expect(await refusedFolder('odd', 'summary.json', '[]')).toContain('is not a marina run summary');
    expect(await refusedFolder('foreign', 'notes.txt', 'mine')).toContain('holds files that are not a run folder\'s (notes.txt)');
  }, 120_000);

  it('refuses to resume what it cannot: no checkpoint, run flags beside --resume', async () => {
    const dir = tempDir('resume-refused');
    const none = await marina(['server', '--port', '0', '--resume', dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`--resume ${dir}: no checkpoint.json there`);
    const flags = await marina(['server', '--port', '0', '--resume', dir, '--rounds', '5']);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toContain("--resume takes the run's configuration from its checkpoint; drop --rounds");
  });
});
