import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { marina, MARINA, tempDir } from './helpers/cli.js';
import { isAlive } from './helpers/exec.js';

/** What an operator can get wrong is a one-line error with exit status 2, not a stack trace. */
describe('clean failures for the operator', () => {
  it('a port in use, a --host that is not this machine\'s, and an --out that names a file', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const inUse = await marina(['server', '--port', String(port), '--host', '127.0.0.1']);
      expect(inUse.code).toBe(2);
      expect(inUse.stderr.trim()).toBe(`marina: port ${port} on 127.0.0.1 is in use (another marina server?): choose another --port, or --port 0 for any free one`);
    } finally {
      busy.close();
    }
    // Without a secret a non-loopback --host is refused before listening (test/security.test.ts); --insecure lets
    // it through to the listen, which fails on an address that is not this machine's.
    const host = await marina(['server', '--port', '0', '--host', '203.0.113.7', '--insecure']);
    expect(host.code).toBe(2);
    expect(host.stderr).toMatch(/^marina: --host 203\.0\.113\.7 is not an address of this machine: use 127\.0\.0\.1 \(this machine only\), 0\.0\.0\.0 \(every interface; with --secret-file, or --insecure\) or one of .*127\.0\.0\.1/);
    expect(host.stderr.trim().split('\n')).toHaveLength(1);
    const file = join(tempDir('operator'), 'a-file');
    writeFileSync(file, 'x');
    for (const cmd of [['server', '--port', '0', '--host', '127.0.0.1'], ['sim']]) {
      const out = await marina([...cmd, '--out', file]);
      expect(out.code).toBe(2);
      expect(out.stderr.trim()).toBe(`marina: --out ${file} is a file, not a folder: name a folder to create (or an empty one)`);
    }
  });

  it('marina local killed by SIGKILL leaves no client processes behind', async () => {
    const local = spawn(process.execPath, [MARINA, 'local', '--clients', '3', '--processes', '3', '--rounds', '1000000', '--stop-at-target', 'false', '--quiet'], { stdio: 'ignore' });
    const clients = (): number[] => {
      try {
        return execFileSync('pgrep', ['-P', String(local.pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    };
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pids = clients();
    }
    expect(pids).toHaveLength(3);
    local.kill('SIGKILL');
    for (let i = 0; i < 50 && pids.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
