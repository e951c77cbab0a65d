import type { OptionSpecs } from '../options.js';
import type { Compressor, CompressorOptions } from './types.js';
import { DITHERING_OPTIONS, K_OPTION, RANGE_OPTION } from './options.js';
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

export interface CompressorEntry {
  /** One line for `--help` and the docs. */
  description: string;
  /** Options this compressor reads (flags, config fields, MARINA_* variables are generated from them). */
  options: OptionSpecs;
  create(options: CompressorOptions): Compressor;
}

/** Name → constructor (STYLE lesson 11): the CLI's choices and help text are generated from these keys. */
export const compressors: Record<string, CompressorEntry> = {
  identity: { description: 'no compression: dense float32 (32 bits per coordinate)', options: {}, create: createIdentity },
  iq: { description: 'independent 1-bit quantizer with range ±‖a‖₂ (32 + d bits)', options: RANGE_OPTION, create: createIq },
  cq: { description: 'correlated 1-bit quantizer, shared randomness per round (32 + d bits)', options: RANGE_OPTION, create: createCq },
  permk: { description: 'correlated: senders split a shared random permutation of the coordinates, scaled by n (32·d/n bits)', options: {}, create: createPermk },
  randk: { description: 'K random coordinates scaled by d/K, indices from the shared seed (32K bits; --k, default ⌊d/n⌋)', options: K_OPTION, create: createRandk },
  topk: { description: 'biased, for EF21: the K largest magnitudes with their indices (32K + K·⌈log2 d⌉ bits; --k, default ⌊d/n⌋)', options: K_OPTION, create: createTopk },
  natural: { description: 'natural compression: random rounding to powers of two, ω = 1/8 (9 bits per coordinate)', options: {}, create: createNatural },
  'natural-dithering': { description: 'natural dithering: random rounding of |a_j|/‖a‖_p to powers of two (31 + d·log2(2s+1) bits; --levels, --norm)', options: DITHERING_OPTIONS, create: createNaturalDithering },
  qsgd: { description: 'QSGD / standard dithering: s uniform levels of |a_j|/‖a‖_p (31 + d·log2(2s+1) bits; --levels, --norm)', options: DITHERING_OPTIONS, create: createQsgd },
  ternary: { description: 'ternary: ‖a‖_∞·sign·Bernoulli, ω = (√d−1)/2 (31 + d·log2 3 bits, 20 trits per word)', options: {}, create: createTernary },
  drive: { description: 'DRIVE: randomized Hadamard rotation, one sign bit per coordinate and a float32 scale (d′ + 32 bits, d′ = next power of two)', options: {}, create: createDrive },
};

export function createCompressor(name: string, options: CompressorOptions = { k: null, levels: 4, norm: 2 }): Compressor {
  const entry = compressors[name];
  if (!entry) throw new RangeError(`unknown compressor "${name}"; expected one of ${Object.keys(compressors).join(', ')}`);
  return entry.create(options);
}
