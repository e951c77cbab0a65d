import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, writeSync } from 'node:fs';
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

  private constructor(readonly dir: string) {
    this.roundsFd = openSync(join(dir, 'rounds.jsonl'), 'w');
  }

  /** Creates `dir`; refuses a non-empty one unless `force`. */
  static open(dir: string, force: boolean): RunFolder {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new RunFolderError(`--out ${dir} is a file, not a folder: name a folder to create (or an empty one)`);
    if (existsSync(dir) && readdirSync(dir).length > 0 && !force) {
      throw new RunFolderError(`run folder ${dir} is not empty; choose another --out or pass --force`);
    }
    try {
      mkdirSync(dir, { recursive: true });
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
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
