import { join } from 'node:path';
import { writeIdxSubset } from './data.js';
import { seriesOf, sweepFlags, type ExperimentPlan, type Mode, type PagePlan, type PlanContext, type SeriesPlan } from './plan.js';
import { bitsPhrase, permkBestWhenHomogeneous, permkGapShrinks } from './verdict.js';

/**
 * Page 2: Permutation Compressors for Provably Faster Distributed Nonconvex Optimization (Szlendak, Tyurin,
 * Richtárik, arXiv 2110.03300, ICLR 2022): SPEC D.1 (PermK settings) and D.5 (MNIST autoencoder).
 */
export function permkPage(ctx: PlanContext): PagePlan {
  return {
    id: 'permk',
    title: 'Permutation compressors (PermK)',
    paper: 'R. Szlendak, A. Tyurin, P. Richtárik. Permutation Compressors for Provably Faster Distributed Nonconvex Optimization. arXiv 2110.03300 (ICLR 2022).',
    experiments: [quadratics(ctx.mode), autoencoder(ctx)],
  };
}

/** MARINA+PermK, MARINA+RandK (K = d/n) and EF21+TopK (K = d/n); MARINA's p is 1/n = K/d (SPEC D.1, D.5). */
function permkSeries(k: number, p: number): SeriesPlan[] {
  return [
    { role: 'permk', name: 'MARINA+PermK', method: 'marina', compressor: 'permk', flags: ['--p', String(p)] },
    { role: 'randk', name: `MARINA+RandK (K = ${k})`, method: 'marina', compressor: 'randk', flags: ['--k', String(k), '--p', String(p)] },
    { role: 'ef21', name: `EF21+TopK (K = ${k})`, method: 'ef21', compressor: 'topk', flags: ['--k', String(k)] },
  ];
}

/** Bits per client of round 0 (32d) and `rounds` MARINA+PermK rounds at p (dense 32d, else 32K): the shared budget. */
function budgetOf(d: number, k: number, p: number, rounds: number): number {
  return Math.round(32 * d + rounds * (p * 32 * d + (1 - p) * 32 * k));
}

function quadratics(mode: Mode): ExperimentPlan {
  const z = {
    smoke: { d: 20, ns: [4], s: [0, 0.2], rounds: 100, steps: '0..0', every: 1 },
    quick: { d: 100, ns: [10, 100], s: [0, 0.2], rounds: 1000, steps: '0..4', every: 10 },
    full: { d: 1000, ns: [10, 100, 1000], s: [0, 0.05, 0.1, 0.2, 0.8], rounds: 20000, steps: '0..10', every: 50 },
  }[mode];
  const panels = z.ns.flatMap((n) =>
    z.s.map((s) => {
      const k = Math.floor(z.d / n);
      const p = 1 / n;
      return {
        id: `n${n}-s${s}`,
        title: `n = ${n}, s = ${s}${s === 0 ? ' (L± = 0)' : ''}`,
        run: ['--problem', 'quadratic', '--dim', String(z.d), '--clients', String(n), '--noise', String(s), '--lambda', '1e-6', '--budget-bits', String(budgetOf(z.d, k, p, z.rounds)), '--rounds', '10000000', '--eval-every', String(z.every)],
        sweep: sweepFlags(z.steps, '1', 'best' as const),
        series: permkSeries(k, p),
        params: { n, s, K: k },
      };
    }),
  );
  return {
    id: 'a-quadratics',
    title: 'Quadratics with controlled Hessian variance (SPEC D.1, PermK settings)',
    claim: 'MARINA+PermK beats MARINA+RandK (same K = d/n) by up to a factor O(√n) in bits when the Hessian variance L± is small; the gap shrinks as s (and L±) grows.',
    source: 'SPEC D.1 (PermK settings); the abstract of arXiv 2110.03300.',
    size: `d = ${z.d}, n ∈ {${z.ns.join(', ')}}, s ∈ {${z.s.join(', ')}}, k ∈ ${z.steps}, ${z.rounds} PermK rounds' bits`,
    setting: [
      ['problem', 'SPEC D.1 quadratics, λ = 1e-6'],
      ['d', `${z.d}${mode === 'full' ? '' : ' (paper: 1000)'}`],
      ['n', `${z.ns.join(', ')}${mode === 'full' ? '' : ' (paper: 10, 100, 1000)'}`],
      ['s', `${z.s.join(', ')}${mode === 'full' ? '' : ' (paper: 0, 0.05, 0.1, 0.2, 0.8)'}`],
      ['series', 'MARINA+PermK, MARINA+RandK (K = d/n), EF21+TopK (K = d/n); MARINA at p = 1/n'],
      ['step', `theoretical × 2^k, k ∈ ${z.steps} (paper: k ∈ 0..19); best ‖∇f‖² at the budget kept`],
      ['budget', `32d + ${z.rounds} MARINA+PermK rounds' expected bits per client (paper: ${20000} iterations, EF21 40 000); every series gets the same bits`],
      ['seeds', '1'],
    ],
    choices: [
      'A bit budget equal for all series instead of fixed iterations (the paper gave EF21 twice the iterations).',
      'L± is exact on quadratics (decision 10): at s = 0 PermK\'s theoretical step is GD\'s 1/L−, and MARINA+PermK with identical clients is GD at a fraction of the bits per round.',
      'Bits are float32 (32 per value; Szlendak\'s scripts count 64), indices from shared seeds not counted for PermK and RandK (decisions 1, 18); TopK\'s indices are counted (decision 17).',
      '"Beats" means RandK needs at least 1.5× PermK\'s bits to reach the level both reach.',
      'EF21+TopK is drawn for reference; the claim checked is PermK against RandK.',
    ],
    needs: [],
    keep: 'best',
    panels,
    judge: (m) =>
      permkGapShrinks(
        panels.map((pl) => {
          const b = bitsPhrase('PermK', 'RandK', seriesOf(m, pl.id, 'permk').grad, seriesOf(m, pl.id, 'randk').grad);
          return { n: Number(pl.params.n), s: Number(pl.params.s), ratio: b.ratio, max: b.max };
        }),
      ),
  };
}

