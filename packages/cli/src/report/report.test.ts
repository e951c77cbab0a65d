import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../commands/common.js';
import { findRunFolders } from './find.js';
import { loadRun, readRounds } from './load.js';
import { buildSeries, points, seriesLabels } from './series.js';
import { FIGURES, figureSpec, xScaleType } from './spec.js';
import { reportTable, toMarkdown } from './table.js';

/** A small run folder: `rounds` as [bitsUp, wireBytesUp, gradNormSq] per round, n = 4 unless config says otherwise. */
function writeRun(dir: string, config: Record<string, unknown> = {}, rounds: [number, number, number | null][] = [[512, 600, 10], [80, 200, 1], [80, 200, 0.1]]): string {
  mkdirSync(dir, { recursive: true });
  const summary = {
    runId: 'abc',
    mode: 'sim',
    config: { problem: 'quadratic', method: 'marina', compressor: 'cq', clients: 4, p: 'auto', seed: 1, ...config },
    d: 16,
    theory: { p: 0.25, gamma: 0.5 },
    totals: { rounds: rounds.length },
    targets: [{ kind: 'relative', value: 1e-6, threshold: 1e-5, reached: true, round: 2, bitsPerClient: 148, wireBytesUp: 800, wireBytesDown: 0 }],
    stopReason: 'rounds: all rounds done',
    final: { round: rounds.length, gradNormSq: rounds[rounds.length - 1]![2] },
  };
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
  writeFileSync(join(dir, 'rounds.jsonl'), rounds.map(([bitsUp, wireBytesUp, gradNormSq], round) => JSON.stringify({ round, bitsUp, wireBytesUp, gradNormSq }) + '\n').join(''));
  return dir;
}

const temp = () => mkdtempSync(join(tmpdir(), 'marina-report-unit-'));

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('finding run folders', () => {
  it('recurses, stops at run folders, lists each run once in path order', () => {
    const root = temp();
    writeRun(join(root, 'b'));
    writeRun(join(root, 'a', 'x'));
    writeRun(join(root, 'a', 'y'));
    expect(findRunFolders([root, join(root, 'b')])).toEqual([join(root, 'a', 'x'), join(root, 'a', 'y'), join(root, 'b')]);
  });

  it('a sweep folder gives its kept runs only, or all of them without "kept"', () => {
    const root = temp();
    for (const r of ['r0', 'r1', 'r2']) writeRun(join(root, 's', 'runs', r));
    writeFileSync(join(root, 's', 'sweep.json'), JSON.stringify({ kept: ['runs/r2', 'runs/r0'], dropped: ['runs/r1'] }));
    expect(findRunFolders([root])).toEqual([join(root, 's', 'runs', 'r2'), join(root, 's', 'runs', 'r0')]);
    writeFileSync(join(root, 's', 'sweep.json'), JSON.stringify({ grid: {} }));
    expect(findRunFolders([join(root, 's')])).toHaveLength(3);
  });

  it('names the folder that holds no run, a kept entry that is not a run, and a bad "kept"', () => {
    const root = temp();
    mkdirSync(join(root, 'empty', 'sub'), { recursive: true });
    expect(usageError(() => findRunFolders([join(root, 'empty')]))).toBe(
      `${join(root, 'empty')} holds no run folders (a run folder has summary.json and rounds.jsonl, as \`marina sim --out DIR\` writes)`,
    );
    expect(usageError(() => findRunFolders([join(root, 'nope')]))).toBe(`${join(root, 'nope')}: no such folder`);
    writeFileSync(join(root, 'empty', 'sweep.json'), JSON.stringify({ kept: [] }));
    expect(usageError(() => findRunFolders([join(root, 'empty')]))).toContain(`${join(root, 'empty', 'sweep.json')} keeps no run ("kept": [])`);
    writeFileSync(join(root, 'empty', 'sweep.json'), JSON.stringify({ kept: ['sub'] }));
    expect(usageError(() => findRunFolders([join(root, 'empty')]))).toBe(
      `${join(root, 'empty', 'sweep.json')} keeps "sub", but ${join(root, 'empty', 'sub')} is not a run folder (no summary.json and rounds.jsonl)`,
    );
    writeFileSync(join(root, 'empty', 'sweep.json'), JSON.stringify({ kept: 'sub' }));
    expect(usageError(() => findRunFolders([join(root, 'empty')]))).toContain('"kept" is "sub"; expected an array of run folder paths');
  });
});

