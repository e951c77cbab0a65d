import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ClientRunner } from './clientRunner.js';
import { resolveConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { runInProcess } from './engine.js';
import { setupRun } from './setup.js';

const hooks = { sha256: (b: Uint8Array) => createHash('sha256').update(b).digest('hex'), now: () => 0 };

describe('Coordinator: a client replaced mid-round', () => {
  it('asks the replacement only for what is still owed, and the run equals an undisturbed one', () => {
    const config = resolveConfig({ clients: 3, dim: 16, rounds: 6, p: '0.5', seed: 4, targetRel: null });
    const setup = setupRun(config);
    const expected = runInProcess(setup, setup.problems, { ...hooks, runId: 'x' }).records.map((r) => r.xHash);

    const coordinator = new Coordinator(setup, hooks);
    const clients = [0, 1, 2].map((rank) => new ClientRunner(setup.config, setup.environment, setup.problems[rank]!, rank));
    const hashes: string[] = [];
    const deliver = (rank: number, msgs: Uint8Array[]) => msgs.forEach((m) => coordinator.accept(rank, m));
    for (let out = coordinator.startRound(); out !== null; out = coordinator.startRound()) {
      const replies = out.addressees.map((rank) => {
        const msg = coordinator.roundStartFor(rank);
        coordinator.markSent(rank, msg);
        return clients[rank]!.onRoundStart(msg);
      });
      if (out.plan.round !== 2) {
        out.addressees.forEach((rank, k) => deliver(rank, replies[k]!));
      } else {
        // Rank 0's update arrives; rank 1's update is summed after it, but its report waits behind rank 0's.
        deliver(0, [replies[0]![0]!]);
        deliver(1, replies[1]!);
        // Rank 1 drops: its queued report is lost, and a fresh client takes the rank.
        coordinator.forget(1);
        coordinator.rejoined(1);
        expect(coordinator.waitingFor()).toEqual([0, 1, 2]);
        clients[1] = new ClientRunner(setup.config, setup.environment, setup.problems[1]!, 1);
        const again = clients[1].onRoundStart(coordinator.roundStartFor(1));
        expect(again).toHaveLength(1); // the evaluation report only: its update is already in the sum
        deliver(1, again);
        deliver(0, [replies[0]![1]!]);
        deliver(2, replies[2]!);
      }
      hashes.push(coordinator.finishRound().xHash);
    }
    expect(hashes).toEqual(expected);
  });
});
