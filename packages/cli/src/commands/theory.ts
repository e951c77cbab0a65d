import type { CommandModule } from 'yargs';
import {
  communicationRatio, cqRunP, quadraticFamilyOf, quadraticOptimum, theoryReport, type CommunicationRatio, type Landscape, type Problem, type RatioSide,
  type RunSetup, type TheoryReport,
} from '@marina/core';
import { resolveInProcess } from '../runs.js';
import { configFromArgv, withRunOptions } from '../options.js';
import { fmtBits } from '../progress.js';
import { renderTable } from '../table.js';
import { UsageError, type Args } from './common.js';

/**
 * `marina theory`: what the theory says about a configuration, without running it (SPEC A.2–A.4,
 * decisions 5, 9, 10): constants, p and γ with their rules, expected bits per round, and bits per client to
 * ‖∇f‖² ≤ ε². With `--ratio`, SPEC C's C_ind/C_cor, closed form in (d, n, p). Nothing here builds an
 * iterate or does O(n·d) work.
 */
export const theoryCommand: CommandModule = {
  command: 'theory',
  describe: 'constants, theoretical p and step, expected bits per round and predicted bits to ε (--ratio: SPEC C C_ind/C_cor)',
  builder: (y) =>
    withRunOptions(y).options({
      eps: {
        type: 'string',
        describe: 'accuracy ε: predict bits per client to reach ‖∇f‖² ≤ ε² (default: the run target)',
        group: 'Theory:',
      },
      ratio: {
        type: 'boolean',
        default: false,
        describe: "SPEC C: C_ind/C_cor of MARINA+IQ vs MARINA+CQ (L = 1, L± = 0) at --at-p and at each one's optimal p",
        group: 'Theory:',
      },
      'at-p': {
        type: 'string',
        describe: "with --ratio: the common p, a number in (0, 1] or a fraction such as 1/124 (default: the MARINA+CQ run's p)",
        group: 'Theory:',
      },
      json: { type: 'boolean', default: false, describe: 'print one JSON object', group: 'Output:' },
    }),
  handler: async (a) => {
    if (a['ratio']) {
      const r = ratioFromArgs(a);
      process.stdout.write(a['json'] ? JSON.stringify(r) + '\n' : describeRatio(r) + '\n');
      return;
    }
    if (a['at-p'] !== undefined) throw new UsageError('--at-p needs --ratio');
    const config = configFromArgv(a);
    const eps = a['eps'] === undefined ? undefined : positive('eps', a['eps']);
    if (eps === undefined && config.target === null && config.targetRel === null)
      throw new UsageError('the configuration has no target: give --eps');
    const { setup, problems } = await resolveInProcess(config);
    const report = theoryReport(setup, landscapeOf(setup, problems), eps);
    process.stdout.write(
      a['json'] ? JSON.stringify({ config, shards: setup.facts, ...report }) + '\n' : describeShards(setup) + describeTheory(report, setup) + '\n',
    );
  },
};

/** `--ratio`'s report: SPEC C plus how p was chosen. */
type RatioReport = CommunicationRatio & { pRule: string; notes: string[] };

/**
 * d and n for `--ratio` may exceed a run's limits (SPEC C goes to d = 10⁸, n = 10⁶): nothing is built, so
 * `--dim` and `--clients` are read as plain positive integers; every other field goes through the one
 * configuration door.
 */
function ratioFromArgs(a: Args): RatioReport {
  const config = configFromArgv({ ...a, dim: undefined, clients: undefined });
  const d = a['dim'] === undefined ? Number(config['dim']) : count('dim', a['dim']);
  const n = a['clients'] === undefined ? config.clients : count('clients', a['clients']);
  const atP = a['at-p'];
  const p = atP === undefined ? cqRunP(d, n, config.p, config.constants) : probability('at-p', atP);
  const pRule =
    atP !== undefined
      ? 'given (--at-p)'
      : config.p === 'auto'
        ? "the MARINA+CQ run's p: auto, minimises CQ's C(p) (decision 9)"
        : config.p === 'zeta'
          ? "the MARINA+CQ run's p: zeta, ζ_Q/d = 1"
          : "the MARINA+CQ run's p: given (--p)";
  const notes = ['SPEC C regime: L_- = L_+ = L = 1, L_± = 0 (homogeneous data); costs are bits per client in units of L·2Δ0/ε².'];
  if (Number(config['noise']) > 0) notes.push("--noise is ignored: the ratio is SPEC C's closed form, which assumes L_± = 0.");
  return { ...communicationRatio(d, n, p, config.constants), pRule, notes };
}

