import { ProtocolError } from '@marina/protocol';
import type { RunConfig } from './config.js';
import { createCompressor } from './compressors/registry.js';
import { compressorOptions } from './compressors/options.js';
import { createIdentity } from './compressors/identity.js';
import { canonicalBytes, type Dataset } from './data/dataset.js';
import { getMethod } from './methods/registry.js';
import type { MethodDef, MethodEnv, MethodParams } from './methods/types.js';
import { getProblem } from './problems/registry.js';
import type { Problem, ProblemDef, ShardFacts, Smoothness } from './problems/types.js';
import { computeTheory, type Theory } from './theory.js';

/**
 * The run resolved once (ARCHITECTURE "The run is resolved once, by the server"): from the configuration and
 * what every client reported of its shard, the server (or `marina sim`, with this same code) computes d, the
 * smoothness constants, p, γ and x⁰. Clients get only `environment`, in the welcome; they never re-run the theory.
 */
export interface RunSetup {
  readonly config: RunConfig;
  readonly problem: ProblemDef;
  readonly method: MethodDef;
  readonly n: number;
  readonly d: number;
  /** What each client reported when it joined, by rank. */
  readonly facts: readonly ShardFacts[];
  readonly smoothness: Smoothness;
  readonly theory: Theory;
  readonly x0: Float64Array;
  /** What the welcome carries to every client. */
  readonly environment: RunEnvironment;
  /**
   * Builds each party's method environment in-process (default `methodEnv`); tests swap the compressors for
   * exact doubles through it (decision 23). Never crosses the wire.
   */
  readonly envFactory?: () => MethodEnv;
}

/** The resolved values a client needs beyond the configuration: d and what the theory fixed. */
export interface RunEnvironment {
  d: number;
  gamma: number;
  p: number;
  params?: MethodParams;
}

/** Injected hashing: core opens no Node API. */
export type Sha256 = (bytes: Uint8Array) => string;

/** A client's f_i over its shard, with what it reports when joining. */
export interface ClientShard {
  problem: Problem;
  facts: ShardFacts;
}

/**
 * Client side of the join phase: builds f_i over this rank's shard (null for a generated problem) and the
 * facts it reports: rows, features, d, L_i and the shard's fingerprint (SHA-256 of its parsed rows, or of the
 * generated problem's parameters). The rows themselves never leave the client.
 */
export function clientShard(config: RunConfig, rank: number, shard: Dataset | null, sha256: Sha256): ClientShard {
  const def = getProblem(config.problem);
  if (def.data !== 'none' && shard === null) {
    throw new ProtocolError('MARINA_ERR_BAD_SHARD', `problem "${def.name}" needs data: give --data FILE (a LIBSVM file${def.data === 'idx' ? ' or, for the autoencoder, IDX images' : ''})`);
  }
  if (shard !== null && shard.rows === 0) throw new ProtocolError('MARINA_ERR_BAD_SHARD', `rank ${rank}'s shard is empty (no rows)`, { rank });
  const local = def.local(config, config.clients, rank, def.data === 'none' ? null : shard);
  const features = shard?.features ?? 0;
  const fingerprint = sha256(shard ? canonicalBytes(shard) : utf16Bytes(generatedKey(config, def, rank)));
  return {
    problem: local.problem,
    facts: { rows: shard?.rows ?? 0, features, d: local.problem.d, Li: local.Li, LiKind: local.LiKind, fingerprint },
  };
}

/**
 * Server side of the join phase: checks one client's report against the run and the reports already
 * accepted (`first`: the first accepted report, any rank; `before`: what this rank reported before it
 * left, when it rejoins). Throws MARINA_ERR_BAD_SHARD naming the client.
 */
export function checkFacts(config: RunConfig, rank: number, facts: ShardFacts, first: ShardFacts | null, before: ShardFacts | null): void {
  const def = getProblem(config.problem);
  const bad = (why: string) => {
    throw new ProtocolError('MARINA_ERR_BAD_SHARD', `rank ${rank}: ${why}`, { rank });
  };
  if (!(Number.isFinite(facts.Li) && facts.Li >= 0)) bad(`L_i = ${facts.Li} is not a finite nonnegative number`);
  if (def.data !== 'none' && facts.rows === 0) bad('its shard is empty (no rows); fewer clients, or more data');
  if (config.features !== null && def.data !== 'none' && facts.features !== config.features) {
    bad(`its data has ${facts.features} features, the run ${config.features} (--features)`);
  }
  // d is fixed by the configuration where it can be (a generated problem, or data with --features); otherwise
  // by the first report accepted.
  const fixed = def.data === 'none' ? def.dim(config, 0) : config.features !== null ? def.dim(config, config.features) : null;
  if (fixed !== null && facts.d !== fixed) bad(`its model has d = ${facts.d}, the run's d = ${fixed}`);
  if (first && facts.d !== first.d) bad(`its model has d = ${facts.d}, the run's clients d = ${first.d} (features ${facts.features} vs ${first.features}; give every party the same --features)`);
  if (before && facts.fingerprint !== before.fingerprint) {
    bad(`it rejoined with another shard (fingerprint ${facts.fingerprint.slice(0, 16)}…, first reported ${before.fingerprint.slice(0, 16)}…): a rank must bring back the rows it started with`);
  }
}

