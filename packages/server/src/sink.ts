import type { Coordinator, CoordinatorCheckpoint, RoundRecord, RunConfig, RunSummary, ShardFacts } from '@marina/core';
import { removeCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { RunFolder } from './runFolder.js';

/**
 * Where a run's outputs go (ARCHITECTURE "Outputs"): rounds.jsonl as rounds finish, checkpoint.json every
 * `checkpointEvery` rounds and when the server is stopped by a signal, summary.json at the end. The server
 * tells it what happened; it decides what is written. Without a folder (`--out` not given) it writes nothing.
 */
export class RunSink {
  /** The coordinator at the end of the last finished round: what a checkpoint writes (a round in flight is run again). */
  private last: CoordinatorCheckpoint | null = null;

  constructor(
    private readonly folder: RunFolder | null,
    private readonly run: { runId: string; config: RunConfig; facts: readonly (ShardFacts | null)[] },
    /** Write checkpoint.json every this many rounds (0: only when stopped by a signal). */
    private readonly checkpointEvery: number,
    /** Whether the method can resume at all (every built-in one can; see MethodDef.resumable). */
    private readonly resumable: boolean,
  ) {}

  /** A finished round: its line, then (every k rounds) the checkpoint of the state after it. */
  round(record: RoundRecord, coordinator: Coordinator): void {
    if (!this.folder) return;
    this.folder.appendRound(record);
    if (!this.resumable) return;
    this.last = coordinator.checkpoint();
    if (this.checkpointEvery > 0 && coordinator.roundsDone % this.checkpointEvery === 0) this.checkpoint();
  }

  /** Writes checkpoint.json (atomic) of the last finished round; false when there is none or no folder. */
  checkpoint(): boolean {
    if (!this.folder || !this.last) return false;
    writeCheckpoint(this.folder.dir, { format: 'marina-checkpoint/1', runId: this.run.runId, config: this.run.config, facts: this.run.facts as ShardFacts[], coordinator: this.last });
    return true;
  }

  /**
   * The run is ending. Stopped by a signal: the checkpoint is written (true), for `--resume`. Finished (not
   * aborted): the checkpoint goes, so `--resume` on a finished run says there is nothing to resume.
   */
  ending(aborted: boolean, bySignal: boolean): boolean {
    const saved = bySignal && this.resumable && this.checkpoint();
    this.finished = !aborted;
    return saved;
  }

  /** Whether `ending` said the run finished (its checkpoint goes once the summary is written). */
  private finished = false;

  /**
   * The summary, then rounds.jsonl synced and closed; a finished run's checkpoint is removed only after its
   * summary is written, so a crash in between leaves a folder that still resumes (`--restartable`), never one
   * that looks like a run cut before its first checkpoint.
   */
  close(summary: RunSummary & object): void {
    this.folder?.writeSummary(summary);
    this.folder?.close();
    if (this.finished && this.folder) removeCheckpoint(this.folder.dir);
  }
}
