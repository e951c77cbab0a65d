import type { CompressorOptions } from './types.js';
import type { Compressor } from './types.js';
import { createDithering } from './dithering.js';

/**
 * Natural dithering D_nat^{p,s} (Horváth et al. 2019; SPEC B.6, decisions 7, 12, 16): levels
 * {0, 2^{1−s}, …, 1/2, 1} of |a_j|/‖a‖_p, unbiased random rounding between adjacent levels. Options: s =
 * `levels` (default 4), p = `norm` (default 2, Infinity for ∞).
 * ω = 1/8 + d^{1/r}/2^{s−1}·min(1, d^{1/r}/2^{s−1}), r = min(p, 2) (SPEC B.6, from the MARINA code); it is a
 * valid bound for every p ≥ 1: rounding inside [2^e, 2^{e+1}] costs at most u²/8, and below 2^{1−s} at most
 * u·2^{1−s}, summed with ‖a‖_p‖a‖₁ ≤ d^{1/r}‖a‖₂² and ‖a‖_p² ≤ d^{2/r−1}‖a‖₂².
 * Bits: 31 + d·log2(2s + 1); wire: the float32 norm and the symbols packed by decision 12.
 */
export function createNaturalDithering(options: Pick<CompressorOptions, 'levels' | 'norm'>): Compressor {
  const { levels: s, norm: p } = options;
  return createDithering({
    name: 'natural-dithering',
    scheme: 'natural',
    levels: s,
    norm: p,
    purpose: 'natural-dithering',
    omega(d) {
      const r = Math.min(p, 2);
      const t = d ** (1 / r) / 2 ** (s - 1);
      return { omega: 1 / 8 + t * Math.min(1, t), note: `natural dithering, s = ${s}, p = ${p}: ω = 1/8 + d^{1/r}/2^{s−1}·min(1, d^{1/r}/2^{s−1}), r = min(p, 2) (SPEC B.6)` };
    },
  });
}
