import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { runInProcess } from '../engine.js';
import { setupRun } from '../setup.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('diana', () => {
  it('α = 1/(ω+1) unless given; γ = 1/(10·L·sqrt(1+ω/n)·(ω+2)) with L = max_i L_i (SPEC A.5)', () => {
    const setup = setupRun(resolveConfig({ method: 'diana', compressor: 'cq', noise: 0.5 }));
    const s = setup.smoothness;
    const omega = 63; // CQ's single-client ω = d − 1 (decision 21)
    const L = Math.max(...s.Li);
    expect(setup.theory.params).toEqual({ alpha: 1 / 64 });
    expect(setup.theory.gammaTheory).toBeCloseTo(1 / (10 * L * Math.sqrt(1 + omega / 8) * (omega + 2)), 15);
    expect(setup.theory.notes.join(' ')).toMatch(/decision 21/);
    expect(setupRun(resolveConfig({ method: 'diana', alpha: 0.5 })).theory.params).toEqual({ alpha: 0.5 });
  });

  it('every round, round 0 included, every client sends one compressed message (no coin, no init round)', () => {
    const setup = setupRun(resolveConfig({ method: 'diana', compressor: 'cq', rounds: 40, stopAtTarget: false }));
    const { records } = runInProcess(setup, setup.problems, { runId: 'diana', sha256, now: () => 0 });
    for (const r of records) expect(r).toMatchObject({ kind: 'compressed', coin: false, senders: 8, bitsUp: 8 * (32 + 64) });
  });
});
