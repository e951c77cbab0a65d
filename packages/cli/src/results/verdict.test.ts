import { describe, expect, it } from 'vitest';
import { advantage, bestValue, bitsToReach, dominance, valueAt, type Curve } from './curves.js';
import {
  approachesLimit,
  combine,
  cqBeatsIqOnParWithDrive,
  cqLowerLossLargerSteps,
  farFewerBits,
  iqDefaultsToGd,
  largerSteps,
  neverWorse,
  mostlyDominant,
  permkBestWhenHomogeneous,
  permkGapShrinks,
  reachesUpTo,
  sci,
  times,
  type Measured,
} from './verdict.js';

/** A geometric curve: value v0·q^t at t·bitsPerRound bits, t = 0..rounds. */
function geometric(v0: number, q: number, bitsPerRound: number, rounds: number): Curve {
  return Array.from({ length: rounds + 1 }, (_, t) => ({ bits: t * bitsPerRound, value: v0 * q ** t }));
}

function series(name: string, grad: Curve, extra: Partial<Measured> = {}): Measured {
  return { name, final: grad.length ? grad[grad.length - 1]!.value : null, stepExp: 0, gamma: 1, p: 0.1, grad, loss: grad, ...extra };
}

const diverged = (name: string): Measured => ({ name, final: null, stepExp: null, gamma: null, p: null, grad: [], loss: [] });

describe('curves', () => {
  const c: Curve = [
    { bits: 0, value: 10 },
    { bits: 100, value: 1 },
    { bits: 200, value: 2 },
    { bits: 300, value: 0.1 },
  ];

  it('valueAt is the last point at or before the bits; bitsToReach the first point at or below the level', () => {
    expect(valueAt(c, -1)).toBeNull();
    expect(valueAt(c, 150)).toBe(1);
    expect(valueAt(c, 1e9)).toBe(0.1);
    expect(bitsToReach(c, 1.5)).toBe(100);
    expect(bitsToReach(c, 0.01)).toBeNull();
    expect(bestValue(c)).toBe(0.1);
  });

  it('advantage compares bits to the level both reach (the worse best value)', () => {
    // ours halves every 10 bits, the rival every 40 bits: to reach the rival's best (2^-10) ours needs 100 bits, the rival 400.
    const a = advantage(geometric(1, 0.5, 10, 40), geometric(1, 0.5, 40, 10))!;
    expect(a.level).toBe(2 ** -10);
    expect([a.ours, a.rival, a.ratio]).toEqual([100, 400, 4]);
    // Symmetric: the other way round the ratio inverts.
    expect(advantage(geometric(1, 0.5, 40, 10), geometric(1, 0.5, 10, 40))!.ratio).toBe(0.25);
  });

  it('advantage takes the median ratio over levels from a tenth of the start down, so a gap that closes late still counts', () => {
    // Both reach 1e-4 at 1000 bits, but ours gets to every level above it 10× sooner.
    const ours: Curve = [{ bits: 0, value: 1 }, ...[1, 2, 3, 4].map((k) => ({ bits: 10 * k, value: 10 ** -k })), { bits: 1000, value: 1e-4 }];
    const rival: Curve = [{ bits: 0, value: 1 }, ...[1, 2, 3].map((k) => ({ bits: 100 * k, value: 10 ** -k })), { bits: 1000, value: 1e-4 }];
    const a = advantage(ours, rival)!;
    expect([a.top, a.level, a.ours, a.rival]).toEqual([0.1, 1e-4, 40, 1000]);
    expect(a.ratio).toBeCloseTo(10, 9);
    expect(a.max).toBe(25);
    // From just below the start (a loss): the levels start at 0.99.
    expect(advantage(ours, rival, 0.99)!.top).toBe(0.99);
  });

  it('a curve that never improves on its start loses to any that does; an empty curve gives no comparison', () => {
    const flat: Curve = [{ bits: 0, value: 1 }, { bits: 10, value: 1 }];
    expect(advantage(geometric(1, 0.5, 10, 3), flat)!.ratio).toBe(Infinity);
    expect(advantage(flat, geometric(1, 0.5, 10, 3))!.ratio).toBe(0);
    expect(advantage(flat, flat)!.ratio).toBe(1);
    expect(advantage([], flat)).toBeNull();
  });

  it('dominance is the share of log-spaced bit levels where ours is at or below the rival', () => {
    const low = geometric(1, 0.5, 10, 10);
    const high = geometric(2, 0.5, 10, 10);
    expect(dominance(low, high)).toBe(1);
    expect(dominance(high, low)).toBe(0);
    expect(dominance(low, low)).toBe(1);
    expect(dominance(low, [{ bits: 0, value: 1 }])).toBeNull();
  });
});

