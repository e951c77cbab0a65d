import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { compressors, methods, problems } from '@marina/core';
import { givenFields, resolveWithSource, withRunOptions } from '../options.js';
import { MARINA_BIN } from '../runs.js';
import { expandGrid, parseIntList, parseNameList, type GridPoint } from '../sweep/grid.js';
import { keepSteps, type KeepRule, type RunOutcome } from '../sweep/keep.js';
import { abortOnSignals, jobsOf, pool, runMarina } from '../sweep/pool.js';
import { SweepFolder, type SweepRecord } from '../sweep/folder.js';
import { sweepTable } from '../sweep/table.js';
import { UsageError, type Args } from './common.js';

/**
 * `marina sweep`: the papers' protocol on a grid (problems × methods × compressors × step multipliers 2^k of
 * the theoretical step × seeds) under one budget of bits per client. Each run is a `marina sim` (or, with
 * --network, `marina local`) child process writing its own run folder; up to --jobs run at once. A sweep
 * killed midway resumes: runs with a summary.json are kept, the others run again. For each (problem,
 * method, compressor) it keeps the step the papers keep (--keep) and writes sweep.json and summary.md.
 */
export const sweepCommand: CommandModule = {
  command: 'sweep',
  describe: 'a grid of runs (problems × methods × compressors × 2^k steps × seeds) under a bit budget; keeps each pair\'s best step',
  builder: (y) =>
    withRunOptions(y).options({
      out: { type: 'string', demandOption: true, describe: 'sweep folder (created; an existing one is resumed)', group: 'Sweep:' },
      problems: { type: 'string', describe: 'problems, comma-separated (default: --problem)', group: 'Sweep:' },
      methods: { type: 'string', describe: 'methods, comma-separated (default: --method)', group: 'Sweep:' },
      compressors: { type: 'string', describe: 'compressors, comma-separated (default: --compressor)', group: 'Sweep:' },
      steps: { type: 'string', default: '0..4', describe: 'exponents k of the step multipliers 2^k × the theoretical step: a list or a range a..b', group: 'Sweep:' },
      seeds: { type: 'string', default: '1', describe: 'seeds, a list or a range a..b', group: 'Sweep:' },
      keep: { type: 'string', choices: ['best', 'largest-converging'], default: 'best', describe: 'best: smallest median ‖∇f‖² at the budget (SPEC D.1); largest-converging: the largest step whose median run converges (D.4)', group: 'Sweep:' },
      jobs: { type: 'number', default: availableParallelism(), describe: 'runs at once (default: the cores)', group: 'Sweep:' },
      network: { type: 'boolean', default: false, describe: 'run each as a local cluster (marina local) instead of in-process', group: 'Sweep:' },
      quiet: { type: 'boolean', default: false, describe: 'no progress lines', group: 'Output:' },
      json: { type: 'boolean', default: false, describe: 'print sweep.json instead of the table', group: 'Output:' },
    }),
  handler: async (a) => {
    const given = givenFields(a);
    // The papers compare ‖∇f‖² at a budget: runs go on past the target unless told otherwise.
    given['stopAtTarget'] ??= false;
    const base = resolveWithSource(given, a);
    const spec = {
      problems: listOf(a, 'problems', base.problem, Object.keys(problems)),
      methods: listOf(a, 'methods', base.method, Object.keys(methods)),
      compressors: listOf(a, 'compressors', base.compressor, Object.keys(compressors)),
      stepExps: ints(a, 'steps'),
      seeds: ints(a, 'seeds'),
    };
    const jobs = jobsOf(a['jobs']);
    const { points, refused } = expandGrid(given, spec);
    if (points.length === 0) throw new UsageError(`the grid has no runnable point: ${refused.map((r) => `${r.label}: ${r.why}`).join('; ')}`);
    const folder = new SweepFolder(resolve(String(a['out'])));
    const keep = a['keep'] as KeepRule;
    const record: SweepRecord = { grid: { ...spec, base: given, network: a['network'] === true }, keep, runs: [], refused, failed: [], kept: [], keptSteps: [] };
    const say = (line: string) => {
      if (!a['quiet']) process.stderr.write(`${line}\n`);
    };

    for (const p of points) folder.writeConfig(p);
    const pending: GridPoint[] = [];
    for (const p of points) {
      const done = folder.outcome(p, 0);
      if (done) record.runs.push(done);
      else pending.push(p);
    }
    say(`sweep: ${points.length} runs (${record.runs.length} already done, ${refused.length} refused by the configuration), ${Math.min(jobs, Math.max(1, pending.length))} at a time, in ${folder.dir}`);
    const finish = () => {
      record.runs.sort((x, y) => x.label.localeCompare(y.label));
      record.keptSteps = keepSteps(record.runs, keep);
      record.kept = record.keptSteps.map((k) => k.dir);
      folder.writeRecord(record);
    };
    finish();

    const started = performance.now();
    let finished = 0;
    const interrupted = await abortOnSignals(async (signal) => {
      await pool(
        pending.map((p) => async () => {
          if (signal.aborted) return;
          const command = a['network'] ? 'local' : 'sim';
          const r = await runMarina(MARINA_BIN, [command, '--config', folder.configPath(p), '--out', folder.runDir(p), '--force', '--quiet'], signal);
          const outcome = r.code === 0 || r.code === 3 ? folder.outcome(p, r.code) : null;
          if (outcome) record.runs.push(outcome);
          else if (!signal.aborted) record.failed.push({ label: p.label, status: r.code, why: r.stderr.trim().split('\n').slice(-3).join(' ') });
          finished++;
          finish();
          const eta = ((performance.now() - started) / finished) * (pending.length - finished) / 1000;
          say(`sweep: ${record.runs.length}/${points.length} runs done  ${p.label}: ${outcome ? `${outcome.stopReason.split(':')[0]}, ‖∇f‖² ${outcome.finalGradNormSq?.toExponential(3) ?? '-'}` : `failed (${r.code})`}  eta ${eta.toFixed(0)} s`);
        }),
        jobs,
      );
      return signal.aborted;
    });
    if (interrupted) {
      say(`sweep: interrupted; ${record.runs.length} of ${points.length} runs are recorded, run the same command again to resume`);
      process.exitCode = 130;
      return;
    }
    const table = sweepTable(record);
    writeFileSync(join(folder.dir, 'summary.md'), table);
    process.stdout.write(a['json'] ? JSON.stringify(record) + '\n' : table);
    if (record.failed.length > 0) {
      say(`sweep: ${record.failed.length} runs failed: ${record.failed.map((f) => `${f.label} (${f.status}): ${f.why}`).join('; ')}`);
      process.exitCode = 1;
    }
  },
};

function listOf(a: Args, flag: string, fallback: string, known: string[]): string[] {
  const v = a[flag];
  try {
    return v === undefined ? [fallback] : parseNameList(flag, String(v), known);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function ints(a: Args, flag: string): number[] {
  try {
    return parseIntList(flag, String(a[flag]));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export type { RunOutcome };
