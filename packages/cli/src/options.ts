import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import yargs, { type Argv, type CommandModule, type MiddlewareFunction, type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isProtocolError, ProtocolError } from '@marina/protocol';
import { configFields, declaredOptions, expectation, resolveConfig, type DeclaredOption, type OptionSpec, type RunConfig } from '@marina/core';

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** yargs' type for an option's declaration (what `--help` shows). */
const yargsType = (spec: OptionSpec): Options['type'] => (spec.type === 'int' || spec.type === 'real' ? 'number' : spec.type === 'bool' ? 'boolean' : 'string');

/**
 * Adds every run-configuration flag, generated from the run's fields and the three registries' declared
 * options (problems, methods, compressors): type, choices, default and range in `--help`. No yargs defaults:
 * unset flags fall through to the environment, the file, then the selected entry's default.
 */
export function withRunOptions<T>(y: Argv<T>): Argv<T> {
  const opts: Record<string, Options> = {
    config: { type: 'string', describe: 'configuration file (JSON or YAML) with any of the run fields', group: 'Run:' },
  };
  for (const [name, d] of declaredOptions()) {
    const first = d.declarations[0]!;
    const spec = first.spec;
    const owners = d.declarations.map((x) => x.owner);
    const group = first.owner === 'run' ? 'Run:' : `${first.owner.split(':')[0]![0]!.toUpperCase()}${first.owner.split(':')[0]!.slice(1)} options:`;
    const used = first.owner === 'run' ? '' : ` [${owners.map((o) => o.split(':')[1]).join(', ')}]`;
    const range = (spec.type === 'int' || spec.type === 'real') && !spec.expects ? ` (${expectation(spec)})` : '';
    // An option several entries declare: each entry's help once (they name themselves).
    const help = [...new Set(d.declarations.map((x) => x.spec.help))].join('; ');
    opts[kebab(name)] = {
      type: yargsType(spec),
      describe: `${help}${range}${used}`,
      defaultDescription: defaultsOf(d),
      ...(spec.type === 'choice' ? { choices: [...(spec.choices ?? [])] } : {}),
      group,
    };
  }
  return y.options(opts) as Argv<T>;
}

/** The default(s) for `--help`: one value, or each entry's where they differ. */
function defaultsOf(d: DeclaredOption): string {
  const show = (v: unknown, spec: OptionSpec) => (v === null ? (spec.unset ?? 'none') : String(v));
  const values = new Set(d.declarations.map((x) => show(x.spec.default, x.spec)));
  if (values.size === 1) return [...values][0]!;
  return d.declarations.map((x) => `${show(x.spec.default, x.spec)} (${x.owner.split(':')[1]})`).join(', ');
}

