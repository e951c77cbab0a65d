import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CoordinatorCheckpoint, RunConfig, ShardFacts } from '@marina/core';
import { writeJsonAtomic } from './runFolder.js';

/**
 * A run's checkpoint file (`checkpoint.json` in the run folder, written atomically: temp file, fsync, rename):
 * the configuration, what each rank reported when it joined, and the coordinator between two rounds. Vectors
 * are stored as base64 of their little-endian float64 bytes, so a resumed run continues bit for bit.
 */
export interface CheckpointFile {
  format: 'marina-checkpoint/1';
  runId: string;
  config: RunConfig;
  facts: ShardFacts[];
  coordinator: CoordinatorCheckpoint;
}

export const CHECKPOINT_NAME = 'checkpoint.json';

/** The checkpoint cannot be used (missing, malformed, another run): the operator can fix it (exit 2). */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function writeCheckpoint(dir: string, file: CheckpointFile): void {
  writeJsonAtomic(join(dir, CHECKPOINT_NAME), file, (_key, value: unknown) => (value instanceof Float64Array ? { f64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') } : value));
}

/** Reads and checks a run folder's checkpoint: every field typed, every vector of the run's d. */
export function readCheckpoint(dir: string): CheckpointFile {
  const path = join(dir, CHECKPOINT_NAME);
  if (!existsSync(path)) throw new CheckpointError(`--resume ${dir}: no ${CHECKPOINT_NAME} there (the server writes one every --checkpoint-every rounds and when it is stopped by a signal)`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'), (_key, v: unknown) => {
      if (v !== null && typeof v === 'object' && typeof (v as { f64?: unknown }).f64 === 'string' && Object.keys(v).length === 1) {
        const bytes = Buffer.from((v as { f64: string }).f64, 'base64');
        if (bytes.length % 8 !== 0) throw new Error('a vector is not a whole number of float64 values');
        return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      }
      return v;
    });
  } catch (e) {
    throw new CheckpointError(`${path} is not a readable checkpoint: ${(e as Error).message}`);
  }
  const f = value as Partial<CheckpointFile>;
  if (f === null || typeof f !== 'object' || f.format !== 'marina-checkpoint/1' || !f.config || !Array.isArray(f.facts) || !f.coordinator) {
    throw new CheckpointError(`${path} is not a marina checkpoint (format marina-checkpoint/1)`);
  }
  const c = f.coordinator;
  if (!(Number.isInteger(c.round) && c.round >= 0 && c.xPrev instanceof Float64Array && c.vectors && typeof c.vectors === 'object')) {
    throw new CheckpointError(`${path}: the coordinator's state is malformed`);
  }
  for (const [name, v] of Object.entries(c.vectors)) {
    if (!(v instanceof Float64Array) || v.length !== c.xPrev.length) throw new CheckpointError(`${path}: vector "${name}" is malformed`);
  }
  // The plausibility rule's bounds (absent in checkpoints written before it): one number ≥ −1 per client.
  const p = c.plausibility;
  if (p !== undefined && !(Array.isArray(p.grad) && p.grad.length === f.facts.length && p.grad.every((g) => typeof g === 'number' && g >= -1) && (p.step === null || (typeof p.step === 'number' && p.step >= 0)))) {
    throw new CheckpointError(`${path}: the plausibility bounds are malformed`);
  }
  return f as CheckpointFile;
}

/** A finished run needs no checkpoint: removed, so `--resume` on it says there is nothing to resume. */
export function removeCheckpoint(dir: string): void {
  rmSync(join(dir, CHECKPOINT_NAME), { force: true });
}
