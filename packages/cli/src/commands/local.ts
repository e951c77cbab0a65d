import { availableParallelism } from 'node:os';
import type { CommandModule } from 'yargs';
import { linkOptions, linkPlanFromArgv, openLinks } from '../link/options.js';
import { configFromArgv, withRunOptions } from '../options.js';
import { makeLogger } from '../logger.js';
import { runLocal } from '../runs.js';
import { caOption, readCa, readSecret, readServerTls, secretOption, serverTlsOptions } from '../security.js';
import { outputOptions, progressMode, report, UsageError } from './common.js';

/** `marina local`. */
export const localCommand: CommandModule = {
  command: 'local',
  describe: 'run a server and n clients (in client processes) on this machine',
  builder: (y) =>
    outputOptions(withRunOptions(y)).options({
      'round-timeout': { type: 'number', default: 60_000, describe: 'ms a client may take to answer a round' },
      processes: {
        type: 'number',
        describe: `client processes the n clients are spread over (each \`marina client --count\` with ⌈n/P⌉ or ⌊n/P⌋ of them; at most n)`,
        defaultDescription: `one per CPU core (here ${availableParallelism()}); with --link one per client`,
      },
      ...linkOptions,
      ...secretOption,
      ...serverTlsOptions,
      ca: { ...caOption['ca'], describe: `${caOption['ca']!.describe} (default with --tls-cert: the certificate itself, for a self-signed one)` },
    }),
  handler: async (a) => {
    const config = configFromArgv(a);
    const processes = a.processes === undefined ? undefined : processesOf(a.processes);
    const secretFile = a['secret-file'] as string | undefined;
    const secret = readSecret(secretFile);
    const tls = readServerTls(a['tls-cert'] as string | undefined, a['tls-key'] as string | undefined);
    const caFile = (a.ca as string | undefined) ?? (tls ? (a['tls-cert'] as string) : undefined);
    if (tls) readCa(caFile);
    const plan = linkPlanFromArgv(a, config.clients);
    if (plan && tls) throw new UsageError('--link and --tls-cert cannot be combined: clients in their namespaces dial the bridge address, which a certificate for localhost does not name');
    const given = secret && secretFile !== undefined ? { bytes: secret, file: secretFile } : null;
    const links = plan ? await openLinks(plan, given) : null;
    const summary = await runLocal(config, {
      out: (a.out as string | undefined) ?? null,
      force: a.force as boolean,
      logger: makeLogger(a['log-level'] as string, 'marina-server'),
      progress: progressMode(a),
      clientLogLevel: a['log-level'] as string,
      roundTimeoutMs: a['round-timeout'] as number,
      ...(processes !== undefined ? { processes } : {}),
      // Its clients get the same secret file, and with TLS dial wss://localhost trusting caFile.
      secret: links?.secret ?? given,
      tls: tls && caFile !== undefined ? { ...tls, caFile } : null,
      link: links?.net ?? null,
    }).finally(() => links?.close());
    report(a, summary);
  },
};

function processesOf(v: unknown): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1)) throw new UsageError(`--processes is ${String(v)}; expected an integer ≥ 1 (more than --clients is taken as --clients)`);
  return x;
}
