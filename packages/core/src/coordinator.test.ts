import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { ClientRunner } from './clientRunner.js';
import { resolveConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { playRound, runInProcess } from './engine.js';
import { setupRun } from './setup.js';
import type { RoundRecord } from './records.js';

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

describe('Coordinator: how a run ends', () => {
  it('a diverging run (step 100× the theory) ends cleanly with stopReason diverged, the round and the last finite ‖∇f‖²', () => {
    const setup = setupRun(resolveConfig({ step: '100x', rounds: 3000 }));
    const { records, summary } = runInProcess(setup, setup.problems, { ...hooks, runId: 'div' });
    expect(summary.stopReason).toMatch(/^diverged: /);
    const last = records.at(-1)!;
    expect(summary.divergence?.round).toBe(last.round);
    const finite = summary.divergence!.lastFinite!;
    expect(finite.round).toBeLessThan(last.round);
    expect(records[finite.round]!.gradNormSq).toBe(finite.gradNormSq);
    // Stopped before any client had to send a gradient its float32 messages cannot carry.
    expect(records.every((r) => r.xHash.length === 16)).toBe(true);
  });

  it('a run stopped by --budget-bits evaluates its last round, whatever --eval-every says', () => {
    const setup = setupRun(resolveConfig({ budgetBits: 50_000, evalEvery: 13, targetRel: null }));
    const { records, summary } = runInProcess(setup, setup.problems, { ...hooks, runId: 'budget' });
    expect(summary.stopReason).toMatch(/^budget: /);
    const last = records.at(-1)!;
    expect(last.round % 13).not.toBe(0);
    expect(last.gradNormSq).not.toBeNull();
    expect(summary.final.gradNormSq).toBe(last.gradNormSq);
    // The budget is reached by the last round's bits, not before: the round before it was still under.
    const bits = records.reduce((s, r) => s + r.bitsUp, 0) / 8;
    expect(bits).toBeGreaterThanOrEqual(50_000);
    expect(bits - last.bitsUp / 8).toBeLessThan(50_000);
  });
});

describe('Coordinator: which rounds are evaluated', () => {
  it('--eval-every auto (the default) evaluates a few rounds, yet finds the target at the round --eval-every 1 does, with the same iterates', () => {
    for (const cfg of [{ compressor: 'cq' }, { compressor: 'iq', p: '0.1' }]) {
      const run = (evalEvery: number | 'auto') => {
        const setup = setupRun(resolveConfig({ dim: 64, clients: 4, seed: 3, ...cfg, evalEvery }));
        return runInProcess(setup, setup.problems, { ...hooks, runId: 'e' });
      };
      const every = run(1);
      const auto = run('auto');
      expect(every.summary.stopReason).toMatch(/^target: /);
      expect(auto.records.map((r) => r.xHash)).toEqual(every.records.map((r) => r.xHash));
      const [a, e] = [auto.summary.targets[0]!, every.summary.targets[0]!];
      expect({ ...a, previousEvaluation: null }).toEqual({ ...e, previousEvaluation: null });
      expect([e.previousEvaluation, a.previousEvaluation]).toEqual([e.round! - 1, e.round! - 1]);
      const evaluated = auto.records.filter((r) => r.gradNormSq !== null);
      // Where evaluated, the same values; rounds 0..15, 8 per doubling after, and the approach to the target.
      for (const r of evaluated) expect(r.gradNormSq).toBe(every.records[r.round]!.gradNormSq);
      const T = auto.records.length;
      expect(T).toBeGreaterThan(1000);
      expect(evaluated.length).toBeLessThan(0.1 * T);
      expect(evaluated.slice(0, 16).map((r) => r.round)).toEqual(Array.from({ length: 16 }, (_, t) => t));
    }
  });
});

describe('Coordinator: checkpoint and restore', () => {
  /** Drives `coordinator` with `clients` until `until` rounds are done (or the run ends); returns the records. */
  function drive(coordinator: Coordinator, clients: ClientRunner[], until: number) {
    const records: RoundRecord[] = [];
    while (coordinator.roundsDone < until) {
      const record = playRound(coordinator, clients);
      if (!record) break;
      records.push(record);
    }
    return records;
  }

  for (const cfg of [{ method: 'marina', p: '0.3' }, { method: 'dcgd' }, { method: 'pp-marina', participants: 2, p: '0.3' }, { method: 'marina', range: 'shared', noise: 1 }]) {
    it(`a server restarted from a checkpoint with new clients goes on bit for bit (${JSON.stringify(cfg)})`, () => {
      const config = resolveConfig({ clients: 3, dim: 16, rounds: 30, seed: 6, targetRel: null, ...cfg });
      const fresh = () => {
        const setup = setupRun(config);
        return { setup, coordinator: new Coordinator(setup, hooks), clients: setup.problems.map((p, r) => new ClientRunner(config, setup.environment, p, r)) };
      };
      const whole = fresh();
      const expected = drive(whole.coordinator, whole.clients, 30);

      const first = fresh();
      drive(first.coordinator, first.clients, 12);
      const cp = first.coordinator.checkpoint();
      const second = fresh();
      second.coordinator.restore(cp);
      const rest = drive(second.coordinator, second.clients, 30);
      expect(rest.map((r) => r.round)).toEqual(expected.slice(12).map((r) => r.round));
      const pick = (r: RoundRecord) => [r.xHash, r.kind, r.bitsUp, r.wireBytesUp, r.gradNormSq];
      expect(rest.map(pick)).toEqual(expected.slice(12).map(pick));
      // Downlink too, but for the first resumed round: its RoundStarts carry x^{t−1} to clients new to the server.
      expect(rest.slice(1).map((r) => r.wireBytesDown)).toEqual(expected.slice(13).map((r) => r.wireBytesDown));
      expect(rest[0]!.wireBytesDown).toBeGreaterThan(expected[12]!.wireBytesDown);
      expect(second.coordinator.summary('b', 'sim', null).final.xHash).toBe(whole.coordinator.summary('a', 'sim', null).final.xHash);
      expect(second.coordinator.ledger.totals.bitsUp).toBe(whole.coordinator.ledger.totals.bitsUp);
    });
  }

  it('refuses a checkpoint while a round is open, and a restore after rounds ran', () => {
    const setup = setupRun(resolveConfig({ clients: 2, dim: 8, rounds: 5 }));
    const c = new Coordinator(setup, hooks);
    const cp = c.checkpoint();
    c.startRound();
    expect(() => c.checkpoint()).toThrow('checkpoint: round 0 is open');
    expect(() => c.restore(cp)).toThrow('restore: the coordinator has already run rounds');
  });
});

describe('Coordinator: updates that arrive before a lower rank’s (a straggler)', () => {
  /** Plays a run whose replies arrive in `order` (a permutation of the ranks) every round; returns the x hashes. */
  function runInOrder(cfg: Record<string, unknown>, order: (n: number) => number[]): string[] {
    const setup = setupRun(resolveConfig(cfg));
    const coordinator = new Coordinator(setup, hooks);
    const clients = setup.problems.map((p, rank) => new ClientRunner(setup.config, setup.environment, p, rank));
    const hashes: string[] = [];
    for (let out = coordinator.startRound(); out !== null; out = coordinator.startRound()) {
      const replies = new Map<number, Uint8Array[]>();
      for (const rank of out.addressees) {
        const msg = coordinator.roundStartFor(rank);
        coordinator.markSent(rank, msg);
        replies.set(rank, clients[rank]!.onRoundStart(msg).map((m) => m.slice()));
      }
      for (const rank of order(setup.n)) for (const m of replies.get(rank) ?? []) coordinator.accept(rank, m);
      hashes.push(coordinator.finishRound().xHash);
    }
    return hashes;
  }

  it('gives the same iterates bit for bit whatever the arrival order (decoded on arrival, added in rank order)', () => {
    for (const cfg of [
      { method: 'marina', compressor: 'cq', clients: 5, dim: 40, rounds: 30, p: '0.3', seed: 2, stopAtTarget: false },
      { method: 'diana', compressor: 'randk', clients: 4, dim: 24, rounds: 30, seed: 3, stopAtTarget: false },
      { method: 'ef21', compressor: 'topk', clients: 4, dim: 24, rounds: 30, seed: 3, stopAtTarget: false },
    ]) {
      const inOrder = runInOrder(cfg, (n) => Array.from({ length: n }, (_, i) => i));
      const reversed = runInOrder(cfg, (n) => Array.from({ length: n }, (_, i) => n - 1 - i));
      const rankZeroLast = runInOrder(cfg, (n) => [...Array.from({ length: n - 1 }, (_, i) => i + 1), 0]);
      expect(reversed, cfg.method).toEqual(inOrder);
      expect(rankZeroLast, cfg.method).toEqual(inOrder);
    }
  });

  it('decodes and checks an update when it arrives, not when rank 0 (the straggler) finally does', () => {
    const setup = setupRun(resolveConfig({ clients: 3, dim: 16, rounds: 10, p: '0.0001', seed: 6, stopAtTarget: false }));
    const coordinator = new Coordinator(setup, hooks);
    const clients = setup.problems.map((p, rank) => new ClientRunner(setup.config, setup.environment, p, rank));
    for (let t = 0; t < 3; t++) playRound(coordinator, clients);
    // Round 3 is compressed (p ≈ 0): rank 2 answers first, its radius (the payload's first float32, after the
    // 5-byte uplink header) made NaN. The right length: only decoding finds it.
    const out = coordinator.startRound()!;
    expect(out.plan.kind).toBe('compressed');
    const bad = clients[2]!.onRoundStart(coordinator.roundStartFor(2))[0]!.slice();
    bad.fill(0xff, 5, 9);
    expect(() => coordinator.accept(2, bad)).toThrow(/not finite|NaN|Infinity|radius/i);
    expect(coordinator.waitingFor()).toEqual([0, 1, 2]);
  });
});