/** Reads a JSON or YAML configuration file into a plain object (validated later, field by field). */
export function loadConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `cannot read config file ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `config file ${path} must hold a map of run fields`);
  }
  // Accept both camelCase and kebab-case keys in files; an unknown key is named as the file spells it.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const field = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!configFields().includes(field)) {
      throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `unknown field "${k}" in config file ${path}; known fields: ${configFields().map(kebab).join(', ')}`, { field: k });
    }
    out[field] = v;
  }
  return out;
}

/**
 * The run configuration from (lowest first) core defaults, the config file, MARINA_* variables and flags.
 * A refused value is reported with where it came from (flag, environment variable or config file), so the
 * message names the field, the value, the allowed range and the place to fix it.
 */
export function configFromArgv(argv: Record<string, unknown>, args: readonly string[] = hideBin(process.argv), env: NodeJS.ProcessEnv = process.env): RunConfig {
  return resolveWithSource(givenFields(argv, args, env), argv, args, env);
}

/**
 * The fields the user gave (config file, then MARINA_* variables and flags over it), unresolved: what a sweep
 * varies its grid over, so an entry's own defaults apply to each grid point (`--lambda` of logreg vs autoencoder).
 */
export function givenFields(argv: Record<string, unknown>, args: readonly string[] = hideBin(process.argv), env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const path = typeof argv['config'] === 'string' ? argv['config'] : null;
  const partial: Record<string, unknown> = path !== null ? loadConfigFile(path) : {};
  const declared = declaredOptions();
  for (const field of declared.keys()) {
    if (argv[field] === undefined) continue;
    // Core's parser is the one door: it gets the text as typed (yargs would turn "abc" into NaN for a number).
    const isBool = declared.get(field)!.declarations[0]!.spec.type === 'bool';
    const raw = isBool ? undefined : flagGiven(args, kebab(field)) ? flagValue(args, kebab(field)) : env[envName(field)];
    partial[field] = raw ?? argv[field];
  }
  return partial;
}

/** `resolveConfig(partial)`, with a refused field's message naming where it came from (flag, variable or file). */
export function resolveWithSource(partial: Record<string, unknown>, argv: Record<string, unknown>, args: readonly string[] = hideBin(process.argv), env: NodeJS.ProcessEnv = process.env): RunConfig {
  const path = typeof argv['config'] === 'string' ? argv['config'] : null;
  try {
    return resolveConfig(partial);
  } catch (e) {
    const field = isProtocolError(e) ? (e as ProtocolError).data?.['field'] : undefined;
    if (typeof field !== 'string') throw e;
    const err = e as ProtocolError;
    const source = flagGiven(args, kebab(field))
      ? `flag --${kebab(field)}`
      : env[envName(field)] !== undefined
        ? `environment variable ${envName(field)}`
        : path !== null
          ? `config file ${path}`
          : null;
    throw source ? new ProtocolError(err.code, `${err.message} (from ${source})`, err.data) : err;
  }
}

/** Prefix of the environment variables that set options: MARINA_ROUND_TIMEOUT sets --round-timeout. */
export const ENV_PREFIX = 'MARINA_';

/** The longest delay a Node timer takes (ms); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Ranges of the numeric options that are not run fields (those are core's `resolveConfig`'s job). yargs
 * turns `--port abc` into NaN and lets 99999 through; these are checked before any socket opens.
 */
const PROCESS_OPTION_RANGES: Record<string, { integer: boolean; min: number; max: number }> = {
  port: { integer: true, min: 0, max: 65535 },
  'round-timeout': { integer: true, min: 1, max: MAX_TIMER_MS },
  'join-timeout': { integer: true, min: 1, max: MAX_TIMER_MS },
  'wait-timeout': { integer: true, min: 0, max: MAX_TIMER_MS },
  linger: { integer: false, min: 0, max: Math.floor(MAX_TIMER_MS / 1000) },
  retries: { integer: true, min: 0, max: 1_000_000 },
  backoff: { integer: true, min: 0, max: MAX_TIMER_MS },
  'hello-timeout': { integer: true, min: 1, max: MAX_TIMER_MS },
  'report-timeout': { integer: true, min: 1, max: MAX_TIMER_MS },
  'max-pending': { integer: true, min: 1, max: 1_000_000 },
  'ping-interval': { integer: true, min: 10, max: MAX_TIMER_MS },
  'handshake-timeout': { integer: true, min: 1, max: MAX_TIMER_MS },
  'idle-timeout': { integer: true, min: 1, max: MAX_TIMER_MS },
};

/**
 * A yargs middleware (run before validation) that makes MARINA_* variables as strict as flags:
 *
 * - a variable that names no option of any marina command (MARINA_BOGUS, a typo) is refused, naming it and
 *   the variables the command reads;
 * - a variable that names an option of another command is ignored, so one environment can serve a whole
 *   deployment: `marina local`'s client processes inherit MARINA_ROUNDS, a compose file may share one
 *   environment between the server and its clients;
 * - numeric options that are not run fields (port, timeouts) are checked against their ranges.
 *
 * Run fields themselves are checked by `configFromArgv`. All of this happens before a command opens a socket,
 * and a refusal is a ProtocolError (MARINA_ERR_BAD_CONFIG), which `marina` reports with exit code 2.
 */
export function environmentGuard(commands: readonly CommandModule[], args: readonly string[] = hideBin(process.argv), env: NodeJS.ProcessEnv = process.env): MiddlewareFunction {
  const byCommand = new Map<string, Set<string>>();
  for (const c of commands) {
    const names = [c.command ?? []].flat().map((s) => String(s).split(' ')[0]!);
    const options = optionNames(c.builder);
    for (const name of names) byCommand.set(name, options);
    for (const alias of [c.aliases ?? []].flat()) byCommand.set(String(alias), options);
  }
  const everywhere = new Set([...byCommand.values()].flatMap((s) => [...s]));
  return (argv) => {
    const command = String(argv._[0] ?? '');
    const own = byCommand.get(command);
    if (!own) return; // no command, or an unknown one: yargs reports it
    // yargs makes a flag given twice an array, and our readers would take one of them: refuse it instead.
    for (const option of own) {
      if (option !== 'folders' && Array.isArray(argv[option])) {
        throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `--${kebab(option)} is given more than once; give it once`, { field: option });
      }
    }
    for (const [name, value] of Object.entries(env)) {
      if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
      const option = camel(name.slice(ENV_PREFIX.length));
      if (own.has(option)) continue;
      if (!everywhere.has(option)) {
        const reads = [...own].filter((o) => o !== 'help' && o !== 'version').map(envName).join(', ');
        throw new ProtocolError(
          'MARINA_ERR_BAD_CONFIG',
          `environment variable ${name} names no marina option (there is no --${kebab(option)}); ` +
            `\`marina ${command}\` reads ${reads}; unset ${name} or fix its name`,
          { field: name },
        );
      }
      // Another command's option, shared through the environment: not this command's business, unless
      // the same option was also given as a flag (then yargs' strict mode refuses the flag).
      if (!flagGiven(args, kebab(option))) {
        delete argv[option];
        delete argv[kebab(option)];
      }
    }
    for (const [option, range] of Object.entries(PROCESS_OPTION_RANGES)) {
      const value = argv[option];
      if (value === undefined || !own.has(camel(option))) continue;
      const x = typeof value === 'number' ? value : Number(value);
      if (Number.isFinite(x) && (!range.integer || Number.isInteger(x)) && x >= range.min && x <= range.max) continue;
      const fromEnv = !flagGiven(args, option) && env[envName(option)] !== undefined;
      const shown = fromEnv ? JSON.stringify(env[envName(option)]) : JSON.stringify(flagValue(args, option) ?? value);
      throw new ProtocolError(
        'MARINA_ERR_BAD_CONFIG',
        `option --${option} is ${shown}; expected ${range.integer ? 'an integer' : 'a number'} in [${range.min}, ${range.max}] ` +
          `(from ${fromEnv ? `environment variable ${envName(option)}` : `flag --${option}`})`,
        { field: option },
      );
    }
  };
}

