import { describe, expect, it } from 'vitest';
import { dataPaths } from './data.js';
import type { SeriesResult } from './measure.js';
import type { ExperimentPlan, PagePlan } from './plan.js';
import { anchor, renderIndex, renderPage, seriesTable, theoryFigureName, type RunFacts } from './render.js';
import { runCount } from './plan.js';
import { plans, select } from './results.js';
import type { ExperimentResult, PageResult } from './run.js';

const facts: RunFacts = { mode: 'quick', command: 'marina results --out docs/results', date: '2026-01-02T03:04:05Z', machine: '2 × Test CPU (linux 6), 4 GB', node: '24.0.0', jobs: 2, seconds: 123, load: [0.5, 4.5], cores: 2 };

function seriesResult(name: string, extra: Partial<SeriesResult> = {}): SeriesResult {
  return {
    role: name.toLowerCase(),
    name,
    final: 3.1e-5,
    stepExp: 2,
    gamma: 0.5,
    p: 0.0123,
    grad: [{ bits: 0, value: 1 }, { bits: 10, value: 3.1e-5 }],
    loss: [{ bits: 0, value: 0.7 }, { bits: 10, value: 0.3 }],
    steps: [{ stepExp: 0, median: 1e-3, diverged: 0, runs: 1 }, { stepExp: 2, median: 3.1e-5, diverged: 0, runs: 1 }, { stepExp: 3, median: null, diverged: 1, runs: 1 }],
    failed: [],
    keptDir: '/tmp/x',
    ...extra,
  };
}

const experiment = (id: string, title: string): ExperimentPlan => ({
  id,
  title,
  claim: 'CQ beats IQ.',
  source: 'SPEC D.1.',
  size: 'd = 256',
  setting: [['d | n', '256 | 32']],
  choices: ['λ = 0.001 (not given).'],
  needs: [],
  keep: 'best',
  panels: [],
  judge: () => ({ outcome: 'not measured', why: '' }),
});

function pageResult(): PageResult {
  const plan: PagePlan = { id: 'cq-marina', title: 'CQ', paper: 'A paper.', experiments: [] };
  const a: ExperimentResult = {
    plan: experiment('a-quadratics', 'Quadratics (SPEC D.1)'),
    panels: [
      {
        plan: { id: 's0', title: 's = 0', run: [], sweep: [], series: [], params: {} },
        series: [seriesResult('CQ'), seriesResult('IQ', { final: null, stepExp: null, gamma: null, p: null, error: 'bad flag' })],
        dir: 'cq-marina/a-quadratics/s0',
        files: ['grad-vs-bits.svg', 'grad-vs-rounds.svg', 'grad-vs-wire.svg', 'table.md'],
        table: '| series |\n| --- |\n| cq |\n',
        notes: ['IQ: p = 0.0123 (decision 24).'],
      },
    ],
    theory: [],
    figures: [],
    verdict: { outcome: 'reproduced', why: "CQ's median ‖∇f‖² at the budget 3.1e-5 vs IQ 2.0e-3." },
    seconds: 42,
  };
  const b: ExperimentResult = { plan: experiment('b-logreg', 'Logistic regression'), skipped: 'skipped: /data/a9a.gz is absent (give --datasets DIR)', panels: [], theory: [], figures: [], verdict: { outcome: 'not measured', why: 'Not run.' }, seconds: 0 };
  return { plan, experiments: [a, b] };
}

