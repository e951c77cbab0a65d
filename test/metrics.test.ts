import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { MARINA, readRounds, readSummary, startServerProcess, tempDir } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * `/metrics` over a real run: the text parses as the Prometheus exposition format, and at the end of the
 * run (read during --linger) its counters equal the ledger that rounds.jsonl and summary.json record.
 */
const CLIENTS = 3;
const ROUNDS = 300;

const procs = reaper('all');

describe('/metrics', () => {
  it('parses as Prometheus text and matches rounds.jsonl and summary.json at the end of a run', async () => {
    const out = join(tempDir('metrics'), 'run');
    // p = 0.2 and --eval-every 3: dense and compressed rounds, and rounds with and without telemetry.
    const server = procs.add(await startServerProcess(['--clients', String(CLIENTS), '--dim', '256', '--rounds', String(ROUNDS), '--p', '0.2', '--eval-every', '3', '--stop-at-target', 'false', '--linger', '30', '--out', out, '--quiet']));
    const base = `http://127.0.0.1:${server.port}`;

    // Before any client: the families exist, every counter at zero.
    const before = parseProm(await (await fetch(`${base}/metrics`)).text());
    expect(value(before, 'marina_rounds_total')).toBe(0);
    expect(value(before, 'marina_clients')).toBe(CLIENTS);

    const exits = Array.from({ length: CLIENTS }, (_, i) => {
      const child = spawn(process.execPath, [MARINA, 'client', '--server', `ws://127.0.0.1:${server.port}`, '--log-level', 'warn', '--name', `m-${i}`], { stdio: ['ignore', 'ignore', 'inherit'] });
      procs.add(child);
      return new Promise<number | null>((resolve) => child.on('exit', resolve));
    });
    expect(await Promise.all(exits)).toEqual(Array(CLIENTS).fill(0));
    await waitFor(async () => ((await (await fetch(`${base}/healthz`)).json()) as { phase: string }).phase === 'done', 20_000);

    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseProm(await res.text());
    const rounds = readRounds(out);
    const summary = readSummary(out);
    const sum = (key: string) => rounds.reduce((s, r) => s + (r[key] as number), 0);

    expect(rounds.length).toBe(ROUNDS);
    expect(value(m, 'marina_rounds_total')).toBe(rounds.length);
    const ranks = (name: string, labels: Record<string, string> = {}) => m.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    const total = (name: string, labels: Record<string, string> = {}) => ranks(name, labels).reduce((s, x) => s + x.value, 0);
    for (const direction of ['up', 'down']) {
      expect(ranks('marina_wire_bytes_total', { direction }).map((s) => s.labels['rank']).sort()).toEqual(['0', '1', '2']);
    }
    expect(total('marina_wire_bytes_total', { direction: 'up' })).toBe(sum('wireBytesUp'));
    expect(total('marina_wire_bytes_total', { direction: 'down' })).toBe(sum('wireBytesDown'));
    expect(total('marina_algorithm_bits_total', { direction: 'up' })).toBe(sum('bitsUp'));
    expect(total('marina_telemetry_bytes_total')).toBe(sum('telemetryBytes'));
    expect(value(m, 'marina_control_bytes_total')).toBe(summary['totals']['controlBytes']);
    expect(sum('wireBytesUp')).toBe(summary['totals']['wireBytesUp']);
    // Every client sent in every round here, so each rank carries a third of the uplink.
    for (const s of ranks('marina_wire_bytes_total', { direction: 'up' })) expect(s.value).toBe(sum('wireBytesUp') / CLIENTS);

    // The histogram saw every round; buckets are cumulative and end at the count.
    expect(value(m, 'marina_round_duration_seconds_count')).toBe(rounds.length);
    const buckets = ranks('marina_round_duration_seconds_bucket').map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(rounds.length);
    expect(value(m, 'marina_connected_clients')).toBe(0);
    expect(value(m, 'marina_grad_norm_sq')).toBe([...rounds].reverse().find((r) => r['gradNormSq'] !== null)!['gradNormSq']);
    // One registry per server, labelled with the run.
    expect(new Set(m.samples.map((s) => s.labels['run']))).toEqual(new Set([summary['runId']]));

    server.child.kill('SIGTERM');
    const done = await server.exited;
    expect(done.code, done.stderr).toBe(0);
  }, 120_000);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): HELP and TYPE comments, then
 * samples `name{label="value",...} number`; every sample must belong to a family declared with TYPE, and
 * each family is declared once.
 */
function parseProm(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      expect(types.has(m[1]!), `TYPE of ${m[1]} declared twice`).toBe(false);
      types.set(m[1]!, m[2]!);
      continue;
    }
    if (new RegExp(`^# HELP ${name} `).test(line)) continue;
    m = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`).exec(line);
    expect(m, `not a Prometheus sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    const body = m![2] ?? '';
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    while (labelRe.lastIndex < body.length) {
      const l = labelRe.exec(body);
      expect(l, `bad label set in: ${line}`).not.toBeNull();
      labels[l![1]!] = l![2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    // Values are what Go's strconv.ParseFloat takes (the format's definition): NaN and ±Inf in any case
    // (prom-client writes "Nan").
    const raw = m![3]!;
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(raw);
    const v = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(raw);
    expect(special !== null || (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(raw) && !Number.isNaN(v)), `bad value in: ${line}`).toBe(true);
    const family = m![1]!.replace(/_(bucket|sum|count)$/, '');
    expect(types.has(m![1]!) || types.get(family) === 'histogram' || types.get(family) === 'summary', `sample of undeclared family: ${line}`).toBe(true);
    samples.push({ name: m![1]!, labels, value: v });
  }
  return { types, samples };
}

function value(m: { samples: Sample[] }, name: string): number {
  const found = m.samples.filter((s) => s.name === name);
  expect(found, `${name}: expected exactly one sample`).toHaveLength(1);
  return found[0]!.value;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
