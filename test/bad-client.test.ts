import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { decodeAssign, decodeError, encodeHello, encodeReport, Kind, payloadOf, PROTOCOL_VERSION, type Report, UPLINK_HEADER_BYTES } from '@marina/protocol';
import { clientShard, resolveConfig } from '@marina/core';
import { marina, MARINA, readRounds, startServerProcess, tempDir, type RunningServer } from './helpers/cli.js';
import { reaper } from './helpers/reap.js';

/**
 * A client that sends bytes that are not a valid message gets a typed error and is disconnected; the other
 * clients and the run are not harmed: the run ends with the same iterates as an undisturbed in-process run.
 */
const config = ['--clients', '3', '--dim', '32', '--rounds', '120', '--seed', '5', '--p', '0.3'];
const procs = reaper();

function client(port: number): Promise<number | null> {
  const child = spawn(process.execPath, [MARINA, 'client', '--server', `ws://127.0.0.1:${port}`, '--log-level', 'warn'], { stdio: 'ignore' });
  procs.add(child);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

interface Rejection {
  error: { code: string; message: string } | null;
  closeCode: number;
  /** The rank the server assigned, or null if it refused the client before the join phase. */
  rank: number | null;
  /** Kinds of the messages the server sent, in order. */
  kinds: number[];
}

/** Resolves once the server has logged `count` NDJSON entries that satisfy `match`. */
function serverLogged(srv: RunningServer, match: (entry: Record<string, unknown>) => boolean, count: number): Promise<void> {
  return new Promise((resolve) => {
    let buffered = '';
    let seen = 0;
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{') || !match(JSON.parse(line) as Record<string, unknown>) || ++seen < count) continue;
        srv.child.stderr!.off('data', onData);
        return resolve();
      }
    };
    srv.child.stderr!.on('data', onData);
  });
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

interface EvilOptions {
  /** Say hello and take part in the join phase (assign → report → welcome) first; else send `garbage` at once. */
  join: boolean;
  /** Edits the honest report before it is sent (a lie about the shard). */
  report?: (honest: Report) => Report;
  /** Resolves when the report may be sent (default: at once). */
  reportWhen?: Promise<unknown>;
}

/**
 * Opens a raw socket and either sends `garbage` at once or joins like a real client (hello; on assign, the
 * report of the generated shard it builds, as `marina client` does) and answers the first RoundStart with
 * `garbage`; reports what the server did.
 */
function evilClient(port: number, garbage: Uint8Array | string | null, opts: EvilOptions): Promise<Rejection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    let error: Rejection['error'] = null;
    let rank: number | null = null;
    const kinds: number[] = [];
    ws.on('error', reject);
    ws.on('open', () => (opts.join ? ws.send(encodeHello({ client: 'evil', rank: null })) : ws.send(garbage!)));
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      kinds.push(bytes[0]!);
      if (bytes[0] === Kind.Assign) {
        const assign = decodeAssign(payloadOf(bytes));
        rank = assign.rank;
        const facts = clientShard(resolveConfig(assign.config), assign.rank, null, sha256).facts;
        const report = encodeReport(opts.report ? opts.report(facts) : facts, assign.rank);
        void (opts.reportWhen ?? Promise.resolve()).then(() => ws.readyState === ws.OPEN && ws.send(report));
      }
      if (bytes[0] === Kind.RoundStart && kinds.indexOf(Kind.RoundStart) === kinds.length - 1 && garbage !== null) ws.send(garbage); // answer the first round with garbage
      if (bytes[0] === Kind.Error) error = decodeError(payloadOf(bytes) as Uint8Array) as Rejection['error'];
    });
    ws.on('close', (closeCode) => resolve({ error, closeCode, rank, kinds }));
  });
}

