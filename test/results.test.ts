import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marina, tempDir } from './helpers/cli.js';

/**
 * `marina results --smoke`: every experiment of every page through the real building blocks (sweep, report,
 * theory child processes) at tiny sizes. The quick mode takes minutes on 2 cores, so the suite runs the smoke
 * mode, which takes the same code paths. Experiments whose data set is absent are skipped by the command and say
 * so; here the data sets must be present, or the test fails (a renamed file must not shrink the check silently).
 */
const DATASETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'datasets');
const PAGES = ['cq-marina', 'permk', 'marina'];
const EXPERIMENTS: Record<string, number> = { 'cq-marina': 4, permk: 2, marina: 1 };

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesBelow(path) : [path];
  });
}

describe('marina results --smoke', () => {
  it('writes the index and one page per paper, each experiment with its figures and one verdict line', async () => {
    for (const f of ['a9a.gz', 'mushrooms', 'mnist/t10k-images-idx3-ubyte.gz']) expect(existsSync(join(DATASETS, f)), `${DATASETS}/${f}`).toBe(true);
    const out = tempDir('results');
    const work = tempDir('results-work');
    const started = performance.now();
    const r = await marina(['results', '--smoke', '--out', out, '--work', work, '--datasets', DATASETS, '--quiet'], { timeoutMs: 170_000 });
    expect(r.code, r.stderr).toBe(0);
    const seconds = (performance.now() - started) / 1000;
    expect(r.stdout.trim().split('\n').sort()).toEqual([...PAGES.map((p) => join(out, `${p}.md`)), join(out, 'index.md')].sort());

    const index = readFileSync(join(out, 'index.md'), 'utf8');
    for (const p of PAGES) expect(index).toContain(`](${p}.md)`);
    expect(index).toContain('smoke mode');
    expect(index).not.toContain('not run (');

    for (const p of PAGES) {
      const md = readFileSync(join(out, `${p}.md`), 'utf8');
      // One verdict line per experiment, each with an outcome and its numbers.
      const verdicts = md.match(/^\*\*Verdict: (reproduced|differs|not reproduced|not measured)\.\*\* \S.*$/gm) ?? [];
      expect(verdicts, p).toHaveLength(EXPERIMENTS[p]!);
      expect(md).not.toContain('**Verdict: not measured.**');
      // Every figure the page links exists, and every SVG written is linked from its page.
      const links = [...md.matchAll(/\]\(([^)#]+\.svg)\)/g)].map((m) => m[1]!);
      expect(links.length, p).toBeGreaterThan(0);
      for (const l of links) {
        const svg = readFileSync(join(out, l), 'utf8');
        expect(svg.startsWith('<svg'), l).toBe(true);
      }
      const written = filesBelow(join(out, p)).filter((f) => f.endsWith('.svg')).map((f) => f.slice(out.length + 1));
      expect(written.sort()).toEqual([...new Set(links)].sort());
      expect(md).not.toContain('sweep failed');
    }
    // Only report outputs below the output folder: no run folders (rounds.jsonl, summary.json), no index.html.
    const all = filesBelow(out);
    expect(all.filter((f) => /rounds\.jsonl|summary\.json|sweep\.json|index\.html/.test(f))).toEqual([]);
    expect(all.every((f) => /\.(md|svg)$/.test(f))).toBe(true);
    // The MLP experiment draws the loss; the theory experiment its six heatmaps.
    expect(existsSync(join(out, 'cq-marina/c-mlp/a9a/loss-vs-bits.svg'))).toBe(true);
    expect(readdirSync(join(out, 'cq-marina/d-theory')).sort()).toEqual(['ifCQ-default.svg', 'ifCQ-paper.svg', 'ifIQ-default.svg', 'ifIQ-paper.svg', 'ratio-default.svg', 'ratio-paper.svg']);
    // The raw runs went to the work folder.
    expect(existsSync(join(work, 'cq-marina/a-quadratics/s0/cq/sweep.json'))).toBe(true);
    expect(seconds).toBeLessThan(170);
  }, 180_000);

  it('refuses --full with --smoke, and an --only that names nothing, by flag name', async () => {
    const both = await marina(['results', '--smoke', '--full', '--out', tempDir('results-bad')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--full and --smoke exclude each other');
    const none = await marina(['results', '--smoke', '--only', 'nope', '--out', tempDir('results-bad')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--only nope names no page or experiment');
  });

  it('skips an experiment whose data set is absent and says so on its page', async () => {
    const out = tempDir('results-nodata');
    const r = await marina(['results', '--smoke', '--only', 'marina', '--out', out, '--datasets', tempDir('no-datasets'), '--quiet'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(out, 'marina.md'), 'utf8');
    expect(md).toMatch(/\*skipped: .*mushrooms is absent \(give --datasets DIR\)\.\*/);
    expect(md).toContain('**Verdict: not measured.** Not run: skipped:');
    expect(readFileSync(join(out, 'index.md'), 'utf8')).toContain('not run (skipped:');
  });
});
