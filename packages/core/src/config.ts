import { ProtocolError } from '@marina/protocol';
import { compressors } from './compressors/registry.js';
import { methods } from './methods/registry.js';

/**
 * The run configuration: one door for flags, config files, environment variables and the welcome message
 * (STYLE lesson 9). Defaults live in one literal; `resolveConfig` merges once, validates every field with a
 * message naming the field, the value and the allowed range, and returns a fully filled object.
 */
export interface RunConfig {
  method: string;
  compressor: string;
  clients: number;
  dim: number;
  /** s of SPEC D.1: spread of client curvatures. */
  noise: number;
  lambda: number;
  /** `theory`, a multiple of it such as `4x`, or a positive number. */
  step: string;
  /** `auto` (decision 9), `zeta` (ζ_Q/d), or a number in (0, 1]. */
  p: string;
  rounds: number;
  /** Algorithm bits per client, round 0 included; the run stops once the mean over clients reaches this. */
  budgetBits: number | null;
  /** Absolute target on ‖∇f(x^t)‖². */
  target: number | null;
  /** Target relative to ‖∇f(x⁰)‖². */
  targetRel: number | null;
  /** Stop as soon as the target is reached. */
  stopAtTarget: boolean;
  seed: number;
  evalEvery: number;
  /** Decision 5. */
  constants: 'default' | 'paper';
  /** RandK/TopK: coordinates kept (null: ⌊d/n⌋, at least 1). */
  k: number | null;
  /** Dithering levels s (decision 16). */
  levels: number;
  /** Dithering norm: a number ≥ 1, or "inf". */
  norm: string;
  /** PP-MARINA: clients sampled on compressed rounds (null: all). */
  participants: number | null;
  /** VR-MARINA: minibatch size b'. */
  batch: number;
  /** VR-MARINA on the default problem: components per client m (decision 22). */
  samples: number;
  /** VR-MARINA on the default problem: component spread σ (decision 22). */
  componentNoise: number;
  /** DIANA: shift step α (null: 1/(ω+1)). */
  alpha: number | null;
}

export const DEFAULT_CONFIG: RunConfig = {
  method: 'marina',
  compressor: 'cq',
  clients: 8,
  dim: 64,
  noise: 0,
  lambda: 0.001,
  step: 'theory',
  p: 'auto',
  rounds: 5000,
  budgetBits: null,
  target: null,
  targetRel: 1e-6,
  stopAtTarget: true,
  seed: 1,
  evalEvery: 1,
  constants: 'default',
  k: null,
  levels: 4,
  norm: '2',
  participants: null,
  batch: 1,
  samples: 8,
  componentNoise: 0.5,
  alpha: null,
};

type Parser<T> = (v: unknown) => T;

const fail = (field: string, value: unknown, expected: string): never => {
  throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `config field "${field}" is ${JSON.stringify(value)}; expected ${expected}`, { field, value });
};

const num = (v: unknown): number => (typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : NaN);

const int = (field: string, min: number, max: number): Parser<number> => (v) => {
  const x = num(v);
  return Number.isInteger(x) && x >= min && x <= max ? x : fail(field, v, `an integer in [${min}, ${max}]`);
};
const real = (field: string, min: number, max: number, open = false): Parser<number> => (v) => {
  const x = num(v);
  return Number.isFinite(x) && (open ? x > min : x >= min) && x <= max ? x : fail(field, v, `a number in ${open ? '(' : '['}${min}, ${max}]`);
};
const nullable = <T>(p: Parser<T>): Parser<T | null> => (v) => (v === null || v === undefined || v === 'null' ? null : p(v));
const oneOf = (field: string, choices: () => string[]): Parser<string> => (v) =>
  typeof v === 'string' && choices().includes(v) ? v : fail(field, v, `one of ${choices().join(', ')}`);
const bool = (field: string): Parser<boolean> => (v) =>
  v === true || v === 'true' ? true : v === false || v === 'false' ? false : fail(field, v, 'true or false');

