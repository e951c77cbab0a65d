import type { RunConfig } from '../config.js';
import type { Compressor } from './types.js';
import { createIdentity } from './identity.js';
import { createIq } from './iq.js';
import { createCq } from './cq.js';
import { createRandk } from './randk.js';
import { createPermk } from './permk.js';
import { createTopk } from './topk.js';
import { createNaturalDithering } from './naturalDithering.js';
import { createQsgd } from './qsgd.js';
import { createTernary } from './ternary.js';
import { createNatural } from './natural.js';
import { createDrive } from './drive.js';

/** Per-compressor options taken from the run configuration. */
export interface CompressorOptions {
  /** RandK/TopK: coordinates kept (null: the compressor's default, d/n). */
  k: number | null;
  /** Dithering: number of nonzero levels s (decision 16: default 4). */
  levels: number;
  /** Dithering: the p-norm, a number ≥ 1 or Infinity (decision 16: default 2). */
  norm: number;
}

/**
 * The compressor options of a run configuration. K defaults to max(1, ⌊d/n⌋) with the run's d and number
 * of clients n, resolved here once, so that K does not change with the number of senders of a round
 * (PP-MARINA asks r < n clients); a compressor given k = null falls back to the round's senders.
 */
export function compressorOptions(config: RunConfig): CompressorOptions {
  return {
    k: config.k ?? Math.max(1, Math.floor(config.dim / config.clients)),
    levels: config.levels,
    norm: config.norm === 'inf' ? Infinity : Number(config.norm),
  };
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
  permk: { description: 'correlated: senders split a shared random permutation of the coordinates, scaled by n (32·d/n bits)', create: createPermk },
  randk: { description: 'K random coordinates scaled by d/K, indices from the shared seed (32K bits; --k, default ⌊d/n⌋)', create: createRandk },
  topk: { description: 'biased, for EF21: the K largest magnitudes with their indices (32K + K·⌈log2 d⌉ bits; --k, default ⌊d/n⌋)', create: createTopk },
  natural: { description: 'natural compression: random rounding to powers of two, ω = 1/8 (9 bits per coordinate)', create: createNatural },
  'natural-dithering': { description: 'natural dithering: random rounding of |a_j|/‖a‖_p to powers of two (31 + d·log2(2s+1) bits; --levels, --norm)', create: createNaturalDithering },
  qsgd: { description: 'QSGD / standard dithering: s uniform levels of |a_j|/‖a‖_p (31 + d·log2(2s+1) bits; --levels, --norm)', create: createQsgd },
  ternary: { description: 'ternary: ‖a‖_∞·sign·Bernoulli, ω = (√d−1)/2 (31 + d·log2 3 bits, 20 trits per word)', create: createTernary },
  drive: { description: 'DRIVE: randomized Hadamard rotation, one sign bit per coordinate and a float32 scale (d′ + 32 bits, d′ = next power of two)', create: createDrive },
};

export function createCompressor(name: string, options: CompressorOptions = { k: null, levels: 4, norm: 2 }): Compressor {
  const entry = compressors[name];
  if (!entry) throw new RangeError(`unknown compressor "${name}"; expected one of ${Object.keys(compressors).join(', ')}`);
  return entry.create(options);
}
