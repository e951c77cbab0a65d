import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { MARINA_BIN } from '../runs.js';
import { abortOnSignals, jobsOf } from '../sweep/pool.js';
import { UsageError } from './common.js';

/**
 * `marina results --out docs/results`: the papers' experiments rerun (through `marina sweep`, `marina report` and
 * `marina theory` child processes) and written up as one markdown page per paper, each figure beside the paper's
 * claim and a verdict computed from the measured numbers. Quick sizes by default (minutes on 2 cores); `--full`
 * the papers' sizes; `--smoke` tiny sizes through every path (tests).
 */
export const resultsCommand: CommandModule = {
  command: 'results',
  describe: "rerun the papers' experiments and write docs: one markdown page per paper, figures, claims and verdicts",
  builder: (y) =>
    y.options({
      out: { type: 'string', demandOption: true, describe: 'folder for index.md, the pages and their figures (created; the pages\' figure folders are replaced)', group: 'Results:' },
      full: { type: 'boolean', default: false, describe: "the papers' sizes (hours) instead of the quick ones", group: 'Results:' },
      smoke: { type: 'boolean', default: false, describe: 'tiny sizes through every experiment (seconds; for tests: the verdicts mean nothing)', group: 'Results:' },
      work: { type: 'string', describe: 'folder for the sweeps\' run folders (kept, and resumed when run again with the same sizes); default: a temporary folder removed at the end', group: 'Results:' },
      datasets: { type: 'string', describe: 'folder of the data files (a9a.gz, w8a.gz, phishing.gz, mushrooms, mnist/t10k-images-idx3-ubyte.gz); default: ../shared/datasets beside the repository', group: 'Results:' },
      only: { type: 'string', describe: 'comma-separated page ids (cq-marina, permk, marina) or page/experiment ids (permk/a-quadratics): run and write only those', group: 'Results:' },
      jobs: { type: 'number', default: availableParallelism(), describe: 'runs at once (default: the cores)', group: 'Results:' },
      quiet: { type: 'boolean', default: false, describe: 'no progress lines', group: 'Output:' },
    }),
  handler: async (a) => {
    if (a['full'] && a['smoke']) throw new UsageError('--full and --smoke exclude each other: give one (or neither, for the quick sizes)');
    const jobs = jobsOf(a['jobs']);
    const { DEFAULT_DATASETS } = await import('../results/data.js');
    const { runResults } = await import('../results/results.js');
    const mode = a['full'] ? 'full' : a['smoke'] ? 'smoke' : 'quick';
    const only = a['only'] === undefined ? null : String(a['only']).split(',').map((s) => s.trim()).filter((s) => s !== '');
    await abortOnSignals(async (signal) => {
      const written = await runResults({
        bin: MARINA_BIN,
        out: resolve(String(a['out'])),
        mode,
        work: a['work'] === undefined ? null : resolve(String(a['work'])),
        datasets: a['datasets'] === undefined ? DEFAULT_DATASETS : resolve(String(a['datasets'])),
        jobs,
        only,
        command: ['marina results', ...process.argv.slice(3)].join(' '),
        say: (line) => {
          if (!a['quiet']) process.stderr.write(`${line}\n`);
        },
        signal,
      }).catch((e: unknown) => {
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      });
      if (signal.aborted) {
        process.stderr.write('marina results: interrupted; no page written\n');
        process.exitCode = 130;
        return;
      }
      process.stdout.write(`${written.join('\n')}\n`);
    });
  },
};
