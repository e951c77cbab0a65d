import { advantage, dominance, LEVELS, type Curve } from './curves.js';

/**
 * Verdicts: a paper's claim checked against measured numbers. Each function is pure and returns the outcome
 * with the numbers that decide it, so a page can print one line per experiment and a test can pin the rule.
 *
 * The thresholds are ours (the papers give plots, not numbers) and are stated on the pages:
 * - WIN: "beats" means needing at most 1/WIN of the rival's bits to reach the level both reach;
 * - FAR: "far fewer bits" means a factor of FAR or more;
 * - PAR: "on par" means within a factor PAR either way (or better).
 */
export const WIN = 1.5;
export const FAR = 2;
export const PAR = 2;

/** Loss levels are compared from just below the start (`advantage`'s `from`): a loss falls by a factor of a few, not by decades. */
export const LOSS_FROM = 0.99;

export type Outcome = 'reproduced' | 'differs' | 'not reproduced' | 'not measured';

export interface Verdict {
  outcome: Outcome;
  /** The numbers that decide it, and why, in one paragraph of markdown. */
  why: string;
}

/** What a page knows of one series (one method + compressor under one setting) after its sweep. */
export interface Measured {
  name: string;
  /** Median over seeds of the kept step's ‖∇f‖² at the end (the budget); null when no step was kept (all diverged). */
  final: number | null;
  /** k of the kept multiplier 2^k; null when none was kept. */
  stepExp: number | null;
  /** The kept run's step size γ (absolute) and p. */
  gamma: number | null;
  p: number | null;
  /** The kept run (first seed): ‖∇f(xᵗ)‖² and f(xᵗ) against bits per client. */
  grad: Curve;
  loss: Curve;
}

