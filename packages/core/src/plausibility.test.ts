import { isProtocolError, ProtocolError } from '@marina/protocol';
import { describe, expect, it } from 'vitest';
import { ClientRunner } from './clientRunner.js';
import { compressors } from './compressors/registry.js';
import { resolveConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { playRound, runInProcess } from './engine.js';
import { methods } from './methods/registry.js';
import type { Problem } from './problems/types.js';
import { setupRun, type InProcessRun } from './setup.js';

/**
 * The plausibility rule (plausibility.ts; README "Security"): it must never refuse an honest run, on every
 * method × compressor pair the configuration accepts, and it must refuse a client whose messages are absurd
 * for its own smoothness: here a client whose gradients are 10⁶ times the true ones from some round on, which
 * is well-formed in every message (the client's own encoder writes them).
 */
const hooks = { sha256: () => '0'.repeat(64), now: () => 0 };

/** Every method × compressor (× range for CQ and IQ) whose configuration resolves, on heterogeneous clients. */
function pairs(): { label: string; setup: InProcessRun }[] {
  const out: { label: string; setup: InProcessRun }[] = [];
  for (const method of Object.keys(methods)) {
    for (const compressor of Object.keys(compressors)) {
      for (const range of compressor === 'cq' || compressor === 'iq' ? ['client', 'shared'] : [undefined]) {
        const extra = method === 'vr-marina' ? { samples: 8, batch: 2 } : {};
        let setup: InProcessRun;
        try {
          setup = setupRun(resolveConfig({ method, compressor, ...(range ? { range } : {}), clients: 5, dim: 24, noise: 0.5, rounds: 80, seed: 11, stopAtTarget: false, ...extra }));
        } catch (e) {
          if (isProtocolError(e) && e.code === 'MARINA_ERR_BAD_CONFIG') continue; // a pair the run refuses (biased with MARINA, …)
          throw e;
        }
        out.push({ label: `${method} + ${compressor}${range ? ` (${range} range)` : ''}`, setup });
      }
    }
  }
  return out;
}

/** f_i whose gradients are `factor` times the true ones once `armed` says so: an absurd but well-formed client. */
function lying(problem: Problem, factor: number, armed: () => boolean): Problem {
  const scale = (out: Float64Array) => {
    if (armed()) for (let j = 0; j < out.length; j++) out[j]! *= factor;
  };
  return {
    d: problem.d,
    loss: (x) => problem.loss(x),
    gradInto(out, x) {
      problem.gradInto(out, x);
      scale(out);
    },
    ...(problem.components
      ? {
          components: {
            m: problem.components.m,
            gradInto(out: Float64Array, x: Float64Array, k: number) {
              problem.components!.gradInto(out, x, k);
              scale(out);
            },
          },
        }
      : {}),
  };
}

describe('plausibility rule', () => {
  const all = pairs();

  it('covers every method and compressor', () => {
    expect(new Set(all.map((p) => p.label.split(' + ')[0]))).toEqual(new Set(Object.keys(methods)));
    expect(all.length).toBeGreaterThan(50);
  });

  it.each(all.map((p) => [p.label, p.setup] as const))('never refuses an honest run: %s', (_label, setup) => {
    const { records } = runInProcess(setup, setup.problems, { runId: 't', ...hooks });
    expect(records).toHaveLength(80);
  });

  it.each(all.map((p) => [p.label, p.setup] as const))('refuses a client whose gradients turn 10⁶× too large: %s', (_label, setup) => {
    const coordinator = new Coordinator(setup, hooks);
    const from = 6;
    const clients = setup.problems.map(
      (problem, rank) => new ClientRunner(setup.config, setup.environment, rank === 2 ? lying(problem, 1e6, () => coordinator.currentRound >= from) : problem, rank),
    );
    let caught: unknown = null;
    try {
      for (let t = 0; t < 40; t++) playRound(coordinator, clients);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    const e = caught as ProtocolError;
    expect(e.code, e.message).toBe('MARINA_ERR_IMPLAUSIBLE');
    expect(e.data?.['rank']).toBe(2);
    // Refused in the round the lie began: the first message carrying it.
    expect(coordinator.currentRound).toBe(from);
  });
});
