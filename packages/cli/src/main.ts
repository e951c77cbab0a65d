import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isProtocolError } from '@marina/protocol';
import { resolveConfig, setupRun, type RunConfig, type RunSummary } from '@marina/core';
import { runClient } from '@marina/client';
import { startServer } from '@marina/server';
import { configFromArgv, withRunOptions } from './options.js';
import { makeLogger } from './logger.js';
import { makeProgress, type Progress } from './progress.js';
import { runLocal, runSim, type ProgressMode } from './runs.js';
import { describeRun, renderTable, summaryRows } from './table.js';

type Args = Record<string, unknown>;

const outputOptions = <T>(y: Argv<T>) =>
  y.options({
    out: { type: 'string', describe: 'run folder to create (rounds.jsonl, summary.json)', group: 'Output:' },
    force: { type: 'boolean', default: false, describe: 'write into a non-empty --out folder', group: 'Output:' },
    quiet: { type: 'boolean', default: false, describe: 'no progress display, warnings only', group: 'Output:' },
    json: { type: 'boolean', default: false, describe: 'machine-readable output: progress and result as JSON lines', group: 'Output:' },
    'log-level': { type: 'string', default: 'warn', choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'], group: 'Output:' },
  });

const progressMode = (a: Args): ProgressMode => (a['quiet'] ? 'quiet' : a['json'] ? 'json' : 'auto');

function report(a: Args, summary: RunSummary): void {
  if (a['json']) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(describeRun(summary) + '\n');
}

const cli = yargs(hideBin(process.argv))
  .scriptName('marina')
  .env('MARINA')
  .usage('$0 <command> [options]\n\nA parameter server for communication-compressed distributed optimization.')
  .command(
    'local',
    'run a server and n client processes on this machine',
    (y) => outputOptions(withRunOptions(y)).option('round-timeout', { type: 'number', default: 60_000, describe: 'ms a client may take to answer a round' }),
    async (a) => {
      const config = configFromArgv(a);
      const summary = await runLocal(config, {
        out: (a.out as string | undefined) ?? null,
        force: a.force as boolean,
        logger: makeLogger(a['log-level'] as string, 'marina-server'),
        progress: progressMode(a),
        clientLogLevel: a['log-level'] as string,
        roundTimeoutMs: a['round-timeout'] as number,
      });
      report(a, summary);
    },
  )
  .command(
    'sim',
    'run in-process (same arithmetic and bytes as a networked run, no sockets)',
    (y) => outputOptions(withRunOptions(y)),
    (a) => {
      const config = configFromArgv(a);
      report(a, runSim(config, (a.out as string | undefined) ?? null, a.force as boolean, progressMode(a)));
    },
  )
  .command(
    'server',
    'run the parameter server; clients connect with `marina client --server ws://HOST:PORT`',
    (y) =>
      outputOptions(withRunOptions(y)).options({
        port: { type: 'number', default: 7070, describe: 'port for WebSocket and HTTP (0: any free port)' },
        host: { type: 'string', default: '0.0.0.0', describe: 'address to listen on' },
        'round-timeout': { type: 'number', default: 60_000, describe: 'ms a client may take to answer a round' },
        'join-timeout': { type: 'number', default: 60_000, describe: 'ms a vacated rank may wait for a client before the run aborts' },
        linger: { type: 'number', default: 0, describe: 'seconds to keep serving HTTP after the run ends' },
      }),
    async (a) => {
      const config = configFromArgv(a);
      const logger = makeLogger((a['log-level'] as string) === 'warn' ? 'info' : (a['log-level'] as string), 'marina-server');
      const server = await startServer({
        config,
        port: a.port as number,
        host: a.host as string,
        out: (a.out as string | undefined) ?? null,
        force: a.force as boolean,
        logger,
        roundTimeoutMs: a['round-timeout'] as number,
        joinTimeoutMs: a['join-timeout'] as number,
        lingerSeconds: a.linger as number,
      });
      let progress: Progress | null = null;
      let bits = 0;
      server.on('round', (r) => {
        progress ??= makeProgress('server', config.rounds, progressMode(a));
        bits += r.bitsUp / config.clients;
        progress.update(r, bits);
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
  )
  .command(
    'client',
    'run one client against a server',
    (y) =>
      y.options({
        server: { type: 'string', demandOption: true, describe: 'server address, ws://HOST:PORT' },
        name: { type: 'string', describe: 'name sent in the hello (default: host and pid)' },
        retries: { type: 'number', default: 30, describe: 'connection attempts before giving up' },
        backoff: { type: 'number', default: 200, describe: 'first retry delay in ms (doubles, at most 5 s)' },
        'log-level': { type: 'string', default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] },
      }),
    async (a) => {
      const url = a.server as string;
      if (!/^wss?:\/\/[^/\s]+/.test(url)) throw new UsageError(`--server must look like ws://HOST:PORT, got "${url}"`);
      const logger = makeLogger(a['log-level'] as string, 'marina-client');
      const result = await runClient({
        url,
        logger,
        name: (a.name as string | undefined) ?? `marina-client/${process.pid}`,
        retries: a.retries as number,
        backoffMs: a.backoff as number,
      });
      logger.info({ rank: result.rank, rounds: result.rounds }, 'run done');
    },
  )
  .command(
    'compare',
    'compare MARINA+CQ, MARINA+IQ, GD and DCGD on one problem, each as a local cluster (npm start)',
    (y) => outputOptions(withRunOptions(y)).option('sim', { type: 'boolean', default: false, describe: 'run in-process instead of local clusters' }),
    async (a) => {
      const base = configFromArgv(a);
      const out = (a.out as string | undefined) ?? join('runs', `compare-${Date.now()}`);
      const cqP = setupRun(resolveConfig({ ...base, method: 'marina', compressor: 'cq', p: 'auto' })).theory.p;
      // Decision 24: each compressor at its own auto p, and IQ also at CQ's p so bits per round are equal.
      const plan: [string, Partial<RunConfig>][] = [
        ['marina+cq (auto p)', { method: 'marina', compressor: 'cq', p: 'auto' }],
        ['marina+iq (auto p)', { method: 'marina', compressor: 'iq', p: 'auto' }],
        ['marina+iq (CQ\'s p)', { method: 'marina', compressor: 'iq', p: String(cqP) }],
        ['gd', { method: 'gd', compressor: 'identity', p: 'auto' }],
        ['dcgd+cq', { method: 'dcgd', compressor: 'cq', p: 'auto' }],
        ['dcgd+iq', { method: 'dcgd', compressor: 'iq', p: 'auto' }],
      ];
      const runs: { label: string; summary: RunSummary }[] = [];
      const logger = makeLogger(a['log-level'] as string, 'marina-server');
      for (const [label, overrides] of plan) {
        const config = resolveConfig({ ...base, ...overrides });
        const dir = join(out, label.replace(/[^a-z0-9+]+/gi, '-').replace(/-+$/, ''));
        const summary = a['sim']
          ? runSim(config, dir, a.force as boolean, progressMode(a), label)
          : await runLocal(config, { out: dir, force: a.force as boolean, logger, progress: progressMode(a), clientLogLevel: 'warn', roundTimeoutMs: 60_000, label });
        runs.push({ label, summary });
      }
      if (a['json']) {
        process.stdout.write(JSON.stringify(runs.map((r) => ({ label: r.label, ...r.summary }))) + '\n');
        return;
      }
      const { header, rows } = summaryRows(runs);
      const t = runs[0]!.summary.targets[0];
      process.stdout.write(
        `\n${a['sim'] ? 'in-process' : 'local clusters'}: n = ${base.clients} clients, d = ${base.dim}, s = ${base.noise}, λ = ${base.lambda}, seed ${base.seed}; ` +
          `target ${t ? `${t.kind} ${t.value}` : 'none'}; runs in ${out}\n\n${renderTable(header, rows)}\n`,
      );
    },
  )
  .demandCommand(1, 'name a command: local, sim, server, client or compare')
  .strict()
  .recommendCommands()
  .wrap(Math.min(120, process.stdout.columns ?? 100))
  .fail((msg, err, y) => {
    if (err) throw err;
    process.stderr.write(`${y.help()}\n\n${msg}\n`);
    process.exit(2);
  });

class UsageError extends Error {}

try {
  await cli.parseAsync();
} catch (e) {
  if (isProtocolError(e) || e instanceof UsageError) {
    const err = e as Error;
    process.stderr.write(`marina: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`marina: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
