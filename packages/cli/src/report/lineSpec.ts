import type { TopLevelSpec } from 'vega-lite';

/**
 * The line-chart skeleton shared by `marina report`'s figures and `marina results`' loss figure: one line per
 * series (colour and dash, one legend entry each, in legend order), a log y axis, and an x axis that turns
 * log when the costs span many decades.
 */

/** Positive x values spanning more than this many decades get a log x axis. */
export const LOG_X_DECADES = 2;

/** Whether the positive values among `xs` span more than LOG_X_DECADES decades (false when there are none). */
export function spansDecades(xs: Iterable<number>): boolean {
  let lo = Infinity;
  let hi = 0;
  for (const x of xs) {
    if (x > 0) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
  }
  return hi > 0 && Math.log10(hi / lo) > LOG_X_DECADES;
}

/** One point of a line; `order` is its place along the line (points without one: their index among those drawn). */
export interface LinePoint {
  x: number;
  y: number;
  order?: number;
}

export interface LineChart {
  title: string;
  /** One line per series, in legend order; on a log x axis points at x ≤ 0 are left out (log 0 cannot be placed). */
  lines: readonly { label: string; points: readonly LinePoint[] }[];
  /** What `order` counts (screen readers read it in each line's label). */
  orderTitle: string;
  x: { title: string; log: boolean; labelExpr: string };
  y: { title: string; nice: boolean; labelExpr?: string };
}

export function lineSpec(chart: LineChart): TopLevelSpec {
  const values = chart.lines.flatMap((l) =>
    l.points.filter((p) => !chart.x.log || p.x > 0).map((p, i) => ({ series: l.label, x: p.x, y: p.y, order: p.order ?? i })),
  );
  const domain = chart.lines.map((l) => l.label);
  const legend = { orient: 'bottom' as const, direction: 'vertical' as const, labelLimit: 0, title: null };
  return {
    width: 640,
    height: 360,
    title: { text: chart.title, anchor: 'start' },
    data: { values },
    mark: { type: 'line', clip: true, strokeWidth: 1.5 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: chart.x.title,
        scale: chart.x.log ? { type: 'log' } : { type: 'linear', zero: true },
        axis: { labelExpr: chart.x.labelExpr, titleLimit: 0 },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: chart.y.title,
        scale: { type: 'log', nice: chart.y.nice },
        ...(chart.y.labelExpr === undefined ? {} : { axis: { labelExpr: chart.y.labelExpr, titleLimit: 0 } }),
      },
      color: { field: 'series', type: 'nominal', scale: { domain }, legend },
      strokeDash: { field: 'series', type: 'nominal', scale: { domain }, legend },
      order: { field: 'order', type: 'quantitative', title: chart.orderTitle },
    },
    config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 12 } },
  };
}