const stepParser: Parser<string> = (v) => {
  const s = String(v).trim();
  if (s === 'theory') return s;
  const m = /^([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)x$/i.exec(s);
  if (m && Number(m[1]) > 0) return `${Number(m[1])}x`;
  const x = num(v);
  return Number.isFinite(x) && x > 0 ? String(x) : fail('step', v, '"theory", a positive multiple such as "4x", or a positive number');
};
const pParser: Parser<string> = (v) => {
  const s = String(v).trim();
  if (s === 'auto' || s === 'zeta') return s;
  const x = num(v);
  return Number.isFinite(x) && x > 0 && x <= 1 ? String(x) : fail('p', v, '"auto", "zeta" or a number in (0, 1]');
};

/** Every field's parser; the keys are the only fields a configuration may have. */
const FIELDS: { [K in keyof RunConfig]: Parser<RunConfig[K]> } = {
  method: oneOf('method', () => Object.keys(methods)),
  compressor: oneOf('compressor', () => Object.keys(compressors)),
  clients: int('clients', 1, 4096),
  dim: int('dim', 1, 1 << 24),
  noise: real('noise', 0, 100),
  lambda: real('lambda', 0, 1e6),
  step: stepParser,
  p: pParser,
  rounds: int('rounds', 1, 1e9),
  budgetBits: nullable(real('budgetBits', 0, Number.MAX_VALUE, true)),
  target: nullable(real('target', 0, Number.MAX_VALUE, true)),
  targetRel: nullable(real('targetRel', 0, Number.MAX_VALUE, true)),
  stopAtTarget: bool('stopAtTarget'),
  seed: int('seed', 0, 0xffffffff),
  evalEvery: int('evalEvery', 1, 1e9),
  constants: oneOf('constants', () => ['default', 'paper']) as Parser<RunConfig['constants']>,
  k: nullable(int('k', 1, 1 << 24)),
  levels: int('levels', 1, 1 << 15),
  norm: (v) => {
    const s = String(v).trim().toLowerCase();
    if (s === 'inf' || s === 'infinity') return 'inf';
    const x = num(v);
    return Number.isFinite(x) && x >= 1 ? String(x) : fail('norm', v, 'a number ≥ 1 or "inf"');
  },
  participants: nullable(int('participants', 1, 4096)),
  batch: int('batch', 1, 1 << 20),
  samples: int('samples', 2, 1 << 20),
  componentNoise: real('componentNoise', 0, 100),
  alpha: nullable(real('alpha', 0, 1, true)),
};

export const CONFIG_FIELDS = Object.keys(FIELDS) as (keyof RunConfig)[];

/** Merges `partial` over the defaults and validates every field; unknown fields are refused by name. */
export function resolveConfig(partial: Record<string, unknown>): RunConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in FIELDS)) {
      throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `unknown config field "${key}"; known fields: ${CONFIG_FIELDS.join(', ')}`, { field: key });
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of CONFIG_FIELDS) {
    const given = partial[key];
    out[key] = given === undefined ? DEFAULT_CONFIG[key] : (FIELDS[key] as Parser<unknown>)(given);
  }
  const cfg = out as unknown as RunConfig;
  if (cfg.target !== null && cfg.targetRel !== null && partial['target'] !== undefined && partial['targetRel'] !== undefined) {
    throw new ProtocolError('MARINA_ERR_BAD_CONFIG', 'config fields "target" and "targetRel" exclude each other; give one', { field: 'target' });
  }
  if (partial['target'] !== undefined && partial['targetRel'] === undefined) cfg.targetRel = null;
  if (cfg.k !== null && cfg.k > cfg.dim) fail('k', cfg.k, `an integer in [1, dim = ${cfg.dim}] (RandK/TopK keep k of the d coordinates)`);
  // Cross-field ranges of PP-MARINA (decision 14) and VR-MARINA's finite sums (decision 22).
  if (cfg.participants !== null && cfg.participants > cfg.clients) fail('participants', cfg.participants, `an integer in [1, clients = ${cfg.clients}]`);
  if (cfg.samples % 2 !== 0) fail('samples', cfg.samples, 'an even integer ≥ 2 (the components come in ±σ pairs, decision 22)');
  if (cfg.batch > cfg.samples) fail('batch', cfg.batch, `an integer in [1, samples = ${cfg.samples}] (the minibatch is drawn without replacement)`);
  return cfg;
}
