import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marina, MARINA, readRounds, readSummary, sameRunRows, startServerProcess, tempDir, type RunningServer } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * Data held by the clients (the three ways rows come from), end to end on real LIBSVM files: a run whose
 * clients read their rank's part of one file (`marina local`), one whose clients each hold their own file
 * (`marina shard`, then `marina server` + `marina client --data`), and `marina sim` give the same iterates
 * round by round; bad shards are refused with a typed error naming the client while an honest run goes on.
 */
const DATASETS = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));
const A9A = join(DATASETS, 'a9a.gz');
const HEART = join(DATASETS, 'heart_scale');
const MNIST = join(DATASETS, 'mnist', 't10k-images-idx3-ubyte.gz');
const haveData = existsSync(A9A) && existsSync(HEART) && existsSync(MNIST);
if (!haveData) console.warn(`test/data.test.ts: skipped: the shared data sets are not at ${DATASETS}`);

const procs = reaper();

/** A `marina client` process; resolves with its exit code and stderr. */
function client(port: number, args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [MARINA, 'client', '--server', `ws://127.0.0.1:${port}`, '--log-level', 'warn', '--backoff', '50', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr }))) };
}

/** Resolves once the server has logged `count` accepted shard reports. */
function reports(s: RunningServer, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onData = (d: Buffer) => {
      seen += String(d).split('\n').filter((l) => l.includes('"msg":"shard reported"')).length;
      if (seen >= count) {
        s.child.stderr!.off('data', onData);
        resolve();
      }
    };
    s.child.stderr!.on('data', onData);
  });
}

const hashes = (dir: string) => readRounds(dir).map((r) => r['xHash']);

