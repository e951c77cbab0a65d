import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { marina } from './helpers/cli.js';

/**
 * `marina bench` as built: the shape of its table and JSON (a machine line and a flat list of figures), at
 * tiny sizes so it takes seconds. It checks names, units and that every figure is a positive rate with
 * min ≤ median ≤ max, and the exact wire-over-bits figures; it never judges a speed (benchmarks are not timed
 * tests: docs/performance.md).
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
        for (const kind of ['encode', 'encode-resident', 'encode-client', 'decode', 'decode-resident', 'decode-each']) expect(names).toContain(`${kind}.${c}.${d}`);
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

  it('adds the round, wire, time-to-target and memory figures with their units (tiny runs, one of each)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'marina-bench-')), 'bench.json');
    const args = ['bench', '--no-kernels', '--clients', '2', '--round-clients', '2,3', '--round-dim', '16', '--net-runs', '1', '--json', file];
    const r = await marina(args, { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const figures = (JSON.parse(readFileSync(file, 'utf8')) as { figures: { name: string; unit: string; median: number; min: number; max: number; runs: number; note?: string }[] }).figures;
    const byName = new Map(figures.map((f) => [f.name, f]));
    const units: Record<string, string> = {
      'rounds.sim.n2.d16': 'rounds/s',
      'rounds.n2.d16': 'rounds/s',
      'raw-ws.rounds.n2.d16': 'rounds/s',
      'rounds.n3.d16': 'rounds/s',
      'raw-ws.rounds.n3.d16': 'rounds/s',
      'time-to-target.sim.n2': 's',
      'time-to-target.net.n2': 's',
      'wire-over-bits.run.cq.16': 'ratio',
      'wire-over-bits.run.iq.16': 'ratio',
    };
    for (const c of ['cq', 'iq']) for (const d of ['16', '1024', '1e6']) units[`wire-over-bits.${c}.${d}`] = 'ratio';
    expect(figures.filter((f) => /^(memcpy|encode|decode|numpy)/.test(f.name))).toEqual([]); // --no-kernels
    for (const [name, unit] of Object.entries(units)) {
      const f = byName.get(name);
      expect(f, `${name} missing`).toBeDefined();
      expect(f!.unit).toBe(unit);
      expect(f!.runs).toBe(1);
      expect(f!.min).toBeGreaterThan(0);
      expect(f!.min).toBeLessThanOrEqual(f!.median);
      expect(f!.median).toBeLessThanOrEqual(f!.max);
      expect(r.stdout).toContain(name);
    }
    // One update's wire over bits is exact: CQ at d = 1024 is a 5-byte header, 4 + 128 payload bytes and a
    // 2 + 4-byte masked frame header (145 bytes) for 32 + 1024 bits; at d = 1e6, 125,023 bytes for 1,000,032 bits.
    expect(byName.get('wire-over-bits.cq.1024')!.median).toBe((8 * 145) / 1056);
    expect(byName.get('wire-over-bits.iq.1e6')!.median).toBe((8 * 125_023) / 1_000_032);
    // A whole run counts every header and frame on top of its bits: above 1.
    expect(byName.get('wire-over-bits.run.cq.16')!.median).toBeGreaterThan(1);
    expect(r.stdout).toMatch(/rounds\.n2\.d16 .*× raw-ws/);
    expect(r.stdout).toMatch(/time-to-target\.net\.n2 .*× sim/);
    if (existsSync('/proc/self/status')) {
      for (const name of ['server-bytes-per-client.n3', 'server-bytes-per-client-rounds.n3']) {
        const f = byName.get(name);
        expect(f, `${name} missing`).toBeDefined();
        expect(f!.unit).toBe('bytes');
        expect(Number.isFinite(f!.median)).toBe(true); // a growth over 3 clients may be lost in the RSS noise: no sign asserted
      }
    } else console.log('server-bytes-per-client: no /proc here, so the bench skips it; not checked');
  });

  it('refuses bad flags with one line and exit status 2', async () => {
    for (const [args, message] of [
      [['--dims', '1e4,abc'], '--dims takes integers in [1, 1e8]'],
      [['--dims', '0'], '--dims takes integers in [1, 1e8]'],
      [['--clients', '0'], '--clients must be an integer in [1, 65535]'],
      [['--runs', '2.5'], '--runs must be an integer in [1, 1000]'],
      [['--round-clients', '16,x'], '--round-clients takes integers in [1, 65535]'],
      [['--round-dim', '0'], '--round-dim must be an integer in [1, 1e7]'],
      [['--net-runs', '0'], '--net-runs must be an integer in [1, 100]'],
      [['--seed', '-1'], '--seed must be an integer in [0, 4294967295]'],
    ] as const) {
      const r = await marina(['bench', ...args, '--no-rounds', '--no-numpy']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
  });
});