function describeRatio(r: RatioReport): string {
  const { d, n, atP, atOptimum: o } = r;
  const conv = r.convention === 'paper' ? 'paper constants (A_IQ = d/(4n), A_CQ = d/(4n²))' : 'default constants (A_IQ = d/n, A_CQ = d/n²)';
  const sideRow = (s: RatioSide, IF: number) => [
    s.compressor,
    s.p.toPrecision(4),
    s.A.toPrecision(4),
    fmtBits(s.bitsPerMessage),
    (s.cost / (32 * d)).toPrecision(4),
    IF.toPrecision(4),
  ];
  return [
    `SPEC C: C_ind/C_cor for d = ${d}, n = ${n}, ${conv}; ${fmtBits(atP.iq.bitsPerMessage)} bits per compressed message`,
    '',
    `(a) both at p = ${atP.p.toPrecision(4)} (${r.pRule}):`,
    `    C_ind/C_cor = (1 + sqrt((1−p)/p·A_IQ)) / (1 + sqrt((1−p)/p·A_CQ)) = ${atP.ratio.toPrecision(4)}`,
    '',
    '(b) each at the p minimising C(p) = [p·32d + (1−p)·b_Q]·(1 + sqrt((1−p)/p·A)):',
    '',
    renderTable(['compressor', 'p*', 'A', 'b_Q', 'C(p*)/C_GD', 'IF = C_GD/C'], [sideRow(o.iq, o.ifIQ), sideRow(o.cq, o.ifCQ)]),
    '',
    `    C_ind/C_cor = ${o.ratio.toPrecision(4)}   (C_GD = 32d = ${fmtBits(o.costGD)}; IF_IQ = ${o.ifIQ.toPrecision(4)}, IF_CQ = ${o.ifCQ.toPrecision(4)})`,
    ...r.notes.map((note) => `note: ${note}`),
  ].join('\n');
}

/**
 * f(x⁰), f* and ‖∇f(x⁰)‖²: exact for the quadratic (O(n + d)); for a data problem from the clients' f_i at x⁰
 * (one gradient each) with the problem's lower bound on inf f standing in for f*.
 */
function landscapeOf(setup: RunSetup, problems: Problem[]): Landscape {
  if (setup.problem.infimumBound === undefined) return quadraticOptimum(quadraticFamilyOf(setup.config, setup.n));
  const g = new Float64Array(setup.d);
  const sum = new Float64Array(setup.d);
  let f0 = 0;
  for (const problem of problems) {
    problem.gradInto(g, setup.x0);
    for (let j = 0; j < g.length; j++) sum[j]! += g[j]!;
    f0 += problem.loss(setup.x0);
  }
  f0 /= problems.length;
  let gradNormSq0 = 0;
  for (let j = 0; j < sum.length; j++) gradNormSq0 += (sum[j]! / problems.length) ** 2;
  const fStar = setup.problem.infimumBound;
  return { f0, fStar, fStarKind: 'lower bound', delta0: f0 - fStar, gradNormSq0 };
}

/** What each client reported when it joined (data problems): the constants the theory was resolved from. */
function describeShards(setup: RunSetup): string {
  if (setup.problem.data === 'none') return '';
  const rows = setup.facts.map((f, rank) => [String(rank), String(f.rows), String(f.features), num(f.Li), f.LiKind, f.fingerprint.slice(0, 16)]);
  return `what each client reported (${setup.config.data}, ${setup.config.shard} split):\n\n${renderTable(['rank', 'rows', 'features', 'L_i', 'L_i is', 'fingerprint'], rows)}\n\n`;
}

