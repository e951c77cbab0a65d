import type { RunConfig } from './config.js';
import { compressorOptions, createCompressor } from './compressors/registry.js';
import { createIdentity } from './compressors/identity.js';
import { getMethod } from './methods/registry.js';
import type { MethodDef, MethodEnv } from './methods/types.js';
import { quadraticFamily, type QuadraticFamily } from './problems/quadratic.js';
import type { Problem } from './problems/types.js';
import { computeTheory, type Theory } from './theory.js';

/** A resolved run: everything both the server and each client derive from the configuration alone. */
export interface RunSetup {
  readonly config: RunConfig;
  readonly family: QuadraticFamily;
  readonly method: MethodDef;
  readonly theory: Theory;
  readonly x0: Float64Array;
  /** A fresh method environment (each party gets its own compressor instances and scratch). */
  env(): MethodEnv;
  /** Client `rank`'s local problem. */
  shard(rank: number): Problem;
}

/** What a run's theory needs, without x⁰: O(n) for the problem, O(1) per theory hook, so any d works. */
export interface RunTheory {
  family: QuadraticFamily;
  method: MethodDef;
  theory: Theory;
}

/** The problem family, method and theory of the run `config` describes (`marina theory` stops here). */
export function runTheory(config: RunConfig): RunTheory {
  const family = quadraticFamily({
    clients: config.clients,
    dim: config.dim,
    noise: config.noise,
    lambda: config.lambda,
    seed: config.seed,
    // Decision 22: each f_i is also a finite sum of m components (used by VR-MARINA only).
    samples: config.samples,
    componentNoise: config.componentNoise,
  });
  const method = getMethod(config.method);
  const theory = computeTheory(method, {
    compressor: createCompressor(config.compressor, compressorOptions(config)),
    smoothness: family.smoothness(),
    d: config.dim,
    n: config.clients,
    config,
  });
  return { family, method, theory };
}

export function setupRun(config: RunConfig): RunSetup {
  const { family, method, theory } = runTheory(config);
  const options = compressorOptions(config);
  return {
    config,
    family,
    method,
    theory,
    x0: family.x0(),
    env: () => ({
      d: config.dim,
      n: config.clients,
      seed: config.seed,
      compressor: createCompressor(config.compressor, options),
      dense: createIdentity(),
      gamma: theory.gamma,
      p: theory.p,
      ...(theory.params ? { params: theory.params } : {}),
    }),
    shard: (rank) => family.shard(rank),
  };
}
