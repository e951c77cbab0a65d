import type { TopLevelSpec } from 'vega-lite';
import { lineSpec, spansDecades } from '../report/lineSpec.js';
import { renderSvg } from '../report/render.js';
import type { Curve } from './curves.js';

/**
 * The two figures `marina report` does not draw: SPEC C's maps over (d, n) as heatmaps, and f(xᵗ) against bits
 * (SPEC D.4 judges the loss). Both are vega-lite specs rendered to SVG headless by the report's `renderSvg`.
 */

/** One heatmap cell. */
export interface HeatCell {
  d: number;
  n: number;
  value: number;
}

/** 1e3 for 1000 (d is on powers of ten), the integer otherwise. */
const label = (x: number): string => {
  const e = Math.round(Math.log10(x));
  return x >= 10 && 10 ** e === x ? `1e${e}` : String(x);
};

/**
 * A heatmap of `cells`: n across (left to right, increasing), d down (largest at the top), colour on a log scale,
 * each cell's value printed in it (3 significant digits).
 */
export function heatmapSpec(title: string, cells: readonly HeatCell[]): TopLevelSpec {
  const ns = [...new Set(cells.map((c) => c.n))].sort((a, b) => a - b);
  const ds = [...new Set(cells.map((c) => c.d))].sort((a, b) => b - a);
  const values = cells.map((c) => ({ n: label(c.n), d: label(c.d), value: c.value, text: c.value >= 100 ? c.value.toFixed(0) : c.value.toPrecision(3) }));
  const x = { field: 'n', type: 'ordinal' as const, sort: ns.map(label), title: 'n (clients)', axis: { labelAngle: 0 } };
  const y = { field: 'd', type: 'ordinal' as const, sort: ds.map(label), title: 'd (dimension)' };
  return {
    title: { text: title, anchor: 'start' },
    data: { values },
    width: Math.max(240, 56 * ns.length),
    height: Math.max(120, 28 * ds.length),
    encoding: { x, y },
    layer: [
      {
        mark: 'rect',
        encoding: { color: { field: 'value', type: 'quantitative', scale: { type: 'log', scheme: 'viridis' }, legend: { title: null } } },
      },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: 'text', type: 'nominal' },
          // Dark text on the light end of viridis, light text on the dark end.
          color: { condition: { test: `datum.value > ${brightAbove(cells)}`, value: 'black' }, value: 'white' },
        },
      },
    ],
    config: { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 } },
  };
}

/** The value above which a cell's viridis colour is light (the upper 40% of the log range). */
function brightAbove(cells: readonly HeatCell[]): number {
  const logs = cells.map((c) => Math.log10(Math.max(c.value, 1e-300)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  return 10 ** (lo + 0.6 * (hi - lo));
}

/** One line of the loss figure. */
export interface LossLine {
  label: string;
  curve: Curve;
}

/** f(xᵗ) against algorithm bits per client, one line per series; log x when the bits span more than two decades. */
export function lossSpec(title: string, lines: readonly LossLine[]): TopLevelSpec {
  return lineSpec({
    title,
    lines: lines.map((l) => ({ label: l.label, points: l.curve.map((p) => ({ x: p.bits, y: p.value })) })),
    orderTitle: 'i',
    x: { title: 'algorithm bits per client spent on rounds 0..t−1', log: spansDecades(lines.flatMap((l) => l.curve.map((p) => p.bits))), labelExpr: 'format(datum.value, "~s")' },
    y: { title: 'f(xᵗ)', nice: false },
  });
}

export const renderHeatmap = (title: string, cells: readonly HeatCell[]): Promise<string> => renderSvg(heatmapSpec(title, cells));
export const renderLoss = (title: string, lines: readonly LossLine[]): Promise<string> => renderSvg(lossSpec(title, lines));
