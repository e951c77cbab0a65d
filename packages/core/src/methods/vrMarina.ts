import { ProtocolError } from '@marina/protocol';
import { failOption, numberOption } from '../options.js';
import { minimiseOverP, type MethodTheoryInput } from '../theory.js';
import { marina, marinaPlan } from './marina.js';
import { sampleSubset } from './sampling.js';
import { type MethodDef, paramOf } from './types.js';
import { rangeKernels } from '../kernels/range.js';
import { UpdateWriter } from './updateWriter.js';

/**
 * VR-MARINA for finite sums f_i = (1/m) Σ_k f_ik (SPEC A.6, decision 22), MARINA's loop with minibatch
 * differences on compressed rounds:
 *  round 0 and coin rounds: client i sends its full ∇f_i(x^t) dense;
 *  compressed rounds: client i draws a minibatch I of b' distinct components from (seed, t, rank, "minibatch")
 *  and sends Q((1/b') Σ_{k∈I} (∇f_ik(x^t) − ∇f_ik(x^{t−1}))), the same I at both points.
 * The server half is MARINA's: g^t = mean of dense gradients, or g^{t−1} + mean of decoded messages.
 * A compressed round costs a client 2b' component gradients; a coin round one full gradient (m components).
 */
export const vrMarina: MethodDef = {
  ...marina,
  options: {
    batch: { type: 'int', default: 1, min: 1, max: 1 << 20, help: "VR-MARINA: minibatch size b' (at most the problem's components m)" },
  },
  name: 'vr-marina',
  description: "VR-MARINA: MARINA with minibatch gradient differences on compressed rounds (--batch b', --samples m)",
  plan: marinaPlan,
  sends: (plan) => (plan.kind === 'compressed' ? 'minibatch-difference' : 'gradient'),
  validate(config) {
    // On the generated quadratic the components are its `samples` (decision 22): the minibatch is drawn from them without replacement.
    const m = config['samples'];
    const b = numberOption(config, 'batch');
    if (config['problem'] === 'quadratic' && typeof m === 'number' && b > m) failOption('batch', b, `an integer in [1, samples = ${m}] (the minibatch is drawn without replacement)`);
  },
  theory(input) {
    const { compressor, constants, bQ, d, config } = input;
    const comp = input.smoothness.components;
    if (!comp) {
      throw new ProtocolError('MARINA_ERR_BAD_CONFIG', 'config field "method" is "vr-marina", which needs a finite-sum problem (components f_ik); this problem has none', { field: 'method', value: 'vr-marina' });
    }
    const b = numberOption(config, 'batch');
    if (b > comp.m) throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `config field "batch" is ${b}; expected an integer in [1, m = ${comp.m}]`, { field: 'batch', value: b });
    const cap = b / (comp.m + b); // A.6's oracle balance: a full gradient costs m, a compressed round 2b'
    const bits = (p: number) => p * 32 * d + (1 - p) * bQ;
    let p: number;
    let pRule: string;
    if (config.p === 'auto') {
      p = Math.min(minimiseOverP((pp) => bits(pp) / vrMarinaGamma(input, b, pp)), cap);
      pRule = "auto: min(argmin of [p·32d + (1−p)·b_Q]/γ(p) (decision 9), b'/(m+b') (SPEC A.6))";
    } else if (config.p === 'zeta') {
      p = Math.min(compressor.zeta(d, input.n) / d, cap);
      pRule = "zeta: min(ζ_Q/d, b'/(m+b')) (VR-MARINA, SPEC A.6)";
    } else {
      p = Number(config.p);
      pRule = 'given';
    }
    const notes = [
      `VR-MARINA: m = ${comp.m} components, minibatch b' = ${b} without replacement (the with-replacement step is conservative); ℒ = ${comp.Lcomp} (${comp.exact ? 'exact' : 'bound'}).`,
    ];
    if (compressor.correlated && constants.B === 0 && (input.smoothness.Lpm > 0 || comp.Lcomp > input.smoothness.Lplus)) {
      notes.push(`${compressor.name}'s (A, B) assume identical inputs; minibatches make the clients' inputs differ, so its γ is outside the theory.`);
    }
    return { p, pRule, gammaTheory: vrMarinaGamma(input, b, p), expectedBitsPerRound: bits(p), notes, params: { batch: b } };
  },
  createClient(env, problem, rank) {
    const comp = problem.components;
    if (!comp) throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `vr-marina: client ${rank}'s problem is not a finite sum`, { field: 'method', value: 'vr-marina' });
    const b = paramOf(env, 'batch', 'vr-marina');
    const d = env.d;
    const out = new UpdateWriter(env, rank);
    const v = out.v;
    const ga = new Float64Array(d);
    const gb = new Float64Array(d);
    const last = new Float64Array(d);
    let lastRound = -1;
    return {
      respond(plan, slot, x, xPrev) {
        if (plan.kind !== 'compressed') {
          problem.gradInto(v, x);
        } else {
          if (xPrev === null && lastRound !== plan.round - 1) {
            throw new ProtocolError('MARINA_ERR_UNEXPECTED', `vr-marina: rank ${rank} has no x^{t−1} for round ${plan.round}`);
          }
          const y = xPrev ?? last;
          v.fill(0);
          for (const k of sampleSubset(env.seed, plan.round, rank, 'minibatch', comp.m, b)) {
            comp.gradInto(ga, x, k);
            comp.gradInto(gb, y, k);
            for (let j = 0; j < d; j++) v[j]! += ga[j]! - gb[j]!;
          }
          for (let j = 0; j < d; j++) v[j]! /= b;
        }
        last.set(x);
        lastRound = plan.round;
        if (plan.kind !== 'compressed') return out.encode(plan, slot, false);
        // Σv_j² in one (SIMD) pass serves both the compressor's norm and the carriability check
        return out.encode(plan, slot, true, v, rangeKernels.sumSquares(v, d));
      },
    };
  },
};

/**
 * VR-MARINA's step (SPEC A.6) in the AB form (inferred): with Δ_i = ∇f_i(x^t) − ∇f_i(x^{t−1}), Δ̃_i its
 * minibatch estimate and V_i = E‖Δ̃_i − Δ_i‖² ≤ ℒ_i²‖x^t − x^{t−1}‖²/b' (independent across clients),
 *   E‖mean Q_i(Δ̃_i) − Δ‖² ≤ (A − B)·mean‖Δ_i‖² + B·(mean‖Δ_i‖² − ‖Δ‖²) + (A + (1 − B)/n)·mean V_i
 *                          ≤ [(A − B)L_+² + B·L_±² + (A + (1 − B)/n)·ℒ²/b'] · ‖x^t − x^{t−1}‖²,
 * so γ = 1/(L_- + sqrt((1−p)/p · K)). For independent ω-compressors (A = ω/n, B = 0) this is A.6's
 * 1/(L + sqrt((ω L² + (1+ω) ℒ²/b')·(1−p)/(p n))) with the exact L_-, L_+ and ℒ in place of one L.
 */
export function vrMarinaGamma(input: MethodTheoryInput, b: number, p: number): number {
  const { smoothness: s, constants } = input;
  const { A, B } = constants;
  const Lc = s.components!.Lcomp;
  const K = (A - B) * s.Lplus * s.Lplus + B * s.Lpm * s.Lpm + Math.max(0, A + (1 - B) / input.n) * ((Lc * Lc) / b);
  return 1 / (s.Lminus + Math.sqrt(((1 - p) / p) * K));
}
