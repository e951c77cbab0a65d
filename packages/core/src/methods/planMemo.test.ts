import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { methodEnv, setupRun } from '../setup.js';
import { memoPlan } from './planMemo.js';
import type { MethodEnv, RoundPlan } from './types.js';

describe('memoPlan (one plan a round per process, however many clients it hosts)', () => {
  it('answers a repeated (round, seed, n, p, params) from the last call, whatever env object asks, and recomputes on any change', () => {
    let calls = 0;
    const plan = memoPlan((env: MethodEnv, round: number): RoundPlan => {
      calls++;
      return { round, kind: 'compressed', coin: false, senders: Int32Array.of(env.seed, env.n, env.params?.participants ?? -1) };
    });
    const setup = setupRun(resolveConfig({ method: 'pp-marina', participants: 3, clients: 8 }));
    const env = () => methodEnv(setup.config, setup.environment); // a fresh object each time, as each client has
    const first = plan(env(), 5);
    expect(plan(env(), 5)).toBe(first);
    // Each client decodes its own copy of the parameters: equal values are the same run.
    expect(plan({ ...env(), params: { ...env().params } }, 5)).toBe(first);
    expect(calls).toBe(1);
    for (const other of [{ seed: env().seed + 1 }, { n: 9 }, { p: env().p / 2 }, { params: { participants: 4 } }, { params: { participants: 3, batch: 2 } }, { params: undefined }]) {
      const p = plan({ ...env(), ...other }, 5);
      expect(p).not.toBe(first);
      expect(plan(env(), 5), JSON.stringify(other)).not.toBe(p);
    }
    expect(plan(env(), 6).round).toBe(6);
  });
});
