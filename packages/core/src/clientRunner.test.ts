import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeEval, Kind, readRoundHeader } from '@marina/protocol';
import { ClientRunner } from './clientRunner.js';
import { resolveConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { setupRun } from './setup.js';

const hooks = { sha256: (b: Uint8Array) => createHash('sha256').update(b).digest('hex'), now: () => 0 };

describe('ClientRunner: no allocation per round where it can be avoided', () => {
  it('reuses its replies array and its evaluation report across rounds, each rewritten for its round', () => {
    const config = resolveConfig({ clients: 2, dim: 8, rounds: 6, seed: 2, evalEvery: 1, targetRel: null });
    const setup = setupRun(config);
    const coordinator = new Coordinator(setup, hooks);
    const client = new ClientRunner(config, setup.environment, setup.problems[0]!, 0);
    const other = new ClientRunner(config, setup.environment, setup.problems[1]!, 1);
    const arrays = new Set<Uint8Array[]>();
    const reports = new Set<Uint8Array>();
    for (let out = coordinator.startRound(); out !== null; out = coordinator.startRound()) {
      const t = out.plan.round;
      const msg = coordinator.roundStartFor(0);
      coordinator.markSent(0, msg);
      const replies = client.onMessage(msg);
      arrays.add(replies);
      const report = replies.find((m) => m[0] === Kind.Eval)!;
      reports.add(report);
      // The report is this round's: its round field, and f_i and ∇f_i at this round's x.
      const grad = new Float64Array(8);
      const h = readRoundHeader(report, 8 * 9);
      expect(h.round).toBe(t & 0xffff);
      expect(decodeEval(h, report, grad)).toBe(setup.problems[0]!.loss(coordinator.x));
      for (const m of replies) coordinator.accept(0, m);
      const msg1 = coordinator.roundStartFor(1);
      coordinator.markSent(1, msg1);
      for (const m of other.onMessage(msg1)) coordinator.accept(1, m);
      coordinator.finishRound();
    }
    expect(arrays.size).toBe(1);
    expect(reports.size).toBe(1);
  });
});
