import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { CommandModule } from 'yargs';
import { hostClients, RANK_PLACEHOLDER } from '@marina/client';
import { makeLogger } from '../logger.js';
import { caOption, readCa, readSecret, secretOption } from '../security.js';
import { UsageError } from './common.js';

/** `marina client`. */
export const clientCommand: CommandModule = {
  command: 'client',
  describe: 'run one client (or --count K clients) against a server',
  builder: (y) =>
    y.options({
      server: { type: 'string', demandOption: true, describe: 'server address, ws://HOST:PORT (wss://HOST:PORT for a server with --tls-cert)' },
      name: { type: 'string', describe: 'name sent in the hello (default: host and pid)' },
      retries: { type: 'number', default: 30, describe: 'connection attempts before giving up' },
      backoff: { type: 'number', default: 200, describe: 'first retry delay in ms (doubles, at most 5 s)' },
      'handshake-timeout': { type: 'number', default: 10_000, describe: 'ms the WebSocket opening handshake may take before the attempt fails (and is retried)' },
      'idle-timeout': { type: 'number', default: 600_000, describe: 'ms without a message from the server after which the connection counts as lost (and is retried)' },
      data: { type: 'string', describe: "this client's own data file (LIBSVM, plain or gzip; never sent): its shard, e.g. one of `marina shard`'s files; {rank} in the path stands for each client's rank (needs --rank); with --count > 1 and no {rank}, only the run's own --data (default: the run's --data at the same path, or generated)" },
      rank: { type: 'number', describe: "the rank to ask for: the rank whose shard --data holds (`marina shard` writes shard-RANK files); with --count K, ranks RANK..RANK+K−1; default any free rank" },
      count: { type: 'number', default: 1, describe: `clients to run in this one process (1..${MAX_COUNT}), each with its own connection, rank and shard, named NAME#i; exit 0 only if all finish cleanly` },
      'max-joining': { type: 'number', default: 16, describe: "with --count: at most this many of this process's clients wait to join at once (the server refuses more than its --max-pending; refused clients back off and retry)" },
      'log-level': { type: 'string', default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] },
      ...secretOption,
      ...caOption,
      'exit-with-stdin': { type: 'boolean', default: false, hidden: true, describe: 'exit when standard input closes (marina local: its clients end with it, even after a SIGKILL)' },
    }),
  handler: async (a) => {
    const url = a.server as string;
    if (!/^wss?:\/\/[^/\s]+/.test(url)) throw new UsageError(`--server must look like ws://HOST:PORT, got "${url}"`);
    const secret = readSecret(a['secret-file'] as string | undefined);
    const ca = readCa(a.ca as string | undefined);
    const logger = makeLogger(a['log-level'] as string, 'marina-client');
    const count = countOf(a.count, '--count', MAX_COUNT);
    const maxJoining = countOf(a['max-joining'], '--max-joining', MAX_COUNT);
    const rank = a.rank === undefined ? null : rankOf(a.rank);
    if (rank !== null && rank + count > MAX_RANK) throw new UsageError(`--rank ${rank} with --count ${count} asks for ranks up to ${rank + count - 1}; ranks are below ${MAX_RANK}`);
    const data = dataOf(a.data as string | undefined, rank, count);
    if (a['exit-with-stdin']) {
      // The parent holds the other end of our stdin: when it dies (even by SIGKILL) the pipe closes.
      process.stdin.on('end', () => {
        logger.warn('the parent process is gone (stdin closed); exiting');
        process.exit(1);
      });
      process.stdin.resume();
    }
    try {
      const results = await hostClients({
        count,
        maxJoining,
        url,
        logger,
        name: (a.name as string | undefined) ?? `${hostname()}/${process.pid}`,
        retries: a.retries as number,
        backoffMs: a.backoff as number,
        handshakeTimeoutMs: a['handshake-timeout'] as number,
        idleTimeoutMs: a['idle-timeout'] as number,
        data,
        rank,
        secret,
        ca,
      });
      if (count === 1) logger.info({ rank: results[0]!.rank, rounds: results[0]!.rounds }, 'run done');
      else logger.info({ clients: count, ranks: results.map((r) => r.rank).sort((x, y) => x - y), rounds: Math.max(...results.map((r) => r.rounds)) }, 'run done');
    } finally {
      // The watched stdin would keep the process alive once the run is over.
      if (a['exit-with-stdin']) process.stdin.destroy();
    }
  },
};

/** Ranks are below the configuration's largest n. */
const MAX_RANK = 1 << 20;
/** Clients one process may host: each holds a few d-vectors and a socket; beyond a few thousand, use more processes. */
const MAX_COUNT = 4096;

function rankOf(v: unknown): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 0 && x < MAX_RANK)) throw new UsageError(`--rank is ${JSON.stringify(v)}; expected an integer ≥ 0`);
  return x;
}

function countOf(v: unknown, flag: string, max: number): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1 && x <= max)) throw new UsageError(`${flag} is ${String(v)}; expected an integer from 1 to ${max}`);
  return x;
}

/**
 * `--data` of this process's clients: a path with {rank} names one file per client (which must exist), and so
 * needs the ranks (--rank); a plain path with --count > 1 is checked once the run's --data is known (client.ts).
 */
function dataOf(path: string | undefined, rank: number | null, count: number): string | null {
  if (path === undefined) return null;
  if (!path.includes(RANK_PLACEHOLDER)) return path;
  if (rank === null) throw new UsageError(`--data ${path} names one file per rank with ${RANK_PLACEHOLDER}: give --rank (the first rank of this process's clients)`);
  for (let r = rank; r < rank + count; r++) {
    const file = path.replaceAll(RANK_PLACEHOLDER, String(r));
    if (!existsSync(file)) throw new UsageError(`--data ${path}: rank ${r}'s file ${file} does not exist`);
  }
  return path;
}
