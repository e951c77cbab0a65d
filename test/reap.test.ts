import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { reaper } from './helpers/reap.js';

/** The clean-up helper the end-to-end tests share: what a test started is SIGKILLed once it is over. */
describe('reaper', () => {
  const procs = reaper();
  const idle = () => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  let exits: Promise<NodeJS.Signals | null>[] = [];

  it('tracks processes and servers (anything with a child), and hands each back', () => {
    const plain = idle();
    const server = { child: idle(), port: 0 };
    expect(procs.add(plain)).toBe(plain);
    expect(procs.add(server)).toBe(server);
    exits = [plain, server.child].map((c) => new Promise((resolve) => c.on('exit', (_code, signal) => resolve(signal))));
  });

  it('SIGKILLed them after the test that started them', async () => {
    expect(await Promise.all(exits)).toEqual(['SIGKILL', 'SIGKILL']);
  });
});
