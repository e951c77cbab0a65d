import type { Argv } from 'yargs';
import type { RunSummary } from '@marina/core';
import { describeRun } from '../table.js';
import type { ProgressMode } from '../runs.js';

export type Args = Record<string, unknown>;

/** Output flags shared by every command that runs something. */
export const outputOptions = <T>(y: Argv<T>) =>
  y.options({
    out: { type: 'string', describe: 'run folder to create (rounds.jsonl, summary.json)', group: 'Output:' },
    force: { type: 'boolean', default: false, describe: 'write into a non-empty --out folder', group: 'Output:' },
    quiet: { type: 'boolean', default: false, describe: 'no progress display, warnings only', group: 'Output:' },
    json: { type: 'boolean', default: false, describe: 'machine-readable output: progress and result as JSON lines', group: 'Output:' },
    'log-level': { type: 'string', default: 'warn', choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'], group: 'Output:' },
  });

export const progressMode = (a: Args): ProgressMode => (a['quiet'] ? 'quiet' : a['json'] ? 'json' : 'auto');

/** Prints a run's summary: readable text, or one JSON line with --json. */
export function report(a: Args, summary: RunSummary): void {
  if (a['json']) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(describeRun(summary) + '\n');
  // A diverged run is a result (summary written), told apart from success and from errors by its status.
  if (summary.stopReason.startsWith('diverged')) process.exitCode = EXIT_DIVERGED;
}

/** Exit status of a run that diverged (0: finished; 1: aborted or failed; 2: bad input). */
export const EXIT_DIVERGED = 3;

/** A wrong flag value the user can fix (exit code 2). */
export class UsageError extends Error {}
