import { parseIntList } from '../sweep/grid.js';
import { seriesOf, sizeLabel, sweepFlags, type ExperimentPlan, type Mode, type PagePlan, type PlanContext, type SeriesPlan } from './plan.js';
import type { DataPaths } from './data.js';
import { approachesLimit, combine, cqBeatsIqOnParWithDrive, cqLowerLossLargerSteps, iqDefaultsToGd, mostlyDominant, neverWorse, reachesUpTo, withVariant } from './verdict.js';

/**
 * Page 1: Correlated Quantization for Faster Nonconvex Distributed Optimization (Panferov, Demidovich, Rammal,
 * Richtárik, UAI 2025): SPEC D.1 (quadratics), D.2 (logistic regression), D.4 (MLP) and section C (theory maps).
 */
export function cqMarinaPage({ mode, data }: PlanContext): PagePlan {
  return {
    id: 'cq-marina',
    title: 'Correlated Quantization for MARINA (UAI 2025)',
    paper: 'A. Panferov, Y. Demidovich, A. Rammal, P. Richtárik. Correlated Quantization for Faster Nonconvex Distributed Optimization. UAI 2025 (PMLR 286).',
    experiments: [quadratics(mode), logreg(mode, data), mlp(mode, data), theoryMaps(mode)],
  };
}

const CQ: SeriesPlan = { role: 'cq', name: 'MARINA+CQ', method: 'marina', compressor: 'cq', flags: [] };
const CQ_SHARED: SeriesPlan = { role: 'cq-shared', name: 'MARINA+CQ (shared range)', method: 'marina', compressor: 'cq', flags: ['--range', 'shared'] };
const IQ: SeriesPlan = { role: 'iq', name: 'MARINA+IQ (own p)', method: 'marina', compressor: 'iq', flags: [] };
const IQ_COMMON: SeriesPlan = { role: 'iq-common', name: "MARINA+IQ (CQ's p)", method: 'marina', compressor: 'iq', flags: [], pOf: { method: 'marina', compressor: 'cq', flags: [] } };
const DRIVE: SeriesPlan = { role: 'drive', name: 'MARINA+DRIVE', method: 'marina', compressor: 'drive', flags: [] };
const GD: SeriesPlan = { role: 'gd', name: 'GD', method: 'gd', compressor: 'identity', flags: [] };
const DCGD_IQ: SeriesPlan = { role: 'dcgd-iq', name: 'DCGD+IQ', method: 'dcgd', compressor: 'iq', flags: [] };

const CONSTANTS_CHOICE =
  'Theory constants: the default convention (A_IQ = d/n, A_CQ = d/n², what the MSE bounds satisfy; decision 5), not the paper\'s 4× smaller ones; the 2^k multipliers of the step absorb the difference.';
const P_CHOICE =
  "p: each compressor's auto p (decision 9). With the default constants IQ's auto p is often 1 (MARINA+IQ is then GD), so IQ also runs at CQ's auto p, sending as many bits per round as CQ (decision 24).";

