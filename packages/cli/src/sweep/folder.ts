import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunSummary } from '@marina/core';
import type { GridPoint } from './grid.js';
import type { Kept, KeepRule, RunOutcome } from './keep.js';

/** sweep.json: the grid, every finished run, what was refused or failed, and the kept runs (`marina report` reads `kept`). */
export interface SweepRecord {
  grid: Record<string, unknown>;
  keep: KeepRule;
  runs: RunOutcome[];
  refused: { label: string; why: string }[];
  failed: { label: string; status: number; why: string }[];
  /** The kept run folders, relative to the sweep folder. */
  kept: string[];
  keptSteps: Kept[];
}

/** The sweep folder: `configs/LABEL.json` (each run's resolved configuration), `runs/LABEL/` (run folders), sweep.json. */
export class SweepFolder {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'configs'), { recursive: true });
    mkdirSync(join(dir, 'runs'), { recursive: true });
  }

  configPath(p: GridPoint): string {
    return join(this.dir, 'configs', `${p.label}.json`);
  }

  runDir(p: GridPoint): string {
    return join(this.dir, 'runs', p.label);
  }

  /** Writes the run's configuration; a resumed sweep with another configuration at the same label is refused. */
  writeConfig(p: GridPoint): void {
    const path = this.configPath(p);
    const text = JSON.stringify(p.config, null, 1) + '\n';
    if (existsSync(path) && readFileSync(path, 'utf8') !== text) {
      throw new SweepError(`${path} holds another configuration than this sweep's for ${p.label}: resume with the same flags, or use a new --out`);
    }
    writeFileSync(path, text);
  }

  /** The finished run's outcome, or null if it has no summary.json yet (not run, or killed mid-run). */
  outcome(p: GridPoint, status: number): RunOutcome | null {
    const path = join(this.runDir(p), 'summary.json');
    if (!existsSync(path)) return null;
    const s = JSON.parse(readFileSync(path, 'utf8')) as RunSummary;
    const first = readFirstGradNormSq(join(this.runDir(p), 'rounds.jsonl'));
    const { config: _, ...place } = p;
    return {
      ...place,
      dir: join('runs', p.label),
      stopReason: s.stopReason,
      finalGradNormSq: s.final.gradNormSq,
      initialGradNormSq: first,
      bitsPerClient: s.totals.bitsPerClient,
      status: status === 0 && s.stopReason.startsWith('diverged') ? 3 : status,
    };
  }

  /** Written atomically after every run, so a killed sweep resumes from what it records. */
  writeRecord(record: SweepRecord): void {
    const path = join(this.dir, 'sweep.json');
    const tmp = join(dirname(path), '.sweep.json.tmp');
    writeFileSync(tmp, JSON.stringify(record, null, 1) + '\n');
    renameSync(tmp, path);
  }
}

export class SweepError extends Error {
  override name = 'SweepError';
}

function readFirstGradNormSq(path: string): number | null {
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const line = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : undefined);
  try {
    const v = (JSON.parse(line) as { gradNormSq?: unknown }).gradNormSq;
    return typeof v === 'number' ? v : null;
  } catch {
    return null;
  }
}
