/**
 * A run as a curve of a measured value (‖∇f(xᵗ)‖² or f(xᵗ)) against algorithm bits per client, and the few
 * comparisons the verdicts are made of. Pure functions: no files, no clocks.
 *
 * Cost convention (that of `marina report` and summary.json's targets): the point xᵗ is placed at the bits
 * per client spent on rounds 0..t−1, the rounds that produced it; x⁰ sits at 0 bits.
 */

/** One evaluated iterate: bits per client spent to produce it, and the value measured there (> 0). */
export interface CurvePoint {
  bits: number;
  value: number;
}

/** Evaluated points in round order (bits nondecreasing). */
export type Curve = readonly CurvePoint[];

/** The value of the last point placed at or before `bits` (what a client has after spending that much); null before the first. */
export function valueAt(curve: Curve, bits: number): number | null {
  let out: number | null = null;
  for (const p of curve) {
    if (p.bits > bits) break;
    out = p.value;
  }
  return out;
}

/** Bits per client at the first point whose value is ≤ `level`; null if the curve never gets there. */
export function bitsToReach(curve: Curve, level: number): number | null {
  for (const p of curve) if (p.value <= level) return p.bits;
  return null;
}

/** The smallest value a curve reaches (Infinity for an empty curve). */
export function bestValue(curve: Curve): number {
  let best = Infinity;
  for (const p of curve) if (p.value < best) best = p.value;
  return best;
}

/** What `advantage` measured: rival bits / our bits at levels from a tenth of the start down to the level both reach. */
export interface Advantage {
  /** The lowest level compared: the larger of the two curves' best values, so both reach it. */
  level: number;
  /** The highest level compared: `from` × the smaller starting value (or `level`, if that is higher). */
  top: number;
  /** Bits per client each curve needed to reach `level`. */
  ours: number;
  rival: number;
  /**
   * The median over the levels of rival bits / our bits: above 1 ours needs fewer bits; Infinity when the rival
   * never improved on its start (0 the other way round).
   */
  ratio: number;
  /** The largest of those ratios, and the level where it was. */
  max: number;
  maxLevel: number;
}

/** Levels compared by `advantage`: log-spaced from `top` down to the common level, both included. */
export const LEVELS = 9;

/**
 * How many times fewer bits `ours` needs than `rival` to bring the value down, measured at LEVELS levels
 * log-spaced from `from` × the smaller starting value (a tenth for ‖∇f‖², which falls by decades; just below the
 * start for a loss, which falls by a factor of a few) down to the level both reach (the worse of the two best
 * values): the median ratio (the typical horizontal gap between the curves on a log plot) and the largest. The
 * end level alone would miss gaps that close late, when both curves are slowed by the same slow modes. Null when
 * either curve is empty. A curve that never goes below its start reaches nothing: against it the ratio is ∞.
 */
export function advantage(ours: Curve, rival: Curve, from = 0.1): Advantage | null {
  if (ours.length === 0 || rival.length === 0) return null;
  const oursMoved = bestValue(ours) < ours[0]!.value;
  const rivalMoved = bestValue(rival) < rival[0]!.value;
  const level = Math.max(bestValue(ours), bestValue(rival));
  if (!rivalMoved || !oursMoved) {
    const ratio = oursMoved ? Infinity : rivalMoved ? 0 : 1;
    return { level, top: level, ours: NaN, rival: NaN, ratio, max: ratio, maxLevel: level };
  }
  const top = Math.max(level, Math.min(ours[0]!.value, rival[0]!.value) * from);
  const ratios: { level: number; ratio: number }[] = [];
  for (let i = 0; i < LEVELS; i++) {
    const at = i === LEVELS - 1 ? level : top * (level / top) ** (i / (LEVELS - 1));
    const a = bitsToReach(ours, at)!;
    const b = bitsToReach(rival, at)!;
    ratios.push({ level: at, ratio: a === 0 ? (b === 0 ? 1 : Infinity) : b / a });
  }
  const sorted = ratios.map((r) => r.ratio).sort((x, y) => x - y);
  const biggest = ratios.reduce((x, y) => (y.ratio > x.ratio ? y : x));
  return { level, top, ours: bitsToReach(ours, level)!, rival: bitsToReach(rival, level)!, ratio: sorted[(LEVELS - 1) / 2]!, max: biggest.ratio, maxLevel: biggest.level };
}

/**
 * The share of bit levels, log-spaced over the span both curves cover (from the later first nonzero cost to the
 * earlier last one), at which `ours` is at or below `rival` (`valueAt`). 0.5 or more is "mostly dominant".
 * Null when the spans do not overlap.
 */
export function dominance(ours: Curve, rival: Curve, levels = 64): number | null {
  const lo = Math.max(firstPositiveBits(ours), firstPositiveBits(rival));
  const hi = Math.min(lastBits(ours), lastBits(rival));
  if (!(lo > 0 && hi >= lo && Number.isFinite(hi))) return null;
  let wins = 0;
  for (let i = 0; i < levels; i++) {
    const b = levels === 1 ? hi : lo * (hi / lo) ** (i / (levels - 1));
    const x = valueAt(ours, b);
    const y = valueAt(rival, b);
    if (x !== null && (y === null || x <= y)) wins++;
  }
  return wins / levels;
}

function firstPositiveBits(c: Curve): number {
  for (const p of c) if (p.bits > 0) return p.bits;
  return Infinity;
}

function lastBits(c: Curve): number {
  return c.length === 0 ? -Infinity : c[c.length - 1]!.bits;
}
