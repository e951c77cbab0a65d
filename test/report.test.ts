import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { marina, readRounds, readSummary, tempDir } from './helpers/cli.js';

/**
 * `marina report` as built, over real `marina sim` run folders: three SVG figures (well-formed, axis titles
 * with units, log y, one legend entry per series), table.md and a self-contained index.html. The label,
 * cost and table rules are unit-tested in packages/cli/src/report/report.test.ts.
 */
const SIMS: Record<string, string[]> = {
  cq: ['--compressor', 'cq'],
  iq: ['--compressor', 'iq'],
  gd: ['--method', 'gd', '--compressor', 'identity'],
};
const LABELS: Record<string, string> = { cq: 'marina + cq on quadratic', iq: 'marina + iq on quadratic', gd: 'gd + identity on quadratic' };
const FIGURES = ['grad-vs-bits.svg', 'grad-vs-wire.svg', 'grad-vs-rounds.svg'];

let root = '';
beforeAll(async () => {
  root = tempDir('report');
  const common = ['sim', '--rounds', '40', '--dim', '16', '--clients', '4', '--target-rel', '1e-2', '--no-stop-at-target', '--quiet'];
  const done = await Promise.all(Object.entries(SIMS).map(([name, args]) => marina([...common, ...args, '--out', join(root, 'runs', name)])));
  for (const r of done) expect(r.code, r.stderr).toBe(0);
});

