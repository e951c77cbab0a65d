import type { Compressor } from './types.js';
import { createIdentity } from './identity.js';
import { createIq } from './iq.js';
import { createCq } from './cq.js';

/** Per-compressor options taken from the run configuration. */
export interface CompressorOptions {
  /** RandK/TopK: coordinates kept. */
  k?: number;
  /** Dithering: number of nonzero levels s. */
  levels?: number;
  /** Dithering: the p-norm (a number ≥ 1 or Infinity). */
  norm?: number;
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

export function createCompressor(name: string, options: CompressorOptions = {}): Compressor {
  const entry = compressors[name];
  if (!entry) throw new RangeError(`unknown compressor "${name}"; expected one of ${Object.keys(compressors).join(', ')}`);
  return entry.create(options);
}
