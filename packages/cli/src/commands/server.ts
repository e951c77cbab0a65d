import type { CommandModule } from 'yargs';
import { loadTestData } from '@marina/data';
import type { RunConfig } from '@marina/core';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_NAME, readCheckpoint, startServer, type CheckpointFile } from '@marina/server';
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
      restartable: {
        type: 'boolean',
        default: false,
        describe: 'for a supervisor that restarts a failed server (Swarm, Kubernetes, systemd): the same command line resumes the run in --out from its checkpoint (it must be this configuration\'s run), starts it when the folder has no checkpoint yet, and exits 0 when the run there has finished',
      },
    }),
  handler: async (a) => {
    const restart = a.restartable ? restartFrom(a) : null;
    if (restart?.finished) {
      process.stderr.write(`${restart.finished}\n`);
      return;
    }
    const resume = a['resume'] === undefined ? (restart?.checkpoint ?? null) : resumeFrom(a);
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
      out: a['resume'] !== undefined ? String(a['resume']) : ((a.out as string | undefined) ?? null),
      // A restartable server's folder without a checkpoint holds at most a run cut before its first one: redone.
      force: (a.force as boolean) || restart !== null,
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

/**
 * `--restartable --out FOLDER`: what a restarted server does with its folder. A checkpoint there is resumed
 * (refused if it is another configuration's run: a supervisor must not continue the wrong run); a summary
 * without a checkpoint is a finished run (nothing to do) unless it says the run was aborted before its first
 * checkpoint; anything else starts the run, with the folder's marina files (a run cut before its first
 * checkpoint) cleared as --force does. Files that are not a run folder's are refused, so a mistyped --out
 * never loses data.
 */
function restartFrom(a: Args): { checkpoint: CheckpointFile | null; finished: string | null } {
  if (a['resume'] !== undefined) throw new UsageError('--restartable resumes the run in --out by itself; drop --resume');
  const dir = a['out'] as string | undefined;
  if (dir === undefined) throw new UsageError('--restartable needs --out: the run folder it resumes after a restart');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return { checkpoint: null, finished: null };
  const foreign = readdirSync(dir).filter((f) => !RUN_FILES.has(f) && !f.includes('.tmp-'));
  if (foreign.length > 0) throw new UsageError(`--restartable: ${dir} holds files that are not a run folder's (${foreign.slice(0, 3).join(', ')}); choose another --out`);
  const wanted = configFromArgv(a);
  const sameRun = (config: RunConfig, what: string): void => {
    const differ = Object.keys({ ...wanted, ...config }).filter((k) => JSON.stringify(field(wanted, k)) !== JSON.stringify(field(config, k)));
    if (differ.length > 0) throw new UsageError(`--restartable: the ${what} in ${dir} is another run's (it differs in ${differ.join(', ')}); choose another --out`);
  };
  if (existsSync(join(dir, CHECKPOINT_NAME))) {
    const checkpoint = readCheckpoint(dir);
    sameRun(checkpoint.config, 'checkpoint');
    return { checkpoint, finished: null };
  }
  const summary = join(dir, 'summary.json');
  if (existsSync(summary)) {
    let done: { config: RunConfig; stopReason: string };
    try {
      done = JSON.parse(readFileSync(summary, 'utf8')) as { config: RunConfig; stopReason: string };
    } catch (e) {
      throw new UsageError(`--restartable: ${summary} is not readable: ${(e as Error).message}`);
    }
    if (done === null || typeof done !== 'object' || done.config === null || typeof done.config !== 'object') {
      throw new UsageError(`--restartable: ${summary} is not a marina run summary (no config); choose another --out`);
    }
    sameRun(done.config, 'finished run');
    // An abort before the first checkpoint (stopped while clients joined, too few joined) left a summary but no
    // run to resume: it starts again.
    if (String(done.stopReason).startsWith('aborted')) return { checkpoint: null, finished: null };
    return { checkpoint: null, finished: `the run in ${dir} has finished (summary.json, no checkpoint): nothing to resume` };
  }
  return { checkpoint: null, finished: null };
}

const field = (config: RunConfig, key: string): unknown => (config as unknown as Record<string, unknown>)[key];

/** What a run folder holds (ARCHITECTURE "Outputs"). */
const RUN_FILES = new Set(['rounds.jsonl', 'summary.json', CHECKPOINT_NAME]);

/** A count flag: an integer ≥ 0 (0 turns the feature off). */
function count(flag: string, v: unknown): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 0 && x <= 1e9)) throw new UsageError(`${flag} is ${JSON.stringify(v)}; expected an integer ≥ 0`);
  return x;
}
