import { allRanks, type MethodDef } from './types.js';
import { rangeKernels } from '../kernels/range.js';
import { UpdateWriter } from './updateWriter.js';
import { summingServer } from './updates.js';

/**
 * DCGD (SPEC A.5): x^{t+1} = x^t − γ·mean_i Q_i(∇f_i(x^t)); every round every client sends its compressed
 * full gradient. There is no dense init round and no coin (coin = false in the ledger).
 */
export const dcgd: MethodDef = {
  name: 'dcgd',
  description: 'distributed compressed GD: every round every client sends its compressed gradient',
  initRound: false,
  resumable: true,
  acceptsBiased: false,
  options: {},
  plan: (env, round) => ({ round, kind: 'compressed', coin: false, senders: allRanks(env.n) }),
  sends: () => 'gradient',
  theory({ smoothness, constants, bQ }) {
    const zeta = smoothness.dissimilarity ?? 0;
    const notes =
      smoothness.Lpm > 0 || zeta > 0
        ? [`DCGD with heterogeneous clients${zeta > 0 ? ` (ζ² = ${zeta.toPrecision(4)} at x*)` : ''} reaches only a neighbourhood of a stationary point (SPEC A.5).`]
        : [];
    // SPEC A.5 (homogeneous SGD analysis): γ = 1/(L(1 + A − B)).
    return { p: 0, pRule: 'dcgd: no coin', gammaTheory: 1 / (smoothness.Lminus * (1 + constants.A - constants.B)), expectedBitsPerRound: bQ, notes };
  },
  createClient(env, problem, rank) {
    const out = new UpdateWriter(env, rank);
    return {
      respond(plan, slot, x) {
        problem.gradInto(out.v, x);
        // Σv_j² in one (SIMD) pass serves both the compressor's norm and the carriability check
        return out.encode(plan, slot, true, out.v, rangeKernels.sumSquares(out.v, env.d));
      },
    };
  },
  createServer: (env, x0) =>
    summingServer(env, x0, (plan, sum, x) => {
      const step = env.gamma / plan.senders.length;
      for (let j = 0; j < env.d; j++) x[j]! -= step * sum[j]!;
    }),
};
