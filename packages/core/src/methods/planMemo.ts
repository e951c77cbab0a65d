import type { MethodEnv, RoundPlan } from './types.js';

type PlanOf = (env: MethodEnv, round: number) => RoundPlan;

/**
 * `plan` remembering its last answer. The K clients of one process (`marina client --count K`) each ask for the
 * same round's plan in turn, and the server once: a plan is a pure function of the round and the run's seed,
 * n, p and method parameters, and is never written (RoundPlan is read-only, its senders shared), so one object
 * serves them all: PP-MARINA samples its r participants once a round per process instead of once per client.
 */
export function memoPlan(plan: PlanOf): PlanOf {
  let last: { round: number; seed: number; n: number; p: number; params: MethodEnv['params']; plan: RoundPlan } | null = null;
  return (env, round) => {
    if (last !== null && last.round === round && last.seed === env.seed && last.n === env.n && last.p === env.p && sameParams(last.params, env.params)) return last.plan;
    const made = plan(env, round);
    last = { round, seed: env.seed, n: env.n, p: env.p, params: env.params, plan: made };
    return made;
  };
}

/** Whether two runs' method parameters are the same values (each client decodes its own copy from its welcome). */
function sameParams(a: MethodEnv['params'], b: MethodEnv['params']): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const x = a as Record<string, number | undefined>;
  const y = b as Record<string, number | undefined>;
  let keys = 0;
  for (const k in x) {
    if (x[k] !== y[k]) return false;
    keys++;
  }
  for (const _ in y) keys--;
  return keys === 0;
}
