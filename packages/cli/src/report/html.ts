import type { ReportTable } from './table.js';

/** A rendered figure for the page: its SVG document and a sentence on how to read it. */
export interface PageFigure {
  svg: string;
  caption: string;
}

/** A run as listed on the page. */
export interface PageRun {
  label: string;
  /** The run folder, as the user would type it. */
  path: string;
  runId: string;
  mode: string;
  stopReason: string;
}

/**
 * index.html: one self-contained page (the SVGs inline, one `<style>`, no script, no external resource) with
 * the figures, the table and the runs.
 */
export function renderHtml(page: { title: string; figures: PageFigure[]; table: ReportTable; runs: PageRun[]; notes: string[] }): string {
  const figures = page.figures.map((f) => `<figure>\n${stripProlog(f.svg)}\n<figcaption>${esc(f.caption)}</figcaption>\n</figure>`);
  const runs = page.runs.map((r) => `<li><b>${esc(r.label)}</b>: <code>${esc(r.path)}</code> (run ${esc(r.runId)}, ${esc(r.mode)}; ${esc(r.stopReason)})</li>`);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${esc(page.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(page.title)}</h1>`,
    ...page.notes.map((n) => `<p>${esc(n)}</p>`),
    ...figures,
    '<h2>Table</h2>',
    tableHtml(page.table),
    '<h2>Runs</h2>',
    `<ul>\n${runs.join('\n')}\n</ul>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function tableHtml(t: ReportTable): string {
  const head = `<tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`);
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body.join('\n')}\n</tbody>\n</table>`;
}

/** An `<?xml …?>` declaration is not allowed inside HTML; vega writes none today, but a later version might. */
function stripProlog(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '');
}

const esc = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const STYLE = [
  'body{font-family:sans-serif;margin:2em;max-width:1200px}',
  'figure{margin:1.5em 0}',
  'figcaption{color:#444;font-size:.9em;max-width:720px}',
  'table{border-collapse:collapse;font-size:.85em}',
  'th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}',
  'th:first-child,td:first-child,td:nth-child(2),td:nth-child(3),td:nth-child(4){text-align:left}',
  'td:last-child{text-align:left}',
].join('');
