import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { marina } from './helpers/cli.js';

/**
 * `marina bench` as built: the shape of its table and JSON (a machine line and a flat list of figures), at
 * tiny sizes so it takes seconds. It checks names, units and that every figure is a positive rate with
 * min ≤ median ≤ max; it never judges a speed (benchmarks are not timed tests: docs/performance.md).
 */
describe('marina bench', () => {
  it('writes the table and --json FILE: machine, then {name, unit, median, min, max, runs} per figure', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'marina-bench-')), 'bench.json');
    const r = await marina(['bench', '--dims', '100,1000', '--clients', '4', '--runs', '3', '--no-rounds', '--no-numpy', '--json', file], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^machine: .*\d+ cores/);
    const out = JSON.parse(readFileSync(file, 'utf8')) as { machine: Record<string, unknown>; figures: Record<string, unknown>[] };
    expect(out.machine['node']).toBe(process.version);
    expect(out.machine['numpy']).toBeNull();
    const names = out.figures.map((f) => f['name']);
    for (const d of ['1e2', '1e3']) { // powers of ten are named 1eK
      for (const c of ['cq', 'iq']) {
        for (const kind of ['encode', 'encode-resident', 'decode', 'decode-resident', 'decode-each']) expect(names).toContain(`${kind}.${c}.${d}`);
        expect(names).toContain(`encode.${c}-jsref.${d}`);
      }
      expect(names).toContain(`encode.js-baseline.${d}`);
      expect(names).toContain(`decode.js-baseline.${d}`);
    }
    expect(names[0]).toBe('memcpy');
    for (const f of out.figures) {
      expect(Object.keys(f).filter((k) => k !== 'note').sort()).toEqual(['max', 'median', 'min', 'name', 'runs', 'unit']);
      expect(f['unit']).toBe(f['name'] === 'memcpy' ? 'GB/s' : 'Gcoord/s');
      expect(f['runs']).toBe(3);
      const [min, median, max] = [f['min'], f['median'], f['max']] as number[];
      expect(min).toBeGreaterThan(0);
      expect(min).toBeLessThanOrEqual(median!);
      expect(median).toBeLessThanOrEqual(max!);
      expect(r.stdout).toContain(f['name'] as string);
    }
  });

  it('refuses bad flags with one line and exit status 2', async () => {
    for (const [args, message] of [
      [['--dims', '1e4,abc'], '--dims takes integers in [1, 1e8]'],
      [['--dims', '0'], '--dims takes integers in [1, 1e8]'],
      [['--clients', '0'], '--clients must be an integer in [1, 65535]'],
      [['--runs', '2.5'], '--runs must be an integer in [1, 1000]'],
    ] as const) {
      const r = await marina(['bench', ...args, '--no-rounds', '--no-numpy']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
  });
});
