import { describe, expect, it } from 'vitest';
import { scheduledEval } from './evalSchedule.js';
import { Targets } from './targets.js';

const cost = { bitsPerClient: 0, wireBytesUp: 0, wireBytesDown: 0 };

/**
 * Plays a coordinator's `auto` schedule over a known sequence of ‖∇f(x^t)‖² (`value(t)`): evaluates the grid and
 * every round from `dueFrom()` on, until every target is reached. Returns the rounds it evaluated.
 */
function play(targets: Targets, value: (t: number) => number, rounds: number): number[] {
  const seen: number[] = [];
  for (let t = 0; t < rounds && !targets.allReached(); t++) {
    if (!scheduledEval('auto', t) && t < targets.dueFrom()) continue;
    seen.push(t);
    targets.observe(t, value(t), cost);
  }
  return seen;
}

/** The first round whose value meets `threshold` (what evaluating every round would report). */
const firstBelow = (value: (t: number) => number, threshold: number): number => {
  let t = 0;
  while (value(t) > threshold) t++;
  return t;
};

describe('Targets under the auto schedule', () => {
  // Linear convergence, one that slows down (1/t², the usual tail), and a noisy one (±30% round to round).
  const sequences: [string, (t: number) => number][] = [
    ['geometric', (t) => 0.98 ** t],
    ['slowing', (t) => 1 / (1 + t / 10) ** 2],
    ['noisy', (t) => 0.99 ** t * (1 + 0.3 * Math.sin(t * 12.9898) ** 2)],
  ];
  for (const [name, value] of sequences) {
    it(`finds the first round a relative target holds, with few evaluations (${name})`, () => {
      for (const rel of [1e-2, 1e-4, 1e-6]) {
        const targets = new Targets({ target: null, targetRel: rel });
        const seen = play(targets, value, 1e7);
        const r = targets.results[0]!;
        const exact = firstBelow(value, rel * value(0));
        expect(r.reached).toBe(true);
        // The first evaluated round that meets it: at the latest. Where ‖∇f‖² falls round by round, exactly the first
        // round it holds, and the round before was evaluated (and missed it).
        expect(r.round).toBeGreaterThanOrEqual(exact);
        if (name !== 'noisy') expect([r.previousEvaluation, r.round]).toEqual([exact - 1, exact]);
        // Far fewer evaluations than rounds: the grid's 8 per doubling and about log₂ of the approach.
        expect(seen.length).toBeLessThan(16 + 8 * Math.log2(exact + 1) + 4 * Math.log2(exact + 1) + 8);
      }
    });
  }

  it('says which evaluated round came before the one that met it (a noisy ‖∇f‖² may dip below it unseen)', () => {
    const value = sequences[2]![1];
    const targets = new Targets({ target: 1e-3, targetRel: null });
    const seen = play(targets, value, 1e6);
    const r = targets.results[0]!;
    expect(seen.at(-1)).toBe(r.round);
    expect(r.previousEvaluation).toBe(seen.at(-2));
    expect(value(seen.at(-2)!)).toBeGreaterThan(1e-3);
  });

  it('predicts nothing while ‖∇f‖² has not decreased since round 2^k ≤ t/2, nor before round 2', () => {
    const targets = new Targets({ target: 1e-9, targetRel: null });
    targets.observe(0, 1, cost);
    expect(targets.dueFrom()).toBe(Infinity);
    targets.observe(1, 1, cost);
    targets.observe(2, 2, cost);
    expect(targets.dueFrom()).toBe(Infinity);
    // From round 1 (value 1) to round 3 (value 0.25): rate ln 4 / 2 per round; 1e-9 is ln(2.5e8)/rate ≈ 27.9 rounds away.
    targets.observe(3, 0.25, cost);
    expect(targets.dueFrom()).toBe(3 + Math.floor(Math.log(0.25 / 1e-9) / (Math.log(4) / 2) / 2));
  });

  it('goes on where a checkpoint left it, through JSON (Infinity and missing fields included)', () => {
    const value = sequences[0]![1];
    const a = new Targets({ target: null, targetRel: 1e-4 });
    for (let t = 0; t <= 300; t++) if (scheduledEval('auto', t) || t >= a.dueFrom()) a.observe(t, value(t), cost);
    const b = new Targets({ target: null, targetRel: 1e-4 });
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.dueFrom()).toBe(a.dueFrom());
    expect(b.snapshot()).toEqual(JSON.parse(JSON.stringify(a.snapshot())));
    // A checkpoint of before the schedule (no last, anchors, due) goes on from the grid alone.
    const old = new Targets({ target: null, targetRel: 1e-4 });
    old.restore({ results: a.snapshot().results, gradNormSq0: 1 });
    expect(old.dueFrom()).toBe(Infinity);
    const fresh = new Targets({ target: null, targetRel: 1e-4 });
    fresh.observe(0, 1, cost);
    expect(JSON.parse(JSON.stringify(fresh.snapshot())).due).toBeNull();
  });
});
