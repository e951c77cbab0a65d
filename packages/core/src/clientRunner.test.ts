import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeEval, Flag, Kind, readRoundHeader } from '@marina/protocol';
import { ClientRunner } from './clientRunner.js';
import { resolveConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { setupRun } from './setup.js';

const hooks = { sha256: (b: Uint8Array) => createHash('sha256').update(b).digest('hex'), now: () => 0 };

describe('ClientRunner: no allocation per round where it can be avoided', () => {
  it('reuses its replies array, its update messages and its evaluation report across rounds, each rewritten for its round', () => {
    const config = resolveConfig({ clients: 2, dim: 8, rounds: 12, p: '0.5', seed: 2, evalEvery: 1, targetRel: null });
    const setup = setupRun(config);
    const coordinator = new Coordinator(setup, hooks);
    const client = new ClientRunner(config, setup.environment, setup.problems[0]!, 0);
    const other = new ClientRunner(config, setup.environment, setup.problems[1]!, 1);
    const arrays = new Set<Uint8Array[]>();
    const reports = new Set<Uint8Array>();
    const updates = new Set<Uint8Array>();
    const kinds = new Set<number>();
    for (let out = coordinator.startRound(); out !== null; out = coordinator.startRound()) {
      const t = out.plan.round;
      const msg = coordinator.roundStartFor(0);
      coordinator.markSent(0, msg);
      const replies = client.onMessage(msg);
      arrays.add(replies);
      const report = replies.find((m) => m[0] === Kind.Eval)!;
      reports.add(report);
      const update = replies.find((m) => m[0] === Kind.Update)!;
      updates.add(update);
      kinds.add(update[2]! & Flag.Compressed);
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
    // The update is rewritten too: one message for the dense rounds, one for the compressed (UpdateWriter).
    expect(kinds.size).toBe(2);
    expect(updates.size).toBe(2);
  });
});