describe.skipIf(!haveData)('MARINA + CQ on logreg over a9a, n = 10 (SPEC D.2)', () => {
  const run = ['--problem', 'logreg', '--clients', '10', '--rounds', '300', '--seed', '3'];

  it('local (one file, each client its part), server + clients with their own files (marina shard), and sim agree every round; ‖∇f‖² falls ≥ 100×', async () => {
    const dir = tempDir('data-a9a');
    const sim = await marina(['sim', ...run, '--data', A9A, '--quiet', '--out', join(dir, 'sim')], { timeoutMs: 120_000 });
    expect(sim.code, sim.stderr).toBe(0);
    const local = await marina(['local', ...run, '--data', A9A, '--quiet', '--out', join(dir, 'local')], { timeoutMs: 120_000 });
    expect(local.code, local.stderr).toBe(0);
    expect(sameRunRows(join(dir, 'local'), join(dir, 'sim')).rowsA).toEqual(sameRunRows(join(dir, 'local'), join(dir, 'sim')).rowsB);

    const shards = await marina(['shard', A9A, '--clients', '10', '--out', join(dir, 'shards')]);
    expect(shards.code, shards.stderr).toBe(0);
    const server = procs.add(await startServerProcess([...run, '--features', '123', '--out', join(dir, 'own')]));
    const port = server.port;
    // Each client asks for the rank whose shard it holds; the server never reads data.
    const codes = await Promise.all(Array.from({ length: 10 }, (_, i) => client(port, ['--data', join(dir, 'shards', `shard-${i}.txt`), '--rank', String(i)]).done));
    expect(codes.map((c) => c.code)).toEqual(new Array(10).fill(0));
    expect((await server.exited).code).toBe(0);
    expect(hashes(join(dir, 'own'))).toEqual(hashes(join(dir, 'sim')));

    // The same shards, so the same reports: rows split 3257 ×1 + 3256 ×9, L_i a bound, fingerprints equal.
    const [a, b] = [readSummary(join(dir, 'own')), readSummary(join(dir, 'sim'))];
    expect(a['shards']).toEqual(b['shards']);
    expect(a['shards'].map((s: { rows: number }) => s.rows)).toEqual([3257, 3256, 3256, 3256, 3256, 3256, 3256, 3256, 3256, 3256]);
    expect(a['theory']['exact']).toEqual({ Lminus: false, Lplus: false, Lpm: false });
    const g = readRounds(join(dir, 'sim')).map((r) => r['gradNormSq'] as number);
    expect(g[0]! / g.at(-1)!).toBeGreaterThan(100);
  }, 240_000);

  it('marina theory --problem logreg --data prints what each client reported, then p, γ and predicted bits', async () => {
    const r = await marina(['theory', ...run, '--data', A9A]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/what each client reported/);
    expect(r.stdout).toMatch(/\n\s*9\s+3256\s+123\s+[0-9.]+\s+bound\s+[0-9a-f]{16}\n/);
    expect(r.stdout).toMatch(/smoothness\s+L- = [0-9.]+ \(bound\)/);
    expect(r.stdout).toMatch(/p\s+0\.0\d+ \(auto/);
    expect(r.stdout).toMatch(/prediction\s+at γ_theory: γ = [0-9.e-]+ → \d+ rounds; bits\/client = /);
    expect(r.stdout).toMatch(/f\* ≥ 0/);
  });
});

describe.skipIf(!haveData)('bad shards are refused, naming the client; an honest run beside them is unharmed', () => {
  const run = ['--problem', 'logreg', '--rounds', '40', '--seed', '2', '--stop-at-target', 'false'];

  it('another feature count (d), and another shard on a rank that was reported before', async () => {
    const dir = tempDir('data-refused');
    expect((await marina(['shard', HEART, '--clients', '3', '--out', join(dir, 'shards')])).code).toBe(0);
    const shard = (i: number) => join(dir, 'shards', `shard-${i}.txt`);
    // Rank 2's rows with one more feature (index 14): its model would have d = 14, the run's 13.
    const wide = join(dir, 'wide.txt');
    const rows = readFileSync(shard(2), 'utf8').split('\n');
    rows[0] = `${rows[0]} 14:1`;
    writeFileSync(wide, rows.join('\n'));

    const server = procs.add(await startServerProcess([...run, '--clients', '3', '--out', join(dir, 'net')]));
    const port = server.port;
    const first = client(port, ['--data', shard(0), '--rank', '0']);
    await reports(server, 1);
    // Rank 0's client dies after reporting; a client holding rank 1's rows asks for rank 0.
    first.child.kill('SIGKILL');
    await first.done;
    const impostor = await client(port, ['--data', shard(1), '--rank', '0', '--retries', '0']).done;
    expect(impostor.code).toBe(1);
    expect(impostor.stderr).toMatch(/MARINA_ERR_BAD_SHARD: rank 0: it rejoined with another shard/);
    const honest = [client(port, ['--data', shard(0), '--rank', '0']).done, client(port, ['--data', shard(1), '--rank', '1']).done];
    await reports(server, 2);
    const widened = await client(port, ['--data', wide, '--rank', '2', '--retries', '0']).done;
    expect(widened.code).toBe(1);
    expect(widened.stderr).toMatch(/MARINA_ERR_BAD_SHARD: rank 2: its model has d = 14, the run's clients d = 13/);
    honest.push(client(port, ['--data', shard(2), '--rank', '2']).done);
    expect((await Promise.all(honest)).map((c) => c.code)).toEqual([0, 0, 0]);
    expect((await server.exited).code).toBe(0);
    const sim = await marina(['sim', ...run, '--clients', '3', '--data', HEART, '--quiet', '--out', join(dir, 'sim')]);
    expect(sim.code, sim.stderr).toBe(0);
    expect(hashes(join(dir, 'net'))).toEqual(hashes(join(dir, 'sim')));
  }, 120_000);

  it('an empty shard (more clients than rows) is refused before any socket opens, naming the rank', async () => {
    const dir = tempDir('data-empty');
    const tiny = join(dir, 'tiny.txt');
    writeFileSync(tiny, '+1 1:0.5 2:1\n-1 1:-0.5\n');
    const r = await marina(['sim', ...run, '--clients', '3', '--data', tiny]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("rank 2's shard is empty (no rows)");
  });
});

describe.skipIf(!haveData)('a run whose clients\' updates overflow float32 has diverged (a result, exit 3)', () => {
  it('autoencoder at 64× the theoretical step: sim and local stop at the same round with stopReason diverged', async () => {
    const dir = tempDir('data-diverged');
    const run = ['--problem', 'autoencoder', '--data', MNIST, '--clients', '4', '--compressor', 'permk', '--hidden', '4', '--step', '64x', '--rounds', '200', '--eval-every', '10', '--quiet'];
    const [sim, local] = await Promise.all([marina(['sim', ...run, '--out', join(dir, 'sim')]), marina(['local', ...run, '--out', join(dir, 'local')], { timeoutMs: 120_000 })]);
    expect(sim.code, sim.stderr).toBe(3);
    expect(local.code, local.stderr).toBe(3);
    for (const which of ['sim', 'local']) {
      const s = readSummary(join(dir, which));
      expect(s['stopReason']).toMatch(/^diverged: rank \d's update in round 4 .*float32/);
      expect(s['divergence']).toEqual({ round: 4, lastFinite: { round: 0, gradNormSq: expect.any(Number) } });
    }
    expect(hashes(join(dir, 'local'))).toEqual(hashes(join(dir, 'sim')));
  }, 150_000);
});

describe.skipIf(!haveData)('the other data problems run in-process on real data', () => {
  it('mlp on a9a with 131 clients (SPEC D.4): the loss falls', async () => {
    const dir = tempDir('data-mlp');
    const r = await marina(['sim', '--problem', 'mlp', '--data', A9A, '--clients', '131', '--rounds', '25', '--quiet', '--out', dir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const loss = readRounds(dir).map((x) => x['loss'] as number);
    expect(loss.at(-1)!).toBeLessThan(0.8 * loss[0]!);
    expect(readSummary(dir)['shards'][0]['LiKind']).toBe('estimate');
  }, 150_000);

  it('autoencoder on the MNIST test images (SPEC D.5, scaled to 10 clients): the loss falls', async () => {
    const dir = tempDir('data-ae');
    const r = await marina(['sim', '--problem', 'autoencoder', '--data', MNIST, '--clients', '10', '--compressor', 'permk', '--rounds', '8', '--eval-every', '7', '--quiet', '--out', dir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const loss = readRounds(dir).flatMap((x) => (x['loss'] === null ? [] : [x['loss'] as number]));
    expect(loss.length).toBe(2);
    expect(loss[1]!).toBeLessThan(loss[0]!);
    expect(readSummary(dir)['d']).toBe(2 * 784 * 16);
  }, 150_000);
});