describe('reading a run', () => {
  it('names the file and line of a malformed rounds.jsonl line', () => {
    const dir = writeRun(join(temp(), 'r'));
    const file = join(dir, 'rounds.jsonl');
    writeFileSync(file, '{"round":0,"bitsUp":1,"wireBytesUp":2,"gradNormSq":1}\n{"round":1,"bitsUp":\n');
    expect(usageError(() => readRounds(file))).toMatch(new RegExp(`^${file} line 2 is not JSON \\(`));
    writeFileSync(file, '{"round":0,"bitsUp":1,"wireBytesUp":2,"gradNormSq":1}\n{"round":2,"bitsUp":1,"wireBytesUp":2,"gradNormSq":1}\n');
    expect(usageError(() => readRounds(file))).toBe(`${file} line 2: "round" is 2; expected 1 (one line per round, from round 0, in order)`);
    writeFileSync(file, '{"round":0,"bitsUp":"8","wireBytesUp":2,"gradNormSq":1}\n');
    expect(usageError(() => readRounds(file))).toBe(`${file} line 1: "bitsUp" is "8"; expected a number ≥ 0`);
    writeFileSync(file, '\n');
    expect(usageError(() => readRounds(file))).toBe(`${file} holds no rounds`);
  });

  it('names the field of a summary.json that lacks one', () => {
    const dir = writeRun(join(temp(), 'r'));
    writeFileSync(join(dir, 'summary.json'), JSON.stringify({ config: { problem: 'quadratic', method: 'gd', compressor: 'identity', clients: 0 } }));
    expect(usageError(() => loadRun(dir))).toBe(`${join(dir, 'summary.json')}: config.clients is 0; expected a positive integer`);
  });
});

describe('series', () => {
  it('places x^t at the cost of rounds 0..t−1 over n, skipping rounds that were not evaluated', () => {
    const run = loadRun(writeRun(join(temp(), 'r'), {}, [[512, 600, 10], [80, 200, null], [80, 200, 0.1], [80, 200, 0]]));
    expect(points(run)).toEqual([
      { round: 0, gradNormSq: 10, bitsPerClient: 0, wireBytesPerClient: 0 },
      { round: 2, gradNormSq: 0.1, bitsPerClient: 148, wireBytesPerClient: 200 },
    ]);
    // The same numbers as the summary's target at round 2 (bits per client; wire bytes over all clients).
    const target = run.summary.targets[0]!;
    expect(points(run)[1]!.bitsPerClient).toBe(target.bitsPerClient);
    expect(points(run)[1]!.wireBytesPerClient * 4).toBe(target.wireBytesUp);
  });

  it('labels by method, compressor and problem, adding the config fields that differ, or the folder', () => {
    const root = temp();
    const runs = [
      writeRun(join(root, 'a'), { p: '0.5' }),
      writeRun(join(root, 'b'), { p: 'auto', seed: 2 }),
      writeRun(join(root, 'c'), { method: 'gd', compressor: 'identity' }),
      writeRun(join(root, 'd'), { problem: 'logreg', step: '2x' }),
      writeRun(join(root, 'e'), { problem: 'logreg', step: '2x' }),
    ].map(loadRun);
    expect(seriesLabels(runs)).toEqual([
      'marina + cq on quadratic (p=0.5, seed=1)',
      'marina + cq on quadratic (p=auto, seed=2)',
      'gd + identity on quadratic',
      `marina + cq on logreg [${join(root, 'd')}]`,
      `marina + cq on logreg [${join(root, 'e')}]`,
    ]);
  });
});

describe('figures and table', () => {
  const root = temp();
  const short = loadRun(writeRun(join(root, 's')));
  const long = loadRun(writeRun(join(root, 'l'), { method: 'gd', compressor: 'identity' }, [[512, 600, 10], [1e6, 1e6, 1], [1e6, 1e6, 0.1]]));

  it('uses a log x axis when the costs span more than two decades, dropping x = 0; rounds stay linear', () => {
    const [bits, , rounds] = FIGURES;
    expect(xScaleType(bits!, buildSeries([short]))).toBe('linear');
    expect(xScaleType(bits!, buildSeries([short, long]))).toBe('log');
    expect(xScaleType(rounds!, buildSeries([short, long]))).toBe('linear');
    const spec = figureSpec(bits!, buildSeries([short, long])) as { data: { values: { x: number }[] }; encoding: Record<string, any> };
    expect(spec.data.values.every((v) => v.x > 0)).toBe(true);
    expect(spec.encoding['x'].scale.type).toBe('log');
    expect(spec.encoding['y'].scale.type).toBe('log');
    expect(spec.encoding['color'].scale.domain).toEqual(['marina + cq on quadratic', 'gd + identity on quadratic']);
  });

  it('table.md: one row per series, the target columns from summary.json, pipes escaped', () => {
    const series = buildSeries([short, long]);
    series[0]!.run.summary.stopReason = 'a | b';
    const md = toMarkdown(reportTable(series)).trimEnd().split('\n');
    expect(md).toHaveLength(4);
    expect(md[0]).toBe(
      '| series | method | compressor | problem | n | d | p | γ | rounds | round to ‖∇f‖² ≤ 1e-6·‖∇f(x⁰)‖² | bits per client to ‖∇f‖² ≤ 1e-6·‖∇f(x⁰)‖² | ' +
        'wire bytes up (all clients) to ‖∇f‖² ≤ 1e-6·‖∇f(x⁰)‖² | final ‖∇f‖² | stop reason |',
    );
    expect(md[2]).toBe('| marina + cq on quadratic | marina | cq | quadratic | 4 | 16 | 0.2500 | 0.5000 | 3 | 2 | 148 | 800 | 1.000e-1 | a \\| b |');
  });
});
