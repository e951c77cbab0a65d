import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { clientShard, resolveRun, runInProcess, testEvaluator, type Problem, type RunConfig, type RunSetup, type RunSummary } from '@marina/core';
import { loadAllShards, loadTestData } from '@marina/data';
import { nodeHooks, RunFolder, runIdOf, startServer, writeJsonAtomic, type SocketStats } from '@marina/server';
import type { LinkNet } from './link/net.js';
import { makeProgress } from './progress.js';

/** The `marina` executable, for spawning client processes. */
export const MARINA_BIN = fileURLToPath(new URL('../bin/marina.js', import.meta.url));

/** A local cluster whose client processes did not all finish cleanly. */
export class ClusterError extends Error {
  override name = 'ClusterError';
}

export type ProgressMode = 'auto' | 'quiet' | 'json';

/**
 * The run resolved in-process (`marina sim`, `marina theory`): every rank's shard read and split here (the
 * third way rows come from), each reported as its client would, and the run resolved by the server's code.
 */
export async function resolveInProcess(config: RunConfig): Promise<{ setup: RunSetup; problems: Problem[] }> {
  const data = await loadAllShards(config);
  const shards = data.map((shard, rank) => clientShard(config, rank, shard, nodeHooks.sha256));
  return { setup: resolveRun(config, shards.map((s) => s.facts)), problems: shards.map((s) => s.problem) };
}

/** Runs in-process (`marina sim`), writing the run folder when `out` is set. */
export async function runSim(config: RunConfig, out: string | null, force: boolean, progressMode: ProgressMode, label = 'sim'): Promise<RunSummary> {
  const { setup, problems } = await resolveInProcess(config);
  const test = config.testData ? testEvaluator(setup, await loadTestData(config, config.testData), config.testData) : null;
  const folder = out ? RunFolder.open(out, force) : null;
  const progress = makeProgress(label, config.rounds, progressMode);
  let bits = 0;
  try {
    const { summary } = runInProcess(setup, problems, {
      ...nodeHooks,
      test,
      runId: runIdOf(config),
      onRound(record) {
        folder?.appendRound(record);
        bits += record.bitsUp / config.clients;
        progress.update(record, bits);
      },
    });
    folder?.writeSummary(summary);
    return summary;
  } finally {
    progress.stop();
    folder?.close();
  }
}

export interface LocalOptions {
  out: string | null;
  force: boolean;
  logger: Logger;
  progress: ProgressMode;
  clientLogLevel: string;
  roundTimeoutMs: number;
  label?: string;
  /** The run's secret and the file it came from, which each client process is given (`--secret-file`). */
  secret?: { bytes: Uint8Array; file: string } | null;
  /** Serve TLS with this certificate and key; clients dial wss://localhost and trust `caFile`. */
  tls?: { cert: Buffer; key: Buffer; caFile: string } | null;
  /** Client processes the n clients are spread over (`--processes`; default `defaultProcesses(n)`). */
  processes?: number;
  /** `--link`: the server listens on the links' bridge; client process i (one client each) runs behind link i. */
  link?: LinkNet | null;
}

/**
 * `--processes` by default: one per CPU core (at most n). A Node process costs about 100 MB and half a second
 * of CPU to start (n = 128 at d = 1024 on 2 cores: 77 s with 128 processes, 20 s with 32, 2.4 s with 2), while
 * a hosted client costs about 0.3 MB; and a round's wake-ups cost more the more processes share the cores
 * (n = 16 on 2 cores, to the default target: 1.79 s in-run with 16 processes, 0.69 s with 2, 0.24 s in-process).
 * `--link` keeps one process per client (each behind its own link).
 */
export const defaultProcesses = (n: number): number => Math.min(n, availableParallelism());

/** How many clients each of `processes` hosts: n split as evenly as can be, the first n mod P one more. */
export function clientsPerProcess(n: number, processes: number): number[] {
  const p = Math.min(n, processes);
  return Array.from({ length: p }, (_, i) => Math.floor(n / p) + (i < n % p ? 1 : 0));
}

/** Connections waiting to join that the local server accepts at once (its --max-pending), shared among the processes. */
const LOCAL_MAX_PENDING = 64;

