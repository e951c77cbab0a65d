import type { TopLevelSpec } from 'vega-lite';
import type { Point, Series } from './series.js';

/** The three figures: ‖∇f(x^t)‖² against a cost of producing x^t. */
export type FigureKind = 'bits' | 'wire' | 'rounds';

/** One figure: where it goes, its titles, and which cost of a point is its x. */
export interface Figure {
  kind: FigureKind;
  /** File name in the report folder. */
  file: string;
  title: string;
  /** The x axis title, with its unit and how the cost is counted. */
  xTitle: string;
  /** How the x values are counted, in full, for the page. */
  caption: string;
  x: (p: Point) => number;
}

/** ‖∇f(xᵗ)‖² (the y axis of every figure, log scale as in the MARINA and CQ papers). */
export const Y_TITLE = '‖∇f(xᵗ)‖²';

/** The report's figures, in page order. */
export const FIGURES: readonly Figure[] = [
  {
    kind: 'bits',
    file: 'grad-vs-bits.svg',
    title: '‖∇f(xᵗ)‖² against algorithm bits sent per client',
    xTitle: 'algorithm bits per client spent on rounds 0..t−1 (Σ bitsUp / n)',
    caption:
      'x: the algorithm bits (the papers’ count: uplink only, a float is 32 bits, round 0’s full gradients included) that all clients sent in the rounds 0..t−1 that produced xᵗ, divided by n: the convention of summary.json’s targets.',
    x: (p) => p.bitsPerClient,
  },
  {
    kind: 'wire',
    file: 'grad-vs-wire.svg',
    title: '‖∇f(xᵗ)‖² against WebSocket bytes sent per client',
    xTitle: 'wire bytes per client sent on rounds 0..t−1 (Σ wireBytesUp / n)',
    caption:
      'x: the bytes of the uplink WebSocket frames (message headers and frame headers included, telemetry and control messages not) of the rounds 0..t−1 that produced xᵗ, over all sockets, divided by n.',
    x: (p) => p.wireBytesPerClient,
  },
  {
    kind: 'rounds',
    file: 'grad-vs-rounds.svg',
    title: '‖∇f(xᵗ)‖² against rounds',
    xTitle: 'round t',
    caption: 'x: the round t whose gradients are taken at xᵗ (round 0 is the initial full-gradient round).',
    x: (p) => p.round,
  },
];

/**
 * Labels only the powers of ten of a log axis ("1e-6", "1e0", "1e2"); the ticks between keep their grid lines.
 * d3's own log labels ("2e-1", "5e-1" beside "1e-1") crowd the axis.
 */
const POWERS_OF_TEN_ONLY =
  'abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-9 ? replace(format(datum.value, ".0e"), "e+", "e") : ""';

/** Positive x values spanning more than this many decades get a log x axis. */
export const LOG_X_DECADES = 2;

/**
 * A log x axis when the positive costs span more than LOG_X_DECADES decades (long runs, or methods whose
 * costs differ by orders of magnitude), linear otherwise. Rounds are always linear, as the papers draw them.
 */
export function xScaleType(figure: Figure, series: readonly Series[]): 'log' | 'linear' {
  if (figure.kind === 'rounds') return 'linear';
  let lo = Infinity;
  let hi = 0;
  for (const s of series) {
    for (const p of s.points) {
      const x = figure.x(p);
      if (x > 0) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
  }
  return hi > 0 && Math.log10(hi / lo) > LOG_X_DECADES ? 'log' : 'linear';
}

/**
 * The vega-lite spec of one figure: one line per series (colour and dash, one legend entry each, in series
 * order), log y. On a log x axis the points at cost 0 (x⁰, before round 0 sent anything) are left out.
 */
export function figureSpec(figure: Figure, series: readonly Series[]): TopLevelSpec {
  const xType = xScaleType(figure, series);
  const values = series.flatMap((s) =>
    s.points
      .map((p) => ({ series: s.label, x: figure.x(p), y: p.gradNormSq, round: p.round }))
      .filter((v) => xType === 'linear' || v.x > 0),
  );
  const labels = series.map((s) => s.label);
  const legend = { orient: 'bottom' as const, direction: 'vertical' as const, labelLimit: 0, title: null };
  return {
    width: 640,
    height: 360,
    title: { text: figure.title, anchor: 'start' },
    data: { values },
    mark: { type: 'line', clip: true, strokeWidth: 1.5 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: figure.xTitle,
        scale: xType === 'log' ? { type: 'log' } : { type: 'linear', zero: true },
        // Each label formatted alone ('~s': 0, 400, 1.2k, 3M), not with the common prefix d3 gives a whole axis ("0k").
        axis: { labelExpr: figure.kind === 'rounds' ? 'format(datum.value, "d")' : 'format(datum.value, "~s")', titleLimit: 0 },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: Y_TITLE,
        // nice: the domain ends on powers of ten, so there are always some to label.
        scale: { type: 'log', nice: true },
        axis: { labelExpr: POWERS_OF_TEN_ONLY, titleLimit: 0 },
      },
      color: { field: 'series', type: 'nominal', scale: { domain: labels }, legend },
      strokeDash: { field: 'series', type: 'nominal', scale: { domain: labels }, legend },
      order: { field: 'round', type: 'quantitative' },
    },
    config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 12 } },
  };
}
