import type { CompressorOptions } from './types.js';
import type { Compressor } from './types.js';
import { createDithering } from './dithering.js';

/**
 * QSGD / standard dithering D_sta^{p,s} (Alistarh et al. 2017; SPEC B.7, decision 19): levels
 * {0, 1/s, …, 1} of |a_j|/‖a‖_p, unbiased random rounding. Options: s = `levels` (default 4), p = `norm`
 * (default 2, Infinity for ∞). Bits 31 + d·log2(2s + 1), packed by decision 12 (the Elias-coded variant is
 * not built).
 *
 * ω (`qsgdOmega`): decision 19's values for p = 2, min(d/s², √d/s), and p = ∞, d/(4s²). For other p we use
 * the bound derived below, valid for every p ≥ 1 (for p = 2 and ∞ it is at most decision 19's value).
 */
export function createQsgd(options: Pick<CompressorOptions, 'levels' | 'norm'>): Compressor {
  const { levels: s, norm: p } = options;
  return createDithering({ name: 'qsgd', scheme: 'standard', levels: s, norm: p, purpose: 'qsgd', omega: (d) => qsgdOmega(d, s, p) });
}

/**
 * ω of standard dithering with s levels and the p-norm.
 *
 * Derivation for general p (ours): with u_j = |a_j|/‖a‖_p ∈ [0, 1], rounding between l/s and (l+1)/s has
 * variance (u_j − l/s)((l+1)/s − u_j) ≤ min(1/(4s²), u_j/s), so
 *   E‖Q(a) − a‖² ≤ ‖a‖_p²·Σ_j min(1/(4s²), u_j/s) ≤ min(d‖a‖_p²/(4s²), ‖a‖_p‖a‖₁/s).
 * With r = min(p, 2): ‖a‖_p ≤ d^{1/r−1/2}‖a‖₂ and ‖a‖₁ ≤ √d‖a‖₂, hence
 *   ω = min(d^{2/r}/(4s²), d^{1/r}/s).
 * p = 2 gives min(d/(4s²), √d/s) ≤ QSGD's min(d/s², √d/s); p = ∞ gives min(d/(4s²), √d/s) ≤ d/(4s²).
 */
export function qsgdOmega(d: number, s: number, p: number): { omega: number; note: string } {
  if (p === 2) return { omega: Math.min(d / (s * s), Math.sqrt(d) / s), note: `QSGD, s = ${s}, 2-norm: ω = min(d/s², √d/s) (decision 19)` };
  if (p === Infinity) return { omega: d / (4 * s * s), note: `standard dithering, s = ${s}, ∞-norm: ω = d/(4s²) (decision 19)` };
  const r = Math.min(p, 2);
  return {
    omega: Math.min(d ** (2 / r) / (4 * s * s), d ** (1 / r) / s),
    note: `standard dithering, s = ${s}, ${p}-norm: ω = min(d^{2/r}/(4s²), d^{1/r}/s), r = min(p, 2) (derived in qsgd.ts)`,
  };
}