function autoencoder({ mode, data, work }: PlanContext): ExperimentPlan {
  const z = {
    smoke: { n: 4, perClient: 10, hidden: 2, rounds: 20, steps: '0..0', every: 1 },
    quick: { n: 10, perClient: 30, hidden: 4, rounds: 100, steps: '0..5', every: 5 },
    full: { n: 100, perClient: 99, hidden: 16, rounds: 1000, steps: '0..5', every: 10 },
  }[mode];
  const images = (z.n + 1) * z.perClient;
  const file = mode === 'full' ? data.mnist : join(work, 'data', `mnist-t10k-first-${images}.idx`);
  const d = 2 * 784 * z.hidden;
  const k = Math.floor(d / z.n);
  const p = k / d;
  const qs = [1, 0.5];
  return {
    id: 'b-autoencoder',
    title: 'MNIST autoencoder with controlled homogeneity (SPEC D.5)',
    claim: 'On the autoencoder, MARINA+PermK is the best method when the clients are nearly homogeneous (q large); its advantage shrinks as q falls.',
    source: 'SPEC D.5; the PermK paper\'s autoencoder experiment.',
    size: `${images} images, n = ${z.n}, ${z.hidden} hidden units (d = ${d}), q ∈ {1, 0.5}, k ∈ ${z.steps}, ${z.rounds} PermK rounds' bits`,
    setting: [
      ['problem', `autoencoder: linear encoder ${z.hidden}×784 and decoder 784×${z.hidden}, no biases, λ = 0 (d = ${d})`],
      ['data', `the first ${images} of MNIST's 10 000 test images, scaled to [0, 1], in ${z.n + 1} parts of ${z.perClient}: part 0 the hold-out`],
      ['n', `${z.n} (paper: 1000)`],
      ['q (homogeneity)', `${qs.join(', ')}: each client sample replaced by the hold-out's with probability q (q = 1: identical clients)`],
      ['series', `MARINA+PermK, MARINA+RandK (K = ⌊d/n⌋ = ${k}), EF21+TopK (K = ${k}); MARINA at p = K/d`],
      ['step', `theoretical × 2^k, k ∈ ${z.steps} (paper: absolute steps 2^i, i ∈ −5..3); best ‖∇f‖² at the budget kept`],
      ['budget', `32d + ${z.rounds} MARINA+PermK rounds' expected bits per client (paper: 4000 iterations, EF21 8000)`],
    ],
    choices: [
      `Scaled down: only MNIST's 10 000-image test set is at hand (the paper split the 60 000 training images over n = 1000); ${mode === 'full' ? 'all 10 000 images over n = 100 clients' : `the first ${images} images over n = ${z.n} clients, ${z.hidden} hidden units instead of 16`}.`,
      'λ = 0 (SPEC D.5 also ran 1e-5 and 1e-3).',
      'L± is not computed for the autoencoder: the theoretical steps use the bound L± = L+ (decision 10), so even at q = 1 PermK\'s theoretical step is no larger than RandK\'s; only the 2^k grid can find PermK\'s larger steps.',
      'Step multipliers of the theoretical step (1/(L− + …) with the estimated L and L± = L+, decision 10) instead of the paper\'s absolute grid.',
      'A bit budget equal for all series instead of fixed iterations.',
    ],
    needs: [data.mnist],
    prepare: mode === 'full' ? undefined : () => writeIdxSubset(data.mnist, images, file),
    keep: 'best',
    panels: qs.map((q) => ({
      id: `q${q}`,
      title: `q = ${q}${q === 1 ? ' (identical clients)' : ''}`,
      run: ['--problem', 'autoencoder', '--hidden', String(z.hidden), '--data', file, '--clients', String(z.n), '--homogeneity', String(q), '--budget-bits', String(budgetOf(d, k, p, z.rounds)), '--rounds', '10000000', '--eval-every', String(z.every)],
      sweep: sweepFlags(z.steps, '1', 'best'),
      series: permkSeries(k, p),
      params: { q },
    })),
    judge: (m) => permkBestWhenHomogeneous(qs.map((q) => ({ q, permk: seriesOf(m, `q${q}`, 'permk'), rivals: [seriesOf(m, `q${q}`, 'randk'), seriesOf(m, `q${q}`, 'ef21')] }))),
  };
}
