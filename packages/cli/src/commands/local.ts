import type { CommandModule } from 'yargs';
import { configFromArgv, withRunOptions } from '../options.js';
import { makeLogger } from '../logger.js';
import { runLocal } from '../runs.js';
import { outputOptions, progressMode, report } from './common.js';

/** `marina local`. */
export const localCommand: CommandModule = {
  command: 'local',
  describe: 'run a server and n client processes on this machine',
  builder: (y) =>
    outputOptions(withRunOptions(y)).option('round-timeout', {
      type: 'number',
      default: 60_000,
      describe: 'ms a client may take to answer a round',
    }),
  handler: async (a) => {
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
};