describe('verdicts', () => {
  it('formats numbers as the pages print them', () => {
    expect([sci(3.14e-5), sci(null), sci(0), sci(Infinity)]).toEqual(['3.1e-5', '-', '0', '∞']);
    expect([times(14.2), times(1.34), times(Infinity)]).toEqual(['14×', '1.3×', '∞×']);
  });

  it('combine: all reproduced → reproduced, none → not reproduced, a mix → differs, nothing measured → not measured', () => {
    const r = { outcome: 'reproduced' as const, why: 'a.' };
    const n = { outcome: 'not reproduced' as const, why: 'b.' };
    const m = { outcome: 'not measured' as const, why: 'c.' };
    expect(combine([r, r]).outcome).toBe('reproduced');
    expect(combine([n, m]).outcome).toBe('not reproduced');
    expect(combine([r, n]).outcome).toBe('differs');
    expect(combine([m]).outcome).toBe('not measured');
    expect(combine([r, n]).why).toBe('a. b.');
  });

  it('CQ vs IQ and DRIVE: reproduced when CQ beats the better IQ by 1.5× and is within 2× of DRIVE at every s', () => {
    const cq = series('CQ', geometric(1, 0.5, 10, 40));
    const iqSlow = series('IQ', geometric(1, 0.5, 40, 10));
    const iqGd = series('IQ (GD)', geometric(1, 0.5, 80, 5));
    const drive = series('DRIVE', geometric(1, 0.5, 15, 27));
    const v = cqBeatsIqOnParWithDrive([{ label: 's = 0', cq, iqs: [iqSlow, iqGd], drive }]);
    expect(v.outcome).toBe('reproduced');
    // The better IQ (lower final value) is the one compared: IQ, 4× CQ's bits.
    expect(v.why).toContain('CQ needs 4.0× fewer bits than IQ (the median over 9 levels from 1.0e-1 down to 9.8e-4, where the bits are 1.0e2 vs 4.0e2; at best 4.0× fewer at 1.0e-1)');
    // DRIVE twice as fast as CQ: still on par (within 2×); three times as fast: behind.
    const fast = series('DRIVE', geometric(1, 0.5, 3, 134));
    const w = cqBeatsIqOnParWithDrive([{ label: 's = 1', cq, iqs: [iqSlow], drive: fast }]);
    expect(w.outcome).toBe('differs');
    expect(w.why).toContain('CQ is behind DRIVE by more than 2×');
    expect(cqBeatsIqOnParWithDrive([{ label: 's = 1', cq: diverged('CQ'), iqs: [iqSlow], drive }]).outcome).toBe('not reproduced');
  });

  it('mostly dominant: reproduced against every rival, differs against some, not reproduced against none', () => {
    const cq = series('CQ', geometric(1, 0.5, 10, 20));
    const worse = series('IQ', geometric(1, 0.8, 10, 20));
    const better = series('DRIVE', geometric(0.5, 0.5, 10, 20));
    expect(mostlyDominant(cq, [worse, diverged('GD')]).outcome).toBe('reproduced');
    const v = mostlyDominant(cq, [worse, better]);
    expect(v.outcome).toBe('differs');
    expect(v.why).toContain('not dominant against DRIVE: CQ needs 1.1× more bits than DRIVE');
    // Within 5% either way the phrase is "about as many".
    expect(mostlyDominant(cq, [series('DRIVE', geometric(0.99, 0.5, 10, 20))]).why).toContain('CQ needs about as many bits as DRIVE');
    expect(mostlyDominant(cq, [better]).outcome).toBe('not reproduced');
  });

  it('MLP: lower loss for the bits than every rival and a larger kept step than IQ at the same p', () => {
    const grid = [0, 1, 2, 3];
    const cq = series('CQ', geometric(1, 0.5, 10, 20), { gamma: 0.4, stepExp: 2 });
    const iq = series('IQ', geometric(1, 0.5, 20, 10), { gamma: 0.1, stepExp: 1 });
    expect(cqLowerLossLargerSteps(cq, [iq], iq, grid).outcome).toBe('reproduced');
    expect(cqLowerLossLargerSteps({ ...cq, gamma: 0.05 }, [series('DRIVE', geometric(1, 0.5, 5, 40))], iq, grid).outcome).toBe('not reproduced');
    // IQ's larger γ: the step part fails, the loss part holds.
    expect(cqLowerLossLargerSteps(cq, [iq], { ...iq, gamma: 0.8 }, grid).outcome).toBe('differs');
  });

  it('larger steps, as far as the grid brackets each limit between the kept γ and the next multiplier', () => {
    const m = (name: string, gamma: number | null, stepExp: number | null) => ({ ...series(name, []), gamma, stepExp });
    // CQ converges at 0.4 (2^2), IQ stops between 0.1 (2^1) and 0.2: CQ's limit is above IQ's.
    expect(largerSteps(m('CQ', 0.4, 2), m('IQ', 0.1, 1), [0, 1, 2, 3]).outcome).toBe('reproduced');
    // Coarse grid: CQ in [0.77, 6.2), IQ in [0.78, 6.2): overlapping, cannot tell.
    const coarse = largerSteps(m('CQ', 0.77, 3), m('IQ', 0.78, 6), [0, 3, 6, 9]);
    expect(coarse.outcome).toBe('not measured');
    expect(coarse.why).toContain('CQ [7.7e-1, 6.2e0) vs IQ [7.8e-1, 6.2e0): the intervals overlap');
    // IQ converged at the grid's top with a smaller γ than CQ's: its limit is unbounded above, cannot tell.
    expect(largerSteps(m('CQ', 0.4, 2), m('IQ', 0.2, 3), [0, 1, 2, 3]).outcome).toBe('not measured');
    expect(largerSteps(m('CQ', 0.1, 1), m('IQ', 0.4, 2), [0, 1, 2, 3]).outcome).toBe('not reproduced');
    expect(largerSteps(m('CQ', 0.1, 1), m('IQ', null, null), [0, 1]).outcome).toBe('reproduced');
    expect(largerSteps(m('CQ', null, null), m('IQ', 0.1, 1), [0, 1]).outcome).toBe('not measured');
  });

  it('the 7.29 limit: an increasing diagonal ending within 5% below the limit', () => {
    const diag = [
      { d: 10, ratio: 2.1 },
      { d: 1e3, ratio: 5.14 },
      { d: 1e6, ratio: 7.02 },
    ];
    expect(approachesLimit(diag, 7.29).outcome).toBe('reproduced');
    expect(approachesLimit(diag.slice(0, 2), 7.29).outcome).toBe('differs');
    expect(approachesLimit([{ d: 10, ratio: 8 }, { d: 100, ratio: 7.5 }], 7.29).outcome).toBe('not reproduced');
  });

  it('"up to 32": the grid maximum at most 32, above 16, inside √d < n < d', () => {
    expect(reachesUpTo([{ d: 1e6, n: 1e4, ratio: 16.5 }, { d: 10, n: 2, ratio: 1 }], 32).outcome).toBe('reproduced');
    expect(reachesUpTo([{ d: 1e6, n: 1e4, ratio: 40 }], 32).outcome).toBe('not reproduced');
    expect(reachesUpTo([{ d: 1e6, n: 10, ratio: 20 }], 32).outcome).toBe('differs');
  });

  it('C_cor ≤ C_ind: the ratio is at least 1 in every cell', () => {
    expect(neverWorse([{ d: 10, n: 2, ratio: 1 }, { d: 1e3, n: 1e3, ratio: 5.1 }]).outcome).toBe('reproduced');
    const v = neverWorse([{ d: 10, n: 2, ratio: 0.9 }, { d: 1e3, n: 1e3, ratio: 5.1 }]);
    expect(v.outcome).toBe('not reproduced');
    expect(v.why).toBe('C_ind/C_cor ≥ 1 in 1 of 2 cells (smallest 0.900 at d = 1.0e1, n = 2).');
  });

  it('IQ defaults to GD when d ≥ 100 n', () => {
    expect(iqDefaultsToGd([{ d: 1e4, n: 2, ifIQ: 1 }, { d: 10, n: 100, ifIQ: 5 }]).outcome).toBe('reproduced');
    expect(iqDefaultsToGd([{ d: 1e4, n: 2, ifIQ: 1.2 }]).outcome).toBe('not reproduced');
    expect(iqDefaultsToGd([{ d: 10, n: 100, ifIQ: 5 }]).outcome).toBe('not measured');
  });

  it('PermK vs RandK: a 1.5× win at the smallest s that shrinks at the largest', () => {
    expect(permkGapShrinks([{ n: 10, s: 0, ratio: 3, max: 1 }, { n: 10, s: 0.8, ratio: 1.1, max: 1 }]).outcome).toBe('reproduced');
    expect(permkGapShrinks([{ n: 10, s: 0, ratio: 1.1, max: 1 }, { n: 10, s: 0.8, ratio: 1.0, max: 1 }]).outcome).toBe('differs');
    expect(permkGapShrinks([{ n: 10, s: 0, ratio: 1.1, max: 1 }, { n: 10, s: 0.8, ratio: 2, max: 1 }]).outcome).toBe('not reproduced');
    // Per n, then combined: one n reproduced and one not is "differs".
    const mixed = permkGapShrinks([
      { n: 10, s: 0, ratio: 3, max: 1 },
      { n: 10, s: 0.8, ratio: 1, max: 1 },
      { n: 100, s: 0, ratio: 1, max: 1 },
      { n: 100, s: 0.8, ratio: 2, max: 1 },
    ]);
    expect(mixed.outcome).toBe('differs');
    expect(mixed.why).toContain('n = 100 (√n = 10.0)');
  });

  it('PermK on the autoencoder: best at the largest q, with a gap over RandK that does not grow as q falls', () => {
    const fast = (name: string) => series(name, geometric(1, 0.5, 10, 20));
    const slow = (name: string, per: number) => series(name, geometric(1, 0.5, per, 20));
    const v = permkBestWhenHomogeneous([
      { q: 1, permk: fast('PermK'), rivals: [slow('RandK', 40), slow('EF21+TopK', 20)] },
      { q: 0.5, permk: fast('PermK'), rivals: [slow('RandK', 12), slow('EF21+TopK', 20)] },
    ]);
    expect(v.outcome).toBe('reproduced');
    expect(v.why).toContain('4.0× at q = 1, 1.2× at q = 0.5');
    expect(permkBestWhenHomogeneous([{ q: 1, permk: slow('PermK', 40), rivals: [fast('RandK')] }]).outcome).toBe('not reproduced');
  });

  it('MARINA vs DIANA: far fewer (2×) everywhere → reproduced; fewer → differs; more somewhere → not reproduced', () => {
    expect(farFewerBits([{ label: 'a', ratio: 3, text: '' }, { label: 'b', ratio: 2, text: '' }]).outcome).toBe('reproduced');
    expect(farFewerBits([{ label: 'a', ratio: 3, text: '' }, { label: 'b', ratio: 1.2, text: '' }]).outcome).toBe('differs');
    expect(farFewerBits([{ label: 'a', ratio: 0.5, text: '' }]).outcome).toBe('not reproduced');
    expect(farFewerBits([{ label: 'a', ratio: NaN, text: '' }]).outcome).toBe('not measured');
  });
});
