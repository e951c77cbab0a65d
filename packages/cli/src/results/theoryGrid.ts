import { pool } from '../sweep/pool.js';
import { marinaJson } from './child.js';
import { renderHeatmap } from './figures.js';
import type { TheoryCell, TheoryPlan } from './plan.js';

/** The fields of `marina theory --ratio --json` read here. */
interface RatioJson {
  atOptimum: { ratio: number; ifIQ: number; ifCQ: number; iq: { p: number }; cq: { p: number } };
}

const CONVENTIONS = ['paper', 'default'] as const;

/** Every (convention, d, n) of the grid and the diagonal d = n, once each, from `marina theory --ratio --json`. */
export async function runTheoryGrid(bin: string, plan: TheoryPlan, jobs: number): Promise<TheoryCell[]> {
  const pairs = new Map<string, [number, number]>();
  for (const d of plan.dims) for (const n of plan.clients) pairs.set(`${d} ${n}`, [d, n]);
  for (const d of plan.diagonal) pairs.set(`${d} ${d}`, [d, d]);
  const tasks = CONVENTIONS.flatMap((convention) =>
    [...pairs.values()].map(([d, n]) => async (): Promise<TheoryCell> => {
      const j = await marinaJson<RatioJson>(bin, ['theory', '--ratio', '--dim', String(d), '--clients', String(n), '--constants', convention, '--json']);
      const o = j.atOptimum;
      return { convention, d, n, ratio: o.ratio, ifIQ: o.ifIQ, ifCQ: o.ifCQ, pIQ: o.iq.p, pCQ: o.cq.p };
    }),
  );
  return pool(tasks, jobs);
}

/** The heatmaps: for each convention, C_ind/C_cor, IF_IQ and IF_CQ over the grid (file name → SVG). */
export async function theoryFigures(plan: TheoryPlan, cells: readonly TheoryCell[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const convention of CONVENTIONS) {
    const grid = cells.filter((c) => c.convention === convention && plan.dims.includes(c.d) && plan.clients.includes(c.n));
    const constants = convention === 'paper' ? 'paper constants A = d/(4n), d/(4n²)' : 'default constants A = d/n, d/n²';
    for (const [key, title] of [
      ['ratio', `C_ind/C_cor at each one's optimal p (${constants})`],
      ['ifIQ', `IF_IQ = C_GD/C_ind: MARINA+IQ over GD (${constants})`],
      ['ifCQ', `IF_CQ = C_GD/C_cor: MARINA+CQ over GD (${constants})`],
    ] as const) {
      out.set(`${key}-${convention}.svg`, await renderHeatmap(title, grid.map((c) => ({ d: c.d, n: c.n, value: c[key] }))));
    }
  }
  return out;
}
