import type { Compressor } from './types.js';
import { createDithering } from './dithering.js';

/**
 * Ternary quantization D_sta^{∞,1} (TernGrad-like, Wen et al. 2017; SPEC B.8, decisions 7, 12, 16):
 * Q(a)_j = ‖a‖_∞·sign(a_j)·b_j, b_j ~ Bernoulli(|a_j|/‖a‖_∞) from (seed, round, rank, "ternary").
 * ω = (√d − 1)/2, the maximum over a of ‖a‖_∞‖a‖₁/‖a‖₂² − 1 (decision 16). Bits 31 + d·log2 3; on the
 * wire the float32 ‖a‖_∞ and 20 trits per 32-bit word.
 */
export function createTernary(): Compressor {
  return createDithering({
    name: 'ternary',
    scheme: 'standard',
    levels: 1,
    norm: Infinity,
    purpose: 'ternary',
    omega: (d) => ({ omega: (Math.sqrt(d) - 1) / 2, note: 'ternary: ω = (√d − 1)/2 (decision 16)' }),
  });
}