function quadratics(mode: Mode): ExperimentPlan {
  const z = { smoke: { d: 16, n: 4, s: [0, 1], budget: 2e4, steps: '0..0', seeds: '1', every: 1 }, quick: { d: 256, n: 32, s: [0, 1], budget: 1e6, steps: '0..3', seeds: '1', every: 10 }, full: { d: 1024, n: 128, s: [0, 0.5, 1], budget: 4e6, steps: '0..6', seeds: '1..3', every: 20 } }[mode];
  const series = [CQ, CQ_SHARED, IQ, IQ_COMMON, DRIVE];
  return {
    id: 'a-quadratics',
    title: 'Quadratics with controlled Hessian variance (SPEC D.1, CQ settings)',
    claim: 'MARINA with correlated quantizers (CQ) beats MARINA with independent quantizers (IQ) and is on par with MARINA+DRIVE, even where the Hessian variance L± is far from 0 (s > 0).',
    source: 'SPEC D.1 (CQ-MARINA settings); the slides "Baseline Comparison on Quadratics".',
    size: `d = ${z.d}, n = ${z.n}, s ∈ {${z.s.join(', ')}}, k ∈ ${z.steps}, budget ${sizeLabel(z.budget)} bits, seeds ${z.seeds}`,
    setting: [
      ['problem', 'SPEC D.1 quadratics, λ = 0.001 (smallest eigenvalue of the mean Hessian)'],
      ['d, n', `${z.d}, ${z.n}${mode === 'full' ? '' : ' (paper: 1024, 128)'}`],
      ['s (curvature spread; s = 0 ⇒ L± = 0)', z.s.join(', ') + (mode === 'full' ? '' : ' (paper: 0, 0.5, 1)')],
      ['series', series.map((s) => s.name).join(', ')],
      ['step', `theoretical × 2^k, k ∈ ${z.steps}; the k with the smallest median ‖∇f‖² at the budget is kept`],
      ['budget', `${sizeLabel(z.budget)} bits per client (paper: 4e6), round 0's full gradients included`],
      ['seeds', z.seeds],
      ['evaluation', `‖∇f‖² every ${z.every} rounds and at the last`],
    ],
    choices: [
      CONSTANTS_CHOICE,
      P_CHOICE,
      'For s > 0 (outside CQ\'s theory) p and γ use CQ\'s homogeneous constants, as the summary of every run says (decision 9).',
      'The paper\'s multipliers start at 2 (2, 4, 8, …); ours start at 2^0 = 1.',
      'CQ and IQ use a per-client range [−‖a_i‖, ‖a_i‖] (decision 3). "MARINA+CQ (shared range)" is our extra series: one radius R = max_i ‖a_i‖ from the server, which keeps the clients\' quantization grids aligned when s > 0.',
      'DRIVE: the unbiased scale, d\' + 32 bits (decision 6).',
    ],
    needs: [],
    keep: 'best',
    panels: z.s.map((s) => ({
      id: `s${s}`,
      title: `s = ${s}${s === 0 ? ' (identical clients, L± = 0)' : ' (L± > 0)'}`,
      run: ['--problem', 'quadratic', '--dim', String(z.d), '--clients', String(z.n), '--noise', String(s), '--lambda', '0.001', '--budget-bits', String(z.budget), '--rounds', '1000000', '--eval-every', String(z.every)],
      sweep: sweepFlags(z.steps, z.seeds, 'best'),
      series,
      params: { s },
    })),
    judge: (m) => {
      const cases = (cq: string) =>
        z.s.map((s) => ({ label: `s = ${s}`, cq: seriesOf(m, `s${s}`, cq), iqs: [seriesOf(m, `s${s}`, 'iq'), seriesOf(m, `s${s}`, 'iq-common')], drive: seriesOf(m, `s${s}`, 'drive') }));
      return withVariant(cqBeatsIqOnParWithDrive(cases('cq')), "CQ's shared range (our extra series) in CQ's place", cqBeatsIqOnParWithDrive(cases('cq-shared')));
    },
  };
}

