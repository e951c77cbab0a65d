import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { marina, MARINA, readSummary, tempDir } from './helpers/cli.js';

/**
 * `marina sweep`: a grid run as child processes, the papers' keep rule, and a sweep that resumes after a kill
 * (runs with a summary.json are kept, the one killed mid-run runs again).
 */
const grid = ['--compressors', 'cq,iq', '--steps', '0..2', '--seeds', '1,2', '--budget-bits', '100000', '--dim', '32', '--clients', '4', '--jobs', '2'];
const record = (dir: string) => JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as Record<string, any>;

describe('marina sweep', () => {
  it('runs the grid, keeps each pair\'s best step at the budget (median over seeds), and records diverged runs as results', async () => {
    const dir = tempDir('sweep');
    const r = await marina(['sweep', ...grid, '--out', dir, '--quiet'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const s = record(dir);
    expect(s['runs']).toHaveLength(12);
    expect(s['failed']).toEqual([]);
    // Every run stopped at the budget or diverged; none stopped at the target (the papers measure at a budget).
    for (const run of s['runs']) expect(run['stopReason']).toMatch(/^(budget|diverged):/);
    expect(s['runs'].some((run: { stopReason: string }) => run.stopReason.startsWith('diverged'))).toBe(true);
    // The kept step is the one with the smallest median ‖∇f‖² at the budget.
    for (const k of s['keptSteps']) {
      const same = s['runs'].filter((x: any) => x.compressor === k.compressor && x.stopReason.startsWith('budget'));
      const medians = [0, 1, 2].map((e) => same.filter((x: any) => x.stepExp === e).map((x: any) => x.finalGradNormSq).sort((a: number, b: number) => a - b)[0] ?? Infinity);
      expect(k.medianFinal).toBe(Math.min(...medians));
      expect(readSummary(join(dir, k.dir))['config']['step']).toBe(`${2 ** k.stepExp}x`);
    }
    expect(s['kept']).toHaveLength(2);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toMatch(/kept \(best\)/);
    expect(r.stdout).toMatch(/quadratic\s+marina\s+cq/);

    // The sweep's report: one series per kept (method, compressor), drawn from the kept runs only.
    const out = join(dir, 'report');
    const rep = await marina(['report', dir, '--out', out, '--json']);
    expect(rep.code, rep.stderr).toBe(0);
    const series = (JSON.parse(rep.stdout) as { series: { label: string; folder: string }[] }).series;
    expect(series.map((x) => x.label).sort()).toEqual(['marina + cq on quadratic', 'marina + iq on quadratic']);
    const svg = readFileSync(join(out, 'grad-vs-bits.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('marina + cq on quadratic');
    expect(readFileSync(join(out, 'index.html'), 'utf8').match(/<svg/g)).toHaveLength(3);
  }, 150_000);

  it('resumes after a kill: the recorded runs are not run again, and the result equals an uninterrupted sweep', async () => {
    const dir = tempDir('sweep-kill');
    const child = spawn(process.execPath, [MARINA, 'sweep', ...grid, '--jobs', '1', '--out', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if ((stderr.match(/runs done/g) ?? []).length >= 3) resolve();
      });
    });
    child.kill('SIGTERM');
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(status).toBe(130);
    const before = record(dir)['runs'].length;
    expect(before).toBeGreaterThanOrEqual(3);
    expect(before).toBeLessThan(12);
    const again = await marina(['sweep', ...grid, '--out', dir], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`12 runs (${before} already done`);
    const whole = tempDir('sweep-whole');
    expect((await marina(['sweep', ...grid, '--out', whole, '--quiet'], { timeoutMs: 120_000 })).code).toBe(0);
    const strip = (s: Record<string, any>) => s['runs'].map((x: any) => [x.label, x.stopReason, x.finalGradNormSq]);
    expect(strip(record(dir))).toEqual(strip(record(whole)));
    expect(record(dir)['kept']).toEqual(record(whole)['kept']);
    expect(existsSync(join(dir, 'summary.md'))).toBe(true);
  }, 240_000);

  it('refuses a bad grid by flag name before running anything', async () => {
    const r = await marina(['sweep', '--out', tempDir('sweep-bad'), '--compressors', 'cq,nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--compressors: unknown "nope"; expected a comma-separated list of');
    const s = await marina(['sweep', '--out', tempDir('sweep-bad'), '--steps', '3..1']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('--steps 3..1: a range a..b needs a ≤ b');
  });
});