describe('results pages', () => {
  it('a page: one verdict line per experiment, figures linked below the page folder, the tables, the choices', () => {
    const md = renderPage(pageResult(), facts);
    expect(md.match(/^\*\*Verdict: [a-z ]+\.\*\* /gm)).toEqual(['**Verdict: reproduced.** ', '**Verdict: not measured.** ']);
    expect(md).toContain("**Verdict: reproduced.** CQ's median ‖∇f‖² at the budget 3.1e-5 vs IQ 2.0e-3.");
    expect(md).toContain('![‖∇f(xᵗ)‖² against algorithm bits per client](cq-marina/a-quadratics/s0/grad-vs-bits.svg)');
    expect(md).toContain('![‖∇f(xᵗ)‖² against rounds](cq-marina/a-quadratics/s0/grad-vs-rounds.svg)');
    expect(md).toContain('[‖∇f(xᵗ)‖² against WebSocket bytes per client](cq-marina/a-quadratics/s0/grad-vs-wire.svg)');
    expect(md).toContain('> CQ beats IQ.');
    expect(md).toContain('| d \\| n | 256 \\| 32 |');
    expect(md).toContain('- λ = 0.001 (not given).');
    expect(md).toContain('| cq |');
    expect(md).toContain('- IQ: p = 0.0123 (decision 24).');
    expect(md).toContain('*skipped: /data/a9a.gz is absent (give --datasets DIR).*');
    expect(md).toContain('| (a) [Quadratics (SPEC D.1)](#a-quadratics-spec-d1) | reproduced |');
    expect(md).toContain('Wall time: 42 s.');
    expect(md).not.toMatch(/\n{3}/);
  });

  it('the series table: kept step, γ, p, the median at the end, every step, and failures', () => {
    const rows = seriesTable([seriesResult('CQ'), seriesResult('IQ', { final: null, stepExp: null, gamma: null, p: null, steps: [], failed: ['x (1): boom'] })], 'best', true);
    expect(rows[0]).toBe('| series | kept step (best at the budget) | γ | p | median ‖∇f‖² at the end | f at the end (kept run) | median ‖∇f‖² per step 2^k |');
    expect(rows[2]).toBe('| CQ | 2^2 | 5.0e-1 | 0.0123 | 3.1e-5 | 3.0e-1 | 2^0: 1.0e-3, 2^2: 3.1e-5, 2^3: diverged |');
    expect(rows[3]).toBe('| IQ | none | - | - | - | 3.0e-1 | failed: x (1): boom |');
  });

  it('the index: pages, verdicts, wall times, the machine, quick and full sizes', () => {
    const md = renderIndex([pageResult()], facts, [{ page: 'cq-marina', experiment: 'Quadratics', quick: 'd = 256', full: 'd = 1024' }]);
    expect(md).toContain('| [CQ](cq-marina.md) | Quadratics (SPEC D.1) | reproduced | 42 s |');
    expect(md).toContain('not run (skipped: /data/a9a.gz is absent');
    expect(md).toContain('2 × Test CPU (linux 6), 4 GB, Node.js 24.0.0');
    expect(md).toContain('| cq-marina | Quadratics | d = 256 | d = 1024 |');
    expect(md).toContain('123 s in all (1-minute load average 0.5 at the start, 4.5 at the end: above the 2 cores, so other work');
  });

  it('names the theory heatmaps for their alt text', () => {
    expect(theoryFigureName('cq-marina/d-theory/ratio-paper.svg')).toBe('C_ind/C_cor at the optimal p, paper constants');
    expect(theoryFigureName('x/ifIQ-default.svg')).toBe('IF_IQ = C_GD/C_ind, default constants');
  });

  it('anchors follow GitHub: lower case, punctuation dropped, spaces to hyphens', () => {
    expect(anchor('(a) Quadratics (SPEC D.1, CQ settings)')).toBe('a-quadratics-spec-d1-cq-settings');
    expect(anchor('(d) C_ind/C_cor over (d, n)')).toBe('d-c_indc_cor-over-d-n');
  });

  it('the plans: every experiment has a claim, a size, choices and a verdict rule; quick and full differ in size; --only selects', () => {
    const data = dataPaths('/nowhere');
    for (const mode of ['smoke', 'quick', 'full'] as const) {
      const pages = plans({ mode, data, work: '/tmp/w' });
      expect(pages.map((p) => p.id)).toEqual(['cq-marina', 'permk', 'marina']);
      for (const e of pages.flatMap((p) => p.experiments)) {
        expect(e.claim.length).toBeGreaterThan(20);
        expect(e.choices.length).toBeGreaterThan(0);
        expect(e.panels.length > 0 || e.theory !== undefined).toBe(true);
        // Every panel's series have distinct roles (the verdicts look them up by role).
        for (const p of e.panels) expect(new Set(p.series.map((s) => s.role)).size).toBe(p.series.length);
      }
    }
    // Quick: 40 runs for (a) (2 noise levels × 5 series × 4 steps × 1 seed); the theory grid 2 × (8·7 + 6) calls.
    expect(plans({ mode: 'quick', data, work: '/tmp/w' })[0]!.experiments.map(runCount)).toEqual([40, 18, 40, 124]);
    const quick = plans({ mode: 'quick', data, work: '/tmp/w' }).flatMap((p) => p.experiments.map((e) => e.size));
    const full = plans({ mode: 'full', data, work: '/tmp/w' }).flatMap((p) => p.experiments.map((e) => e.size));
    // Only the theory maps (cheap) are the same in both modes.
    expect(quick.filter((q, i) => q === full[i])).toEqual(['8 × 7 grid and 6 points on d = n, both conventions']);
    const some = select(plans({ mode: 'quick', data, work: '/tmp/w' }), ['permk/a-quadratics', 'marina']);
    expect(some.map((p) => [p.id, p.experiments.map((e) => e.id)])).toEqual([['permk', ['a-quadratics']], ['marina', ['a-sigmoid-ls']]]);
  });

  it('a verdict computed from a plan with nothing measured is "not measured" or names what is missing, never a crash', () => {
    const data = dataPaths('/nowhere');
    for (const e of plans({ mode: 'quick', data, work: '/tmp/w' }).flatMap((p) => p.experiments)) {
      const v = e.judge({ panels: new Map(), theory: [] });
      expect(['not measured', 'not reproduced', 'differs']).toContain(v.outcome);
      expect(v.why.length).toBeGreaterThan(0);
    }
  });
});