describe('marina report', () => {
  it('draws every run below a folder: figures, table.md, index.html', async () => {
    const out = join(root, 'report');
    const r = await marina(['report', join(root, 'runs'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`report of 3 runs in ${out}`);
    const labels = ['cq', 'gd', 'iq'].map((n) => LABELS[n]!); // folder order
    const svgs = FIGURES.map((f) => readFileSync(join(out, f), 'utf8'));
    const xTitles = [/^algorithm bits per client spent on rounds 0\.\.t−1 \(Σ bitsUp \/ n\)$/, /^wire bytes per client sent on rounds 0\.\.t−1/, /^round t$/];
    svgs.forEach((svg, i) => {
      expect(() => checkWellFormed(svg), FIGURES[i]).not.toThrow();
      expect(svg.startsWith('<svg')).toBe(true);
      const titles = texts(svg, 'role-axis-title');
      expect(titles).toHaveLength(2);
      expect(titles.some((t) => xTitles[i]!.test(t)), titles.join(' | ')).toBe(true);
      expect(titles).toContain('‖∇f(xᵗ)‖²');
      // The log y axis labels its powers of ten only: 1e1, 1e0, 1e-1, …
      const yLabels = axisLabelGroups(svg).find((g) => g.some((l) => /^1e-\d+$/.test(l)));
      expect(yLabels, FIGURES[i]).toBeDefined();
      expect(yLabels!.filter((l) => l !== '').every((l) => /^1e-?\d+$/.test(l))).toBe(true);
      expect(texts(svg, 'role-legend-label')).toEqual(labels);
    });
    expect(svgs[0]).toContain('bits per client');
    expect(svgs[1]).toContain('bytes per client');

    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html.match(/<svg[\s>]/g)).toHaveLength(3);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)=["']?https?:/i);
    expect(html).toContain('<table>');
    for (const l of labels) expect(html).toContain(`<b>${l}</b>`);

    const table = readFileSync(join(out, 'table.md'), 'utf8').trimEnd().split('\n');
    expect(table).toHaveLength(2 + 3);
    expect(table[0]).toContain('| series | method | compressor | problem | n | d | p | γ | rounds |');
    expect(table[1]).toMatch(/^\| --- (\| --- )+\|$/);
    for (const [row, name] of table.slice(2).map((row, i) => [row, ['cq', 'gd', 'iq'][i]!] as const)) {
      const cells = row.split(' | ');
      const s = readSummary(join(root, 'runs', name));
      const t = s['targets'][0];
      expect(cells[0]).toBe(`| ${LABELS[name]}`);
      expect(cells.slice(4, 6)).toEqual(['4', '16']);
      expect(t.reached).toBe(true);
      // The table repeats summary.json's target: round, bits per client, wire bytes up.
      expect(cells.slice(9, 12)).toEqual([String(t.round), String(t.bitsPerClient), String(t.wireBytesUp)]);
    }
  });

  it('puts x^t at the bits of rounds 0..t−1, the summary targets’ convention', async () => {
    const dir = join(root, 'runs', 'cq');
    const rounds = readRounds(dir);
    const t = readSummary(dir)['targets'][0];
    const spent = rounds.slice(0, t.round).reduce((a, r) => a + (r['bitsUp'] as number), 0) / 4;
    expect(spent).toBe(t.bitsPerClient);
  });

  it('a sweep folder contributes only the runs its sweep.json keeps', async () => {
    const sweep = join(root, 'sweep');
    for (const name of Object.keys(SIMS)) cpSync(join(root, 'runs', name), join(sweep, 'runs', name), { recursive: true });
    writeFileSync(join(sweep, 'sweep.json'), JSON.stringify({ kept: ['runs/gd', 'runs/cq'], dropped: ['runs/iq'] }));
    const out = join(root, 'sweep-report');
    const r = await marina(['report', sweep, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const f of FIGURES) expect(texts(readFileSync(join(out, f), 'utf8'), 'role-legend-label')).toEqual([LABELS['gd'], LABELS['cq']]);
    expect(readFileSync(join(out, 'table.md'), 'utf8').trimEnd().split('\n')).toHaveLength(2 + 2);
  });

  it('refuses a folder with no runs, and names the file and line of a malformed rounds.jsonl (exit 2)', async () => {
    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'nothing-here'), { recursive: true });
    const r = await marina(['report', empty, '--out', join(root, 'empty-report')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`marina: ${empty} holds no run folders (a run folder has summary.json and rounds.jsonl, as \`marina sim --out DIR\` writes)\n`);
    expect(existsSync(join(root, 'empty-report'))).toBe(false);

    const bad = join(root, 'bad');
    cpSync(join(root, 'runs', 'gd'), bad, { recursive: true });
    const lines = readFileSync(join(bad, 'rounds.jsonl'), 'utf8').split('\n');
    lines[4] = lines[4]!.slice(0, 20);
    writeFileSync(join(bad, 'rounds.jsonl'), lines.join('\n'));
    const m = await marina(['report', bad, '--out', join(root, 'bad-report')]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(new RegExp(`^marina: ${join(bad, 'rounds.jsonl')} line 5 is not JSON \\(`));
  });
});

/** The text of every `<text>` inside the SVG's `role-…` mark groups, in document order, entities decoded. */
function texts(svg: string, role: string): string[] {
  return groups(svg, role).flat();
}

/** Each axis' tick labels, one array per axis. */
function axisLabelGroups(svg: string): string[][] {
  return groups(svg, 'role-axis-label');
}

function groups(svg: string, role: string): string[][] {
  const out: string[][] = [];
  const re = new RegExp(`<g class="mark-text ${role}"[^>]*>(.*?)</g>`, 'gs');
  for (const m of svg.matchAll(re)) out.push([...m[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => decode(t[1]!)));
  return out;
}

const decode = (s: string): string => s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');

/**
 * Well-formed XML without a parser: one root element, every tag closed in order, attributes quoted, and no
 * bare `<` or `&` in text (every `&` starts an entity).
 */
function checkWellFormed(xml: string): void {
  const body = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/^\s*<\?xml[^>]*\?>/, '');
  const stack: string[] = [];
  let roots = 0;
  let at = 0;
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/g;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    checkText(body.slice(at, m.index), at);
    at = m.index + m[0].length;
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> at ${m.index} closes <${open ?? 'nothing'}>`);
    } else {
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(name!);
    }
  }
  checkText(body.slice(at), at);
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

function checkText(text: string, at: number): void {
  if (text.includes('<')) throw new Error(`a malformed tag near ${at}: ${JSON.stringify(text.slice(0, 80))}`);
  if (/&(?!(?:[A-Za-z]+|#\d+|#x[\da-fA-F]+);)/.test(text)) throw new Error(`a bare & near ${at}`);
}
