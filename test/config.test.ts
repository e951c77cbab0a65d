import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { marina, tempDir } from './helpers/cli.js';

/**
 * One configuration door (STYLE lesson 9): a bad config file or MARINA_* variable is refused before any
 * socket opens, with exit code 2 and a message naming the field, the allowed range and where the value
 * came from.
 */
const dir = tempDir('config');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** A port that was free a moment ago: the refused server must never listen on it. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Runs `marina server` with a bad setting and checks it is refused before listening. */
async function refused(args: string[], env: Record<string, string> = {}): Promise<string> {
  const port = await freePort();
  // A --port flag would outrank MARINA_PORT, so it is left out when the test is about that variable.
  const portFlag = env['MARINA_PORT'] === undefined ? ['--port', String(port)] : [];
  const r = await marina(['server', ...portFlag, '--host', '127.0.0.1', '--log-level', 'info', ...args], { env, timeoutMs: 20_000 });
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).not.toContain('server listening');
  // The error is one line of text, not the help screen or a stack trace.
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(/^marina: /);
  // Still free: nothing bound it.
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((r) => probe.close(r));
  return r.stderr;
}

describe('bad configuration files', () => {
  it('refuses an unknown field, naming it and the known ones', async () => {
    const path = file('unknown.json', JSON.stringify({ clients: 3, bogus: 1 }));
    const err = await refused(['--config', path]);
    expect(err).toContain('unknown field "bogus"');
    expect(err).toContain(path);
    expect(err).toMatch(/known fields: problem, method, compressor, clients, step/);
  });

  it('refuses an out-of-range value, naming the field, the range and the file', async () => {
    const path = file('range.yaml', 'clients: 0\ndim: 16\n');
    const err = await refused(['--config', path]);
    expect(err).toContain('config field "clients" is 0; expected an integer in [1, 1048576]');
    expect(err).toContain(`from config file ${path}`);
  });

  it('refuses a kebab-case key that is not a run field, as the file spells it', async () => {
    const path = file('server-flag.yml', 'clients: 2\nround-timeout: 100\n');
    expect(await refused(['--config', path])).toContain('unknown field "round-timeout"');
  });

  it('refuses YAML that does not parse, with the line', async () => {
    const path = file('broken.yaml', 'clients: [3\n  dim: 4\n');
    const err = await refused(['--config', path]);
    expect(err).toContain(`config file ${path} is not valid YAML`);
    expect(err).toMatch(/line 1/);
  });

  it('refuses a missing file', async () => {
    expect(await refused(['--config', join(dir, 'absent.yaml')])).toContain('cannot read config file');
  });
});

describe('a flag given twice', () => {
  it('is refused by name, a run field or not (yargs would make it a list and one value would be used)', async () => {
    expect(await refused(['--seed', '3', '--seed', '4'])).toContain('--seed is given more than once; give it once');
    expect(await refused(['--round-timeout', '100', '--round-timeout', '200'])).toContain('--round-timeout is given more than once');
  });
});

describe('bad MARINA_* environment variables', () => {
  it('MARINA_CLIENTS=0: names the field, the range and the variable', async () => {
    const err = await refused([], { MARINA_CLIENTS: '0' });
    expect(err).toContain('config field "clients" is "0"; expected an integer in [1, 1048576] (from environment variable MARINA_CLIENTS)');
  });

  it('MARINA_BOGUS=1: a variable that names no option is refused by name', async () => {
    const err = await refused([], { MARINA_BOGUS: '1' });
    expect(err).toContain('environment variable MARINA_BOGUS names no marina option (there is no --bogus)');
    expect(err).toContain('MARINA_CLIENTS');
    expect(err).toContain('MARINA_PORT');
  });

  it('MARINA_PORT=99999 and MARINA_LINGER=-1: process options are range-checked too', async () => {
    expect(await refused([], { MARINA_PORT: '99999' })).toContain('option --port is "99999"; expected an integer in [0, 65535] (from environment variable MARINA_PORT)');
    expect(await refused([], { MARINA_LINGER: '-1' })).toContain('option --linger is "-1"; expected a number in [0, ');
  });

  it('a flag outranks the variable, and the message names the flag', async () => {
    const err = await refused(['--clients', '2000000'], { MARINA_CLIENTS: '3' });
    expect(err).toContain('config field "clients" is "2000000"; expected an integer in [1, 1048576] (from flag --clients)');
  });
});

describe('a good configuration', () => {
  it('file, variables and flags combine; another command\'s variable is ignored (local\'s clients inherit MARINA_ROUNDS)', async () => {
    const path = file('good.yaml', 'clients: 2\ndim: 16\nstop-at-target: false\n');
    const r = await marina(['local', '--config', path, '--seed', '7', '--json'], { env: { MARINA_ROUNDS: '12', MARINA_DIM: '24' }, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { config: Record<string, unknown>; totals: { rounds: number } };
    expect(summary.config).toMatchObject({ clients: 2, dim: 24, rounds: 12, seed: 7, stopAtTarget: false });
    expect(summary.totals.rounds).toBe(12);
  });
});