/** Option names a command's builder declares (camelCase), aliases included. */
function optionNames(builder: CommandModule['builder']): Set<string> {
  const names = new Set<string>();
  if (typeof builder === 'function') {
    const y = yargs([]);
    // `getOptions` is not in @types/yargs, but it is a method of every yargs instance (yargs-factory.js).
    const built = ((builder(y) as unknown) ?? y) as { getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]> } };
    const { key, alias } = built.getOptions();
    for (const k of Object.keys(key)) names.add(camel(k));
    for (const [k, as] of Object.entries(alias)) for (const a of [k, ...as]) names.add(camel(a));
  } else if (builder) {
    for (const [k, o] of Object.entries(builder)) for (const a of [k, ...[o.alias ?? []].flat()]) names.add(camel(a));
  }
  return names;
}

/** Whether `--option` (or `--option=…`, `--no-option`, `-o` for one letter) is among the command-line arguments. */
function flagGiven(args: readonly string[], option: string): boolean {
  return flagIndex(args, option) >= 0;
}

function flagIndex(args: readonly string[], option: string): number {
  const forms = [option, camel(option)].flatMap((o) => (o.length === 1 ? [`-${o}`, `--${o}`] : [`--${o}`, `--no-${o}`]));
  return args.findIndex((a) => forms.some((f) => a === f || a.startsWith(`${f}=`)));
}

/** The value written after a flag, as typed (yargs has already turned "abc" into NaN for numbers). */
function flagValue(args: readonly string[], option: string): string | undefined {
  const i = flagIndex(args, option);
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

/** `ROUND_TIMEOUT`, `round-timeout` → `roundTimeout` (yargs-parser's rule for environment variables). */
function camel(s: string): string {
  const lower = s === s.toUpperCase() || s === s.toLowerCase() ? s.toLowerCase() : s;
  return lower.replace(/[-_]+(.)/g, (_, c: string) => c.toUpperCase());
}

/** `roundTimeout` or `round-timeout` → `MARINA_ROUND_TIMEOUT`. */
function envName(option: string): string {
  return ENV_PREFIX + kebab(option).replace(/-/g, '_').toUpperCase();
}
