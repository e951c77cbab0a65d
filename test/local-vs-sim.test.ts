import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { marina, readRounds, readSummary, tempDir } from './helpers/cli.js';

/**
 * Issue 2's central claims, over real processes and sockets: `marina local` (server + 8 client processes)
 * and `marina sim` agree on every iterate and on the algorithm-bit ledger; bits are exactly SPEC's counts;
 * each socket's byte counters are the sum of its messages' frames plus handshake and close frames.
 */
const d = 48;
const n = 8;
const common = ['--clients', String(n), '--dim', String(d), '--rounds', '300', '--seed', '11', '--quiet', '--force'];

describe.each([
  ['marina', 'cq'],
  ['marina', 'iq'],
  ['dcgd', 'cq'],
  ['gd', 'identity'],
])('%s + %s', (method, compressor) => {
  it('local cluster of 8 processes equals the in-process run, round by round', async () => {
    const dir = tempDir(`${method}-${compressor}`);
    const flags = [...common, '--method', method, '--compressor', compressor, '--p', method === 'marina' ? '0.2' : 'auto'];
    const [local, sim] = await Promise.all([
      marina(['local', ...flags, '--out', join(dir, 'local')], { timeoutMs: 120_000 }),
      marina(['sim', ...flags, '--out', join(dir, 'sim')]),
    ]);
    expect(local.code, local.stderr).toBe(0);
    expect(sim.code, sim.stderr).toBe(0);
    const a = readRounds(join(dir, 'local'));
    const b = readRounds(join(dir, 'sim'));
    expect(a.length).toBeGreaterThan(10);
    expect(a.map((r) => r['xHash'])).toEqual(b.map((r) => r['xHash']));
    const ledger = (rs: Record<string, unknown>[]) => rs.map((r) => [r['round'], r['kind'], r['coin'], r['bitsUp'], r['senders'], r['wireBytesUp'], r['wireBytesDown'], r['telemetryBytes'], r['gradNormSq']]);
    expect(ledger(a)).toEqual(ledger(b));

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
