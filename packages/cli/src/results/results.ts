import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { cqMarinaPage } from './cqMarina.js';
import { dataPaths } from './data.js';
import { marinaPage } from './marinaPaper.js';
import { permkPage } from './permk.js';
import { runCount, type ExperimentPlan, type Mode, type PagePlan, type PlanContext } from './plan.js';
import { renderIndex, renderPage, type RunFacts } from './render.js';
import { runExperiment, type PageResult } from './run.js';

/** The pages, in index order. */
const PAGES = [cqMarinaPage, permkPage, marinaPage];

export interface ResultsOptions {
  bin: string;
  out: string;
  mode: Mode;
  /** Folder for the sweeps (raw runs); null: a fresh folder in the OS temp folder, removed at the end. */
  work: string | null;
  datasets: string;
  jobs: number;
  /** Page ids or page/experiment ids to run; null: all. */
  only: string[] | null;
  command: string;
  say: (line: string) => void;
  signal: AbortSignal;
}

/** Every page's plan for a mode (the plans are data: building them runs nothing). */
export function plans(ctx: PlanContext): PagePlan[] {
  return PAGES.map((page) => page(ctx));
}

/** Keeps the experiments `only` names ("permk" or "permk/a-quadratics"); every one when `only` is null. */
export function select(pages: PagePlan[], only: string[] | null): PagePlan[] {
  if (only === null) return pages;
  return pages
    .map((p) => ({ ...p, experiments: p.experiments.filter((e) => only.includes(p.id) || only.includes(`${p.id}/${e.id}`)) }))
    .filter((p) => p.experiments.length > 0);
}

/**
 * `marina results`: runs every experiment of every page (sequentially; inside one, its sweeps `jobs` at a time),
 * then writes `out`/index.md, one markdown page per paper, and beside each page the report outputs of its
 * experiments. Returns the pages written.
 */
export async function runResults(o: ResultsOptions): Promise<string[]> {
  const started = performance.now();
  const loadAtStart = loadavg()[0]!;
  const ownWork = o.work === null;
  const work = o.work ?? mkdtempSync(join(tmpdir(), `marina-results-${o.mode}-`));
  mkdirSync(work, { recursive: true });
  const data = dataPaths(o.datasets);
  const pages = select(plans({ mode: o.mode, data, work }), o.only);
  if (pages.length === 0) throw new RangeError(`--only ${o.only?.join(',')} names no page or experiment; expected page ids (${plans({ mode: o.mode, data, work }).map((p) => p.id).join(', ')}) or page/experiment ids`);
  o.say(`results: ${o.mode} mode, ${pages.reduce((a, p) => a + p.experiments.length, 0)} experiments, ${o.jobs} runs at a time; runs in ${work}`);
  const results: PageResult[] = [];
  try {
    for (const page of pages) {
      const experiments = [];
      for (const e of page.experiments) {
        if (o.signal.aborted) break;
        // Figures of an earlier run of this experiment (possibly another mode, other panels) must not linger.
        rmSync(join(o.out, page.id, e.id), { recursive: true, force: true });
        experiments.push(await runExperiment(page, e, { bin: o.bin, out: o.out, work, jobs: o.jobs, say: o.say, signal: o.signal }));
      }
      results.push({ plan: page, experiments });
    }
  } finally {
    if (ownWork) rmSync(work, { recursive: true, force: true });
  }
  if (o.signal.aborted) return [];
  const facts: RunFacts = {
    mode: o.mode,
    command: o.command,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: machine(),
    node: process.versions.node,
    jobs: o.jobs,
    seconds: (performance.now() - started) / 1000,
    load: [loadAtStart, loadavg()[0]!],
    cores: cpus().length,
  };
  mkdirSync(o.out, { recursive: true });
  const written: string[] = [];
  for (const page of results) {
    const file = join(o.out, `${page.plan.id}.md`);
    writeFileSync(file, renderPage(page, facts));
    written.push(file);
  }
  const ctx = (mode: Mode) => select(plans({ mode, data, work }), o.only);
  const sized = (e: ExperimentPlan) => `${e.size}; ${runCount(e)} ${e.theory ? 'theory calls' : 'runs'}`;
  const quick = ctx('quick').flatMap((p) => p.experiments.map((e) => ({ page: p.id, title: e.title, size: sized(e) })));
  const full = ctx('full').flatMap((p) => p.experiments.map(sized));
  const sizes = quick.map((q, i) => ({ page: q.page, experiment: q.title, quick: q.size, full: full[i] ?? '-' }));
  const index = join(o.out, 'index.md');
  writeFileSync(index, renderIndex(results, facts, sizes));
  written.push(index);
  return written;
}

/** "2 × Intel(R) Xeon(R) … (linux 6.1), 8 GB". */
function machine(): string {
  const c = cpus();
  const model = c[0]?.model.trim() ?? 'unknown CPU';
  return `${c.length} × ${model} (${platform()} ${release()}), ${(totalmem() / 2 ** 30).toFixed(0)} GB`;
}