function logreg(mode: Mode, data: DataPaths): ExperimentPlan {
  const z = { smoke: { budget: 2e4, steps: '0..0', seeds: '1' }, quick: { budget: 1.5e5, steps: '0..2', seeds: '1' }, full: { budget: 4e6, steps: '0..6', seeds: '1..3' } }[mode];
  const series = [GD, DCGD_IQ, DRIVE, CQ, IQ, IQ_COMMON];
  return {
    id: 'b-logreg',
    title: 'Nonconvex logistic regression on a9a, n = d = 123 (SPEC D.2)',
    claim: 'MARINA+CQ is mostly dominant (lowest ‖∇f‖² for most of the bit budget), even with L± > 0 and against the strong baseline MARINA+DRIVE.',
    source: 'SPEC D.2; the slide "Non-Convex Logistic Regression".',
    size: `a9a, n = 123, k ∈ ${z.steps}, budget ${sizeLabel(z.budget)} bits, seeds ${z.seeds}`,
    setting: [
      ['problem', 'logreg: (1/m)Σ log(1 + exp(−y aᵀx)) + λ Σ x_j²/(1 + x_j²), λ = 0.001'],
      ['data', 'a9a (32 561 rows, 123 features), 123 equal contiguous parts (265 or 264 rows each)'],
      ['series', series.map((s) => s.name).join(', ')],
      ['step', `theoretical × 2^k, k ∈ ${z.steps}; best median ‖∇f‖² at the budget kept`],
      ['budget', `${sizeLabel(z.budget)} bits per client${mode === 'full' ? '' : ' (full mode: 4e6)'}`],
      ['seeds', z.seeds],
      ['evaluation', '‖∇f‖² every 10 rounds and at the last'],
    ],
    choices: [
      'The paper\'s "DGD" is undefined (SPEC F.3): we show both plain distributed GD (uncompressed, "GD") and compressed GD with IQ ("DCGD+IQ").',
      'λ = 0.001: the paper does not give λ (SPEC D.2, decision 8).',
      'Budget and step grid: not given for this experiment; we use D.1\'s procedure (best 2^k multiple at the budget).',
      'Smoothness: L_i = ¼·λ_max(A_iᵀA_i/m_i) + 2λ (bounds), L± = L+ (decision 10); L± is not computable, as the paper says.',
      CONSTANTS_CHOICE,
      P_CHOICE,
    ],
    needs: [data.a9a],
    keep: 'best',
    panels: [
      {
        id: 'a9a',
        title: 'a9a, n = d = 123',
        run: ['--problem', 'logreg', '--data', data.a9a, '--clients', '123', '--budget-bits', String(z.budget), '--rounds', '1000000', '--eval-every', '10'],
        sweep: sweepFlags(z.steps, z.seeds, 'best'),
        series,
        params: {},
      },
    ],
    judge: (m) => mostlyDominant(seriesOf(m, 'a9a', 'cq'), ['drive', 'gd', 'dcgd-iq', 'iq', 'iq-common'].map((r) => seriesOf(m, 'a9a', r))),
  };
}

function mlp(mode: Mode, data: DataPaths): ExperimentPlan {
  const z = {
    smoke: { hidden: 2, budget: 1e4, steps: '0', seeds: '1,2' },
    quick: { hidden: 8, budget: 1e5, steps: '0,3,6,9', seeds: '1,2' },
    full: { hidden: 32, budget: 4e6, steps: '0..10', seeds: '1..5' },
  }[mode];
  const d = z.hidden * 123 + 2 * z.hidden + 1;
  const series = [CQ, DRIVE, DCGD_IQ, IQ, IQ_COMMON];
  return {
    id: 'c-mlp',
    title: 'MLP on a9a with 131 clients (SPEC D.4)',
    claim: 'MARINA+CQ reaches a lower loss for the bits than MARINA+DRIVE, DCGD+IQ and MARINA+IQ, and tolerates larger steps than MARINA+IQ thanks to its lower compression error.',
    source: 'SPEC D.4; the slides "Experiments with an MLP".',
    size: `a9a, n = 131, ${z.hidden} hidden units (d = ${d}), k ∈ ${z.steps}, budget ${sizeLabel(z.budget)} bits, seeds ${z.seeds}`,
    setting: [
      ['problem', `mlp: 123 → ${z.hidden} (tanh) → 1, with biases, logistic loss (d = ${d})${mode === 'full' ? '' : ' (full mode: 32 hidden units, d = 4001)'}`],
      ['data', 'a9a, 131 equal contiguous parts (249 or 248 rows each), full local gradients'],
      ['series', series.map((s) => s.name).join(', ')],
      ['step', `theoretical × 2^k, k ∈ ${z.steps}; the largest k whose median run (over the seeds) converges is kept (SPEC D.4)`],
      ['budget', `${sizeLabel(z.budget)} bits per client${mode === 'full' ? '' : ' (full mode: 4e6)'}`],
      ['seeds', `${z.seeds} (paper: the median of five runs)`],
      ['evaluation', 'f and ‖∇f‖² every 5 rounds and at the last'],
    ],
    choices: [
      `Architecture (unknown, SPEC F.6): one hidden layer of ${z.hidden} tanh units with biases and a logistic output; x⁰ from the seed.`,
      'Full local gradients on each client\'s shard (no minibatches).',
      '"Converges" is judged on the loss the claim is about: the median final f over the seeds is below the median f(x⁰) and the median run did not diverge. The sweep\'s own rule (‖∇f‖² below its start) also accepts runs that ran into a flat region of saturated tanh units with a higher loss; where the two rules keep different steps the table says so.',
      'Smoothness: an estimate (twice the largest secant slope at x⁰), L± = L+ (decision 10).',
      '"Tolerates larger steps" is judged on the absolute γ, against MARINA+IQ at CQ\'s p (same bits per round; IQ at its own p may be GD): each limit lies between the largest γ that converged and the next one tried, and only disjoint brackets decide.',
      mode === 'quick' ? 'Quick mode tries every third power of two (factors of 8), so the step brackets are wide and may overlap; full mode tries every power of two.' : 'The step grid tries every power of two from 2^0.',
      CONSTANTS_CHOICE,
      P_CHOICE,
    ],
    needs: [data.a9a],
    keep: 'largest-converging',
    lossFigure: true,
    panels: [
      {
        id: 'a9a',
        title: `a9a, 131 clients, d = ${d}`,
        run: ['--problem', 'mlp', '--hidden', String(z.hidden), '--data', data.a9a, '--clients', '131', '--budget-bits', String(z.budget), '--rounds', '1000000', '--eval-every', '5'],
        sweep: sweepFlags(z.steps, z.seeds, 'largest-converging'),
        series,
        params: {},
      },
    ],
    judge: (m) =>
      cqLowerLossLargerSteps(
        seriesOf(m, 'a9a', 'cq'),
        ['drive', 'dcgd-iq', 'iq', 'iq-common'].map((r) => seriesOf(m, 'a9a', r)),
        seriesOf(m, 'a9a', 'iq-common'),
        parseIntList('steps', z.steps),
      ),
  };
}

