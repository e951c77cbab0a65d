import { seriesOf, sweepFlags, type PagePlan, type PlanContext, type SeriesPlan } from './plan.js';
import { bitsPhrase, farFewerBits } from './verdict.js';

/**
 * Page 3: MARINA: Faster Non-Convex Distributed Learning with Compression (Gorbunov, Burlachenko, Li, Richtárik,
 * ICML 2021): SPEC D.3, MARINA against DIANA with RandK on a nonconvex binary classification loss.
 */
export function marinaPage({ mode, data }: PlanContext): PagePlan {
  const z = {
    smoke: { sets: ['mushrooms'], ks: [1], rounds: 100, every: 1 },
    quick: { sets: ['mushrooms', 'phishing'], ks: [1, 10], rounds: 2000, every: 10 },
    full: { sets: ['mushrooms', 'w8a', 'phishing', 'a9a'], ks: [1, 5, 10], rounds: 40000, every: 40 },
  }[mode];
  const file = (name: string) => data[name as keyof typeof data];
  const series: SeriesPlan[] = z.ks.flatMap((k) => [
    { role: `marina-k${k}`, name: `MARINA+RandK (K = ${k})`, method: 'marina', compressor: 'randk', flags: ['--k', String(k), '--p', 'zeta'] },
    { role: `diana-k${k}`, name: `DIANA+RandK (K = ${k})`, method: 'diana', compressor: 'randk', flags: ['--k', String(k)] },
  ]);
  const panels = z.sets.map((set) => ({
    id: set,
    title: `${set}, n = 5`,
    run: ['--problem', 'sigmoid-ls', '--data', file(set), '--clients', '5', '--rounds', String(z.rounds), '--eval-every', String(z.every)],
    sweep: sweepFlags('0..0', '1', 'best'),
    series,
    lambdaTimesL: 1e-6,
    params: {},
  }));
  return {
    id: 'marina',
    title: 'MARINA (ICML 2021)',
    paper: 'E. Gorbunov, K. Burlachenko, Z. Li, P. Richtárik. MARINA: Faster Non-Convex Distributed Learning with Compression. ICML 2021.',
    experiments: [
      {
        id: 'a-sigmoid-ls',
        title: 'Binary classification with a nonconvex loss: MARINA vs DIANA with RandK (SPEC D.3)',
        claim: 'With the same RandK compressor (same K), MARINA needs far fewer bits than DIANA to reach a given ‖∇f‖².',
        source: 'SPEC D.3; the slides "MARINA vs DIANA (RandK)".',
        size: `${z.sets.join(', ')}; K ∈ {${z.ks.join(', ')}}; ${z.rounds} rounds`,
        setting: [
          ['problem', 'sigmoid-ls: (1/m)Σ (1 − 1/(1 + exp(−y aᵀx)))² + (λ/2)‖x‖², a constant bias feature appended, x⁰ = 0'],
          ['λ', 'L·10⁻⁶, L = max_i L_i of the loss (as the MARINA code does)'],
          ['data', `${z.sets.join(', ')}${mode === 'full' ? '' : ' (paper: mushrooms, w8a, phishing, a9a)'}; 5 equal contiguous parts`],
          ['n', '5'],
          ['series', `MARINA+RandK and DIANA+RandK, K ∈ {${z.ks.join(', ')}}${mode === 'full' ? '' : ' (paper: 1, 5, 10)'}; MARINA at p = K/d (ζ_Q/d); DIANA at α = 1/(ω + 1)`],
          ['step', 'theoretical (no multiplier)'],
          ['rounds', `${z.rounds} (paper: 40 000)`],
        ],
        choices: [
          'Theoretical steps are ours: MARINA\'s AB formula 1/(L− + sqrt((1−p)/p·A)·L+) with L− ≤ L_avg, L+ ≤ L_QM (decision 10), not the MARINA code\'s 1/(L(1 + ω/√n)) with L = max L_i; DIANA\'s is A.5\'s with L = max L_i.',
          'L_i = 0.1540586·max_k ‖a_k‖² + λ (the exact sup of the loss\'s curvature; the paper rounds it to 0.15405).',
          'Bits: 32 per value, RandK indices from shared seeds not counted (as the paper\'s code), round 0\'s full gradients counted (decision 2).',
          `"Far fewer" means DIANA needs at least 2× MARINA's bits to reach the ‖∇f‖² level both reach.`,
        ],
        needs: z.sets.map(file),
        keep: 'theory',
        panels: panels.map((pl) => ({ ...pl, sweep: [...pl.sweep] })),
        judge: (m) =>
          farFewerBits(
            panels.flatMap((pl) =>
              z.ks.map((k) => {
                const b = bitsPhrase('MARINA', 'DIANA', seriesOf(m, pl.id, `marina-k${k}`).grad, seriesOf(m, pl.id, `diana-k${k}`).grad);
                return { label: `${pl.id}, K = ${k}`, ratio: b.ratio, text: b.text };
              }),
            ),
          ),
      },
    ],
  };
}