/** Resolves the run from the configuration and every client's report (index = rank). */
export function resolveRun(config: RunConfig, facts: readonly ShardFacts[]): RunSetup {
  const n = config.clients;
  if (facts.length !== n) throw new Error(`resolveRun: ${facts.length} reports for ${n} clients`);
  const problem = getProblem(config.problem);
  const method = getMethod(config.method);
  const d = facts[0]!.d;
  facts.forEach((f, rank) => checkFacts(config, rank, f, facts[0]!, null));
  const smoothness = problem.smoothness(config, facts);
  const theory = computeTheory(method, {
    compressor: createCompressor(config.compressor, compressorOptions(config, d, n)),
    smoothness,
    d,
    n,
    config,
  });
  const environment: RunEnvironment = { d, gamma: theory.gamma, p: theory.p, ...(theory.params ? { params: theory.params } : {}) };
  let x0: Float64Array | null = null;
  return {
    config,
    problem,
    method,
    n,
    d,
    facts,
    smoothness,
    theory,
    // Built when first read: `marina theory` answers for any d without an O(d) iterate.
    get x0() {
      return (x0 ??= problem.x0(config, d));
    },
    environment,
  };
}

/**
 * Refuses, before any socket opens, what the configuration alone shows to be wrong. A generated problem is
 * resolved in full here (O(n)). A data problem's constants wait for the clients' reports, so the run is
 * resolved against stand-in reports (L_i = 1, d from --features or a large one): what fails then fails for
 * any data (a biased compressor with MARINA, VR-MARINA on a problem without components).
 */
export function validateRun(config: RunConfig, sha256: Sha256 = () => '0'.repeat(64)): void {
  const problem = getProblem(config.problem);
  if (problem.data === 'none') {
    resolveRun(config, generatedShards(config, sha256).map((s) => s.facts));
    return;
  }
  const features = config.features ?? 1 << 16;
  const standIn: ShardFacts = { rows: 1, features, d: problem.dim(config, features), Li: 1, LiKind: 'bound', fingerprint: '0'.repeat(64) };
  resolveRun(config, new Array<ShardFacts>(config.clients).fill(standIn));
}

/** A fresh method environment (each party its own compressor instances and scratch). */
export function methodEnv(config: RunConfig, environment: RunEnvironment): MethodEnv {
  const { d } = environment;
  return {
    d,
    n: config.clients,
    seed: config.seed,
    compressor: createCompressor(config.compressor, compressorOptions(config, d, config.clients)),
    dense: createIdentity(),
    gamma: environment.gamma,
    p: environment.p,
    ...(environment.params ? { params: environment.params } : {}),
  };
}

/** Every client's shard of a generated problem, in-process (`marina sim`, `marina theory`, tests). */
export function generatedShards(config: RunConfig, sha256: Sha256): ClientShard[] {
  return Array.from({ length: config.clients }, (_, rank) => clientShard(config, rank, null, sha256));
}

/** The key a generated problem's fingerprint is taken over: its name, the rank and its options. */
function generatedKey(config: RunConfig, def: ProblemDef, rank: number): string {
  const options = Object.keys(def.options).map((k) => [k, config[k]]);
  return JSON.stringify([def.name, rank, config.seed, config.clients, options]);
}

function utf16Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    out[2 * i] = s.charCodeAt(i) & 0xff;
    out[2 * i + 1] = s.charCodeAt(i) >>> 8;
  }
  return out;
}

/** A run resolved in-process with every client's f_i (tests; the common p of `marina compare`). */
export interface InProcessRun extends RunSetup {
  readonly problems: Problem[];
}

/**
 * Resolves a generated problem's run in-process: each rank's f_i and report, then `resolveRun`. `sha256` only
 * names the shards in the summary (a placeholder unless given); it does not change any iterate.
 */
export function setupRun(config: RunConfig, sha256: Sha256 = () => '0'.repeat(64)): InProcessRun {
  const shards = generatedShards(config, sha256);
  return { ...resolveRun(config, shards.map((s) => s.facts)), problems: shards.map((s) => s.problem) };
}
