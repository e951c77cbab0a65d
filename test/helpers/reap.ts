import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach } from 'vitest';

/** What a test starts that must not outlive it: a process, or a running `marina server` (its process). */
type Started = ChildProcess | { child: ChildProcess };

/** The processes a test file started, so that a failed or timed-out test leaves none behind to hold ports or CPU. */
export interface Reaper {
  /** Tracks `started` and returns it, as in `const s = procs.add(await startServerProcess(...))`. */
  add<T extends Started>(started: T): T;
}

/**
 * Registers the file's clean-up (after each test by default, or once after all of them): every tracked process
 * still running is SIGKILLed and forgotten.
 */
export function reaper(when: 'each' | 'all' = 'each'): Reaper {
  const tracked: ChildProcess[] = [];
  (when === 'each' ? afterEach : afterAll)(() => {
    for (const c of tracked) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    tracked.length = 0;
  });
  return {
    add(started) {
      tracked.push('child' in started ? started.child : started);
      return started;
    },
  };
}
