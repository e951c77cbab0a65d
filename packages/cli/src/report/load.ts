import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary } from '@marina/core';
import { UsageError } from '../commands/common.js';

/** The fields of one rounds.jsonl line that the report reads (README "Outputs"). */
export interface ReportRound {
  round: number;
  /** ‖∇f(x^t)‖², or null when round t was not evaluated. */
  gradNormSq: number | null;
  /** Algorithm bits of all clients that sent in round t. */
  bitsUp: number;
  /** Bytes of round t's uplink WebSocket frames over all sockets. */
  wireBytesUp: number;
}

/** One run folder, read and checked. */
export interface LoadedRun {
  dir: string;
  summary: RunSummary;
  rounds: ReportRound[];
}

/** Reads `dir`'s summary.json and rounds.jsonl; a bad field is a UsageError naming the file, line and field. */
export function loadRun(dir: string): LoadedRun {
  const summary = readSummary(join(dir, 'summary.json'));
  const rounds = readRounds(join(dir, 'rounds.jsonl'));
  return { dir, summary, rounds };
}

/**
 * Parses rounds.jsonl: one JSON object per line, rounds numbered 0, 1, … in order (the report sums the
 * costs of rounds 0..t−1, so a gap would silently undercount). Blank lines are not allowed except at the end.
 */
export function readRounds(file: string): ReportRound[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw new UsageError(`${file} holds no rounds`);
  return lines.map((text, i) => {
    const where = `${file} line ${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${where} is not JSON (${(e as Error).message})`);
    }
    if (!isObject(row)) throw new UsageError(`${where} is ${JSON.stringify(row)}; expected a JSON object`);
    const round = row['round'];
    if (round !== i) throw new UsageError(`${where}: "round" is ${JSON.stringify(round)}; expected ${i} (one line per round, from round 0, in order)`);
    const gradNormSq = row['gradNormSq'];
    if (!(gradNormSq === null || isNonNegative(gradNormSq))) throw new UsageError(`${where}: "gradNormSq" is ${JSON.stringify(gradNormSq)}; expected a number ≥ 0 or null`);
    return { round, gradNormSq, bitsUp: nonNegative(row, 'bitsUp', where), wireBytesUp: nonNegative(row, 'wireBytesUp', where) };
  });
}

/** Parses summary.json and checks the fields the report reads. */
export function readSummary(file: string): RunSummary {
  const s = readJsonObject(file);
  const config = field(s, 'config', isObject, 'an object', file);
  for (const k of ['problem', 'method', 'compressor']) field(config, k, isString, 'a string', file, 'config.');
  field(config, 'clients', (v) => Number.isInteger(v) && (v as number) >= 1, 'a positive integer', file, 'config.');
  field(s, 'd', (v) => v === null || isNonNegative(v), 'a number or null', file);
  const theory = field(s, 'theory', (v): v is Record<string, unknown> | null => v === null || isObject(v), 'an object or null', file);
  if (theory !== null) for (const k of ['p', 'gamma']) field(theory, k, isNonNegative, 'a number ≥ 0', file, 'theory.');
  const totals = field(s, 'totals', isObject, 'an object', file);
  field(totals, 'rounds', isNonNegative, 'a number ≥ 0', file, 'totals.');
  const targets = field(s, 'targets', (v): v is unknown[] => Array.isArray(v), 'an array', file);
  targets.forEach((t, i) => {
    if (!isObject(t)) throw new UsageError(`${file}: targets[${i}] is ${JSON.stringify(t)}; expected an object`);
    const at = `targets[${i}].`;
    field(t, 'kind', (v) => v === 'absolute' || v === 'relative', '"absolute" or "relative"', file, at);
    field(t, 'value', isNonNegative, 'a number ≥ 0', file, at);
    field(t, 'reached', (v) => typeof v === 'boolean', 'a boolean', file, at);
    for (const k of ['round', 'bitsPerClient', 'wireBytesUp']) field(t, k, (v) => v === null || isNonNegative(v), 'a number ≥ 0 or null', file, at);
  });
  field(s, 'stopReason', isString, 'a string', file);
  const final = field(s, 'final', isObject, 'an object', file);
  field(final, 'gradNormSq', (v) => v === null || isNonNegative(v), 'a number ≥ 0 or null', file, 'final.');
  return s as unknown as RunSummary;
}

/** A JSON file that must hold an object; anything else is a UsageError naming the file. */
export function readJsonObject(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(parsed)) throw new UsageError(`${file}: expected a JSON object`);
  return parsed;
}

function field<T>(obj: Record<string, unknown>, key: string, ok: (v: unknown) => v is T, expected: string, file: string, prefix?: string): T;
function field(obj: Record<string, unknown>, key: string, ok: (v: unknown) => boolean, expected: string, file: string, prefix?: string): unknown;
function field(obj: Record<string, unknown>, key: string, ok: (v: unknown) => boolean, expected: string, file: string, prefix = ''): unknown {
  const v = obj[key];
  if (!ok(v)) throw new UsageError(`${file}: ${prefix}${key} is ${v === undefined ? 'missing' : JSON.stringify(v)}; expected ${expected}`);
  return v;
}

function nonNegative(row: Record<string, unknown>, key: string, where: string): number {
  const v = row[key];
  if (!isNonNegative(v)) throw new UsageError(`${where}: "${key}" is ${v === undefined ? 'missing' : JSON.stringify(v)}; expected a number ≥ 0`);
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
