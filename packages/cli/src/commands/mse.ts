import type { CommandModule } from 'yargs';
import {
  compressorOptions,
  compressors,
  measureMse,
  resolveConfig,
  unbiasedCompressors,
  type MseInput,
  type MseReport,
} from '@marina/core';
import { fmtBits } from '../progress.js';
import { renderTable } from '../table.js';
import { UsageError, type Args } from './common.js';

/**
 * `marina mse`: the empirical E‖(1/n)ΣQ_i(a_i) − ā‖²/mean‖a_i‖² of compressors, through their real encode and
 * decode, beside each one's AB bound and, for IQ and CQ, the exact value (SPEC A.3, B.3, B.4).
 */
export const mseCommand: CommandModule = {
  command: 'mse',
  describe: "empirical MSE of the compressors' averaged messages beside their (A, B) bounds and exact values",
  builder: (y) =>
    y.options({
      compressors: {
        type: 'string',
        describe: `comma-separated compressors (default: every unbiased one of ${Object.keys(compressors).join(', ')})`,
        group: 'MSE:',
      },
      dim: { type: 'number', default: 256, describe: 'dimension d', group: 'MSE:' },
      clients: { type: 'number', default: 32, describe: 'number of clients n', group: 'MSE:' },
      trials: { type: 'number', default: 200, describe: 'rounds of fresh randomness to average over (≥ 2)', group: 'MSE:' },
      input: {
        type: 'string',
        default: 'homogeneous',
        choices: ['homogeneous', 'heterogeneous', 'scaled'],
        describe: 'a_i = a; a_i = a + spread·N(0, I); or a_i = ν_i·a with ν_i = 1 + spread·N(0, 1) (MARINA\'s differences on SPEC D.1 with s = spread); a ~ N(0, I)',
        group: 'MSE:',
      },
      spread: { type: 'number', default: 1, describe: 'heterogeneous inputs: the spread s of a_i = a + s·N(0, I)', group: 'MSE:' },
      seed: { type: 'number', default: 1, describe: 'seed of the inputs and of every compressor draw', group: 'MSE:' },
      constants: {
        type: 'string',
        default: 'default',
        choices: ['default', 'paper'],
        describe: 'CQ/IQ constants convention of the bound (decision 5)',
        group: 'MSE:',
      },
      k: { type: 'string', describe: 'RandK/TopK: coordinates kept (default ⌊d/n⌋)', group: 'MSE:' },
      levels: { type: 'string', describe: 'dithering levels s (default 4)', group: 'MSE:' },
      norm: { type: 'string', describe: 'dithering norm: a number ≥ 1 or "inf" (default 2)', group: 'MSE:' },
      range: {
        type: 'string',
        default: 'client',
        choices: ['client', 'shared', 'both'],
        describe: "IQ and CQ ranges (decision 3): each client's own ‖a_i‖, one shared R = max_i ‖a_i‖, or a row for each",
        group: 'MSE:',
      },
      json: { type: 'boolean', default: false, describe: 'print one JSON object', group: 'Output:' },
    }),
  handler: (a) => {
    const report = mseFromArgs(a);
    process.stdout.write(a['json'] ? JSON.stringify(report) + '\n' : describeMse(report) + '\n');
  },
};

function mseFromArgs(a: Args): MseReport {
  // d, n, k, levels and norm go through the run configuration's checks (ranges, k ≤ d).
  const partial: Record<string, unknown> = { dim: a['dim'], clients: a['clients'], seed: a['seed'], constants: a['constants'] };
  for (const f of ['k', 'levels', 'norm']) if (a[f] !== undefined) partial[f] = a[f];
  const config = resolveConfig(partial);
  const d = Number(config['dim']);
  const options = compressorOptions(config, d, config.clients);
  const names =
    typeof a['compressors'] === 'string'
      ? a['compressors']
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : unbiasedCompressors(options);
  for (const name of names) {
    if (!(name in compressors))
      throw new UsageError(
        `--compressors: unknown compressor "${name}"; expected a comma-separated list of ${Object.keys(compressors).join(', ')}`,
      );
  }
  if (names.length === 0) throw new UsageError('--compressors: name at least one compressor');
  const trials = Number(a['trials']);
  if (!(Number.isInteger(trials) && trials >= 2))
    throw new UsageError(`--trials is ${JSON.stringify(a['trials'])}; expected an integer ≥ 2`);
  const spread = Number(a['spread']);
  if (!(Number.isFinite(spread) && spread >= 0)) throw new UsageError(`--spread is ${JSON.stringify(a['spread'])}; expected a number ≥ 0`);
  const spec = { d, n: config.clients, trials, input: a['input'] as MseInput, spread, seed: config.seed, convention: config.constants, options };
  const range = String(a['range']);
  const ranged = names.filter((name) => 'range' in compressors[name]!.options);
  const client = range === 'shared' ? null : measureMse(spec, names);
  const shared = range === 'client' || ranged.length === 0 ? null : measureMse({ ...spec, options: { ...options, range: 'shared' } }, ranged);
  const label = (res: MseReport['results'][number], how: string) => ({ ...res, compressor: `${res.compressor} (${how} range)` });
  // One row per compressor, and for IQ and CQ one per range, the shared one after the client one.
  const results = names.flatMap((name) => {
    const own = client?.results.find((r) => r.compressor === name);
    const common = shared?.results.find((r) => r.compressor === name);
    if (!common) return own ? [own] : [];
    return [...(own ? [label(own, 'client')] : []), label(common, 'shared')];
  });
  return { ...(client ?? shared)!, spec, results };
}

function describeMse(r: MseReport): string {
  const { spec } = r;
  const f = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : x === 0 ? '0' : x.toPrecision(4));
  const rows = r.results.map((res) => [
    res.compressor,
    `${res.unbiased ? '' : 'biased, '}${res.correlated ? 'correlated' : 'independent'}`,
    fmtBits(res.bitsPerMessage),
    `${f(res.mse)} ± ${f(res.stdErr)}`,
    f(res.exact),
    f(res.bound),
    Number.isFinite(res.bound) && res.bound > 1e-12 ? (res.mse / res.bound).toFixed(3) : '-',
  ]);
  const inputs = spec.input === 'homogeneous' ? 'homogeneous inputs a_i = a' : `heterogeneous inputs a_i = a + ${spec.spread}·N(0, I)`;
  return [
    `E‖(1/n)Σ Q_i(a_i) − ā‖² / mean‖a_i‖²: d = ${spec.d}, n = ${spec.n}, ${spec.trials} trials, ${inputs}, a ~ N(0, I), seed ${spec.seed}`,
    '',
    renderTable(['compressor', 'kind', 'bits/msg', 'empirical ± s.e.', 'exact', 'bound', 'empirical/bound'], rows),
    '',
    `bound: (A·mean‖a_i‖² − B·‖ā‖²)/mean‖a_i‖² from each compressor's (A, B), ${spec.convention} convention (ω/n for independent ones); CQ's holds for homogeneous inputs only.`,
    'exact: IQ (1/n²)Σ_i 4r_i²Σ_j y_ij(1 − y_ij) (≈ (d − 1)/n); CQ on homogeneous inputs (4/n²)Σ_j f_j(1 − f_j), f_j = frac(n·y_j) (SPEC B.3, B.4).',
    `mean‖a_i‖² = ${r.meanSqNorm.toPrecision(6)}, ‖ā‖² = ${r.meanVecSqNorm.toPrecision(6)}`,
  ].join('\n');
}
