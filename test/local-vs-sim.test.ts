import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { marina, readSummary, sameRunRows, tempDir } from './helpers/cli.js';

/**
 * Runs `marina local` (a server and client processes) and `marina sim` with the same flags side by side into
 * run folders under a fresh directory `dir`; both must exit 0. Returns their rounds.jsonl records, local (a)
 * and in-process (b).
 */
async function localAndSim(name: string, flags: string[]): Promise<{ a: Record<string, unknown>[]; rowsA: unknown[][]; rowsB: unknown[][]; dir: string }> {
  const dir = tempDir(name);
  const [local, sim] = await Promise.all([
    marina(['local', ...flags, '--out', join(dir, 'local')], { timeoutMs: 120_000 }),
    marina(['sim', ...flags, '--out', join(dir, 'sim')]),
  ]);
  expect(local.code, local.stderr).toBe(0);
  expect(sim.code, sim.stderr).toBe(0);
  return { ...sameRunRows(join(dir, 'local'), join(dir, 'sim')), dir };
}

/**
 * Issue 2's central claims, over real processes and sockets: `marina local` (server + 8 client processes)
 * and `marina sim` agree on every iterate and on the algorithm-bit ledger; bits are exactly SPEC's counts;
 * each socket's byte counters are the sum of its messages' frames plus handshake and close frames.
 */
const d = 48;
const n = 8;
const common = ['--clients', String(n), '--dim', String(d), '--rounds', '300', '--seed', '11', '--quiet', '--force'];

describe.each([
  ['marina', 'cq', []],
  ['marina', 'iq', []],
  ['dcgd', 'cq', []],
  ['gd', 'identity', []],
  // Decision 3's shared range: a norm (32 bits) up and R down before each compressed message of d bits.
  ['marina', 'cq', ['--range', 'shared', '--noise', '1']],
] as [string, string, string[]][])('%s + %s %j', (method, compressor, extra) => {
  it('local cluster of 8 processes equals the in-process run, round by round', async () => {
    const flags = [...common, '--method', method, '--compressor', compressor, '--p', method === 'marina' ? '0.2' : 'auto', ...extra];
    const { a, rowsA, rowsB, dir } = await localAndSim(`${method}-${compressor}${extra.length ? '-shared' : ''}`, flags);
    expect(a.length).toBeGreaterThan(10);
    expect(rowsA).toEqual(rowsB);

    // SPEC A.4 and decisions 2, 3: dense rounds (round 0 and coin rounds) cost 32d bits per client, a CQ/IQ
    // message 32 + d, identity 32d.
    const compressedBits = compressor === 'identity' ? 32 * d : 32 + d;
    for (const r of a) {
      const perClient = r['kind'] === 'compressed' ? compressedBits : 32 * d;
      expect(r['bitsUpPerClient']).toBe(perClient);
      expect(r['bitsUp']).toBe(perClient * n);
      expect(r['senders']).toBe(n);
    }
    if (method === 'marina') {
      expect(a[0]!['kind']).toBe('init');
      expect(a.some((r) => r['kind'] === 'dense') && a.some((r) => r['kind'] === 'compressed')).toBe(true);
    }
    if (method === 'dcgd') expect(a.every((r) => r['kind'] === 'compressed' && r['coin'] === false)).toBe(true);

    // Each socket: bytes the kernel counted = HTTP upgrade + frames of the messages it carried + close frames.
    // The client closes with code 1000 and no reason (a masked 8-byte frame); the server's echo is 4 bytes.
    const summary = readSummary(join(dir, 'local'));
    expect(summary['sockets']).toHaveLength(n);
    for (const s of summary['sockets'] as Record<string, number>[]) {
      expect(s['bytesRead']! - s['handshakeRead']! - s['framesRead']!).toBe(8);
      expect(s['bytesWritten']! - s['handshakeWritten']! - s['framesWritten']!).toBe(4);
    }
    // The ledger's parts add up exactly to the frames the sockets carried.
    const t = summary['totals'];
    const frames = (summary['sockets'] as Record<string, number>[]).reduce((acc, s) => acc + s['framesRead']! + s['framesWritten']!, 0);
    expect(t.wireBytesUp + t.wireBytesDown + t.telemetryBytes + t.controlBytes).toBe(frames);
    const sockets = (summary['sockets'] as Record<string, number>[]).reduce((acc, s) => acc + s['bytesRead']! + s['bytesWritten']!, 0);
    expect(frames + t.connectionBytes).toBe(sockets);
    const sum = (key: string) => a.reduce((acc, r) => acc + (r[key] as number), 0);
    expect(sum('wireBytesUp')).toBe(t.wireBytesUp);
    expect(sum('wireBytesDown')).toBe(t.wireBytesDown);
  });
});

/**
 * Issue 3: every method and compressor runs unchanged over the network, bit for bit equal to the in-process
 * run. Smaller runs (4 client processes) keep the suite fast.
 */
const small = ['--clients', '4', '--dim', '40', '--rounds', '60', '--seed', '3', '--quiet', '--force', '--target-rel', '1e-12'];
describe.each([
  ['diana', 'randk', []],
  ['ef21', 'topk', []],
  ['vr-marina', 'cq', ['--batch', '2', '--p', '0.3']],
  ['pp-marina', 'cq', ['--participants', '2', '--p', '0.3']],
  ['pp-marina', 'cq', ['--participants', '2', '--p', '0.3', '--range', 'shared']],
  ['marina', 'permk', ['--p', '0.3']],
  ['marina', 'drive', ['--p', '0.3']],
  ['marina', 'natural', ['--p', '0.3']],
  ['marina', 'natural-dithering', ['--p', '0.3']],
  ['marina', 'qsgd', ['--p', '0.3', '--norm', 'inf']],
  ['marina', 'ternary', ['--p', '0.3']],
  ['dcgd', 'randk', []],
] as [string, string, string[]][])('%s + %s over the network', (method, compressor, extra) => {
  it('equals the in-process run bit for bit', async () => {
    const { a, rowsA, rowsB } = await localAndSim(`${method}-${compressor}`, [...small, '--method', method, '--compressor', compressor, ...extra]);
    expect(a).toHaveLength(60);
    expect(rowsA).toEqual(rowsB);
    if (method === 'pp-marina') {
      // Decision 14: on compressed rounds only the r = 2 sampled clients are asked and only they send:
      // two CQ messages of 32 + d bits, each a 5-byte (uplink) header + 9-byte payload in a 6-byte masked frame.
      const compressed = a.filter((r) => r['kind'] === 'compressed');
      expect(compressed.length).toBeGreaterThan(10);
      for (const r of compressed) {
        expect(r['senders']).toBe(2);
        expect(r['bitsUp']).toBe(2 * (32 + 40));
        // Shared range: a norm message (5-byte header + 4 bytes) then the d bits (5 bytes), each in a 6-byte frame.
        expect(r['wireBytesUp']).toBe(extra.includes('shared') ? 2 * (6 + 5 + 4 + 6 + 5 + 5) : 2 * (6 + 5 + Math.ceil((32 + 40) / 8)));
      }
      for (const r of a.filter((r) => r['kind'] !== 'compressed')) expect(r['senders']).toBe(4);
    }
  });
});
