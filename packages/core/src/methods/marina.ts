import { CounterRng, SHARED } from '../rng.js';
import { marinaCost, marinaGamma, resolveP } from '../theory.js';
import { allRanks, type MethodDef, type MethodEnv, type RoundPlan } from './types.js';
import { memoPlan } from './planMemo.js';
import { differenceInto, UpdateWriter } from './updateWriter.js';
import { summingServer } from './updates.js';

/**
 * MARINA (Gorbunov et al. 2021; SPEC A.4), as the round loop of ARCHITECTURE:
 *  1. server: c_t ~ Bern(p) from (seed, t, "coin"); broadcast {t, c_t, x^t};
 *  2. client i: ∇f_i(x^t); if c_t = 1 send it dense, else send Q_i(∇f_i(x^t) − ∇f_i(x^{t−1}));
 *  3. server: g^t = mean of dense gradients, or g^{t−1} + mean of decoded differences; x^{t+1} = x^t − γ g^t.
 * Round 0 is the dense init round (g^0 = ∇f(x^0), counted: decision 2). GD is MARINA with p = 1.
 */
export const marinaPlan = memoPlan((env: MethodEnv, round: number): RoundPlan => {
  const senders = allRanks(env.n);
  if (round === 0) return { round, kind: 'init', coin: true, senders };
  const coin = new CounterRng(env.seed, round, SHARED, 'coin').bernoulli(env.p);
  return { round, kind: coin ? 'dense' : 'compressed', coin, senders };
});

export const marina: MethodDef = {
  name: 'marina',
  description: 'MARINA: dense gradients with probability p, else compressed gradient differences',
  initRound: true,
  resumable: true,
  acceptsBiased: false,
  options: {},
  plan: marinaPlan,
  sends: (plan) => (plan.kind === 'compressed' ? 'difference' : 'gradient'),
  theory(input) {
    const { smoothness: s, constants: c, d, bQ } = input;
    const { p, pRule } = resolveP(input, (pp) => marinaCost(s, c.A, c.B, d, bQ, pp));
    const notes: string[] = [];
    if (input.compressor.name === 'cq' && input.smoothness.Lpm > 0) {
      notes.push("L_± > 0 (heterogeneous clients) is outside CQ theory: p and γ use CQ's homogeneous constants (decision 9).");
    }
    return { p, pRule, gammaTheory: marinaGamma(s, c.A, c.B, p), expectedBitsPerRound: p * 32 * d + (1 - p) * bQ, notes };
  },
  createClient(env, problem, rank) {
    const out = new UpdateWriter(env, rank);
    const diff = out.v;
    let prev = new Float64Array(env.d);
    let grad = new Float64Array(env.d);
    return {
      respond(plan, slot, x, xPrev) {
        if (xPrev) problem.gradInto(prev, xPrev);
        problem.gradInto(grad, x);
        let msg: Uint8Array;
        if (plan.kind === 'compressed') {
          // The difference with the norm's Σv_j², which settles the carriability check too: IQ and CQ then read it
          // once more, for the bits
          msg = out.encode(plan, slot, true, diff, differenceInto(diff, grad, prev, env.d));
        } else {
          msg = out.encode(plan, slot, false, grad);
        }
        // Keep ∇f_i(x^t) for the next round.
        const t = prev;
        prev = grad;
        grad = t;
        return msg;
      },
    };
  },
  createServer(env, x0) {
    const g = new Float64Array(env.d);
    return summingServer(env, x0, (plan, sum, x) => {
      const inv = 1 / plan.senders.length;
      if (plan.kind === 'compressed') for (let j = 0; j < env.d; j++) g[j]! += sum[j]! * inv;
      else for (let j = 0; j < env.d; j++) g[j] = sum[j]! * inv;
      for (let j = 0; j < env.d; j++) x[j]! -= env.gamma * g[j]!;
    }, { g });
  },
};

/** Plain GD: MARINA whose coin is always 1 (every round dense), so the two agree bit for bit (decision 23). */
export const gd: MethodDef = {
  ...marina,
  name: 'gd',
  description: 'gradient descent: every round every client sends its dense gradient',
  plan: (env, round) => marinaPlan({ ...env, p: 1 }, round),
  theory: ({ smoothness, d }) => ({ p: 1, pRule: 'gd: every round dense', gammaTheory: 1 / smoothness.Lminus, expectedBitsPerRound: 32 * d, notes: [] }),
};
