import { spawn } from 'node:child_process';
import { UsageError } from '../commands/common.js';

/** What one `marina` child process ended with. */
export interface ChildResult {
  code: number;
  stderr: string;
}

/** Runs `marina args…` as a child process (the sweep's unit of work: a crash or a kill takes one run only). */
export function runMarina(bin: string, args: string[], signal: AbortSignal): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.on('data', (d) => {
      // Keep the tail only: a failing run's last lines say why.
      stderr = (stderr + String(d)).slice(-4000);
    });
    child.on('error', (e) => {
      if ((e as { name?: string }).name !== 'AbortError') stderr += e.message;
    });
    child.on('close', (code, sig) => resolve({ code: code ?? (sig ? 128 : 1), stderr }));
  });
}

/** Runs `tasks` with at most `jobs` at a time, in order of submission; resolves when all have settled. */
export async function pool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, tasks.length)) }, worker));
  return results;
}

/** --jobs, the pool's width: an integer in [1, 256]. */
export function jobsOf(given: unknown): number {
  const jobs = Number(given);
  if (!(Number.isInteger(jobs) && jobs >= 1 && jobs <= 256)) throw new UsageError(`--jobs is ${JSON.stringify(given)}; expected an integer in [1, 256]`);
  return jobs;
}

/**
 * Runs `body` with a signal that SIGINT or SIGTERM aborts: the pool starts no more tasks and runMarina kills the
 * children running, so the caller records what finished and says how to resume.
 */
export async function abortOnSignals<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body(abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
