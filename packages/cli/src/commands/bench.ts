import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { figureTable, machine, type Figure } from '../bench/figures.js';
import { kernelFigures, numpyFigures, numpyVersion } from '../bench/kernels.js';
import { memoryFigures } from '../bench/memory.js';
import { fixedRounds, roundFigures } from '../bench/network.js';
import { UsageError } from './common.js';

/**
 * `marina bench`: speed figures, each beside its limit measured in the same run (memcpy, a plain JS loop of
 * the same operation, NumPy where present), as a table on stdout and, with --json FILE, as JSON: a machine
 * line and a flat list of figures {name, unit, median, min, max, runs}. docs/performance.md reads them.
 */
export const benchCommand: CommandModule = {
  command: 'bench',
  describe: 'measure compressor kernels against memcpy, plain loops and NumPy; round rates against a raw ws loop; wire over bits, time to target, server memory per client',
  builder: (y) =>
    y.options({
      dims: { type: 'string', default: '1e4,1e6,1e7', describe: 'comma-separated vector lengths for the kernel figures' },
      clients: { type: 'number', default: 16, describe: 'n: payloads a decode accumulates, and clients of the round rates' },
      runs: { type: 'number', default: 7, describe: 'timed runs per figure (median, min and max reported)' },
      json: { type: 'string', describe: 'also write the figures as JSON to this file' },
      numpy: { type: 'boolean', default: true, describe: 'compare with a plain NumPy IQ at the largest d (when python3 has numpy)' },
      kernels: { type: 'boolean', default: true, describe: 'measure the compressor kernels (memcpy, encode, decode; --no-kernels: the round figures only)' },
      rounds: { type: 'boolean', default: true, describe: 'also measure round rates, time to target and wire over bits (in-process, and with --network local clusters)' },
      network: { type: 'boolean', default: true, describe: 'local clusters over real sockets too: rounds/s beside a raw ws loop, networked time to target, server memory per client' },
      'round-clients': { type: 'string', default: '16,128,1024', describe: 'comma-separated n of the rounds.n<n> figures (each beside raw-ws); the largest also measures server memory per client' },
      'round-dim': { type: 'number', default: 1024, describe: 'd of the round, time-to-target and memory runs' },
      'net-runs': { type: 'number', default: 5, describe: 'runs per round, time-to-target and memory figure (each a whole run)' },
      seed: { type: 'number', default: 1, describe: 'seed of the runs (MARINA + CQ, --eval-every auto)' },
    }),
  handler: async (a) => {
    const dims = parseDims(a['dims'] as string);
    const n = a['clients'] as number;
    const runs = a['runs'] as number;
    if (!(Number.isInteger(n) && n >= 1 && n <= 65535)) throw new UsageError(`--clients must be an integer in [1, 65535], got ${a['clients']}`);
    if (!(Number.isInteger(runs) && runs >= 1 && runs <= 1000)) throw new UsageError(`--runs must be an integer in [1, 1000], got ${a['runs']}`);
    const roundClients = parseList(a['round-clients'] as string, '--round-clients', 1, 65535);
    const roundDim = a['round-dim'] as number;
    const netRuns = a['net-runs'] as number;
    const seed = a['seed'] as number;
    if (!(Number.isInteger(roundDim) && roundDim >= 1 && roundDim <= 1e7)) throw new UsageError(`--round-dim must be an integer in [1, 1e7], got ${a['round-dim']}`);
    if (!(Number.isInteger(netRuns) && netRuns >= 1 && netRuns <= 100)) throw new UsageError(`--net-runs must be an integer in [1, 100], got ${a['net-runs']}`);
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new UsageError(`--seed must be an integer in [0, 4294967295], got ${a['seed']}`);
    const log = (line: string) => process.stderr.write(line + '\n');

    const np = a['numpy'] && a['kernels'] ? numpyVersion() : null;
    const figures: Figure[] = a['kernels'] ? kernelFigures(dims, n, runs, log) : [];
    if (np) figures.push(...numpyFigures(Math.max(...dims), n, runs, log));
    else if (a['numpy'] && a['kernels']) log('numpy: python3 with numpy not found; numpy.* figures skipped');

    if (a['rounds']) {
      const network = Boolean(a['network']);
      figures.push(...(await roundFigures({ clients: n, roundClients, dim: roundDim, runs: netRuns, seed, network }, log)));
      const nMax = Math.max(...roundClients);
      if (network) figures.push(...(await memoryFigures(nMax, roundDim, fixedRounds(nMax), netRuns, seed, log)));
    }

    const m = machine(np);
    process.stdout.write(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}${np ? `, NumPy ${np}` : ''}\n${figureTable(figures)}\n`);
    if (a['json']) writeFileSync(a['json'] as string, JSON.stringify({ machine: m, figures }, null, 1) + '\n');
  },
};

/** Parses --dims: integers in [1, 1e8], written as 1e6 or 1000000. */
const parseDims = (text: string): number[] => parseList(text, '--dims', 1, 1e8);

/** A comma list of integers in [lo, hi] (1e6 or 1000000), or a one-line usage error naming the flag. */
function parseList(text: string, flag: string, lo: number, hi: number): number[] {
  return text.split(',').map((s) => {
    const x = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(x) || x < lo || x > hi) throw new UsageError(`${flag} takes integers in [${lo}, ${hi === 1e8 ? '1e8' : hi}] separated by commas, got ${JSON.stringify(text)}`);
    return x;
  });
}
