import { failOption, nullableNumberOption } from '../options.js';
import { allRanks, type MethodDef, paramOf } from './types.js';
import { differenceInto, UpdateWriter } from './updateWriter.js';
import { mirrorClients, summingServer } from './updates.js';

/**
 * DIANA (Mishchenko et al. 2019; nonconvex analysis Horváth et al. 2019; SPEC A.5), every round:
 *  1. client i: m_i = Q_i(∇f_i(x^k) − h_i), send m_i, then h_i ← h_i + α·m_i (m_i as the server decodes it);
 *  2. server: g^k = h + mean_i m_i; x^{k+1} = x^k − γ g^k; h ← h + α·mean_i m_i.
 * Shifts start at 0 and there is no dense init round (round 0 compresses ∇f_i(x^0)); no coin.
 *
 * α = config.alpha ?? 1/(ω+1); γ = 1/(10·L·sqrt(1 + ω/n)·(ω + 2)), the MARINA code's "Th. 4" rule with
 * m = 1 (full local gradients) and L = max_i L_i (every f_i L-smooth, the theorem's assumption). With a
 * correlated compressor (CQ, PermK) ω is its single-client ω (decision 21).
 *
 * The shift h_i is state that x alone does not determine: the server mirrors every h_i (`mirrorClients`), so a
 * restarted client, or every client of a resumed run, gets its h_i back before its next round.
 */
export const diana: MethodDef = {
  name: 'diana',
  description: 'DIANA: compressed differences to learned per-client shifts (α = 1/(ω+1))',
  initRound: false,
  resumable: true,
  acceptsBiased: false,
  options: {
    alpha: { type: 'real', default: null, nullable: true, unset: '1/(ω+1)', min: 0, max: 1, openMin: true, help: 'DIANA: shift step α (default 1/(ω+1))' },
  },
  plan: (env, round) => ({ round, kind: 'compressed', coin: false, senders: allRanks(env.n) }),
  sends: () => 'shifted',
  validate(config) {
    if (config['range'] === 'shared') failOption('range', 'shared', 'client (DIANA and EF21 move their state by the message they decode themselves, right after encoding; a shared range is known only after every norm is in)');
  },
  theory({ smoothness, constants, bQ, n, config, compressor }) {
    const omega = constants.omega;
    const given = nullableNumberOption(config, 'alpha');
    const alpha = given ?? 1 / (omega + 1);
    const L = Math.max(...smoothness.Li);
    const gammaTheory = 1 / (10 * L * Math.sqrt(1 + omega / n) * (omega + 2));
    const notes = [`DIANA: α = ${alpha}${given === null ? ' = 1/(ω+1)' : ' (given)'}, ω = ${omega}; γ uses L = max_i L_i = ${L}.`];
    if (alpha > 1 / (omega + 1)) notes.push('α > 1/(ω+1) is outside the DIANA theory (its step size assumes α ≤ 1/(ω+1)).');
    if (compressor.correlated) notes.push(`${compressor.name} is correlated: α and γ use its single-client ω as if clients were independent (decision 21).`);
    return { p: 0, pRule: 'diana: no coin', gammaTheory, expectedBitsPerRound: bQ, notes, params: { alpha } };
  },
  createClient(env, problem, rank) {
    const alpha = paramOf(env, 'alpha', 'diana');
    const h = new Float64Array(env.d);
    const out = new UpdateWriter(env, rank);
    const v = out.v;
    const mine = new Float64Array(env.d);
    return {
      respond(plan, slot, x) {
        problem.gradInto(v, x);
        // v − h, and the norm's Σv_j² with it (which settles the carriability check too)
        const msg = out.encode(plan, slot, true, v, differenceInto(v, v, h, env.d));
        // The shift moves by what the server decodes, so the server's h stays the mean of the clients' h_i.
        out.decodeOwn(plan, slot, true, mine);
        for (let j = 0; j < env.d; j++) h[j]! += alpha * mine[j]!;
        return msg;
      },
      restore: (state) => h.set(state),
    };
  },
  createServer(env, x0) {
    const alpha = paramOf(env, 'alpha', 'diana');
    const h = new Float64Array(env.d);
    const half = summingServer(env, x0, (plan, sum, x) => {
      const inv = 1 / plan.senders.length;
      for (let j = 0; j < env.d; j++) {
        const m = sum[j]! * inv;
        x[j]! -= env.gamma * (h[j]! + m);
        h[j]! += alpha * m;
      }
    }, { h });
    // h_i moves as the client's does: by α times its message as decoded.
    return mirrorClients(env, half, 'h', (hi, m) => {
      for (let j = 0; j < env.d; j++) hi[j]! += alpha * m[j]!;
    });
  },
};
