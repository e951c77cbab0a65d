import type { TopLevelSpec } from 'vega-lite';
import { lineSpec, spansDecades } from './lineSpec.js';
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

/**
 * A log x axis when the positive costs span more than LOG_X_DECADES decades (long runs, or methods whose
 * costs differ by orders of magnitude), linear otherwise. Rounds are always linear, as the papers draw them.
 */
export function xScaleType(figure: Figure, series: readonly Series[]): 'log' | 'linear' {
  if (figure.kind === 'rounds') return 'linear';
  return spansDecades(series.flatMap((s) => s.points.map(figure.x))) ? 'log' : 'linear';
}

/**
 * The vega-lite spec of one figure: one line per series (colour and dash, one legend entry each, in series
 * order), log y. On a log x axis the points at cost 0 (x⁰, before round 0 sent anything) are left out.
 */
export function figureSpec(figure: Figure, series: readonly Series[]): TopLevelSpec {
  return lineSpec({
    title: figure.title,
    lines: series.map((s) => ({ label: s.label, points: s.points.map((p) => ({ x: figure.x(p), y: p.gradNormSq, order: p.round })) })),
    orderTitle: 'round',
    // Each label formatted alone ('~s': 0, 400, 1.2k, 3M), not with the common prefix d3 gives a whole axis ("0k").
    x: { title: figure.xTitle, log: xScaleType(figure, series) === 'log', labelExpr: figure.kind === 'rounds' ? 'format(datum.value, "d")' : 'format(datum.value, "~s")' },
    // nice: the domain ends on powers of ten, so there are always some to label.
    y: { title: Y_TITLE, nice: true, labelExpr: POWERS_OF_TEN_ONLY },
  });
}
