import { failOption, nullableNumberOption, numberOption } from '../options.js';
import { CounterRng, SHARED } from '../rng.js';
import { minimiseOverP, type MethodTheoryInput } from '../theory.js';
import { marina } from './marina.js';
import { memoPlan } from './planMemo.js';
import { sampleSubset } from './sampling.js';
import { allRanks, type MethodDef, type MethodEnv, paramOf, type RoundPlan } from './types.js';

/**
 * PP-MARINA, MARINA with partial participation (SPEC A.6, decision 14):
 *  round 0 and coin rounds (c_t = 1): all n clients send ∇f_i(x^t) dense, g^t = their mean;
 *  compressed rounds: the server samples r distinct clients S_t uniformly from (seed, t, SHARED,
 *  "participants"); only they are asked and send Q(∇f_i(x^t) − ∇f_i(x^{t−1})); g^t = g^{t−1} + (1/r)Σ_{S_t}.
 * The sampled clients take slots 0..r−1 in rank order (their index among the senders), so a correlated
 * compressor (CQ) correlates exactly the r messages the server averages. The coin is MARINA's
 * (seed, t, SHARED, "coin"), and the halves are MARINA's: with r = n the run is MARINA's bit for bit.
 * A sampled client that did not answer round t−1 gets x^{t−1} from its runner and recomputes ∇f_i(x^{t−1}).
 */
export const ppMarinaPlan = memoPlan((env: MethodEnv, round: number): RoundPlan => {
  const r = paramOf(env, 'participants', 'pp-marina');
  if (round === 0) return { round, kind: 'init', coin: true, senders: allRanks(env.n) };
  const coin = new CounterRng(env.seed, round, SHARED, 'coin').bernoulli(env.p);
  if (coin) return { round, kind: 'dense', coin, senders: allRanks(env.n) };
  const senders = r >= env.n ? allRanks(env.n) : sampleSubset(env.seed, round, SHARED, 'participants', env.n, r);
  return { round, kind: 'compressed', coin, senders };
});

/**
 * PP-MARINA's step in the AB form (inferred, as MARINA's A.4.2 with sampling): for a uniform r-subset S
 * without replacement and compressors satisfying (A_r, B_r) among the r senders,
 *   E‖(1/r)Σ_S Q_i(Δ_i) − Δ‖² ≤ (A_r − B_r)L_+² + (B_r + (1 − B_r)·c)·L_±²,  c = (n − r)/(r(n − 1)),
 * times ‖x^t − x^{t−1}‖² (the sampling variance of the mean of r of n values is c·(mean‖Δ_i‖² − ‖Δ‖²)), so
 *   γ = 1/(L_- + sqrt((1−p)/p · K)).
 * With r = n, c = 0 and this is MARINA's γ exactly; with independent compressors (A_r = ω/r, B_r = 0) and
 * with-replacement sampling (c = 1/r) it is ≤ A.6's (1+ω)L²/r form (L_± ≤ L_+), so that form is conservative.
 */
export function ppMarinaGamma(input: MethodTheoryInput, r: number, p: number): number {
  const { smoothness: s, compressor, d, n, config } = input;
  const { A, B } = r === n ? input.constants : compressor.constants(d, r, config.constants);
  const c = n > 1 ? (n - r) / (r * (n - 1)) : 0;
  const Beff = B + Math.max(0, 1 - B) * c;
  const K = (A - B) * s.Lplus * s.Lplus + Beff * s.Lpm * s.Lpm;
  return 1 / (s.Lminus + Math.sqrt(((1 - p) / p) * K));
}

export const ppMarina: MethodDef = {
  ...marina,
  options: {
    participants: { type: 'int', default: null, nullable: true, unset: 'all n', min: 1, max: 1 << 20, help: 'PP-MARINA: clients r sampled on compressed rounds (default all)' },
  },
  name: 'pp-marina',
  description: 'PP-MARINA: MARINA where only r sampled clients send on compressed rounds (--participants)',
  plan: ppMarinaPlan,
  validate(config) {
    // Decision 14: r distinct clients of n.
    const r = nullableNumberOption(config, 'participants');
    const n = numberOption(config, 'clients');
    if (r !== null && r > n) failOption('participants', r, `an integer in [1, clients = ${n}]`);
  },
  theory(input) {
    const { compressor, d, n, config } = input;
    const r = nullableNumberOption(config, 'participants') ?? n;
    const bQ = r === n ? input.bQ : compressor.expectedBits(d, r);
    // Decision 9 with PP's bits: per client and round, p·32d + (1−p)·(r/n)·b_Q(r) on average over the n clients.
    const bits = (p: number) => p * 32 * d + (1 - p) * bQ * (r / n);
    let p: number;
    let pRule: string;
    if (config.p === 'auto') {
      p = minimiseOverP((pp) => bits(pp) / ppMarinaGamma(input, r, pp));
      pRule = 'auto: minimises [p·32d + (1−p)·(r/n)·b_Q]/γ(p) (decision 9, r of n clients per compressed round)';
    } else if (config.p === 'zeta') {
      p = Math.min(1, (compressor.zeta(d, r) * r) / (d * n));
      pRule = 'zeta: ζ_Q·r/(d·n) (PP-MARINA, SPEC A.6)';
    } else {
      p = Number(config.p);
      pRule = 'given';
    }
    const notes = [`PP-MARINA: r = ${r} of n = ${n} clients per compressed round, sampled without replacement (decision 14).`];
    if (compressor.name === 'cq' && input.smoothness.Lpm > 0) {
      notes.push("L_± > 0 (heterogeneous clients) is outside CQ theory: p and γ use CQ's homogeneous constants for r clients (decision 9).");
    }
    return { p, pRule, gammaTheory: ppMarinaGamma(input, r, p), expectedBitsPerRound: bits(p), notes, params: { participants: r } };
  },
};
