import { failOption } from '../options.js';
import { ProtocolError } from '@marina/protocol';
import type { Compressor, CompressorConstants } from '../compressors/types.js';
import { allRanks, type MethodDef, paramOf } from './types.js';
import { differenceInto, UpdateWriter } from './updateWriter.js';
import { mirrorClients, summingServer } from './updates.js';

/**
 * EF21 (Richtárik, Sokolov, Fatkhullin 2021; SPEC A.5, decision 17):
 *  round 0 (init): client i sends ∇f_i(x⁰) dense; g_i⁰ = that gradient, g⁰ = mean_i g_i⁰;
 *  round t ≥ 1:    client i sends c_i = C(∇f_i(x^t) − g_i^{t−1}); g_i^t = g_i^{t−1} + c_i;
 *                  server g^t = g^{t−1} + mean_i c_i; every round x^{t+1} = x^t − γ g^t.
 * g_i moves by what the server decodes (float32 values included), so the server's g stays the mean of the g_i.
 *
 * The theory needs a contraction C with E‖C(a) − a‖² ≤ (1 − α)‖a‖² (`ef21Contraction`): TopK with α = K/d
 * (any compressor reporting `contraction(d, n)` is used as is); an unbiased compressor Q of variance ω is
 * used as C = Q/(ω+1), α = 1/(ω+1) (the standard reduction of the EF21 paper; identity gives α = 1 and GD's
 * step); any other biased compressor is refused with a configuration error.
 * γ = 1/(L_- + L_QM·sqrt(β/θ)), θ = 1 − sqrt(1−α), β = (1−α)/(1 − sqrt(1−α)).
 *
 * g_i is state that x alone does not determine: the server mirrors every g_i (`mirrorClients`), so a restarted
 * client, or every client of a resumed run, gets its g_i back before its next round.
 */
export const ef21: MethodDef = {
  name: 'ef21',
  description: 'EF21: error feedback; each client sends C(∇f_i − g_i) and tracks g_i (TopK, or Q/(ω+1))',
  initRound: true,
  resumable: true,
  acceptsBiased: true,
  options: {},
  validate(config) {
    if (config['range'] === 'shared') failOption('range', 'shared', 'client (DIANA and EF21 move their state by the message they decode themselves, right after encoding; a shared range is known only after every norm is in)');
  },
  plan: (env, round) => ({ round, kind: round === 0 ? 'init' : 'compressed', coin: round === 0, senders: allRanks(env.n) }),
  sends: (plan) => (plan.kind === 'init' ? 'gradient' : 'shifted'),
  theory({ smoothness: s, compressor, constants, bQ, d, n }) {
    const { alpha, scale, rule } = ef21Contraction(compressor, constants, d, n);
    const sq = Math.sqrt(1 - alpha);
    const theta = 1 - sq;
    const beta = alpha >= 1 ? 0 : (1 - alpha) / (1 - sq);
    const Lqm = Math.sqrt(s.Li.reduce((acc, L) => acc + L * L, 0) / s.Li.length);
    const gammaTheory = 1 / (s.Lminus + Lqm * Math.sqrt(beta / theta));
    const notes = [`EF21: ${rule}; θ = ${theta}, β = ${beta}, L_QM = ${Lqm} (decision 17).`];
    return { p: 0, pRule: 'ef21: no coin (round 0 dense)', gammaTheory, expectedBitsPerRound: bQ, notes, params: { scale } };
  },
  createClient(env, problem, rank) {
    const scale = paramOf(env, 'scale', 'ef21');
    const gi = new Float64Array(env.d);
    const out = new UpdateWriter(env, rank);
    const v = out.v;
    const sent = new Float64Array(env.d);
    return {
      respond(plan, slot, x) {
        problem.gradInto(v, x);
        const init = plan.kind === 'init';
        // v − g_i, and the norm's Σv_j² with it (which settles the carriability check too)
        const msg = init ? out.encode(plan, slot, false) : out.encode(plan, slot, true, v, differenceInto(v, v, gi, env.d));
        out.decodeOwn(plan, slot, !init, sent);
        if (init) gi.set(sent);
        else for (let j = 0; j < env.d; j++) gi[j]! += scale * sent[j]!;
        return msg;
      },
      restore: (state) => gi.set(state),
    };
  },
  createServer(env, x0) {
    const scale = paramOf(env, 'scale', 'ef21');
    const g = new Float64Array(env.d);
    const half = summingServer(env, x0, (plan, sum, x) => {
      const inv = 1 / plan.senders.length;
      if (plan.kind === 'init') for (let j = 0; j < env.d; j++) g[j] = sum[j]! * inv;
      else for (let j = 0; j < env.d; j++) g[j]! += scale * (sum[j]! * inv);
      for (let j = 0; j < env.d; j++) x[j]! -= env.gamma * g[j]!;
    }, { g });
    // g_i moves as the client's does: set to the dense gradient, then by `scale` times each decoded message.
    return mirrorClients(env, half, 'g', (gi, sent, plan) => {
      if (plan.kind === 'init') gi.set(sent);
      else for (let j = 0; j < env.d; j++) gi[j]! += scale * sent[j]!;
    });
  },
};

/** A compressor that is a contraction reports its α (TopK: K/d). */
interface Contractive {
  contraction(d: number, n: number): number;
}

const isContractive = (q: Compressor): q is Compressor & Contractive => typeof (q as Partial<Contractive>).contraction === 'function';

/**
 * The contraction EF21 runs with: a compressor that reports one (TopK: α = K/d) is used as is; an unbiased
 * compressor of variance ω becomes one when scaled by 1/(ω+1), α = 1/(ω+1); anything else is a
 * configuration error.
 */
export function ef21Contraction(q: Compressor, c: CompressorConstants, d: number, n: number): { alpha: number; scale: number; rule: string } {
  if (isContractive(q)) {
    const alpha = q.contraction(d, n);
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`${q.name} reports a contraction α = ${alpha}, outside (0, 1]`);
    return { alpha, scale: 1, rule: `${q.name} is a contraction with α = ${alpha} (K/d = ${q.zeta(d, n)}/${d} for TopK)` };
  }
  if (q.unbiased) {
    const alpha = 1 / (c.omega + 1);
    return { alpha, scale: alpha, rule: `${q.name} is unbiased (ω = ${c.omega}): C = Q/(ω+1) is a contraction with α = 1/(ω+1) = ${alpha}` };
  }
  throw new ProtocolError(
    'MARINA_ERR_BAD_CONFIG',
    `config field "compressor" is "${q.name}", which EF21 cannot use: EF21 needs a contraction ("topk") or an unbiased compressor (used as Q/(ω+1))`,
    { field: 'compressor', value: q.name },
  );
}
