import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { decodeChallenge, decodeError, encodeHello, Kind, payloadOf, proofInput, ProtocolErrors } from '@marina/protocol';
import { marina, sameRunRows, readSummary, startListening, tempDir, type RunningServer } from './helpers/cli.js';
import { probe, waitFor } from './helpers/exec.js';
import { reaper } from './helpers/reap.js';
import { recordingRelay } from './helpers/relay.js';

/**
 * README "Security" with real processes: a per-run secret proved by challenge and response, TLS with a CA and a
 * server certificate made here with openssl, the read-only dashboard token, and the binding rule. The honest
 * run (secret + TLS) equals `marina sim` round by round while a wrong secret, a missing CA, ws:// against
 * wss://, and rank thieves without the secret are refused, each with its code and the client's exit status.
 */
const CONFIG = ['--clients', '3', '--dim', '32', '--rounds', '120', '--seed', '5', '--p', '0.3'];
const EXIT = { auth: 4, tls: 5, mismatch: 6 };

const openssl = probe('openssl', ['version']);
const skipReason = openssl.ok ? null : `openssl is not installed (${openssl.output.split('\n')[0]}): the test makes its CA and certificate with it`;
if (skipReason) console.warn(`SKIPPED test/security.test.ts (secret and TLS): ${skipReason}`);

const procs = reaper();

/** A CA, a server certificate it signed for localhost and 127.0.0.1, another CA, and two secrets, in `dir`. */
function makeFiles(dir: string) {
  const f = (name: string) => join(dir, name);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  ssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=marina test CA', ...ca]);
  ssl(['req', '-x509', ...ec, '-keyout', f('other-ca.key'), '-out', f('other-ca.pem'), '-days', '2', '-subj', '/CN=someone else', ...ca]);
  ssl(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  ssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext')]);
  // As `openssl rand -hex 32 > FILE` writes them: 64 hex digits and a newline (which is not part of the secret).
  const secret = `${randomBytes(32).toString('hex')}\n`;
  writeFileSync(f('secret'), secret, { mode: 0o600 });
  writeFileSync(f('wrong'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return { ca: f('ca.pem'), otherCa: f('other-ca.pem'), cert: f('server.pem'), key: f('server.key'), secretFile: f('secret'), wrongFile: f('wrong'), secret: Buffer.from(secret.trim()) };
}

/** `marina server --port 0 --log-level info ...args` (no --host: the default is under test), once it listens. */
async function server(args: string[]): Promise<RunningServer> {
  return procs.add(await startListening(['server', '--port', '0', '--log-level', 'info', ...args]));
}

/** `marina client ...args` to its end: the exit status and the one line it printed on failure. */
async function client(args: string[]): Promise<{ code: number | null; line: string }> {
  const r = await marina(['client', '--log-level', 'silent', '--backoff', '50', ...args], { timeoutMs: 60_000 });
  return { code: r.code, line: r.stderr.trim() };
}

interface Thief {
  /** Kinds of the messages the server sent, in order. */
  kinds: number[];
  error: { code: string; message: string } | null;
  closeCode: number;
}

/**
 * A raw client that does not hold the secret: it reads the challenge and answers with `proof(nonce)` (none, a
 * proof made with another secret, or one made for another connection's nonce), and reports what it got.
 */
function thief(url: string, ca: Buffer, proof: (nonce: Uint8Array) => Uint8Array | undefined, localAddress?: string): Promise<Thief> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    const kinds: number[] = [];
    let error: Thief['error'] = null;
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      kinds.push(bytes[0]!);
      if (bytes[0] === Kind.Challenge) {
        const c = decodeChallenge(payloadOf(bytes));
        expect(c.secret).toBe(true);
        const p = proof(c.nonce);
        ws.send(encodeHello({ client: 'thief', rank: 0, ...(p ? { proof: p } : {}) }));
      }
      if (bytes[0] === Kind.Error) error = decodeError(payloadOf(bytes));
    });
    ws.on('close', (closeCode) => resolve({ kinds, error, closeCode }));
  });
}

