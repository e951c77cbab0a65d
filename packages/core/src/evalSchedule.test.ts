import { describe, expect, it } from 'vitest';
import { scheduledEval } from './evalSchedule.js';

const evaluated = (every: number | 'auto', rounds: number): number[] => Array.from({ length: rounds }, (_, t) => t).filter((t) => scheduledEval(every, t));

describe('scheduledEval', () => {
  it('auto: every round below 16, then 8 per doubling (multiples of 2^(⌊log₂ t⌋ − 3))', () => {
    expect(evaluated('auto', 16)).toEqual(Array.from({ length: 16 }, (_, t) => t));
    expect(evaluated('auto', 64).slice(16)).toEqual([16, 18, 20, 22, 24, 26, 28, 30, 32, 36, 40, 44, 48, 52, 56, 60]);
    // Every power of two is on it (Targets' rate baselines), and each doubling [2^k, 2^(k+1)) holds 8 rounds.
    for (let k = 4; k < 22; k++) {
      expect(scheduledEval('auto', 2 ** k)).toBe(true);
      const step = 2 ** (k - 3);
      expect(evaluated('auto', 2 ** (k + 1)).filter((t) => t >= 2 ** k)).toHaveLength(8);
      expect([2 ** k + step - 1, 2 ** k + 1, 2 ** k + step].map((t) => scheduledEval('auto', t))).toEqual([false, false, true]);
    }
    expect(scheduledEval('auto', 999_999_999)).toBe(false);
    expect(scheduledEval('auto', 1_000_000_000 - (1_000_000_000 % 2 ** 26))).toBe(true);
  });

  it('auto: about 8·log₂(T) − 16 of T rounds (the share of a run that sends evaluation reports)', () => {
    for (const [T, count] of [
      [400, 53],
      [1000, 64],
      [5000, 82],
      [100_000, 117],
    ] as const) {
      expect(evaluated('auto', T).length).toBe(count);
      expect(Math.abs(count - (8 * Math.log2(T) - 16))).toBeLessThan(8);
    }
  });

  it('--eval-every k: every k-th round from round 0', () => {
    expect(evaluated(1, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(evaluated(7, 30)).toEqual([0, 7, 14, 21, 28]);
    expect(evaluated(1e9, 1000)).toEqual([0]);
  });
});
