import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundRecord, RunSummary } from '@marina/core';

/** The run folder cannot be used (not empty without --force, or not writable): the user can fix it. */
export class RunFolderError extends Error {
  override name = 'RunFolderError';
}

/**
 * A run folder (ARCHITECTURE "Outputs"): rounds.jsonl written line by line as rounds finish (so a crash
 * loses at most the round in flight) and summary.json written atomically (write, fsync, rename).
 */
export class RunFolder {
  private readonly roundsFd: number;

  private constructor(readonly dir: string, flags: 'w' | 'a' = 'w') {
    this.roundsFd = openSync(join(dir, 'rounds.jsonl'), flags);
  }

  /**
   * Reopens a run folder to resume it at `round`: rounds.jsonl keeps its lines of rounds before `round` (written
   * again atomically, so a line the crash cut in half is gone) and grows from there; summary.json of the
   * previous attempt, if any, is removed (the resumed run writes its own).
   */
  static resume(dir: string, round: number): RunFolder {
    const path = join(dir, 'rounds.jsonl');
    const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
    const kept: string[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      let r: { round?: unknown };
      try {
        r = JSON.parse(line) as { round?: unknown };
      } catch {
        break; // the half-written last line of a crash
      }
      if (typeof r.round !== 'number' || r.round >= round) break;
      kept.push(line);
    }
    if (kept.length !== round) throw new RunFolderError(`${path} holds ${kept.length} complete rounds, the checkpoint ${round}: the folder is not this checkpoint's run`);
    writeTextAtomic(path, kept.map((l) => l + '\n').join(''));
    rmSync(join(dir, 'summary.json'), { force: true });
    return new RunFolder(dir, 'a');
  }

  /** Creates `dir`; refuses a non-empty one unless `force`. */
  static open(dir: string, force: boolean): RunFolder {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new RunFolderError(`--out ${dir} is a file, not a folder: name a folder to create (or an empty one)`);
    if (existsSync(dir) && readdirSync(dir).length > 0 && !force) {
      throw new RunFolderError(`run folder ${dir} is not empty; choose another --out or pass --force`);
    }
    try {
      mkdirSync(dir, { recursive: true });
      // --force reuses the folder for a new run: the previous run's files go, so none is left beside the new ones.
      for (const name of ['summary.json', 'checkpoint.json']) rmSync(join(dir, name), { force: true });
      return new RunFolder(dir);
    } catch (e) {
      // In a container this is usually a bind mount the image's user (uid 1000) cannot write.
      const code = (e as NodeJS.ErrnoException).code;
      const fix = code === 'EACCES' || code === 'EPERM'
        ? `; make it writable by this user (uid ${process.getuid?.() ?? '?'}), e.g. \`mkdir -p ${dir} && chown ${process.getuid?.() ?? 1000} ${dir}\` (in Docker the image's user is uid 1000)`
        : '';
      throw new RunFolderError(`cannot write run folder ${dir}: ${(e as Error).message}${fix}`);
    }
  }

  appendRound(record: RoundRecord): void {
    writeSync(this.roundsFd, JSON.stringify(record) + '\n');
  }

  writeSummary(summary: RunSummary & object): void {
    writeJsonAtomic(join(this.dir, 'summary.json'), summary);
  }

  close(): void {
    fsyncSync(this.roundsFd);
    closeSync(this.roundsFd);
  }
}

/** Writes JSON to `path` atomically: a temporary file, fsync, then rename over the target. */
export function writeJsonAtomic(path: string, value: unknown, replacer?: (key: string, value: unknown) => unknown): void {
  writeTextAtomic(path, JSON.stringify(value, replacer as never, 2) + '\n');
}

/** Writes `text` to `path` atomically: a temporary file, fsync, then rename over the target. */
export function writeTextAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
