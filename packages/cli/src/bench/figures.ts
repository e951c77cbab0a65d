import { cpus, totalmem } from 'node:os';

/**
 * One benchmark figure (`marina bench --json`): a rate over `runs` timed runs, each run long enough to time
 * (an operation repeated until it takes ≥ MIN_RUN_NS), after warm-up runs, or a quantity measured once per
 * run. Quote the median; min and max show the spread. Units: GB/s (bytes copied), Gcoord/s, rounds/s (in-run),
 * s (in-run seconds), bytes, or ratio (dimensionless, e.g. wire bytes over algorithm bits).
 */
export interface Figure {
  name: string;
  unit: 'GB/s' | 'Gcoord/s' | 'rounds/s' | 's' | 'bytes' | 'ratio';
  median: number;
  min: number;
  max: number;
  runs: number;
  /** What limits it or what it is compared with, in a few words. */
  note?: string;
}

/** The machine the figures were measured on (the JSON's first line). */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  v8: string;
  numpy: string | null;
  date: string;
}

export function machine(numpy: string | null): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    numpy,
    date: new Date().toISOString(),
  };
}

const MIN_RUN_NS = 5e6;
const WARM_NS = 50e6;

/**
 * Times `op` (which does `work` units: bytes or coordinates) `runs` times after warming up (at least 3 calls
 * and 50 ms, so the JIT has optimised it), each run repeating op enough times to last ≥ 5 ms; the rates
 * are in G-units per second.
 */
export function rate(name: string, unit: Figure['unit'], work: number, runs: number, op: () => void, note?: string): Figure {
  const warm = process.hrtime.bigint();
  for (let k = 0; k < 3 || Number(process.hrtime.bigint() - warm) < WARM_NS; k++) op();
  const t0 = process.hrtime.bigint();
  op();
  const once = Number(process.hrtime.bigint() - t0);
  const inner = Math.max(1, Math.ceil(MIN_RUN_NS / Math.max(once, 1)));
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    for (let k = 0; k < inner; k++) op();
    rates.push((work * inner) / Number(process.hrtime.bigint() - start)); // units per ns = G-units per s
  }
  return summarize(name, unit, rates, note);
}

/** A figure from rates measured elsewhere (NumPy's runs). */
export function summarize(name: string, unit: Figure['unit'], rates: number[], note?: string): Figure {
  const s = [...rates].sort((x, y) => x - y);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { name, unit, median, min: s[0]!, max: s[s.length - 1]!, runs: s.length, ...(note ? { note } : {}) };
}

/** A dimension as figure names write it: powers of ten as 1eK (1e6), others as digits (1024). */
export const fmtD = (d: number): string => (Number.isInteger(Math.log10(d)) ? `1e${Math.log10(d)}` : String(d));

/** A figure's value for a table: 3 significant digits, 5 for a ratio (targets such as 1.001 need them). */
export const shown = (f: Pick<Figure, 'unit'>, v: number): string => v.toPrecision(f.unit === 'ratio' ? 5 : 3);

/** The figures as a plain-text table (name, median, min–max, runs, unit, note). */
export function figureTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.name, shown(f, f.median), `${shown(f, f.min)}–${shown(f, f.max)}`, String(f.runs), f.unit, f.note ?? '']);
  const header = ['figure', 'median', 'min–max', 'runs', 'unit', 'note'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 1 || c === 2 || c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