/** 3.1e-5; "-" for null or NaN. */
export function sci(x: number | null): string {
  if (x === null || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  return x.toExponential(1).replace('e+', 'e');
}

/** A ratio of bits as "14×", "1.3×"; ∞ when the rival never improved on its start. */
export function times(r: number): string {
  if (!Number.isFinite(r)) return r > 0 ? '∞×' : '-';
  return `${r >= 10 ? r.toFixed(0) : r.toPrecision(2)}×`;
}

/** One series' result as "name 3.1e-5 (2^3)", or "name: every step diverged". */
export function finalOf(m: Measured): string {
  return m.final === null ? `${m.name}: every step diverged` : `${m.name} ${sci(m.final)} (2^${m.stepExp})`;
}

/** "CQ needs 14× fewer bits than IQ to reach 6.4e-5" for ratio above 1, "2.0× more" below. */
export function bitsPhrase(ours: string, rival: string, curveOurs: Curve, curveRival: Curve, from = 0.1): { ratio: number; max: number; text: string } {
  const a = advantage(curveOurs, curveRival, from);
  if (a === null) return { ratio: NaN, max: NaN, text: `${ours} vs ${rival}: no curve to compare` };
  if (Number.isNaN(a.ours)) {
    const text = a.ratio === Infinity ? `${rival} never got below its start, ${ours} did` : a.ratio === 0 ? `${ours} never got below its start, ${rival} did` : `neither ${ours} nor ${rival} got below its start`;
    return { ratio: a.ratio, max: a.max, text };
  }
  const how = (r: number) => (Math.abs(Math.log(r)) < Math.log(1.05) ? 'about as many' : r >= 1 ? `${times(r)} fewer` : `${times(1 / r)} more`);
  const range = a.top > a.level ? `the median over ${LEVELS} levels from ${sci(a.top)} down to ${sci(a.level)}, where the bits are ${sci(a.ours)} vs ${sci(a.rival)}; at best ${how(a.max)} at ${sci(a.maxLevel)}` : `to reach ${sci(a.level)}: ${sci(a.ours)} vs ${sci(a.rival)} bits per client`;
  const needs = how(a.ratio) === 'about as many' ? `about as many bits as ${rival}` : `${how(a.ratio)} bits than ${rival}`;
  return { ratio: a.ratio, max: a.max, text: `${ours} needs ${needs} (${range})` };
}

/**
 * Several parts of one claim: reproduced when all are, not reproduced when none is, else differs. A part that
 * could not be measured makes the whole "not measured" only when every part is.
 */
export function combine(parts: readonly Verdict[]): Verdict {
  const measured = parts.filter((p) => p.outcome !== 'not measured');
  const why = parts.map((p) => p.why).join(' ');
  if (measured.length === 0) return { outcome: 'not measured', why };
  if (measured.every((p) => p.outcome === 'reproduced')) return { outcome: 'reproduced', why };
  if (measured.every((p) => p.outcome === 'not reproduced')) return { outcome: 'not reproduced', why };
  return { outcome: 'differs', why };
}

/**
 * SPEC D.1 (CQ-MARINA): "CQ beats IQ and is on par with DRIVE even when L± ≫ 0", per noise level s. CQ beats
 * IQ when it needs WIN× fewer bits than the better IQ series (lower ‖∇f‖² at the budget) to reach the level both
 * reach; it is on par with DRIVE when it needs at most PAR× DRIVE's bits.
 */
export function cqBeatsIqOnParWithDrive(cases: readonly { label: string; cq: Measured; iqs: readonly Measured[]; drive: Measured }[]): Verdict {
  const parts = cases.map(({ label, cq, iqs, drive }): Verdict => {
    if (cq.final === null) return { outcome: 'not reproduced', why: `${label}: ${finalOf(cq)}.` };
    const iq = [...iqs].sort((a, b) => (a.final ?? Infinity) - (b.final ?? Infinity))[0]!;
    const vsIq = bitsPhrase(cq.name, iq.name, cq.grad, iq.grad);
    const vsDrive = bitsPhrase(cq.name, drive.name, cq.grad, drive.grad);
    const beats = vsIq.ratio >= WIN;
    const onPar = vsDrive.ratio >= 1 / PAR;
    const finals = [cq, ...iqs, drive].map(finalOf).join(', ');
    const failed = [beats ? '' : `does not beat ${iq.name}`, onPar ? '' : `is behind ${drive.name} by more than ${PAR}×`].filter(Boolean);
    return {
      outcome: beats && onPar ? 'reproduced' : beats || onPar ? 'differs' : 'not reproduced',
      why: `${label}: median ‖∇f‖² at the budget ${finals}; ${vsIq.text}; ${vsDrive.text}${failed.length ? ` — CQ ${failed.join(' and ')}` : ''}.`,
    };
  });
  return combine(parts);
}

/**
 * A verdict on our default configuration, with the same rule applied to a variant (CQ's shared range) reported
 * beside it: the outcome stays the default's, the variant's outcome and numbers follow in the text.
 */
export function withVariant(main: Verdict, variant: string, alt: Verdict): Verdict {
  return { outcome: main.outcome, why: `${main.why} With ${variant}: ${alt.outcome}. ${alt.why}` };
}

/**
 * SPEC D.2: "our approach (MARINA+CQ) is mostly dominant, even against MARINA+DRIVE". Mostly dominant: at ≥ half of
 * the log-spaced bit levels both curves cover, CQ's ‖∇f‖² is at or below the rival's (`dominance`). Reproduced
 * against every rival; differs when CQ dominates some; not reproduced when none.
 */
export function mostlyDominant(ours: Measured, rivals: readonly Measured[]): Verdict {
  if (ours.final === null) return { outcome: 'not reproduced', why: `${finalOf(ours)}.` };
  const shares = rivals.map((r) => ({ r, share: r.final === null ? 1 : dominance(ours.grad, r.grad) }));
  const measured = shares.filter((s) => s.share !== null);
  if (measured.length === 0) return { outcome: 'not measured', why: 'no rival curve overlaps CQ\'s in bits.' };
  const won = measured.filter((s) => s.share! >= 0.5);
  const list = shares.map(({ r, share }) => `${r.name} ${r.final === null ? '(every step diverged)' : share === null ? '(no overlap)' : `${Math.round(share * 100)}%`}`).join(', ');
  const finals = [ours, ...rivals].map(finalOf).join(', ');
  const lost = measured.filter((s) => s.share! < 0.5).map((s) => s.r);
  const gaps = lost.map((r) => bitsPhrase(ours.name, r.name, ours.grad, r.grad).text).join('; ');
  return {
    outcome: won.length === measured.length ? 'reproduced' : won.length > 0 ? 'differs' : 'not reproduced',
    why: `Median ‖∇f‖² at the budget: ${finals}. Share of bit levels where ${ours.name} is at or below the rival: ${list}${lost.length ? ` — not dominant against ${lost.map((r) => r.name).join(', ')}: ${gaps}` : ''}.`,
  };
}

/**
 * SPEC D.4: "MARINA+CQ has lower complexity (loss against bits) than MARINA+DRIVE, DCGD+IQ and MARINA+IQ, and
 * tolerates larger steps than MARINA+IQ". Lower complexity: fewer bits to the loss level both reach, against each
 * rival; larger steps: CQ's largest converging γ above IQ's at the same p, as far as the grid of exponents `grid`
 * can tell (`largerSteps`).
 */
export function cqLowerLossLargerSteps(cq: Measured, rivals: readonly Measured[], iqSameP: Measured, grid: readonly number[]): Verdict {
  if (cq.final === null) return { outcome: 'not reproduced', why: `${finalOf(cq)}.` };
  const vs = rivals.map((r) => bitsPhrase(cq.name, r.name, cq.loss, r.loss, LOSS_FROM));
  const lower = vs.filter((v) => !Number.isNaN(v.ratio));
  const complexity: Verdict = {
    outcome: lower.length === 0 ? 'not measured' : lower.every((v) => v.ratio > 1) ? 'reproduced' : 'not reproduced',
    why: `Loss: ${vs.map((v) => v.text).join('; ')}.`,
  };
  const steps = largerSteps(cq, iqSameP, grid);
  return combine([complexity, steps]);
}

/**
 * Where each series stops converging, as the step grid can tell: between its kept γ (converged) and γ·2^(next − kept),
 * the next multiplier tried (did not converge); unbounded above when the kept step is the grid's largest. CQ tolerates
 * larger steps when its lower end is at or above IQ's upper end; IQ does when the reverse holds; otherwise the
 * intervals overlap and the grid is too coarse to tell.
 */
export function largerSteps(cq: Measured, iq: Measured, grid: readonly number[]): Verdict {
  const range = (m: Measured): [number, number] | null => {
    if (m.gamma === null || m.stepExp === null) return null;
    const next = [...grid].sort((a, b) => a - b).find((k) => k > m.stepExp!);
    return [m.gamma, next === undefined ? Infinity : m.gamma * 2 ** (next - m.stepExp)];
  };
  const a = range(cq);
  const b = range(iq);
  const show = (m: Measured, r: [number, number]) => `${m.name} [${sci(r[0])}, ${sci(r[1])})${r[1] === Infinity ? ' (converged at the grid\'s largest step)' : ''}`;
  if (a === null) return { outcome: 'not measured', why: `Steps: ${cq.name} converged at no step.` };
  if (b === null) return { outcome: 'reproduced', why: `Steps: ${iq.name} converged at no step of the grid; ${cq.name} up to γ = ${sci(cq.gamma)}.` };
  const lead = `Largest converging γ, as the grid brackets it: ${show(cq, a)} vs ${show(iq, b)}`;
  if (a[0] >= b[1]) return { outcome: 'reproduced', why: `${lead}: ${cq.name} tolerates larger steps.` };
  if (b[0] >= a[1]) return { outcome: 'not reproduced', why: `${lead}: ${iq.name} tolerates larger steps.` };
  return { outcome: 'not measured', why: `${lead}: the intervals overlap, the grid is too coarse to tell.` };
}

/**
 * SPEC C's limit: along d = n the optimal-p ratio C_ind/C_cor rises towards `limit` (7.29 with the paper's
 * constants). Reproduced when the diagonal increases and its last value is within `tol` (relative) of the limit
 * without passing it.
 */
export function approachesLimit(diagonal: readonly { d: number; ratio: number }[], limit: number, tol = 0.05): Verdict {
  if (diagonal.length === 0) return { outcome: 'not measured', why: 'no d = n point.' };
  const increasing = diagonal.every((x, i) => i === 0 || x.ratio >= diagonal[i - 1]!.ratio);
  const last = diagonal[diagonal.length - 1]!;
  const near = last.ratio <= limit * (1 + 1e-9) && last.ratio >= limit * (1 - tol);
  const list = diagonal.map((x) => `${sci(x.d)}: ${x.ratio.toFixed(2)}`).join(', ');
  return {
    outcome: increasing && near ? 'reproduced' : increasing || near ? 'differs' : 'not reproduced',
    why: `C_ind/C_cor at d = n (${list}): ${increasing ? 'increasing' : 'not increasing'}, the last ${((last.ratio / limit) * 100).toFixed(1)}% of ${limit}.`,
  };
}

/**
 * "The ratio can reach up to 32", and CQ surpasses IQ most "when √d < n < d": the largest ratio over the grid is at
 * most `cap`, above cap/2, and sits in a cell with √d < n < d.
 */
export function reachesUpTo(cells: readonly { d: number; n: number; ratio: number }[], cap: number): Verdict {
  if (cells.length === 0) return { outcome: 'not measured', why: 'no grid cell.' };
  const top = cells.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const inBand = Math.sqrt(top.d) < top.n && top.n < top.d;
  const bounded = top.ratio <= cap;
  const high = top.ratio > cap / 2;
  return {
    outcome: bounded && high && inBand ? 'reproduced' : !bounded ? 'not reproduced' : 'differs',
    why: `Largest C_ind/C_cor on the grid: ${top.ratio.toFixed(1)} at d = ${sci(top.d)}, n = ${top.n} (${inBand ? 'inside' : 'outside'} √d < n < d)${bounded ? '' : `, above ${cap}`}${high ? '' : `, below ${cap / 2}: the grid does not come near ${cap}`}.`,
  };
}

/** "C_cor ≤ C_ind for all p": the optimal-p ratio C_ind/C_cor is at least 1 in every cell (to rounding). */
export function neverWorse(cells: readonly { d: number; n: number; ratio: number }[]): Verdict {
  if (cells.length === 0) return { outcome: 'not measured', why: 'no grid cell.' };
  const low = cells.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const ok = low.ratio >= 1 - 1e-9;
  return {
    outcome: ok ? 'reproduced' : 'not reproduced',
    why: `C_ind/C_cor ≥ 1 in ${cells.filter((c) => c.ratio >= 1 - 1e-9).length} of ${cells.length} cells (smallest ${low.ratio.toFixed(3)} at d = ${sci(low.d)}, n = ${low.n}).`,
  };
}

/** "MARINA+IQ defaults to GD when n ≪ d": IF_IQ = 1 (its optimal p is 1) in every cell with d ≥ 100 n. */
export function iqDefaultsToGd(cells: readonly { d: number; n: number; ifIQ: number }[]): Verdict {
  const far = cells.filter((c) => c.d >= 100 * c.n);
  if (far.length === 0) return { outcome: 'not measured', why: 'no cell with d ≥ 100 n.' };
  const gd = far.filter((c) => Math.abs(c.ifIQ - 1) < 1e-9);
  return {
    outcome: gd.length === far.length ? 'reproduced' : gd.length > 0 ? 'differs' : 'not reproduced',
    why: `IF_IQ = 1 (MARINA+IQ is GD) in ${gd.length} of the ${far.length} cells with d ≥ 100 n${gd.length < far.length ? `; the largest elsewhere is ${Math.max(...far.map((c) => c.ifIQ)).toFixed(2)}` : ''}.`,
  };
}

/**
 * PermK paper: "PermK beats RandK by up to O(√n) when L± is small; the gap shrinks as s grows". Per n: the bits
 * ratio (RandK over PermK, to the level both reach) at the smallest s is at least WIN, and at the largest s it is
 * smaller than at the smallest.
 */
export function permkGapShrinks(cases: readonly { n: number; s: number; ratio: number; max: number }[]): Verdict {
  const ns = [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);
  const parts = ns.map((n): Verdict => {
    const row = cases.filter((c) => c.n === n && !Number.isNaN(c.ratio)).sort((a, b) => a.s - b.s);
    if (row.length === 0) return { outcome: 'not measured', why: `n = ${n}: no comparable curves.` };
    const first = row[0]!;
    const last = row[row.length - 1]!;
    const beats = first.ratio >= WIN;
    const shrinks = row.length > 1 && last.ratio < first.ratio;
    const list = row.map((c) => `s = ${c.s}: ${times(c.ratio)} (up to ${times(c.max)})`).join(', ');
    return {
      outcome: beats && shrinks ? 'reproduced' : beats || shrinks ? 'differs' : 'not reproduced',
      why: `n = ${n} (√n = ${Math.sqrt(n).toPrecision(3)}): RandK needs ${list} PermK's bits (median over the ‖∇f‖² levels both reach, from a tenth of the start down)${beats ? '' : ` — below ${WIN}× at s = ${first.s}`}${shrinks ? '' : row.length > 1 ? ' — the gap does not shrink as s grows' : ''}.`,
    };
  });
  return combine(parts);
}

/**
 * PermK paper, autoencoder: "PermK is best when the clients are nearly homogeneous (q large), its advantage
 * shrinking as q falls". At the largest q PermK needs fewer bits than every rival to the level both reach, and its
 * advantage over RandK there is at least as large as at the smallest q.
 */
export function permkBestWhenHomogeneous(cases: readonly { q: number; permk: Measured; rivals: readonly Measured[] }[]): Verdict {
  const sorted = [...cases].sort((a, b) => b.q - a.q);
  if (sorted.length === 0) return { outcome: 'not measured', why: 'no case.' };
  const top = sorted[0]!;
  const vs = top.rivals.map((r) => bitsPhrase(top.permk.name, r.name, top.permk.grad, r.grad));
  const best = vs.length > 0 && vs.every((v) => v.ratio > 1);
  const randkGap = (c: (typeof sorted)[number]) => {
    const r = c.rivals.find((x) => /randk/i.test(x.name));
    return r ? bitsPhrase(c.permk.name, r.name, c.permk.grad, r.grad).ratio : NaN;
  };
  const low = sorted[sorted.length - 1]!;
  const gapTop = randkGap(top);
  const gapLow = randkGap(low);
  const shrinks = sorted.length > 1 && !Number.isNaN(gapTop) && !Number.isNaN(gapLow) && gapTop >= gapLow;
  return {
    outcome: best && shrinks ? 'reproduced' : best ? 'differs' : 'not reproduced',
    why: `q = ${top.q}: ${vs.map((v) => v.text).join('; ')}.${sorted.length > 1 ? ` Advantage over RandK: ${times(gapTop)} at q = ${top.q}, ${times(gapLow)} at q = ${low.q}${shrinks ? '' : ' (it does not shrink as q falls)'}.` : ''}`,
  };
}

/**
 * MARINA paper: "MARINA needs far fewer bits than DIANA for the same K". Each case's ratio is DIANA's bits over
 * MARINA's to the ‖∇f‖² level both reach: reproduced when every one is at least FAR, differs when every one is
 * above 1, else not reproduced.
 */
export function farFewerBits(cases: readonly { label: string; ratio: number; text: string }[]): Verdict {
  const measured = cases.filter((c) => !Number.isNaN(c.ratio));
  if (measured.length === 0) return { outcome: 'not measured', why: 'no comparable curves.' };
  const list = cases.map((c) => `${c.label}: ${c.text}`).join('; ');
  const outcome = measured.every((c) => c.ratio >= FAR) ? 'reproduced' : measured.every((c) => c.ratio > 1) ? 'differs' : 'not reproduced';
  const note = outcome === 'differs' ? ` — fewer bits everywhere, but not ${FAR}× fewer everywhere` : outcome === 'not reproduced' ? ' — MARINA needs as many or more bits in some case' : '';
  return { outcome, why: `${list}${note}.` };
}
