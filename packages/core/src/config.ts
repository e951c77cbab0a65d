import { ProtocolError } from '@marina/protocol';
import { compressors } from './compressors/registry.js';
import { methods } from './methods/registry.js';
import { problems } from './problems/registry.js';
import { failOption, parseOption, type OptionSpec, type OptionSpecs, type OptionValue } from './options.js';

/**
 * The run configuration: one door for flags, config files, environment variables and the join messages
 * (STYLE lesson 9). The run's own fields are declared below; every other field is an option declared by a
 * problem, compressor or method of the registries (`options.ts`). `resolveConfig` merges once, validates every
 * field with a message naming the field, the value and the allowed range, and returns a fully filled object.
 */
export interface RunConfig {
  readonly [option: string]: OptionValue;
  readonly problem: string;
  readonly method: string;
  readonly compressor: string;
  readonly clients: number;
  /** `theory`, a multiple of it such as `4x`, or a positive number. */
  readonly step: string;
  /** `auto` (decision 9), `zeta` (ζ_Q/d), or a number in (0, 1]. */
  readonly p: string;
  readonly rounds: number;
  /** Algorithm bits per client, round 0 included; the run stops once the mean over clients reaches this. */
  readonly budgetBits: number | null;
  /** Absolute target on ‖∇f(x^t)‖². */
  readonly target: number | null;
  /** Target relative to ‖∇f(x⁰)‖². */
  readonly targetRel: number | null;
  readonly stopAtTarget: boolean;
  readonly seed: number;
  /** Which rounds are evaluated (evalSchedule.ts): `auto` (log-spaced, dense near a target) or every k-th. */
  readonly evalEvery: number | 'auto';
  /** Decision 5. */
  readonly constants: 'default' | 'paper';
  /** A LIBSVM (or IDX) file every party sees at the same path; each client reads only its rank's part (null: none). */
  readonly data: string | null;
  /** Feature count of the data (null: inferred from the file, the largest index). */
  readonly features: number | null;
  /** How rows are split among clients: the papers' equal contiguous parts, or a seeded shuffle. */
  readonly shard: 'contiguous' | 'shuffled';
  /** A held-out file the server evaluates test loss and accuracy on (telemetry; null: none). */
  readonly testData: string | null;
}