/**
 * One client process of a local cluster: `marina client --count` with the given arguments. stdin is a pipe this
 * process holds: if it is killed, even by SIGKILL, the clients see it close and exit.
 */
function spawnClientProcess(args: string[], wrap?: (argv: string[]) => [string, string[]]): ChildProcess {
  const argv = [process.execPath, MARINA_BIN, 'client', ...args, '--exit-with-stdin'];
  const [cmd, rest] = wrap ? wrap(argv) : [argv[0]!, argv.slice(1)];
  return spawn(cmd, rest, { stdio: ['pipe', 'ignore', 'inherit'] });
}

/**
 * Runs a local cluster (`marina local`): the server in this process and the n clients spread over P client
 * processes on 127.0.0.1 (`marina client --count`), each client a real WebSocket connection. Fails if any
 * client process exits non-zero.
 */
export async function runLocal(config: RunConfig, opts: LocalOptions): Promise<RunSummary & { sockets: SocketStats[] }> {
  const server = await startServer({
    config,
    testData: config.testData ? await loadTestData(config, config.testData) : null,
    port: 0,
    host: opts.link?.serverAddress ?? '127.0.0.1',
    out: opts.out,
    force: opts.force,
    logger: opts.logger,
    roundTimeoutMs: opts.roundTimeoutMs,
    joinTimeoutMs: 30_000,
    waitTimeoutMs: 60_000,
    lingerSeconds: 0,
    maxPending: LOCAL_MAX_PENDING,
    secret: opts.secret?.bytes ?? null,
    tls: opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : null,
  });
  const progress = makeProgress(opts.label ?? 'local', config.rounds, opts.progress);
  let bits = 0;
  server.on('round', (r) => {
    bits += r.bitsUp / config.clients;
    progress.update(r, bits);
  });
  // A certificate names a host, not 127.0.0.1: with TLS the clients dial localhost (the server listens on 127.0.0.1).
  const url = opts.tls ? `wss://localhost:${server.port}` : `ws://${opts.link?.serverAddress ?? '127.0.0.1'}:${server.port}`;
  const security = [...(opts.secret ? ['--secret-file', opts.secret.file] : []), ...(opts.tls ? ['--ca', opts.tls.caFile] : [])];
  const counts = clientsPerProcess(config.clients, opts.link ? config.clients : (opts.processes ?? defaultProcesses(config.clients)));
  // Each process may have its share of the server's pending window joining at once; the rest wait their turn.
  const joining = Math.max(1, Math.floor(LOCAL_MAX_PENDING / counts.length));
  const children = counts.map((count, i) =>
    spawnClientProcess(['--server', url, ...security, '--log-level', opts.clientLogLevel, '--name', `local-${i}`, '--count', String(count), '--max-joining', String(joining)], opts.link ? (argv) => opts.link!.wrap(i, argv) : undefined),
  );
  let ended = false;
  const exits = children.map(
    (child, i) =>
      new Promise<number>((resolve) =>
        child.on('exit', (code, signal) => {
          const status = code ?? (signal ? 128 : 1);
          // A client that dies before the run ends would leave the server waiting for its rank forever.
          if (status !== 0 && !ended) server.shutdown(`client process ${i} (${counts[i]} clients) exited with status ${status}`);
          resolve(status);
        }),
      ),
  );
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    server.shutdown('interrupted');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const summary = await server.done;
    ended = true;
    // An interrupted server says bye 'shutdown', on which clients keep trying (for `marina server --resume`):
    // these clients have no server to come back to.
    if (interrupted) for (const child of children) child.kill();
    if (opts.link) {
      summary.link = opts.link.summary();
      if (opts.out) writeJsonAtomic(join(opts.out, 'summary.json'), summary);
    }
    const codes = await Promise.all(exits);
    // A diverged run's clients may end with status 3 (the one whose update overflowed): a result too.
    const diverged = summary.stopReason.startsWith('diverged');
    const failed = codes.flatMap((c, i) => (c === 0 || (diverged && c === 3) ? [] : [`client process ${i} exited ${c}`]));
    if (failed.length > 0) throw new ClusterError(`local cluster: ${failed.join(', ')}; the run folder holds the rounds done (${summary.stopReason})`);
    return summary;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
