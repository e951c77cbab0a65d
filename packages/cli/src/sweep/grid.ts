import { resolveConfig, type RunConfig } from '@marina/core';

/** A run's place in a sweep's grid: its folder name and its value on every axis. */
export interface GridPlace {
  /** Folder name under `runs/`: every axis value, so a resumed sweep finds each run where it left it. */
  label: string;
  problem: string;
  method: string;
  compressor: string;
  /** k of the step multiplier 2^k of the theoretical step. */
  stepExp: number;
  seed: number;
}

/** One point of a sweep's grid: its place and the full run configuration there. */
export interface GridPoint extends GridPlace {
  config: RunConfig;
}

/** The axes of a sweep (SPEC D.1's protocol: theoretical step × 2^k, best kept, over seeds). */
export interface GridSpec {
  problems: string[];
  methods: string[];
  compressors: string[];
  stepExps: number[];
  seeds: number[];
}

/**
 * Every (problem, method, compressor, 2^k, seed) point over the base configuration, each resolved through the
 * one configuration door. A pair the registries refuse (a biased compressor with MARINA) is reported, not run.
 */
export function expandGrid(base: Record<string, unknown>, spec: GridSpec): { points: GridPoint[]; refused: { label: string; why: string }[] } {
  const points: GridPoint[] = [];
  const refused: { label: string; why: string }[] = [];
  for (const problem of spec.problems)
    for (const method of spec.methods)
      for (const compressor of spec.compressors)
        for (const stepExp of spec.stepExps)
          for (const seed of spec.seeds) {
            const label = [problem, method, compressor, `step2^${stepExp}`, `seed${seed}`].join('_');
            try {
              const config = resolveConfig({ ...base, problem, method, compressor, step: `${2 ** stepExp}x`, seed });
              points.push({ label, problem, method, compressor, stepExp, seed, config });
            } catch (e) {
              refused.push({ label, why: (e as Error).message });
            }
          }
  return { points, refused };
}

/** `0,1,2` or a range `-2..4` of integers. */
export function parseIntList(flag: string, text: string): number[] {
  const range = /^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$/.exec(text);
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (b < a || b - a > 64) throw new RangeError(`--${flag} ${text}: a range a..b needs a ≤ b and at most 65 values`);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const out = text.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (out.length === 0 || out.some((x) => !Number.isInteger(x))) throw new RangeError(`--${flag} is "${text}"; expected integers separated by commas, or a range such as -2..4`);
  return [...new Set(out)];
}

/** A comma-separated list of names, each one of `known`. */
export function parseNameList(flag: string, text: string, known: string[]): string[] {
  const out = [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  const bad = out.filter((s) => !known.includes(s));
  if (out.length === 0 || bad.length > 0) throw new RangeError(`--${flag}: ${bad.length ? `unknown ${bad.map((b) => `"${b}"`).join(', ')}` : 'name at least one'}; expected a comma-separated list of ${known.join(', ')}`);
  return out;
}
