import { ProtocolError } from '@marina/protocol';

/**
 * Options that registry entries (problems, compressors, methods) and the run itself declare. The CLI flags,
 * `--help`, config-file validation and the MARINA_* variables are generated from these declarations
 * (ARCHITECTURE "Problems and data"; STYLE lesson 11), so adding an option touches only its entry.
 */
export type OptionValue = number | string | boolean | null;

/** A resolved configuration as registry entries read it: every option by name. */
export type ConfigValues = Readonly<Record<string, OptionValue>>;

export interface OptionSpec {
  /** How the value is typed on the command line and checked. */
  readonly type: 'int' | 'real' | 'bool' | 'string' | 'choice';
  /** The default; null means "computed" (the help says from what). */
  readonly default: OptionValue;
  /** Inclusive range for int and real (`openMin`: min excluded). */
  readonly min?: number;
  readonly max?: number;
  readonly openMin?: boolean;
  /** The allowed values of a choice. */
  readonly choices?: readonly string[];
  /** Whether null (unset) is accepted besides the type. */
  readonly nullable?: boolean;
  /** What null stands for, in words ("⌊d/n⌋", "all clients"); default "none". */
  readonly unset?: string;
  /** A parser for values with a grammar of their own (`4x`, `auto`, `inf`); returns the canonical value or throws. */
  readonly parse?: (v: unknown, field: string) => OptionValue;
  /** What the help expects, for a custom parser ("\"theory\", a multiple such as 4x, or a number"). */
  readonly expects?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export const failOption = (field: string, value: unknown, expected: string): never => {
  throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `config field "${field}" is ${shown(value)}; expected ${expected}`, { field, value });
};

/**
 * A value as a message shows it: JSON where it has one, cut to 200 characters. The value may come from a
 * peer (an assign's configuration) as any msgpack value (a BigInt, an object), so this never throws.
 */
function shown(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(typeof value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length <= 200 ? text : `${text.slice(0, 200)}… (${text.length} characters)`;
}

const asNumber = (v: unknown): number => (typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'number' ? v : NaN);

/** What `spec` accepts, in words (for errors and `--help`). */
export function expectation(spec: OptionSpec): string {
  const orNull = spec.nullable ? ` (or null: ${spec.unset ?? 'none'})` : '';
  if (spec.expects) return spec.expects + orNull;
  switch (spec.type) {
    case 'int':
      return `an integer in [${spec.min ?? -Infinity}, ${spec.max ?? Infinity}]${orNull}`;
    case 'real':
      return `a number in ${spec.openMin ? '(' : '['}${spec.min ?? -Infinity}, ${spec.max ?? Infinity}]${orNull}`;
    case 'bool':
      return 'true or false';
    case 'choice':
      return `one of ${(spec.choices ?? []).join(', ')}${orNull}`;
    case 'string':
      return `a string${orNull}`;
  }
}

/** Parses and range-checks one untrusted value against its declaration (a flag, a file field, a welcome). */
export function parseOption(field: string, spec: OptionSpec, v: unknown): OptionValue {
  if (spec.nullable && (v === null || v === 'null')) return null;
  // Configurations also arrive from peers (an assign) as any msgpack value: only scalars are options.
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') failOption(field, v, expectation(spec));
  if (spec.parse) return spec.parse(v, field);
  switch (spec.type) {
    case 'int': {
      const x = asNumber(v);
      return Number.isInteger(x) && x >= (spec.min ?? -Infinity) && x <= (spec.max ?? Infinity) ? x : failOption(field, v, expectation(spec));
    }
    case 'real': {
      const x = asNumber(v);
      const lo = spec.min ?? -Infinity;
      return Number.isFinite(x) && (spec.openMin ? x > lo : x >= lo) && x <= (spec.max ?? Infinity) ? x : failOption(field, v, expectation(spec));
    }
    case 'bool':
      return v === true || v === 'true' ? true : v === false || v === 'false' ? false : failOption(field, v, 'true or false');
    case 'choice':
      return typeof v === 'string' && (spec.choices ?? []).includes(v) ? v : failOption(field, v, expectation(spec));
    case 'string':
      return typeof v === 'string' && v.length > 0 && v.length <= 4096 ? v : failOption(field, v, 'a non-empty string');
  }
}

/** A number option a registry entry declared (resolveConfig has filled and checked it). */
export function numberOption(config: Readonly<Record<string, OptionValue>>, name: string): number {
  const v = config[name];
  if (typeof v !== 'number') throw new Error(`option "${name}" is not a number in this configuration (got ${JSON.stringify(v)}); is it declared by the selected entry?`);
  return v;
}

/** A number option that may be null (computed). */
export function nullableNumberOption(config: Readonly<Record<string, OptionValue>>, name: string): number | null {
  const v = config[name];
  return v === null ? null : numberOption(config, name);
}

export function stringOption(config: Readonly<Record<string, OptionValue>>, name: string): string {
  const v = config[name];
  if (typeof v !== 'string') throw new Error(`option "${name}" is not a string in this configuration (got ${JSON.stringify(v)})`);
  return v;
}

export function boolOption(config: Readonly<Record<string, OptionValue>>, name: string): boolean {
  const v = config[name];
  if (typeof v !== 'boolean') throw new Error(`option "${name}" is not a boolean in this configuration (got ${JSON.stringify(v)})`);
  return v;
}