function describeTheory(r: TheoryReport, setup: RunSetup): string {
  const c = setup.config;
  const th = r.theory;
  const ex = (exact: boolean) => (exact ? 'exact' : 'bound');
  const bits = (x: number) => (Number.isFinite(x) && x >= 1e4 ? `${num(x)} (${fmtBits(x)})` : num(x));
  const predict = (label: string, p: TheoryReport['atTheoryStep']) =>
    `${label}: γ = ${num(p.gamma)} → ${num(p.rounds)} rounds; bits/client = ${num(p.round0Bits)} (round 0) + rounds × ${num(p.bitsPerRound)} = ${bits(p.bitsPerClient)}`;
  const lines = [
    `${r.method} + ${r.compressor}: n = ${r.n}, d = ${r.d}, ${c.problem === 'quadratic' ? `s = ${c['noise']}, λ = ${c['lambda']}` : `${c.problem} on ${c.data}`}, seed ${c.seed}`,
    '',
    `smoothness   L- = ${num(th.Lminus)} (${ex(th.exact.Lminus)}), L+ = ${num(th.Lplus)} (${ex(th.exact.Lplus)}), L± = ${num(th.Lpm)} (${ex(th.exact.Lpm)})`,
    `compressor   ${r.compressor} (${r.unbiased ? 'unbiased' : 'biased'}, ${r.correlated ? 'correlated' : 'independent'}): ω = ${num(th.omega)}, A = ${num(th.A)}, B = ${num(th.B)}; ${th.convention} convention: ${th.constantsNote}`,
    `p            ${num(th.p)} (${th.pRule})`,
    `step         γ_theory = ${num(th.gammaTheory)}; the run's γ = ${num(th.gamma)} (${th.stepRule})`,
    `bits         b_Q = ${num(th.bitsPerMessage)} per compressed message; expected ${num(th.expectedBitsPerRound)} per client per round; round 0: ${num(r.atTheoryStep.round0Bits)}`,
  ];
  if (th.params)
    lines.push(
      `params       ${Object.entries(th.params)
        .map(([k, v]) => `${k} = ${num(v as number)}`)
        .join(', ')}`,
    );
  lines.push(
    `problem      f(x⁰) = ${num(r.problem.f0)}, f* ${r.problem.fStarKind === 'exact' ? '=' : '≥'} ${num(r.problem.fStar)}, Δ0 ${r.problem.fStarKind === 'exact' ? '=' : '≤'} ${num(r.problem.delta0)}, ‖∇f(x⁰)‖² = ${num(r.problem.gradNormSq0)}`,
    `accuracy     ε = ${num(r.accuracy.eps)}, ‖∇f‖² ≤ ε² = ${num(r.accuracy.epsSq)} (${r.accuracy.source})`,
    predict('prediction   at γ_theory', r.atTheoryStep),
  );
  if (r.atRunStep) lines.push(predict("             at the run's γ", r.atRunStep));
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/** Six significant digits without trailing zeros; integers as they are. */
function num(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '∞' : x < 0 ? '−∞' : 'NaN';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  // Large non-integers in exponent form, so a rounded value never reads as an exact count.
  return Math.abs(x) >= 1e6 ? x.toPrecision(6) : String(Number(x.toPrecision(6)));
}

/** A positive integer flag (any size: nothing is allocated from it). */
function count(flag: string, v: unknown): number {
  const x = Number(v);
  if (!(Number.isSafeInteger(x) && x >= 1)) throw new UsageError(`--${flag} is ${JSON.stringify(v)}; expected a positive integer`);
  return x;
}

/** A number in (0, 1], written as a decimal or a fraction a/b. */
function probability(flag: string, v: unknown): number {
  const s = String(v).trim();
  const m = /^([0-9.eE+-]+)\s*\/\s*([0-9.eE+-]+)$/.exec(s);
  const x = m ? Number(m[1]) / Number(m[2]) : s === '' ? NaN : Number(s);
  if (!(x > 0 && x <= 1))
    throw new UsageError(`--${flag} is ${JSON.stringify(v)}; expected a number in (0, 1] or a fraction such as 1/124`);
  return x;
}

function positive(flag: string, v: unknown): number {
  const x = String(v).trim() === '' ? NaN : Number(v);
  if (!(Number.isFinite(x) && x > 0)) throw new UsageError(`--${flag} is ${JSON.stringify(v)}; expected a positive number`);
  return x;
}
