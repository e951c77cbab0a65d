import { describe, expect, it } from 'vitest';
import { marina } from './helpers/cli.js';

/**
 * `marina theory` as built (npm test builds first): the report of a configuration, and SPEC C's
 * C_ind/C_cor tables through `--ratio --json` (the core figures are checked digit by digit in
 * packages/core/src/complexity.test.ts; here the command's plumbing: flags, defaults, d beyond a run's limits).
 */
const json = async (args: string[]): Promise<Record<string, any>> => {
  const r = await marina(['theory', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, any>;
};

/** `value` rounded to as many decimals as `printed` has. */
const asPrinted = (value: number, printed: string): string => value.toFixed(printed.split('.')[1]?.length ?? 0);

describe('marina theory', () => {
  it('prints constants, p, γ, bits and the prediction for the default run', async () => {
    const r = await marina(['theory']);
    expect(r.code, r.stderr).toBe(0);
    for (const word of ['L- =', 'L+ =', 'L± =', '(exact)', 'ω =', 'A =', 'default convention', 'auto', 'γ_theory', 'b_Q = 96', 'Δ0 =', 'ε =', 'rounds', 'bits/client']) {
      expect(r.stdout).toContain(word);
    }
  });

  it('--json: one object whose prediction is rounds = ⌈2Δ0/(γε²)⌉ and bits = 32d + rounds × E[bits/round]', async () => {
    const o = await json(['--clients', '8', '--dim', '64', '--eps', '0.01']);
    expect(o['config']['dim']).toBe(64);
    expect(o['accuracy']['epsSq']).toBeCloseTo(1e-4, 15);
    const rounds = Math.ceil((2 * o['problem']['delta0']) / (o['theory']['gammaTheory'] * 1e-4));
    expect(o['atTheoryStep']['rounds']).toBe(rounds);
    expect(o['atTheoryStep']['bitsPerClient']).toBe(32 * 64 + rounds * o['theory']['expectedBitsPerRound']);
    expect(o['theory']['convention']).toBe('default');
  });

  it('answers at the largest d a run allows without building the problem', async () => {
    const o = await json(['--dim', String(1 << 24), '--clients', '4096']);
    expect(o['problem']['delta0']).toBeGreaterThan(0);
    expect(o['atTheoryStep']['rounds']).toBeGreaterThan(0);
  });

  it('refuses a bad --eps and --at-p without --ratio (exit 2)', async () => {
    const bad = await marina(['theory', '--eps', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--eps is "-1"; expected a positive number');
    const noRatio = await marina(['theory', '--at-p', '0.5']);
    expect(noRatio.code).toBe(2);
    expect(noRatio.stderr).toContain('--at-p needs --ratio');
  });
});

describe('marina theory --ratio (SPEC C)', () => {
  // d, n, p, ratio with /4 constants (`--constants paper`), ratio with A = d/n, d/n² (default).
  it.each([
    ['1000', '1000', '0.5', '1.48', '1.94'],
    ['1000', '1000', '0.1', '2.39', '3.65'],
    ['1000', '1000', '0.001', '11.20', '16.31'],
    ['1024', '128', '0.0122', '6.46', '8.14'],
    ['123', '123', '1/124', '4.36', '6.05'],
    ['1000000', '10000', '0.01', '33.9', '50.4'],
  ])('fixed p: d = %s, n = %s, --at-p %s → %s (paper) and %s (default)', async (d, n, p, paper, dflt) => {
    const [a, b] = await Promise.all([
      json(['--ratio', '--dim', d, '--clients', n, '--at-p', p, '--constants', 'paper']),
      json(['--ratio', '--dim', d, '--clients', n, '--at-p', p]),
    ]);
    expect(asPrinted(a['atP']['ratio'], paper)).toBe(paper);
    expect(asPrinted(b['atP']['ratio'], dflt)).toBe(dflt);
    expect(a['convention']).toBe('paper');
    expect(a['pRule']).toBe('given (--at-p)');
  });

  it('optimal p: d = 10⁸, n = 10⁶ (beyond a run\'s limits) gives SPEC\'s row: IQ at p = 1 (GD), p*_CQ 0.0018, ratio 27.1', async () => {
    const o = await json(['--ratio', '--dim', '1e8', '--clients', '1e6', '--constants', 'paper']);
    expect(o['atOptimum']['iq']['p']).toBe(1);
    expect(asPrinted(o['atOptimum']['cq']['p'], '0.0018')).toBe('0.0018');
    expect(asPrinted(o['atOptimum']['ratio'], '27.1')).toBe('27.1');
    expect(asPrinted(o['atOptimum']['ifIQ'], '1.00')).toBe('1.00');
    expect(asPrinted(o['atOptimum']['ifCQ'], '27.1')).toBe('27.1');
    // Default --at-p: the MARINA+CQ run's auto p, i.e. CQ's own optimum.
    expect(o['atP']['p']).toBe(o['atOptimum']['cq']['p']);
    expect(o['pRule']).toMatch(/MARINA\+CQ run's p: auto/);
  });

  it('optimal p: d = n = 1000 → p*_IQ 0.022, p*_CQ 0.0038, 5.14 (paper) / 7.64 (default), IF 4.31 and 22.2', async () => {
    const [a, b] = await Promise.all([json(['--ratio', '--dim', '1000', '--clients', '1000', '--constants', 'paper']), json(['--ratio', '--dim', '1000', '--clients', '1000'])]);
    const o = a['atOptimum'];
    expect([asPrinted(o['iq']['p'], '0.022'), asPrinted(o['cq']['p'], '0.0038'), asPrinted(o['ratio'], '5.14'), asPrinted(o['ifIQ'], '4.31'), asPrinted(o['ifCQ'], '22.2')]).toEqual([
      '0.022',
      '0.0038',
      '5.14',
      '4.31',
      '22.2',
    ]);
    expect(asPrinted(b['atOptimum']['ratio'], '7.64')).toBe('7.64');
  });

  it('d = n = 10⁸ with /4 constants approaches the 7.29 limit', async () => {
    const o = await json(['--ratio', '--dim', '1e8', '--clients', '1e8', '--constants', 'paper']);
    expect(o['atOptimum']['ratio']).toBeGreaterThan(7.2);
    expect(o['atOptimum']['ratio']).toBeLessThan(7.3);
  });

  it('prints both parts as text', async () => {
    const r = await marina(['theory', '--ratio', '--dim', '1000', '--clients', '1000', '--constants', 'paper', '--at-p', '0.5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(a) both at p = 0.5000');
    expect(r.stdout).toContain('= 1.477');
    expect(r.stdout).toMatch(/iq\s+0\.02165/);
    expect(r.stdout).toContain('C_ind/C_cor = 5.142');
  });

  it('refuses a p outside (0, 1] and a non-integer d by flag name', async () => {
    const p = await marina(['theory', '--ratio', '--at-p', '1.5']);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('--at-p is "1.5"; expected a number in (0, 1]');
    const d = await marina(['theory', '--ratio', '--dim', '10.5']);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('--dim is 10.5; expected a positive integer');
  });
});