function theoryMaps(mode: Mode): ExperimentPlan {
  const smoke = mode === 'smoke';
  const dims = smoke ? [10, 1e3] : [10, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
  const clients = smoke ? [2, 32] : [2, 16, 128, 1024, 8192, 65536, 524288];
  const diagonal = smoke ? [10, 100] : [10, 1e2, 1e3, 1e4, 1e5, 1e6];
  return {
    id: 'd-theory',
    title: 'C_ind/C_cor and improvement factors over (d, n) (SPEC C)',
    claim:
      'With L± = 0, MARINA+CQ never needs more bits than MARINA+IQ; at each one\'s optimal p the ratio C_ind/C_cor is about 7.29 when d = n ≫ 1 and can reach 32 (where √d < n < d); MARINA+IQ defaults to GD when n ≪ d.',
    source: 'SPEC C and F.1; the slides "Communication Complexity of MARINA" and "Speedup of MARINA with CQ".',
    size: `${dims.length} × ${clients.length} grid and ${diagonal.length} points on d = n, both conventions`,
    setting: [
      ['quantity', 'C(p) = [p·32d + (1−p)(32 + d)]·(1 + sqrt((1−p)/p·A)), minimised over p for IQ and CQ separately; C_GD = 32d; IF = C_GD/C'],
      ['d', dims.map((x) => sizeLabel(x)).join(', ')],
      ['n', clients.join(', ')],
      ['d = n', diagonal.map((x) => sizeLabel(x)).join(', ')],
      ['constants', '`paper`: A_IQ = d/(4n), A_CQ = d/(4n²) (the slide\'s formula); `default`: A_IQ = d/n, A_CQ = d/n² (what the MSE bounds satisfy), SPEC F.1'],
    ],
    choices: [
      'The claims are checked with the paper\'s constants (`--constants paper`), which is where 7.29 comes from; the maps with the default constants are shown beside them (limit about 12.9 instead of 7.29, SPEC C).',
      '"Up to 32" is checked on the grid: its largest ratio must stay at or below 32 and pass 16.',
      '"n ≪ d" is read as d ≥ 100 n.',
    ],
    needs: [],
    keep: 'theory',
    panels: [],
    theory: { dims, clients, diagonal },
    judge: (m) => {
      const paper = m.theory.filter((c) => c.convention === 'paper');
      const diag = paper.filter((c) => c.d === c.n && diagonal.includes(c.d)).sort((a, b) => a.d - b.d);
      const grid = paper.filter((c) => dims.includes(c.d) && clients.includes(c.n));
      return combine([neverWorse(paper), approachesLimit(diag.map((c) => ({ d: c.d, ratio: c.ratio })), 7.29), reachesUpTo(grid, 32), iqDefaultsToGd(grid)]);
    },
  };
}
