import type { CommandModule } from 'yargs';
import { loadTestData } from '@marina/data';
import { readCheckpoint, startServer, type CheckpointFile } from '@marina/server';
import { configFromArgv, givenFields, withRunOptions } from '../options.js';
import { makeLogger } from '../logger.js';
import { makeProgress, type Progress } from '../progress.js';
import { readSecret, readServerTls, secretOption, serverTlsOptions } from '../security.js';
import { outputOptions, progressMode, report, UsageError, type Args } from './common.js';

/** `marina server`. */
export const serverCommand: CommandModule = {
  command: 'server',
  describe: 'run the parameter server; clients connect with `marina client --server ws://HOST:PORT`',
  builder: (y) =>
    outputOptions(withRunOptions(y)).options({
      port: { type: 'number', default: 7070, describe: 'port for WebSocket and HTTP (0: any free port)' },
      host: {
        type: 'string',
        describe: 'address to listen on; without --secret-file only a loopback address is allowed, unless --insecure',
        defaultDescription: '127.0.0.1 without --secret-file, 0.0.0.0 with one',
      },
      insecure: { type: 'boolean', default: false, describe: 'allow a non-loopback --host without --secret-file: anyone who reaches the port can join the run', group: 'Security:' },
      ...secretOption,
      ...serverTlsOptions,
      'round-timeout': { type: 'number', default: 60_000, describe: 'ms a client may take to answer a round' },
      'join-timeout': { type: 'number', default: 60_000, describe: 'ms a vacated rank may wait for a client before the run aborts' },
      'wait-timeout': { type: 'number', default: 0, describe: 'ms to wait for all n clients to join before giving up (0: no limit)' },
      linger: { type: 'number', default: 0, describe: 'seconds to keep serving HTTP after the run ends' },
      'hello-timeout': { type: 'number', default: 10_000, describe: 'ms a new connection has to say hello before it is cut off' },
      'report-timeout': { type: 'number', default: 300_000, describe: 'ms a client has after its hello to report its shard (reading data takes time)' },
      'ping-interval': { type: 'number', default: 30_000, describe: 'ms between liveness pings; a socket that missed the previous pong is cut off' },
      'max-pending': { type: 'number', default: 64, describe: 'connections that may wait to join at once; more are refused with the retriable MARINA_ERR_BUSY (clients back off and retry)' },
      'max-auth-failures': { type: 'number', default: 10, describe: 'with --secret-file: failed authentications per address per minute after which its connections are refused (MARINA_ERR_RATE_LIMITED) for the rest of that minute; 0: no limit' },
      'checkpoint-every': { type: 'number', default: 50, describe: 'write checkpoint.json in the run folder every this many rounds (0: only when stopped by SIGTERM/SIGINT)' },
      resume: { type: 'string', describe: 'continue the run of this folder from its checkpoint.json (configuration from the checkpoint; clients reconnect by themselves)' },
    }),
  handler: async (a) => {
    const resume = a['resume'] === undefined ? null : resumeFrom(a);
    const config = resume ? resume.config : configFromArgv(a);
    const secret = readSecret(a['secret-file'] as string | undefined);
    const tls = readServerTls(a['tls-cert'] as string | undefined, a['tls-key'] as string | undefined);
    // A server's default is info (who joined, when the run ends); --quiet keeps warnings only, and an
    // explicit --log-level wins over both.
    const given = a['log-level'] as string;
    const level = given !== 'warn' ? given : a['quiet'] ? 'warn' : 'info';
    const logger = makeLogger(level, 'marina-server');
    const server = await startServer({
      config,
      testData: config.testData ? await loadTestData(config, config.testData) : null,
      port: a.port as number,
      // Without a secret only this machine may connect; with one, every interface (README "Security").
      host: (a.host as string | undefined) ?? (secret ? '0.0.0.0' : '127.0.0.1'),
      secret,
      insecure: a.insecure as boolean,
      tls,
      out: resume ? String(a['resume']) : ((a.out as string | undefined) ?? null),
      force: a.force as boolean,
      resume,
      checkpointEvery: count('--checkpoint-every', a['checkpoint-every']),
      maxAuthFailures: count('--max-auth-failures', a['max-auth-failures']),
      helloTimeoutMs: a['hello-timeout'] as number,
      reportTimeoutMs: a['report-timeout'] as number,
      maxPending: a['max-pending'] as number,
      pingIntervalMs: a['ping-interval'] as number,
      logger,
      roundTimeoutMs: a['round-timeout'] as number,
      joinTimeoutMs: a['join-timeout'] as number,
      waitTimeoutMs: a['wait-timeout'] as number,
      lingerSeconds: a.linger as number,
    });
    let progress: Progress | null = null;
    let bits = 0;
    server.on('round', (r) => {
      progress ??= makeProgress('server', config.rounds, progressMode(a));
      bits += r.bitsUp / config.clients;
      progress.update(r, bits);
      // The last round closes the display, before the server logs that the run is over (same stream).
      if (server.coordinator?.stopReason != null || r.round + 1 >= config.rounds) progress.stop();
    });
    const stop = () => server.shutdown('terminated by signal');
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const summary = await server.done;
    (progress as Progress | null)?.stop();
    report(a, summary);
    if (summary.stopReason.startsWith('aborted')) process.exitCode = 1;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  },
};

/**
 * `--resume FOLDER`: the checkpoint's run, refusing run flags beside it (the configuration is the checkpoint's,
 * so a resumed run is the same run) and `--out` (the folder is the one resumed).
 */
function resumeFrom(a: Args): CheckpointFile {
  const given = Object.keys(givenFields(a));
  if (given.length > 0) throw new UsageError(`--resume takes the run's configuration from its checkpoint; drop ${given.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  if (a['out'] !== undefined) throw new UsageError('--resume continues in the folder it names; drop --out');
  return readCheckpoint(String(a['resume']));
}

/** A count flag: an integer ≥ 0 (0 turns the feature off). */
function count(flag: string, v: unknown): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 0 && x <= 1e9)) throw new UsageError(`${flag} is ${JSON.stringify(v)}; expected an integer ≥ 0`);
  return x;
}
