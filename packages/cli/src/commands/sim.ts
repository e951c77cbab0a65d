import type { CommandModule } from 'yargs';
import { configFromArgv, withRunOptions } from '../options.js';
import { runSim } from '../runs.js';
import { outputOptions, progressMode, report } from './common.js';

/** `marina sim`. */
export const simCommand: CommandModule = {
  command: 'sim',
  describe: 'run in-process (same arithmetic and bytes as a networked run, no sockets)',
  builder: (y) => outputOptions(withRunOptions(y)),
  handler: async (a) => {
    const config = configFromArgv(a);
    report(a, await runSim(config, (a.out as string | undefined) ?? null, a.force as boolean, progressMode(a)));
  },
};
