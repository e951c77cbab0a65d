import { shownTargetRound, type TargetResult } from '@marina/core';
import type { Series } from './series.js';

/** The report's table: a header and one row of cells per series, rendered as markdown and as HTML. */
export interface ReportTable {
  header: string[];
  rows: string[][];
}

/**
 * One row per series: what ran (series, method, compressor, problem, n, d, p, γ, rounds run), then for each
 * target any run declares, the round that reached it, the bits per client and the wire bytes up (all
 * sockets, as summary.json counts them) spent on rounds 0..t−1, then the final ‖∇f‖² and the stop reason.
 */
export function reportTable(series: readonly Series[]): ReportTable {
  const targets = distinctTargets(series);
  const header = ['series', 'method', 'compressor', 'problem', 'n', 'd', 'p', 'γ', 'rounds'];
  for (const t of targets) {
    const name = t.kind === 'relative' ? `‖∇f‖² ≤ ${short(t.value)}·‖∇f(x⁰)‖²` : `‖∇f‖² ≤ ${short(t.value)}`;
    header.push(`round to ${name}`, `bits per client to ${name}`, `wire bytes up (all clients) to ${name}`);
  }
  header.push('final ‖∇f‖²', 'stop reason');
  const rows = series.map(({ label, run: { summary: s } }) => {
    const c = s.config;
    const row = [label, c.method, c.compressor, c.problem, String(c.clients), s.d === null ? '-' : String(s.d)];
    row.push(s.theory ? num(s.theory.p) : '-', s.theory ? num(s.theory.gamma) : '-', String(s.totals.rounds));
    for (const t of targets) {
      const r = s.targets.find((x) => x.kind === t.kind && x.value === t.value);
      if (!r) row.push('-', '-', '-');
      else if (!r.reached) row.push('not reached', '-', '-');
      else row.push(shownTargetRound(r), count(r.bitsPerClient), count(r.wireBytesUp));
    }
    row.push(s.final.gradNormSq === null ? '-' : s.final.gradNormSq.toExponential(3), s.stopReason);
    return row;
  });
  return { header, rows };
}

/** The table as GitHub-flavoured markdown (a `|` inside a cell is escaped). */
export function toMarkdown(t: ReportTable): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|').replaceAll('\n', ' ')).join(' | ')} |`;
  return [line(t.header), line(t.header.map(() => '---')), ...t.rows.map(line)].join('\n') + '\n';
}

/** Every (kind, value) target of the runs, absolute ones first, in order of value. */
function distinctTargets(series: readonly Series[]): Pick<TargetResult, 'kind' | 'value'>[] {
  const seen = new Map<string, Pick<TargetResult, 'kind' | 'value'>>();
  for (const s of series) for (const t of s.run.summary.targets) seen.set(`${t.kind} ${t.value}`, { kind: t.kind, value: t.value });
  return [...seen.values()].sort((a, b) => (a.kind === b.kind ? b.value - a.value : a.kind === 'absolute' ? -1 : 1));
}

const num = (x: number): string => x.toPrecision(4);

/** A target value as typed: 1e-6, not 0.000001. */
const short = (x: number): string => (x !== 0 && (x < 1e-3 || x >= 1e4) ? x.toExponential().replace('e+', 'e') : String(x));

/** Bits or bytes: exact below 10⁶ (integers, or 2 decimals for fractional bit counts), else 4 significant digits. */
function count(x: number | null): string {
  if (x === null) return '-';
  if (x >= 1e6) return x.toPrecision(4);
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
