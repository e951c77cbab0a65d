import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Argv, Options } from 'yargs';
import { ProtocolError } from '@marina/protocol';
import { compressors, CONFIG_FIELDS, methods, resolveConfig, type RunConfig } from '@marina/core';

/** Help text of every configuration field; `satisfies` makes a new field without help a compile error. */
const HELP = {
  method: `optimisation method (${Object.keys(methods).join(', ')})`,
  compressor: `compressor (${Object.keys(compressors).join(', ')})`,
  clients: 'number of clients n',
  dim: 'dimension d of the default quadratic problem',
  noise: 's: spread of client curvatures (0: identical clients, L± = 0)',
  lambda: 'λ: smallest eigenvalue of the mean Hessian',
  step: 'step size: "theory", a multiple such as "4x", or a number',
  p: 'MARINA coin probability: "auto" (minimise predicted bits), "zeta", or a number in (0, 1]',
  rounds: 'maximum number of rounds (round 0 included)',
  budgetBits: 'stop once the mean algorithm bits per client reach this (round 0 included)',
  target: 'target on ‖∇f(x)‖² (absolute)',
  targetRel: 'target on ‖∇f(x)‖² relative to ‖∇f(x⁰)‖² (default 1e-6)',
  stopAtTarget: 'stop as soon as every target is reached',
  seed: 'run seed (all randomness derives from it)',
  evalEvery: 'evaluate ‖∇f‖² and f every k rounds (telemetry)',
  constants: 'theory constants convention for CQ/IQ: default (MSE bounds) or paper (4× smaller)',
  k: 'RandK/TopK: coordinates kept (default ⌊d/n⌋)',
  levels: 'dithering levels s',
  norm: 'dithering norm: a number ≥ 1 or "inf"',
  participants: 'PP-MARINA: clients sampled on compressed rounds',
  batch: "VR-MARINA: minibatch size b'",
  samples: 'VR-MARINA: components per client m',
  componentNoise: 'VR-MARINA: component spread σ',
  alpha: 'DIANA: shift step α (default 1/(ω+1))',
} satisfies Record<keyof RunConfig, string>;

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Adds every run-configuration flag (no yargs defaults: unset flags fall through to the file, then core's defaults). */
export function withRunOptions<T>(y: Argv<T>): Argv<T> {
  const opts: Record<string, Options> = {
    config: { type: 'string', describe: 'configuration file (JSON or YAML) with any of the run fields', group: 'Run:' },
  };
  for (const field of CONFIG_FIELDS) {
    opts[kebab(field)] = { type: 'string', describe: HELP[field], group: 'Run:' };
  }
  return y.options(opts) as Argv<T>;
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
  // Accept both camelCase and kebab-case keys in files.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/** The run configuration from (lowest first) core defaults, the config file, MARINA_* variables and flags. */
export function configFromArgv(argv: Record<string, unknown>): RunConfig {
  const partial: Record<string, unknown> = typeof argv['config'] === 'string' ? loadConfigFile(argv['config']) : {};
  for (const field of CONFIG_FIELDS) {
    if (argv[field] !== undefined) partial[field] = argv[field];
  }
  return resolveConfig(partial);
}