const stepOption: OptionSpec = {
  type: 'string',
  default: 'theory',
  expects: '"theory", a positive multiple such as "4x", or a positive number',
  parse: (v, field) => {
    const s = String(v).trim();
    if (s === 'theory') return s;
    const m = /^([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)x$/i.exec(s);
    if (m && Number(m[1]) > 0) return `${Number(m[1])}x`;
    const x = typeof v === 'number' ? v : s === '' ? NaN : Number(s);
    return Number.isFinite(x) && x > 0 ? String(x) : failOption(field, v, '"theory", a positive multiple such as "4x", or a positive number');
  },
  help: 'step size: "theory", a multiple such as "4x", or a number',
};

const evalEveryOption: OptionSpec = {
  type: 'string',
  default: 'auto',
  expects: '"auto" or a whole number of rounds in [1, 1000000000]',
  parse: (v, field) => {
    if (String(v).trim() === 'auto') return 'auto';
    const k = typeof v === 'number' ? v : String(v).trim() === '' ? NaN : Number(v);
    return Number.isInteger(k) && k >= 1 && k <= 1e9 ? k : failOption(field, v, '"auto" or a whole number of rounds in [1, 1000000000]');
  },
  help: 'evaluate ‖∇f‖² and f (telemetry): "auto" (every round below 16, then 8 per doubling, every round near a target) or every k rounds; the last round always',
};

const pOption: OptionSpec = {
  type: 'string',
  default: 'auto',
  expects: '"auto", "zeta" or a number in (0, 1]',
  parse: (v, field) => {
    const s = String(v).trim();
    if (s === 'auto' || s === 'zeta') return s;
    const x = typeof v === 'number' ? v : s === '' ? NaN : Number(s);
    return Number.isFinite(x) && x > 0 && x <= 1 ? String(x) : failOption(field, v, '"auto", "zeta" or a number in (0, 1]');
  },
  help: 'MARINA coin probability: "auto" (minimise predicted bits, decision 9), "zeta", or a number in (0, 1]',
};

const choice = (choices: () => string[], def: string, help: string): OptionSpec => ({
  type: 'choice',
  default: def,
  get choices() {
    return choices();
  },
  help,
});

/** The run's own fields (the registries' options are added to these). */
export const RUN_OPTIONS: OptionSpecs = {
  problem: choice(() => Object.keys(problems), 'quadratic', 'problem (registry)'),
  method: choice(() => Object.keys(methods), 'marina', 'optimisation method (registry)'),
  compressor: choice(() => Object.keys(compressors), 'cq', 'compressor (registry)'),
  clients: { type: 'int', default: 8, min: 1, max: 1 << 20, help: 'number of clients n (in-process and per process, memory is O(n·d): each client holds a few d-vectors)' },
  step: stepOption,
  p: pOption,
  rounds: { type: 'int', default: 5000, min: 1, max: 1e9, help: 'maximum number of rounds (round 0 included)' },
  budgetBits: { type: 'real', default: null, nullable: true, min: 0, openMin: true, max: Number.MAX_VALUE, help: 'stop once the mean algorithm bits per client reach this (round 0 included)' },
  target: { type: 'real', default: null, nullable: true, min: 0, openMin: true, max: Number.MAX_VALUE, help: 'target on ‖∇f(x)‖² (absolute)' },
  targetRel: { type: 'real', default: 1e-6, nullable: true, unset: 'none (with --target)', min: 0, openMin: true, max: Number.MAX_VALUE, help: 'target on ‖∇f(x)‖² relative to ‖∇f(x⁰)‖²' },
  stopAtTarget: { type: 'bool', default: true, help: 'stop as soon as every target is reached' },
  seed: { type: 'int', default: 1, min: 0, max: 0xffffffff, help: 'run seed (all randomness derives from it)' },
  evalEvery: evalEveryOption,
  constants: choice(() => ['default', 'paper'], 'default', 'theory constants convention for CQ/IQ: default (MSE bounds) or paper (4× smaller), decision 5'),
  data: { type: 'string', default: null, nullable: true, help: 'LIBSVM/svmlight file (plain or gzip; IDX for autoencoder) seen by every party at this path; each client reads its rank\'s part' },
  features: { type: 'int', default: null, nullable: true, unset: 'inferred from the file', min: 1, max: 1 << 24, help: 'feature count of the data (default: the largest index in the file); give it when clients hold their own files' },
  shard: choice(() => ['contiguous', 'shuffled'], 'contiguous', 'how --data rows are split: equal contiguous parts (the papers), or a seeded shuffle'),
  testData: { type: 'string', default: null, nullable: true, help: 'held-out LIBSVM file: the server reports test loss and accuracy (telemetry)' },
};

/** Where an option is declared: by the run itself, or by which registry entries (`problem:logreg`, …). */
export interface DeclaredOption {
  name: string;
  /** One declaration per owner; the first is used when no selected entry declares the option. */
  declarations: { owner: string; spec: OptionSpec }[];
}

/** Every option of the run and of all registry entries, by name (generated: CLI flags, help, env, files). */
export function declaredOptions(): Map<string, DeclaredOption> {
  const out = new Map<string, DeclaredOption>();
  const add = (owner: string, specs: OptionSpecs) => {
    for (const [name, spec] of Object.entries(specs)) {
      const entry = out.get(name) ?? { name, declarations: [] };
      entry.declarations.push({ owner, spec });
      out.set(name, entry);
    }
  };
  add('run', RUN_OPTIONS);
  for (const [name, p] of Object.entries(problems)) add(`problem:${name}`, p.options);
  for (const [name, m] of Object.entries(methods)) add(`method:${name}`, m.options);
  for (const [name, c] of Object.entries(compressors)) add(`compressor:${name}`, c.options);
  return out;
}

/** Every field a configuration may have. */
export function configFields(): string[] {
  return [...declaredOptions().keys()];
}

/**
 * Merges `partial` over the defaults and validates every field; unknown fields are refused by name. An
 * option declared by several entries (`lambda`, `k`) takes the declaration, default and range of the
 * selected problem, method or compressor.
 */
export function resolveConfig(partial: Record<string, unknown>): RunConfig {
  const declared = declaredOptions();
  for (const key of Object.keys(partial)) {
    if (!declared.has(key)) {
      throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `unknown config field "${key}"; known fields: ${[...declared.keys()].join(', ')}`, { field: key });
    }
  }
  const out: Record<string, OptionValue> = {};
  const take = (name: string, spec: OptionSpec) => {
    const given = partial[name];
    out[name] = given === undefined ? spec.default : parseOption(name, spec, given);
  };
  for (const [name, spec] of Object.entries(RUN_OPTIONS)) take(name, spec);
  const selected = [`problem:${out['problem']}`, `method:${out['method']}`, `compressor:${out['compressor']}`];
  for (const [name, d] of declared) {
    if (name in RUN_OPTIONS) continue;
    const spec = (d.declarations.find((x) => selected.includes(x.owner)) ?? d.declarations[0]!).spec;
    take(name, spec);
  }
  if (partial['target'] !== undefined && partial['targetRel'] !== undefined && out['target'] !== null && out['targetRel'] !== null) {
    throw new ProtocolError('MARINA_ERR_BAD_CONFIG', 'config fields "target" and "targetRel" exclude each other; give one', { field: 'target' });
  }
  if (partial['target'] !== undefined && partial['targetRel'] === undefined) out['targetRel'] = null;
  const problem = problems[out['problem'] as string]!;
  methods[out['method'] as string]!.validate?.(out);
  if (problem.data === 'none' && out['data'] !== null) failOption('data', out['data'], `no data file: problem "${problem.name}" is generated (choose a data problem: ${dataProblems().join(', ')})`);
  return out as RunConfig;
}

/** Problems that read data files. */
export function dataProblems(): string[] {
  return Object.values(problems).filter((p) => p.data !== 'none').map((p) => p.name);
}
