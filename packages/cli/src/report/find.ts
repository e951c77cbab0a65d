import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../commands/common.js';
import { readJsonObject } from './load.js';

/** A run folder: a directory holding both of these (README "Outputs"). */
export const RUN_FILES = ['summary.json', 'rounds.jsonl'] as const;

/** What `marina sweep` leaves in its folder; only `kept` is read here. */
export const SWEEP_FILE = 'sweep.json';

/** Whether `dir` holds summary.json and rounds.jsonl. */
export function isRunFolder(dir: string): boolean {
  return RUN_FILES.every((f) => existsSync(join(dir, f)));
}

/**
 * The run folders below each of `folders` (a folder may itself be a run), in a stable order (each input in
 * turn, then path order), each listed once however many inputs reach it. A folder holding `sweep.json`
 * contributes only the runs its `kept` list names (paths relative to that folder), or every run below it
 * when the file has no `kept`. A folder that yields no run is an error that names it: a mistyped path must
 * not shrink a report silently.
 */
export function findRunFolders(folders: readonly string[]): string[] {
  if (folders.length === 0) throw new UsageError('name at least one run or sweep folder');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const folder of folders) {
    const abs = resolve(folder);
    if (!existsSync(abs)) throw new UsageError(`${folder}: no such folder`);
    if (!statSync(abs).isDirectory()) throw new UsageError(`${folder} is a file; expected a run folder (summary.json and rounds.jsonl) or a folder of runs`);
    const emptySweeps: string[] = [];
    const found = walk(abs, emptySweeps);
    if (found.length === 0) {
      const why = emptySweeps.length > 0 ? `; ${emptySweeps.join(', ')} ${emptySweeps.length === 1 ? 'keeps' : 'keep'} no run ("kept": [])` : '';
      throw new UsageError(`${folder} holds no run folders (a run folder has ${RUN_FILES.join(' and ')}, as \`marina sim --out DIR\` writes)${why}`);
    }
    for (const dir of found) {
      const key = realpathSync(dir);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(dir);
    }
  }
  return out;
}

function walk(dir: string, emptySweeps: string[]): string[] {
  if (isRunFolder(dir)) return [dir];
  const sweepFile = join(dir, SWEEP_FILE);
  if (existsSync(sweepFile)) {
    const kept = readKept(sweepFile);
    if (kept !== null) {
      if (kept.length === 0) emptySweeps.push(sweepFile);
      return kept.map((rel) => keptRun(dir, rel));
    }
  }
  // Symbolic links are not followed: a link back up the tree would never end.
  const subdirs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return subdirs.flatMap((name) => walk(join(dir, name), emptySweeps));
}

/** sweep.json's `kept` (null when it has none: then every run below counts). */
function readKept(file: string): string[] | null {
  const kept = readJsonObject(file)['kept'];
  if (kept === undefined) return null;
  if (!Array.isArray(kept) || !kept.every((k) => typeof k === 'string' && k !== '')) {
    throw new UsageError(`${file}: "kept" is ${JSON.stringify(kept)}; expected an array of run folder paths relative to ${file}'s folder`);
  }
  return kept as string[];
}

function keptRun(sweepDir: string, rel: string): string {
  const dir = resolve(sweepDir, rel);
  if (!isRunFolder(dir)) {
    throw new UsageError(`${join(sweepDir, SWEEP_FILE)} keeps "${rel}", but ${dir} is not a run folder (no ${RUN_FILES.join(' and ')})`);
  }
  return dir;
}
