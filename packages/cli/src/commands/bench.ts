import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { resolveConfig, runInProcess } from '@marina/core';
import { nodeHooks } from '@marina/server';
import { figureTable, machine, summarize, type Figure } from '../bench/figures.js';
import { kernelFigures, numpyFigures, numpyVersion } from '../bench/kernels.js';
import { makeLogger } from '../logger.js';
import { resolveInProcess, runLocal } from '../runs.js';
import { UsageError } from './common.js';

/**
 * `marina bench`: speed figures, each beside its limit measured in the same run (memcpy, a plain JS loop of
 * the same operation, NumPy where present), as a table on stdout and, with --json FILE, as JSON: a machine
 * line and a flat list of figures {name, unit, median, min, max, runs}. docs/performance.md reads them.
 */
export const benchCommand: CommandModule = {
  command: 'bench',
  describe: 'measure compressor kernels (encode, decode-accumulate) and round rates against memcpy, plain loops and NumPy',
  builder: (y) =>
    y.options({
      dims: { type: 'string', default: '1e4,1e6,1e7', describe: 'comma-separated vector lengths for the kernel figures' },
      clients: { type: 'number', default: 16, describe: 'n: payloads a decode accumulates, and clients of the round rates' },
      runs: { type: 'number', default: 7, describe: 'timed runs per figure (median, min and max reported)' },
      json: { type: 'string', describe: 'also write the figures as JSON to this file' },
      numpy: { type: 'boolean', default: true, describe: 'compare with a plain NumPy IQ at the largest d (when python3 has numpy)' },
      rounds: { type: 'boolean', default: true, describe: 'also measure round rates (in-process, and with --network a local cluster)' },
      network: { type: 'boolean', default: true, describe: 'round rates of a local cluster over real sockets too' },
    }),
  handler: async (a) => {
    const dims = parseDims(a['dims'] as string);
    const n = a['clients'] as number;
    const runs = a['runs'] as number;
    if (!(Number.isInteger(n) && n >= 1 && n <= 65535)) throw new UsageError(`--clients must be an integer in [1, 65535], got ${a['clients']}`);
    if (!(Number.isInteger(runs) && runs >= 1 && runs <= 1000)) throw new UsageError(`--runs must be an integer in [1, 1000], got ${a['runs']}`);
    const log = (line: string) => process.stderr.write(line + '\n');

    const np = a['numpy'] ? numpyVersion() : null;
    const figures: Figure[] = kernelFigures(dims, n, runs, log);
    if (np) figures.push(...numpyFigures(Math.max(...dims), n, runs, log));
    else if (a['numpy']) log('numpy: python3 with numpy not found; numpy.* figures skipped');

    if (a['rounds']) figures.push(...(await roundFigures(n, Boolean(a['network']), log)));

    const m = machine(np);
    process.stdout.write(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}${np ? `, NumPy ${np}` : ''}\n${figureTable(figures)}\n`);
    if (a['json']) writeFileSync(a['json'] as string, JSON.stringify({ machine: m, figures }, null, 1) + '\n');
  },
};

/** Parses --dims: integers in [1, 1e8], written as 1e6 or 1000000. */
function parseDims(text: string): number[] {
  const dims = text.split(',').map((s) => s.trim());
  return dims.map((s) => {
    const d = Number(s);
    if (s === '' || !Number.isInteger(d) || d < 1 || d > 1e8) throw new UsageError(`--dims takes integers in [1, 1e8] separated by commas, got ${JSON.stringify(text)}`);
    return d;
  });
}

/** Rounds per second of the default run at d = 1024: in-process, and as a local cluster (server + n clients). */
async function roundFigures(n: number, network: boolean, log: (line: string) => void): Promise<Figure[]> {
  const config = resolveConfig({ clients: n, dim: 1024, rounds: 400, stopAtTarget: false, targetRel: null, p: '0.1' });
  const { setup, problems } = await resolveInProcess(config);
  const rates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    runInProcess(setup, problems, { ...nodeHooks, runId: 'bench' });
    rates.push((config.rounds * 1e9) / Number(process.hrtime.bigint() - t0));
  }
  const what = `${config.method} + ${config.compressor}, n = ${n}, d = 1024`;
  const figures = [summarize(`rounds.sim.n${n}.d1024`, 'rounds/s', rates, `in-process engine, ${what}`)];
  if (network) {
    const logger = makeLogger('silent', 'bench');
    const net: number[] = [];
    for (let r = 0; r < 3; r++) {
      const s = await runLocal(config, { out: null, force: false, logger, progress: 'quiet', clientLogLevel: 'silent', roundTimeoutMs: 60_000 });
      net.push(config.rounds / s.totals.seconds);
    }
    figures.push(summarize(`rounds.n${n}.d1024`, 'rounds/s', net, `marina local: server + ${n} client processes, ${what}`));
  }
  for (const f of figures) log(`${f.name}: ${f.median.toPrecision(3)} ${f.unit}`);
  return figures;
}
