import { renderTable } from '../table.js';
import type { SweepRecord } from './folder.js';
import { medianOf } from './keep.js';

/** summary.md: per (problem, method, compressor), the median ‖∇f‖² at the budget for every step, and the kept one. */
export function sweepTable(record: SweepRecord): string {
  const steps = [...new Set(record.runs.map((r) => r.stepExp))].sort((a, b) => a - b);
  const groups = new Map<string, typeof record.runs>();
  for (const r of record.runs) {
    const key = `${r.problem} | ${r.method} | ${r.compressor}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const header = ['problem', 'method', 'compressor', ...steps.map((k) => `2^${k}`), `kept (${record.keep})`, 'median ‖∇f‖² kept'];
  const rows: string[][] = [];
  for (const [key, runs] of groups) {
    const [problem, method, compressor] = key.split(' | ') as [string, string, string];
    const kept = record.keptSteps.find((k) => k.problem === problem && k.method === method && k.compressor === compressor);
    const cells = steps.map((k) => {
      const rs = runs.filter((r) => r.stepExp === k);
      if (rs.length === 0) return '';
      if (rs.every((r) => r.stopReason.startsWith('diverged'))) return 'diverged';
      const m = medianOf(rs.map((r) => (r.stopReason.startsWith('diverged') || r.finalGradNormSq === null ? Infinity : r.finalGradNormSq)));
      return Number.isFinite(m) ? m.toExponential(2) : 'diverged';
    });
    rows.push([problem, method, compressor, ...cells, kept ? `2^${kept.stepExp}` : 'none', kept ? kept.medianFinal.toExponential(3) : '-']);
  }
  const budget = (record.grid['base'] as Record<string, unknown>)['budgetBits'];
  return (
    `Sweep: median over seeds of ‖∇f‖² at the end of each run${budget !== undefined ? ` (budget ${budget} bits per client)` : ''}, ` +
    `step = 2^k × theoretical.\n\n${renderTable(header, rows)}\n` +
    (record.refused.length ? `\nRefused by the configuration: ${record.refused.map((r) => r.label).join(', ')}\n` : '') +
    (record.failed.length ? `\nFailed: ${record.failed.map((r) => `${r.label} (${r.status})`).join(', ')}\n` : '')
  );
}
