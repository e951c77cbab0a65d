import { type RunSummary, shownTargetRound } from '@marina/core';
import { fmtBits } from './progress.js';

/** A plain-text table with right-aligned numeric columns. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const fmtNum = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toExponential(digits));

/** One row per run: how much each paid to reach the (first) target. */
export function summaryRows(runs: { label: string; summary: RunSummary }[]): { header: string[]; rows: string[][] } {
  const header = ['run', 'p (rule)', 'γ', 'rounds→target', 'bits/client→target', 'wire bytes up→target', 'final ‖∇f‖²'];
  const rows = runs.map(({ label, summary: s }) => {
    const t = s.targets[0];
    const th = s.theory;
    return [
      label,
      th ? `${th.p.toPrecision(3)} (${th.pRule.split(':')[0]!})` : '-',
      th ? th.gamma.toPrecision(3) : '-',
      t?.reached ? shownTargetRound(t) : `not in ${s.totals.rounds}`,
      t?.reached ? fmtBits(t.bitsPerClient!) : '-',
      t?.reached ? fmtBits(t.wireBytesUp!) : '-',
      fmtNum(s.final.gradNormSq),
    ];
  });
  return { header, rows };
}

/** A readable account of one run for the terminal: a two-column table of what it cost and what it reached. */
export function describeRun(s: RunSummary): string {
  const th = s.theory;
  const t = s.targets[0];
  const tot = s.totals;
  const c = s.config;
  const problem = c.problem === 'quadratic' ? `quadratic, d = ${s.d ?? '-'}, s = ${c['noise']}` : `${c.problem} on ${c.data ?? 'the clients\' own files'}, d = ${s.d ?? '-'}`;
  const rows: [string, string][] = [['run', `${s.runId} (${s.mode}): ${c.method} + ${c.compressor}, n = ${c.clients}, ${problem}, seed ${c.seed}`]];
  if (th) {
    rows.push(
      ['smoothness', `L− ${th.Lminus.toPrecision(4)}, L+ ${th.Lplus.toPrecision(4)}, L± ${th.Lpm.toPrecision(4)} (${th.exact.Lminus && th.exact.Lplus && th.exact.Lpm ? 'exact' : 'bounds from the reported L_i'})`],
      ['compressor', `ω ${th.omega}, A ${th.A.toPrecision(4)}, B ${th.B} (${th.convention} constants)`],
      ['p, γ', `p ${th.p.toPrecision(4)} (${th.pRule}); γ ${th.gamma.toPrecision(4)} (${th.stepRule})`],
    );
  }
  rows.push(
    ['stopped', s.stopReason],
    ['rounds', `${tot.rounds} in ${tot.seconds.toFixed(2)} s`],
    ['bits per client', fmtBits(tot.bitsPerClient)],
    ['wire bytes', `up ${tot.wireBytesUp}, down ${tot.wireBytesDown}; telemetry ${tot.telemetryBytes}; control ${tot.controlBytes}; connection ${tot.connectionBytes ?? '-'}`],
  );
  if (t) {
    const at = shownTargetRound(t).startsWith('≤') ? `by round ${t.round} (round ${t.previousEvaluation} had not; those between were not evaluated)` : `at round ${t.round}`;
    const where = t.reached ? `reached ${at}: ${fmtBits(t.bitsPerClient!)} bits per client, ${t.wireBytesUp} wire bytes up` : 'not reached';
    rows.push([`target (${t.kind} ${t.value})`, `‖∇f‖² ≤ ${fmtNum(t.threshold)}: ${where}`]);
  }
  rows.push(['final ‖∇f‖²', fmtNum(s.final.gradNormSq)]);
  if (s.final.testLoss !== null) rows.push(['test data', `loss ${fmtNum(s.final.testLoss)}, accuracy ${s.final.testAccuracy === null ? '-' : `${(100 * s.final.testAccuracy).toFixed(2)} %`} (${c.testData})`]);
  for (const note of th?.notes ?? []) rows.push(['note', note]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
