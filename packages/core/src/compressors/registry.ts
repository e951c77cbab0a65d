import type { RunConfig } from '../config.js';
import type { Compressor } from './types.js';
import { createIdentity } from './identity.js';
import { createIq } from './iq.js';
import { createCq } from './cq.js';

/** Per-compressor options taken from the run configuration. */
export interface CompressorOptions {
  /** RandK/TopK: coordinates kept (null: the compressor's default, d/n). */
  k: number | null;
  /** Dithering: number of nonzero levels s (decision 16: default 4). */
  levels: number;
  /** Dithering: the p-norm, a number ≥ 1 or Infinity (decision 16: default 2). */
  norm: number;
}

/** The compressor options of a run configuration. */
export function compressorOptions(config: RunConfig): CompressorOptions {
  return { k: config.k, levels: config.levels, norm: config.norm === 'inf' ? Infinity : Number(config.norm) };
}

export interface CompressorEntry {
  /** One line for `--help` and the docs. */
  description: string;
  create(options: CompressorOptions): Compressor;
}

/** Name → constructor (STYLE lesson 11): the CLI's choices and help text are generated from these keys. */
export const compressors: Record<string, CompressorEntry> = {
  identity: { description: 'no compression: dense float32 (32 bits per coordinate)', create: createIdentity },
  iq: { description: 'independent 1-bit quantizer with range ±‖a‖₂ (32 + d bits)', create: createIq },
  cq: { description: 'correlated 1-bit quantizer, shared randomness per round (32 + d bits)', create: createCq },
};

export function createCompressor(name: string, options: CompressorOptions = { k: null, levels: 4, norm: 2 }): Compressor {
  const entry = compressors[name];
  if (!entry) throw new RangeError(`unknown compressor "${name}"; expected one of ${Object.keys(compressors).join(', ')}`);
  return entry.create(options);
}