describe('a bad client', () => {
  it('is refused with a typed error before it gets a rank, and the run is unaffected', async () => {
    const dir = tempDir('bad-unranked');
    const server = procs.add(await startServerProcess([...config, '--out', join(dir, 'net')]));
    const junk = new Uint8Array(40).fill(0xab);
    const [first, text] = await Promise.all([evilClient(server.port, junk, { join: false }), evilClient(server.port, 'hello?', { join: false })]);
    // 0xab is not a known protocol version: the header check names it.
    expect(first.error?.code).toBe('MARINA_ERR_BAD_VERSION');
    expect(first.error?.message).toBe(`protocol version 171 is not supported (expected ${PROTOCOL_VERSION})`);
    expect(PROTOCOL_VERSION).toBe(3);
    expect(first.closeCode).toBe(4004);
    expect(text.error?.code).toBe('MARINA_ERR_BAD_KIND');
    expect(text.closeCode).toBe(4003);
    const codes = await Promise.all([client(server.port), client(server.port), client(server.port)]);
    expect(codes).toEqual([0, 0, 0]);
    expect((await server.exited).code).toBe(0);
    const sim = await marina(['sim', ...config, '--quiet', '--out', join(dir, 'sim')]);
    expect(sim.code).toBe(0);
    expect(readRounds(join(dir, 'net')).map((r) => r['xHash'])).toEqual(readRounds(join(dir, 'sim')).map((r) => r['xHash']));
  });

  it('that holds a rank and sends garbage is cut off; a new client takes its rank and the run ends as if undisturbed', async () => {
    const dir = tempDir('bad-ranked');
    const server = procs.add(await startServerProcess([...config, '--out', join(dir, 'net'), '--join-timeout', '30000']));
    // A well-formed Update header (compact: kind, version, flags, round mod 2^16) with more payload than the run's
    // limit for d = 32 (16·d + 64 bytes).
    const oversized = new Uint8Array(UPLINK_HEADER_BYTES + 16 * 32 + 65);
    oversized.set([Kind.Update, PROTOCOL_VERSION]);
    const evil = evilClient(server.port, oversized, { join: true });
    await new Promise((r) => setTimeout(r, 300)); // the evil client takes rank 0
    const honest = [client(server.port), client(server.port)];
    const rejection = await evil;
    expect(rejection.error?.code).toBe('MARINA_ERR_TOO_LARGE');
    expect(rejection.closeCode).toBe(4007);
    // It took part in the join phase and was cut off only for its garbage: (the challenge every connection opens
    // with,) assign, welcome, then a round.
    expect(rejection.rank).toBe(0);
    expect(rejection.kinds.slice(0, 4)).toEqual([Kind.Challenge, Kind.Assign, Kind.Welcome, Kind.RoundStart]);
    expect(rejection.kinds.at(-1)).toBe(Kind.Error);
    honest.push(client(server.port)); // takes the vacated rank and recomputes what it owes from x^{t−1}, x^t
    expect(await Promise.all(honest)).toEqual([0, 0, 0]);
    expect((await server.exited).code).toBe(0);
    const sim = await marina(['sim', ...config, '--quiet', '--out', join(dir, 'sim')]);
    expect(sim.code, sim.stderr).toBe(0);
    expect(readRounds(join(dir, 'net')).map((r) => r['xHash'])).toEqual(readRounds(join(dir, 'sim')).map((r) => r['xHash']));
  });

  it('that reports a shard with another d than the run is refused naming its rank, and the run ends as if undisturbed', async () => {
    const dir = tempDir('bad-shard');
    const server = procs.add(await startServerProcess([...config, '--out', join(dir, 'net'), '--join-timeout', '30000']));
    // The liar takes rank 0 and holds its report until the two honest clients' reports have fixed the run's d.
    const honestReported = serverLogged(server, (e) => e['msg'] === 'shard reported' && e['d'] === 32, 2);
    const evil = evilClient(server.port, null, { join: true, report: (facts) => ({ ...facts, d: facts.d + 1 }), reportWhen: honestReported });
    await new Promise((r) => setTimeout(r, 300)); // the evil client takes rank 0
    const honest = [client(server.port), client(server.port)];
    const rejection = await evil;
    expect(rejection.rank).toBe(0);
    expect(rejection.error?.code).toBe('MARINA_ERR_BAD_SHARD');
    expect(rejection.error?.message).toBe("rank 0: its model has d = 33, the run's d = 32");
    expect(rejection.closeCode).toBe(4016);
    // Refused in the join phase: it never got a welcome or a round.
    expect(rejection.kinds).toEqual([Kind.Challenge, Kind.Assign, Kind.Error]);
    honest.push(client(server.port)); // takes the vacated rank 0
    expect(await Promise.all(honest)).toEqual([0, 0, 0]);
    const exited = await server.exited;
    expect(exited.code, exited.stderr).toBe(0);
    const sim = await marina(['sim', ...config, '--quiet', '--out', join(dir, 'sim')]);
    expect(sim.code, sim.stderr).toBe(0);
    expect(readRounds(join(dir, 'net')).map((r) => r['xHash'])).toEqual(readRounds(join(dir, 'sim')).map((r) => r['xHash']));
  });
});