/** The first challenge nonce a fresh connection to `url` gets (then closes). */
function nonceOf(url: string, ca: Buffer): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, perMessageDeflate: false });
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      resolve(decodeChallenge(payloadOf(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))).nonce);
      ws.close();
    });
  });
}

/** GET over HTTPS trusting `ca`: status and body. */
function get(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on('error', reject).end();
  });
}

/** Opens /live: the first message's type, or the HTTP status it was refused with. */
function live(url: string, ca: Buffer): Promise<{ type: string } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', (e) => (e.message.includes('closed before the connection') ? undefined : reject(e)));
    ws.on('message', (data) => {
      resolve({ type: (JSON.parse(String(data)) as { type: string }).type });
      ws.close();
    });
  });
}

const hmac = (key: Uint8Array, data: Uint8Array | string) => createHmac('sha256', key).update(data).digest();

describe.skipIf(skipReason !== null)('security: a secret and TLS', () => {
  const dir = skipReason ? '' : tempDir('security');
  let files: ReturnType<typeof makeFiles>;
  let ca: Buffer;

  const simDir = join(dir, 'sim');

  beforeAll(async () => {
    files = makeFiles(dir);
    ca = readFileSync(files.ca);
    // The in-process run every networked run here must equal, round by round.
    const sim = await marina(['sim', ...CONFIG, '--quiet', '--out', simDir]);
    expect(sim.code, sim.stderr).toBe(0);
  });

  it('an honest run with secret + TLS equals marina sim round by round, while wrong secrets, a missing CA, ws:// and rank thieves are refused', async () => {
    const out = join(dir, 'net');
    const srv = await server([...CONFIG, '--secret-file', files.secretFile, '--tls-cert', files.cert, '--tls-key', files.key, '--out', out]);
    // With a secret the default host is every interface; the log says TLS and secret are on.
    expect(srv.entry).toMatchObject({ host: '0.0.0.0', tls: true, secret: true });
    const wss = `wss://localhost:${srv.port}`;
    const https = `https://localhost:${srv.port}`;

    // Refused clients, all during the join phase, before any honest client has joined.
    const wrong = await client(['--server', wss, '--ca', files.ca, '--secret-file', files.wrongFile]);
    expect(wrong.code).toBe(EXIT.auth);
    expect(wrong.line).toBe("marina client: MARINA_ERR_AUTH: the hello's proof does not match this run's secret: the client's --secret-file is not the server's");
    const none = await client(['--server', wss, '--ca', files.ca]);
    expect(none.code).toBe(EXIT.auth);
    expect(none.line).toMatch(/^marina client: MARINA_ERR_AUTH: this run requires its secret: the hello carries no proof; give the client the server's secret file/);
    // Without the CA (and with another CA) the certificate is not trusted: no retries, status 5.
    for (const extra of [[], ['--ca', files.otherCa]]) {
      const untrusted = await client(['--server', wss, '--secret-file', files.secretFile, '--retries', '30', ...extra]);
      expect(untrusted.code).toBe(EXIT.tls);
      expect(untrusted.line).toMatch(new RegExp(`^marina client: MARINA_ERR_TLS: cannot trust ${wss}: .*; give --ca FILE with the CA that signed the server's certificate$`));
    }
    const plain = await client(['--server', `ws://localhost:${srv.port}`, '--secret-file', files.secretFile, '--ca', files.ca]);
    expect(plain.code).toBe(EXIT.mismatch);
    expect(plain.line).toBe(`marina client: MARINA_ERR_SCHEME: ws://localhost:${srv.port} speaks TLS only (the server was started with --tls-cert): use ${wss}`);

    // Rank thieves: no proof, a proof made with another secret, and a proof replayed from another connection
    // (made with the right secret for that connection's nonce). None gets an Assign (a rank).
    const otherNonce = await nonceOf(wss, ca);
    const thieves = await Promise.all([
      thief(wss, ca, () => undefined),
      thief(wss, ca, (nonce) => hmac(readFileSync(files.wrongFile).subarray(0, 64), proofInput(nonce, 'thief'))),
      thief(wss, ca, () => hmac(files.secret, proofInput(otherNonce, 'thief'))),
    ]);
    for (const t of thieves) {
      expect(t.kinds).toEqual([Kind.Challenge, Kind.Error]);
      expect(t.error?.code).toBe('MARINA_ERR_AUTH');
      expect(t.closeCode).toBe(ProtocolErrors.MARINA_ERR_AUTH);
    }
    expect(ProtocolErrors.MARINA_ERR_AUTH).toBe(4017);

    // Failed authentications are limited per address (--max-auth-failures, 10 a minute): a stranger dialling
    // from 127.0.0.3 is refused for its proof ten times, then at once, before any challenge, for the rest of
    // the minute; the honest clients below dial from 127.0.0.1 and are not held back by it.
    const wrongProof = (nonce: Uint8Array) => hmac(readFileSync(files.wrongFile).subarray(0, 64), proofInput(nonce, 'thief'));
    for (let i = 0; i < 10; i++) expect((await thief(wss, ca, wrongProof, '127.0.0.3')).error?.code).toBe('MARINA_ERR_AUTH');
    const limited = await thief(wss, ca, wrongProof, '127.0.0.3');
    expect(limited.kinds).toEqual([Kind.Error]);
    expect(limited.error?.code).toBe('MARINA_ERR_RATE_LIMITED');
    expect(limited.closeCode).toBe(ProtocolErrors.MARINA_ERR_RATE_LIMITED);

    // Dashboard, /live and /metrics: 401 without the token, served with it (query or bearer); /healthz open, but
    // without the token it tells only ok and phase. The token is HMAC-SHA256(secret, "dashboard") in hex.
    const token = hmac(files.secret, 'dashboard').toString('hex');
    for (const path of ['/', '/metrics']) {
      const refused = await get(`${https}${path}`, ca);
      expect(refused.status, path).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="marina"');
      expect((await get(`${https}${path}?token=${'0'.repeat(64)}`, ca)).status).toBe(401);
      expect((await get(`${https}${path}`, ca, { authorization: `Bearer ${token.slice(1)}` })).status).toBe(401);
      expect((await get(`${https}${path}?token=${token}`, ca)).status).toBe(200);
      expect((await get(`${https}${path}`, ca, { authorization: `Bearer ${token}` })).status).toBe(200);
    }
    expect((await get(`${https}/metrics?token=${token}`, ca)).body).toMatch(/^marina_rounds_total/m);
    expect(await live(`${wss}/live`, ca)).toEqual({ status: 401 });
    expect(await live(`${wss}/live?token=${token}`, ca)).toEqual({ type: 'init' });
    expect(JSON.parse((await get(`${https}/healthz`, ca)).body)).toEqual({ ok: true, phase: 'joining' });
    expect(JSON.parse((await get(`${https}/healthz?token=${token}`, ca)).body)).toEqual({ ok: true, phase: 'joining', round: 0, connected: 0 });

    // The honest clients: same secret file, the CA; the run goes on as if no one else had knocked.
    const honest = await Promise.all([0, 1, 2].map((i) => client(['--server', wss, '--ca', files.ca, '--secret-file', files.secretFile, '--name', `honest-${i}`])));
    expect(honest.map((h) => h.code), honest.map((h) => h.line).join('\n')).toEqual([0, 0, 0]);
    const exited = await srv.exited;
    expect(exited.code, exited.stderr).toBe(0);
    // The server printed the token at start, and never the secret.
    expect(exited.stderr).toContain(`"token":"${token}"`);
    expect(exited.stderr).not.toContain(files.secret.toString());

    const { a, rowsA, rowsB } = sameRunRows(out, simDir);
    expect(a).toHaveLength(120);
    expect(rowsA).toEqual(rowsB);
    // The ranks went to the honest clients only: three ranked sockets; every other one was refused unranked.
    const sockets = readSummary(out)['sockets'] as { rank: number }[];
    expect(sockets.filter((s) => s.rank >= 0).map((s) => s.rank).sort()).toEqual([0, 1, 2]);
    expect(sockets.filter((s) => s.rank < 0)).toHaveLength(2 + 3 + 1 + 11); // two marina clients, three thieves, the nonce probe, the stranger's 11
  }, 120_000);

  it('the secret never crosses the wire: the bytes between an honest client and the server hold neither it nor its hex', async () => {
    // Plain ws:// through a TCP relay that records both directions (TLS would hide it anyway).
    const srv = await server(['--clients', '1', '--dim', '8', '--rounds', '20', '--host', '127.0.0.1', '--secret-file', files.secretFile]);
    expect(srv.entry).toMatchObject({ host: '127.0.0.1', tls: false, secret: true });
    const relay = await recordingRelay(srv.port);
    try {
      const c = await client(['--server', `ws://127.0.0.1:${relay.port}`, '--secret-file', files.secretFile]);
      expect(c.code, c.line).toBe(0);
      expect((await srv.exited).code).toBe(0);
    } finally {
      relay.close();
    }
    const wire = Buffer.concat([...relay.toServer, ...relay.toClient]);
    expect(wire.length).toBeGreaterThan(1000);
    expect(wire.includes(files.secret)).toBe(false);
    expect(wire.includes(Buffer.from(files.secret.toString(), 'hex'))).toBe(false);
    expect(wire.toString('latin1').toLowerCase()).not.toContain(files.secret.toString().slice(0, 16));
  });

  it('a connection without a rank when the run ends is told nothing of it: no "done" bye; its late hello is refused MARINA_ERR_AUTH', async () => {
    const srv = await server([...CONFIG, '--secret-file', files.secretFile, '--linger', '10']);
    const url = `ws://127.0.0.1:${srv.port}`;
    // It reads the challenge and waits (well within --hello-timeout) while the honest clients run to the end.
    const late = new WebSocket(url, { perMessageDeflate: false });
    const kinds: number[] = [];
    let error: { code: string; message: string } | null = null;
    const nonce = new Promise<Uint8Array>((resolve) => late.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      kinds.push(bytes[0]!);
      if (bytes[0] === Kind.Challenge) resolve(decodeChallenge(payloadOf(bytes)).nonce);
      if (bytes[0] === Kind.Error) error = decodeError(payloadOf(bytes));
    }));
    const closed = new Promise<void>((resolve) => late.on('close', () => resolve()));
    const challenge = await nonce;
    const honest = await Promise.all([0, 1, 2].map(() => client(['--server', url, '--secret-file', files.secretFile])));
    expect(honest.map((h) => h.code)).toEqual([0, 0, 0]);
    expect(kinds).toEqual([Kind.Challenge]); // the run's end sent it nothing
    const proof = createHmac('sha256', randomBytes(32)).update(proofInput(challenge, 'late')).digest();
    late.send(encodeHello({ client: 'late', rank: null, proof }));
    await closed;
    expect(error).toMatchObject({ code: 'MARINA_ERR_AUTH' });
    expect(kinds).not.toContain(Kind.Bye);
  });

  it('the binding rule: without a secret only loopback, unless --insecure; a client with a secret refuses a server without one', async () => {
    // Refused before listening: exit 2, one line naming both ways out.
    const refused = await marina(['server', '--port', '0', '--host', '0.0.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^marina: --host 0\.0\.0\.0 would let anyone who reaches this port join the run: give --secret-file FILE .*, or --insecure to allow it without a secret$/m);
    expect(refused.stderr).not.toContain('server listening');
    // The same through the environment.
    const env = await marina(['server', '--port', '0'], { env: { MARINA_HOST: '::', MARINA_INSECURE: 'false' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^marina: --host :: would let anyone/);

    // Without a secret and without --host: 127.0.0.1, and the log says so.
    const local = await server(['--clients', '1']);
    expect(local.entry).toMatchObject({ host: '127.0.0.1', secret: false, tls: false });
    await waitFor('the log line about 127.0.0.1', () => (local.log().includes('no --secret-file: listening on 127.0.0.1 only (this machine)') ? true : undefined), 10_000, 20);
    local.child.kill('SIGTERM');
    await local.exited;

    // --insecure: 0.0.0.0 without a secret, with a warning; such a server is refused by a client that holds a
    // secret (4), and a wss:// client gets the protocol-mismatch status (6).
    const open = await server(['--clients', '1', '--host', '0.0.0.0', '--insecure', '--dim', '8', '--rounds', '5']);
    expect(open.entry).toMatchObject({ host: '0.0.0.0', secret: false });
    const withSecret = await client(['--server', `ws://127.0.0.1:${open.port}`, '--secret-file', files.secretFile]);
    expect(withSecret.code).toBe(EXIT.auth);
    expect(withSecret.line).toMatch(/^marina client: MARINA_ERR_AUTH: ws:\/\/127\.0\.0\.1:\d+ does not ask for a secret \(started without --secret-file\), but this client was given one/);
    const tls = await client(['--server', `wss://localhost:${open.port}`, '--retries', '30']);
    expect(tls.code).toBe(EXIT.mismatch);
    expect(tls.line).toBe(`marina client: MARINA_ERR_SCHEME: wss://localhost:${open.port} does not speak TLS (the server was started without --tls-cert): use ws://localhost:${open.port}`);
    // An honest client without a secret still runs it to the end.
    expect((await client(['--server', `ws://127.0.0.1:${open.port}`])).code).toBe(0);
    const done = await open.exited;
    expect(done.code).toBe(0);
    expect(done.stderr).toContain('--insecure: listening on 0.0.0.0 without a secret');
  });

  it('bad security files are refused with exit 2 before any socket opens', async () => {
    const short = join(dir, 'short');
    writeFileSync(short, 'hunter2\n');
    const cases: [string[], RegExp][] = [
      [['server', '--secret-file', short], /^marina: --secret-file .*short holds 7 bytes; a secret needs at least 16 \(make one with: openssl rand -hex 32 > /],
      [['server', '--secret-file', join(dir, 'missing')], /^marina: cannot read --secret-file .*missing: ENOENT/],
      [['server', '--tls-cert', files.cert], /^marina: give both --tls-cert and --tls-key \(got only --tls-cert\)$/],
      [['server', '--tls-cert', files.cert, '--tls-key', join(dir, 'ca.key')], /^marina: --tls-cert .* and --tls-key .* cannot serve TLS: .*key values mismatch/],
      [['server', '--tls-cert', files.secretFile, '--tls-key', files.key], /^marina: --tls-cert .*secret is not a PEM file/],
      [['client', '--server', 'wss://localhost:1', '--ca', files.secretFile], /^marina: --ca .*secret is not a PEM file/],
      [['client', '--server', 'ws://localhost:1', '--secret-file', short], /^marina: --secret-file .*short holds 7 bytes/],
      [['local', '--secret-file', short], /^marina: --secret-file .*short holds 7 bytes/],
    ];
    for (const [args, message] of cases) {
      const r = await marina([...args, ...(args[0] === 'server' ? ['--port', '0'] : [])], { timeoutMs: 20_000 });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(message);
    }
  });

  it('marina local with --secret-file and TLS: its clients get the secret and dial wss://localhost; equal to marina sim', async () => {
    const out = join(dir, 'local');
    const r = await marina(['local', ...CONFIG, '--quiet', '--out', out, '--secret-file', files.secretFile, '--tls-cert', files.cert, '--tls-key', files.key, '--ca', files.ca], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const { rowsA, rowsB } = sameRunRows(out, simDir);
    expect(rowsA).toEqual(rowsB);
  });
});
