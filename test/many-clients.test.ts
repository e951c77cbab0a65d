import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { marina, sameRunRows, startServerProcess, tempDir, type Finished, type RunningServer } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * Issue 13, many clients per process: `marina client --count K` hosts K clients (each its own socket, rank,
 * shard and runner) and `marina local --processes P` spreads n clients over P such processes. At n = 1024 in
 * two processes the run equals `marina sim` round by round, the join stays within the server's pending cap,
 * and a refused (busy) join is retried until it gets in.
 */
const procs = reaper();
const A9A = join(import.meta.dirname, '../../shared/datasets/a9a.gz');

/** NDJSON log lines of a process's stderr (non-JSON lines, e.g. the one-line error, are left out). */
const logLines = (stderr: string): Record<string, any>[] =>
  stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);

async function server(args: string[]): Promise<RunningServer> {
  return procs.add(await startServerProcess(args));
}

describe('many clients in one process', () => {
  // d = 1024 as the issue asks; 12 rounds with p = 0.3 hold dense and compressed rounds (about 10 s here on 2 cores).
  const big = ['--clients', '1024', '--dim', '1024', '--rounds', '12', '--seed', '21', '--p', '0.3', '--stop-at-target', 'false', '--force'];

  it('n = 1024 clients in two client processes (512 each) equal marina sim round by round, with no join refused', async () => {
    const dir = tempDir('many');
    const [local, sim] = await Promise.all([
      marina(['local', ...big, '--processes', '2', '--log-level', 'info', '--json', '--out', join(dir, 'local')], { timeoutMs: 120_000 }),
      marina(['sim', ...big, '--quiet', '--out', join(dir, 'sim')], { timeoutMs: 120_000 }),
    ]);
    expect(local.code, local.stderr.slice(-2000)).toBe(0);
    expect(sim.code, sim.stderr).toBe(0);
    const { a, rowsA, rowsB } = sameRunRows(join(dir, 'local'), join(dir, 'sim'));
    expect(a).toHaveLength(12);
    expect(new Set(a.map((r) => r['kind']))).toEqual(new Set(['init', 'dense', 'compressed']));
    expect(rowsA).toEqual(rowsB);

    const log = logLines(local.stderr);
    // The server's view: 1024 clients joined, named local-P#i, 512 from each of the two processes.
    const joined = log.filter((l) => l.msg === 'client joined; waiting for its shard report').map((l) => l.client as string);
    expect(joined).toHaveLength(1024);
    for (const p of [0, 1]) expect(new Set(joined.filter((c) => c.startsWith(`local-${p}#`)))).toEqual(new Set(Array.from({ length: 512 }, (_, i) => `local-${p}#${i}`)));
    // Each process lets 64/2 of its clients join at once, so the server's 64 waiting places are never exceeded.
    expect(log.filter((l) => l.msg === 'rejecting client')).toEqual([]);
    // A hosted client's log lines carry its index in the process and, once it has one, its rank.
    const assigned = log.filter((l) => l.msg === 'assigned a rank; building the shard');
    expect(assigned).toHaveLength(1024);
    expect(assigned.every((l) => Number.isInteger(l.index) && l.index >= 0 && l.index < 512 && Number.isInteger(l.rank))).toBe(true);
    expect(new Set(assigned.map((l) => l.rank)).size).toBe(1024);
  }, 150_000);

  it('--count 3 takes three distinct ranks and exits 0; --rank R --count K asks for R..R+K−1', async () => {
    const run = ['--clients', '5', '--dim', '16', '--rounds', '20', '--seed', '4'];
    const s = await server(run);
    const url = `ws://127.0.0.1:${s.port}`;
    const [three, two] = await Promise.all([
      marina(['client', '--server', url, '--count', '3', '--name', 'three', '--log-level', 'info']),
      marina(['client', '--server', url, '--count', '2', '--rank', '3', '--name', 'two', '--log-level', 'info']),
    ]);
    expect(three.code, three.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    const done = (f: Finished) => logLines(f.stderr).find((l) => l.msg === 'run done')!;
    expect(done(three)).toMatchObject({ clients: 3, ranks: [0, 1, 2], rounds: 20 }); // sorted: hosted clients take ranks in join order
    expect(done(two)).toMatchObject({ clients: 2, ranks: [3, 4], rounds: 20 });
    const assigned = logLines(two.stderr).filter((l) => l.msg === 'assigned a rank; building the shard').map((l) => [l.index, l.rank]);
    expect(assigned.sort()).toEqual([[0, 3], [1, 4]]);
    const names = logLines((await s.exited).stderr).filter((l) => l.msg === 'client joined; waiting for its shard report').map((l) => l.client as string);
    expect(names.sort()).toEqual(['three#0', 'three#1', 'three#2', 'two#0', 'two#1']);
  }, 60_000);

  it('joins refused as busy (--max-pending 2) are retried: 40 clients of one process dialling at once all get in', async () => {
    const dir = tempDir('many-busy');
    const run = ['--clients', '40', '--dim', '16', '--rounds', '30', '--seed', '6', '--p', '0.3', '--stop-at-target', 'false'];
    const s = await server([...run, '--max-pending', '2', '--out', join(dir, 'net')]);
    const c = await marina(['client', '--server', `ws://127.0.0.1:${s.port}`, '--count', '40', '--max-joining', '40', '--backoff', '20', '--log-level', 'warn']);
    expect(c.code, c.stderr).toBe(0);
    const end = await s.exited;
    expect(end.code, end.stderr).toBe(0);
    const refused = logLines(end.stderr).filter((l) => l.msg === 'rejecting client');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((l) => l.code === 'MARINA_ERR_BUSY')).toBe(true);
    const sim = await marina(['sim', ...run, '--quiet', '--out', join(dir, 'sim')]);
    expect(sim.code, sim.stderr).toBe(0);
    const { rowsA, rowsB } = sameRunRows(join(dir, 'net'), join(dir, 'sim'));
    expect(rowsA).toEqual(rowsB);
  }, 60_000);

  it("the run's --data, shared by the clients of a process (read once for all of them), gives each rank its part: equal to sim", async () => {
    const dir = tempDir('many-run-data');
    // The shuffled split (seedrandom) and a contiguous one: each rank's fingerprint must be the in-process split's.
    for (const shard of ['contiguous', 'shuffled']) {
      const run = ['--problem', 'logreg', '--data', A9A, '--clients', '12', '--rounds', '8', '--seed', '2', '--p', '0.5', '--shard', shard, '--stop-at-target', 'false'];
      const [local, sim] = await Promise.all([
        marina(['local', ...run, '--processes', '2', '--quiet', '--out', join(dir, `local-${shard}`)], { timeoutMs: 60_000 }),
        marina(['sim', ...run, '--quiet', '--out', join(dir, `sim-${shard}`)], { timeoutMs: 60_000 }),
      ]);
      expect(local.code, local.stderr).toBe(0);
      expect(sim.code, sim.stderr).toBe(0);
      const shards = (d: string) => (JSON.parse(readFileSync(join(dir, d, 'summary.json'), 'utf8')) as { shards: { fingerprint: string }[] }).shards.map((x) => x.fingerprint);
      expect(shards(`local-${shard}`)).toEqual(shards(`sim-${shard}`));
      const { rowsA, rowsB } = sameRunRows(join(dir, `local-${shard}`), join(dir, `sim-${shard}`));
      expect(rowsA).toEqual(rowsB);
    }
  }, 60_000);

  it('--data with {rank}: each hosted client reads its own shard file; one plain shard file for --count 2 is refused', async () => {
    const dir = tempDir('many-data');
    // A small LIBSVM file (40 rows, 5 features), made here so the test needs no data set.
    const file = join(dir, 'small.txt');
    const row = (i: number) => `${i % 3 === 0 ? 1 : -1} ${[1, 2, 3, 4, 5].map((j) => `${j}:${(((i * 7 + j * 13) % 17) / 8 - 1).toFixed(3)}`).join(' ')}`;
    writeFileSync(file, `${Array.from({ length: 40 }, (_, i) => row(i)).join('\n')}\n`);
    const shards = join(dir, 'shards');
    const cut = await marina(['shard', file, '--clients', '4', '--out', shards]);
    expect(cut.code, cut.stderr).toBe(0);
    const run = ['--problem', 'logreg', '--clients', '4', '--rounds', '15', '--seed', '1', '--p', '0.5', '--stop-at-target', 'false'];
    const s = await server([...run, '--features', '5', '--out', join(dir, 'net')]);
    const url = `ws://127.0.0.1:${s.port}`;
    const c = await marina(['client', '--server', url, '--count', '4', '--rank', '0', '--data', join(shards, 'shard-{rank}.txt'), '--log-level', 'warn']);
    expect(c.code, c.stderr).toBe(0);
    expect((await s.exited).code).toBe(0);
    const sim = await marina(['sim', ...run, '--data', file, '--quiet', '--out', join(dir, 'sim')]);
    expect(sim.code, sim.stderr).toBe(0);
    const { rowsA, rowsB } = sameRunRows(join(dir, 'net'), join(dir, 'sim'));
    expect(rowsA).toEqual(rowsB);

    // One shard file for two clients would give both the same rows: refused once the run's --data is known.
    const s2 = await server([...run, '--features', '5', '--wait-timeout', '20000']);
    const shared = await marina(['client', '--server', `ws://127.0.0.1:${s2.port}`, '--count', '2', '--data', join(shards, 'shard-0.txt'), '--log-level', 'silent', '--retries', '1']);
    expect(shared.code).toBe(2);
    expect(shared.stderr).toMatch(/^marina: 2 of 2 clients of this process failed; the first, #[01]: --data \S+shard-0\.txt is given to all 2 clients of this process \(--count 2\) but is not the run's --data \(none\): name each client's own file with \{rank\}/);
    expect(shared.stderr.trim().split('\n')).toHaveLength(1);
    // {rank} needs --rank, and every rank's file must exist: usage errors before any connection.
    const noRank = await marina(['client', '--server', 'ws://127.0.0.1:9', '--count', '2', '--data', join(shards, 'shard-{rank}.txt')]);
    expect(noRank).toMatchObject({ code: 2, stderr: expect.stringMatching(/^marina: --data \S+ names one file per rank with \{rank\}: give --rank/) });
    const missing = await marina(['client', '--server', 'ws://127.0.0.1:9', '--count', '2', '--rank', '3', '--data', join(shards, 'shard-{rank}.txt')]);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/rank 4's file \S+shard-4\.txt does not exist\n$/) });
  }, 60_000);

  it('a failure keeps its exit status (4: a wrong secret) with how many of the K clients failed, in one line', async () => {
    const dir = tempDir('many-secret');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'secret'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'wrong'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const s = await server(['--clients', '3', '--dim', '8', '--rounds', '5', '--secret-file', join(dir, 'secret')]);
    const c = await marina(['client', '--server', `ws://127.0.0.1:${s.port}`, '--count', '3', '--secret-file', join(dir, 'wrong'), '--log-level', 'silent']);
    expect(c.code).toBe(4);
    expect(c.stderr).toMatch(/^marina client: MARINA_ERR_AUTH: 3 of 3 clients of this process failed; the first, #[012]: the hello's proof does not match this run's secret/);
    expect(c.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it.each(['0', '-1', '1.5', '100000', 'many'])('--count %s is exit 2 with one line', async (count) => {
    const r = await marina(['client', '--server', 'ws://127.0.0.1:9', '--count', count]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^marina: --count is \S+; expected an integer from 1 to 4096\n$/);
  });

  it('marina local --processes 0 or 2.5 is exit 2 with one line', async () => {
    for (const p of ['0', '2.5']) {
      const r = await marina(['local', '--clients', '4', '--processes', p]);
      expect(r).toMatchObject({ code: 2, stderr: `marina: --processes is ${p}; expected an integer ≥ 1 (more than --clients is taken as --clients)\n` });
    }
  });
});
