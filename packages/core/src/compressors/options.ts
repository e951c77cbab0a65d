import type { OptionSpec, OptionSpecs } from '../options.js';
import { failOption, nullableNumberOption, numberOption, stringOption, type ConfigValues } from '../options.js';
import type { CompressorOptions } from './types.js';

/** `--k` of RandK and TopK (null: ⌊d/n⌋, at least 1). */
export const K_OPTION: OptionSpecs = {
  k: { type: 'int', default: null, nullable: true, unset: '⌊d/n⌋, at least 1', min: 1, max: 1 << 24, help: 'coordinates kept K (default ⌊d/n⌋, at least 1)' },
};

const normOption: OptionSpec = {
  type: 'string',
  default: '2',
  expects: 'a number ≥ 1 or "inf"',
  parse: (v, field) => {
    const s = String(v).trim().toLowerCase();
    if (s === 'inf' || s === 'infinity') return 'inf';
    const x = typeof v === 'number' ? v : s === '' ? NaN : Number(s);
    return Number.isFinite(x) && x >= 1 ? String(x) : failOption(field, v, 'a number ≥ 1 or "inf"');
  },
  help: 'dithering norm p: a number ≥ 1 or "inf" (decision 16)',
};

/** `--range` of IQ and CQ (decision 3). */
export const RANGE_OPTION: OptionSpecs = {
  range: {
    type: 'choice',
    default: 'client',
    choices: ['client', 'shared'],
    help: "IQ/CQ range (decision 3): client, each message its own radius ‖a_i‖ (32 + d bits); shared, each client's norm (32 bits) first, then one R = max_i ‖a_i‖ from the server, then d bits (MARINA, DCGD, VR-/PP-MARINA)",
  },
};

/** `--levels` and `--norm` of the dithering compressors (decision 16). */
export const DITHERING_OPTIONS: OptionSpecs = {
  levels: { type: 'int', default: 4, min: 1, max: 1 << 15, help: 'dithering levels s (decision 16)' },
  norm: normOption,
};

/**
 * The compressor options of a run. K defaults to max(1, ⌊d/n⌋) with the run's d and number of clients n,
 * resolved here once, so that K does not change with the number of senders of a round (PP-MARINA asks
 * r < n clients). Options the selected compressor does not declare keep their declared defaults.
 */
export function compressorOptions(config: ConfigValues, d: number, n: number): CompressorOptions {
  const k = 'k' in config ? nullableNumberOption(config, 'k') : null;
  if (k !== null && k > d) failOption('k', k, `an integer in [1, d = ${d}] (RandK/TopK keep k of the d coordinates)`);
  const norm = 'norm' in config ? stringOption(config, 'norm') : '2';
  return {
    k: k ?? Math.max(1, Math.floor(d / n)),
    levels: 'levels' in config ? numberOption(config, 'levels') : 4,
    norm: norm === 'inf' ? Infinity : Number(norm),
    range: config['range'] === 'shared' ? 'shared' : 'client',
  };
}
