import { hostname } from 'node:os';
import type { CommandModule } from 'yargs';
import { runClient } from '@marina/client';
import { makeLogger } from '../logger.js';
import { caOption, readCa, readSecret, secretOption } from '../security.js';
import { UsageError } from './common.js';

/** `marina client`. */
export const clientCommand: CommandModule = {
  command: 'client',
  describe: 'run one client against a server',
  builder: (y) =>
    y.options({
      server: { type: 'string', demandOption: true, describe: 'server address, ws://HOST:PORT (wss://HOST:PORT for a server with --tls-cert)' },
      name: { type: 'string', describe: 'name sent in the hello (default: host and pid)' },
      retries: { type: 'number', default: 30, describe: 'connection attempts before giving up' },
      backoff: { type: 'number', default: 200, describe: 'first retry delay in ms (doubles, at most 5 s)' },
      'handshake-timeout': { type: 'number', default: 10_000, describe: 'ms the WebSocket opening handshake may take before the attempt fails (and is retried)' },
      'idle-timeout': { type: 'number', default: 600_000, describe: 'ms without a message from the server after which the connection counts as lost (and is retried)' },
      data: { type: 'string', describe: "this client's own data file (LIBSVM, plain or gzip; never sent): its shard, e.g. one of `marina shard`'s files (default: the run's --data at the same path, or generated)" },
      rank: { type: 'number', describe: "the rank to ask for: the rank whose shard --data holds (`marina shard` writes shard-RANK files); default any free rank" },
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
    if (a['exit-with-stdin']) {
      // The parent holds the other end of our stdin: when it dies (even by SIGKILL) the pipe closes.
      process.stdin.on('end', () => {
        logger.warn('the parent process is gone (stdin closed); exiting');
        process.exit(1);
      });
      process.stdin.resume();
    }
    try {
      const result = await runClient({
        url,
        logger,
        name: (a.name as string | undefined) ?? `${hostname()}/${process.pid}`,
        retries: a.retries as number,
        backoffMs: a.backoff as number,
        handshakeTimeoutMs: a['handshake-timeout'] as number,
        idleTimeoutMs: a['idle-timeout'] as number,
        data: (a.data as string | undefined) ?? null,
        rank: a.rank === undefined ? null : rankOf(a.rank),
        secret,
        ca,
      });
      logger.info({ rank: result.rank, rounds: result.rounds }, 'run done');
    } finally {
      // The watched stdin would keep the process alive once the run is over.
      if (a['exit-with-stdin']) process.stdin.destroy();
    }
  },
};

function rankOf(v: unknown): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 0 && x < 1 << 20)) throw new UsageError(`--rank is ${JSON.stringify(v)}; expected an integer ≥ 0`);
  return x;
}
