import { findRunFolders } from './find.js';
import { renderHtml } from './html.js';
import { loadRun } from './load.js';
import { shown } from './paths.js';
import { renderSvg } from './render.js';
import { buildSeries, type Series } from './series.js';
import { FIGURES, figureSpec, xScaleType } from './spec.js';
import { reportTable, toMarkdown } from './table.js';

/** A report: its files (name → contents), the series drawn, and warnings for the terminal. */
export interface Report {
  files: Map<string, string>;
  series: Series[];
  warnings: string[];
}

/** Finds and reads the runs below `folders` and renders the three figures, table.md and index.html. */
export async function buildReport(folders: readonly string[]): Promise<Report> {
  const runs = findRunFolders(folders).map(loadRun);
  const series = buildSeries(runs);
  const warnings = series
    .filter((s) => s.points.length === 0)
    .map((s) => `${s.label} (${shown(s.run.dir)}) has no evaluated round with ‖∇f‖² > 0: it is in the table but not in the figures`);
  const files = new Map<string, string>();
  const figures = [];
  for (const figure of FIGURES) {
    const svg = await renderSvg(figureSpec(figure, series));
    files.set(figure.file, svg);
    const logX = xScaleType(figure, series) === 'log';
    figures.push({
      svg,
      caption:
        `${figure.file}. ${figure.caption} ${logX ? 'Log scale (the costs span more than two decades); x⁰, at cost 0, is not drawn.' : 'Linear scale.'} ` +
        'y: ‖∇f(xᵗ)‖² at every evaluated round, log scale.',
    });
  }
  const table = reportTable(series);
  files.set('table.md', toMarkdown(table));
  const runsList = series.map((s) => ({ label: s.label, path: shown(s.run.dir), runId: s.run.summary.runId, mode: s.run.summary.mode, stopReason: s.run.summary.stopReason }));
  const notes = [
    `${series.length} run${series.length === 1 ? '' : 's'}, one line each. A point xᵗ is placed at what the rounds 0..t−1 that produced it cost, as summary.json’s targets count it.`,
  ];
  files.set('index.html', renderHtml({ title: 'marina report', figures, table, runs: runsList, notes }));
  return { files, series, warnings };
}
