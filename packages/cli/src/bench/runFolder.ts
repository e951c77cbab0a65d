import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundRecord, RunSummary } from '@marina/core';

/**
 * What the bench reads back from a run folder (rounds.jsonl, summary.json): the run's own round records and
 * targets, so its figures are in-run time (the coordinator's clock from round 0's start), never process time.
 */
export interface FinishedRun {
  records: RoundRecord[];
  summary: RunSummary;
}

export function readRun(dir: string): FinishedRun {
  const lines = readFileSync(join(dir, 'rounds.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
  return { records: lines.map((l) => JSON.parse(l) as RoundRecord), summary: JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary };
}

/** Rounds per in-run second: records over the last record's `seconds` (round 0's start to the last round's end). */
export function inRunRate(run: FinishedRun): number {
  return run.records.length / run.records[run.records.length - 1]!.seconds;
}

/**
 * In-run seconds to the relative target: the `seconds` of the round summary.json names as the first evaluated
 * round that met it (that round's end: its evaluation of x^t came in with it). Null if it was not reached.
 */
export function secondsToTarget(run: FinishedRun): { seconds: number; round: number } | null {
  const target = run.summary.targets.find((t) => t.kind === 'relative');
  if (!target?.reached || target.round === null) return null;
  const record = run.records.find((r) => r.round === target.round);
  return record ? { seconds: record.seconds, round: target.round } : null;
}

/** Uplink wire bytes over algorithm bits of the whole run (round 0 included), from the ledger's totals. */
export function runWireOverBits(run: FinishedRun): number {
  const t = run.summary.totals;
  return (8 * t.wireBytesUp) / (t.bitsPerClient * run.summary.config.clients);
}
