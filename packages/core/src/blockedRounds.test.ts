import { createHash } from 'node:crypto';
import { Kind, readRoundHeader, roundPayload } from '@marina/protocol';
import { describe, expect, it } from 'vitest';
import { ClientRunner } from './clientRunner.js';
import type { Compressor, CompressContext } from './compressors/types.js';
import { createCompressor } from './compressors/registry.js';
import { resolveConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { playRound, runInProcess } from './engine.js';
import { norm2 } from './plausibility.js';
import type { RoundRecord } from './records.js';
import { methodEnv, setupRun, type InProcessRun } from './setup.js';
import { expectProtocolError } from '@marina/protocol/testing';

/**
 * Blocked rounds (issue 12): a compressed round whose codec has a blocked decode (IQ, CQ) and whose server half
 * only sums holds its updates' bytes and adds them all at once in rank order. Checked against the per-update path
 * (the same codec with `blocked` taken away), which decodes each update on its own and adds it at its turn.
 */

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hooks = { sha256, now: () => 0 };

/** The run's environment with the compressor wrapped: `blocked` counted (`calls`), or taken away (`off`). */
function withBlocked(s: InProcessRun, mode: 'count' | 'off', calls: { n: number }): InProcessRun {
  return {
    ...s,
    envFactory: () => {
      const env = methodEnv(s.config, s.environment);
      const c = env.compressor;
      const b = c.blocked;
      const blocked =
        mode === 'off' || !b
          ? undefined
          : {
              payloadNorm: (p: Uint8Array, ctx: CompressContext) => b.payloadNorm(p, ctx),
              decodeManyInto(sum: Float64Array, payloads: readonly Uint8Array[], ctxs: readonly CompressContext[]) {
                calls.n++;
                b.decodeManyInto(sum, payloads, ctxs);
              },
            };
      return { ...env, compressor: { ...c, blocked } };
    },
  };
}

const pick = (r: RoundRecord) => [r.round, r.kind, r.xHash, r.bitsUp, r.senders, r.wireBytesUp, r.wireBytesDown, r.gradNormSq];

describe('blocked rounds give the iterates of the per-update path bit for bit', () => {
  const cases: [Record<string, unknown>, boolean][] = [
    [{ method: 'marina', compressor: 'cq', clients: 5, dim: 200, rounds: 40, p: '0.2' }, true],
    [{ method: 'marina', compressor: 'iq', clients: 4, dim: 203, rounds: 40, p: '0.2', range: 'shared', noise: 1 }, true],
    [{ method: 'marina', compressor: 'cq', clients: 3, dim: 20_003, rounds: 6, p: '0.01' }, true], // blocks of 8192 and a ragged last one
    [{ method: 'marina', compressor: 'iq', clients: 70, dim: 72, rounds: 5, p: '0.01' }, true], // more than the kernel's 64 payloads per call
    [{ method: 'marina', compressor: 'iq', clients: 3, dim: 12, rounds: 20, p: '0.2' }, true], // below the wasm crossover: the JavaScript kernel
    [{ method: 'dcgd', compressor: 'iq', clients: 4, dim: 100, rounds: 30 }, true],
    [{ method: 'pp-marina', compressor: 'cq', clients: 6, participants: 3, dim: 100, rounds: 40, p: '0.2' }, true],
    [{ method: 'vr-marina', compressor: 'iq', clients: 4, dim: 100, rounds: 40, p: '0.2' }, true],
    // Mirrors of client state need each decoded update: never blocked.
    [{ method: 'diana', compressor: 'cq', clients: 4, dim: 100, rounds: 30 }, false],
    [{ method: 'ef21', compressor: 'iq', clients: 4, dim: 100, rounds: 30 }, false],
  ];
  for (const [cfg, blocked] of cases) {
    it(`${JSON.stringify(cfg)}: ${blocked ? 'blocked' : 'per update'}`, () => {
      const setup = setupRun(resolveConfig({ seed: 5, targetRel: null, stopAtTarget: false, ...cfg }));
      const calls = { n: 0 };
      const on = runInProcess(withBlocked(setup, 'count', calls), setup.problems, { ...hooks, runId: 'on' });
      const off = runInProcess(withBlocked(setup, 'off', { n: 0 }), setup.problems, { ...hooks, runId: 'off' });
      const compressed = on.records.filter((r) => r.kind === 'compressed').length;
      expect(compressed).toBeGreaterThan(0);
      // One call per compressed round (on the server: clients never decode together), or none.
      expect(calls.n).toBe(blocked ? compressed : 0);
      expect(on.records.map(pick)).toEqual(off.records.map(pick));
      expect(on.summary.final.xHash).toBe(off.summary.final.xHash);
      expect(on.summary.totals).toEqual(off.summary.totals);
    });
  }
});

describe('BlockedDecode of IQ and CQ against decodeInto', () => {
  /** Payloads of `n` random vectors (one zero: radius 0) through `c` in client range. */
  function payloads(c: Compressor, n: number, d: number): { ps: Uint8Array[]; ctxs: CompressContext[] } {
    const ps: Uint8Array[] = [];
    const ctxs: CompressContext[] = [];
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    for (let i = 0; i < n; i++) {
      const ctx = { d, n, slot: i, rank: i, seed: 9, round: 3 };
      const a = new Float64Array(d);
      // Scales 2⁰, 2⁻⁴⁰, …: ±r of float32 radii then add with rounding, so the order of the additions shows.
      if (i !== 1) for (let j = 0; j < d; j++) a[j] = rand() * 2 ** (-40 * i);
      const out = new Uint8Array(Math.ceil(c.payloadBits(ctx) / 8));
      c.encode(a, ctx, out);
      ps.push(out);
      ctxs.push(ctx);
    }
    return { ps, ctxs };
  }

  for (const name of ['iq', 'cq']) {
    for (const d of [5, 64, 1000, 8195]) {
      it(`${name}, d = ${d}: the same sums as decodeInto per payload then +=, and the norm within (d/2 + 3)·2⁻⁵³ of norm2`, () => {
        const c = createCompressor(name, { k: null, levels: 4, norm: 2 });
        const { ps, ctxs } = payloads(c, 7, d);
        const start = Float64Array.from({ length: d }, (_, j) => (j % 3) - 1 + j * 1e-3);
        const before = start.slice();
        const one = new Float64Array(d);
        ps.forEach((p, i) => {
          one.fill(0);
          c.decodeInto(one, p, ctxs[i]!);
          for (let j = 0; j < d; j++) before[j]! += one[j]!;
          const exact = norm2(one);
          const norm = c.blocked!.payloadNorm(p, ctxs[i]!);
          if (exact === 0) expect(norm).toBe(0);
          else expect(Math.abs(norm - exact) / exact).toBeLessThanOrEqual((d / 2 + 3) * 2 ** -53);
        });
        const after = start.slice();
        c.blocked!.decodeManyInto(after, ps, ctxs);
        expect(new Uint8Array(after.buffer)).toEqual(new Uint8Array(before.buffer));
      });
    }

    it(`${name}: payloadNorm refuses what decodeInto refuses, with the same error`, () => {
      const c = createCompressor(name, { k: null, levels: 4, norm: 2 });
      const d = 13;
      const { ps, ctxs } = payloads(c, 1, d);
      const good = ps[0]!;
      const bad = (edit: (p: Uint8Array) => Uint8Array) => edit(good.slice());
      const nanRadius = bad((p) => (p.fill(0xff, 0, 4), p));
      const negRadius = bad((p) => (new DataView(p.buffer).setFloat32(0, -1, true), p));
      const padding = bad((p) => ((p[p.length - 1]! |= 0x80), p));
      for (const [p, code] of [
        [good.subarray(1), 'MARINA_ERR_TRUNCATED'],
        [Uint8Array.of(...good, 0), 'MARINA_ERR_TRAILING_BYTES'],
        [nanRadius, 'MARINA_ERR_OUT_OF_RANGE'],
        [negRadius, 'MARINA_ERR_OUT_OF_RANGE'],
        [padding, 'MARINA_ERR_NONZERO_PADDING'],
      ] as const) {
        let message = '';
        try {
          c.decodeInto(new Float64Array(d), p, ctxs[0]!);
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).not.toBe('');
        expectProtocolError(() => c.blocked!.payloadNorm(p, ctxs[0]!), code, message);
        const sum = new Float64Array(d).fill(7);
        expectProtocolError(() => c.blocked!.decodeManyInto(sum, [good, p], [ctxs[0]!, ctxs[0]!]), code, message);
        expect(sum.every((v) => v === 7)).toBe(true);
      }
    });
  }
});

describe('a blocked round with a straggler', () => {
  /** A run whose round 3 is compressed and evaluates nothing (p ≈ 0, evaluation rounds far apart). */
  const config = resolveConfig({ clients: 3, dim: 43, rounds: 6, p: '0.0001', seed: 6, compressor: 'iq', evalEvery: 1000, stopAtTarget: false, targetRel: null });
  const fresh = () => {
    const setup = setupRun(config);
    return { setup, coordinator: new Coordinator(setup, hooks), clients: setup.problems.map((p, rank) => new ClientRunner(config, setup.environment, p, rank)) };
  };
  const expected = (() => {
    const { coordinator, clients } = fresh();
    const hashes: string[] = [];
    for (let r = playRound(coordinator, clients); r; r = playRound(coordinator, clients)) hashes.push(r.xHash);
    return hashes;
  })();

  it('refuses a bad or implausible update on arrival while rank 0 is out, and adds nothing of it', () => {
    const { coordinator, clients } = fresh();
    for (let t = 0; t < 3; t++) playRound(coordinator, clients);
    const out = coordinator.startRound()!;
    expect(out.plan.kind).toBe('compressed');
    const replies = [0, 1, 2].map((rank) => {
      const msg = coordinator.roundStartFor(rank);
      coordinator.markSent(rank, msg);
      return clients[rank]!.onRoundStart(msg)[0]!;
    });
    const edited = (rank: number, edit: (payload: Uint8Array) => void) => {
      const m = replies[rank]!.slice();
      edit(roundPayload(m));
      return m;
    };
    // Rank 2: a radius that is no number (found by validation); rank 1: a finite radius 10³⁰ (found by the rule).
    expectProtocolError(() => coordinator.accept(2, edited(2, (p) => p.fill(0xff, 0, 4))), 'MARINA_ERR_OUT_OF_RANGE');
    expectProtocolError(() => coordinator.accept(1, edited(1, (p) => new DataView(p.buffer, p.byteOffset).setFloat32(0, 1e30, true))), 'MARINA_ERR_IMPLAUSIBLE');
    expectProtocolError(() => coordinator.accept(1, edited(1, (p) => (p[p.length - 1]! |= 0x80))), 'MARINA_ERR_NONZERO_PADDING');
    expect(coordinator.waitingFor()).toEqual([0, 1, 2]);
    // The good updates, rank 0 last: held until then, then added in rank order.
    coordinator.accept(2, replies[2]!);
    coordinator.accept(1, replies[1]!);
    expect(coordinator.waitingFor()).toEqual([0]);
    expect(coordinator.roundComplete()).toBe(false);
    expectProtocolError(() => coordinator.accept(1, replies[1]!), 'MARINA_ERR_UNEXPECTED', 'rank 1 sent two updates in round 3');
    coordinator.accept(0, replies[0]!);
    expect(coordinator.finishRound().xHash).toBe(expected[3]);
    for (let r = playRound(coordinator, clients); r; r = playRound(coordinator, clients)) expect(r.xHash).toBe(expected[r.round]);
  });

  it('adds in rank order, not arrival order, where the order changes the bits', () => {
    const off = (() => {
      const setup = setupRun(config);
      const s = withBlocked(setup, 'off', { n: 0 });
      return { coordinator: new Coordinator(s, hooks), clients: setup.problems.map((p, rank) => new ClientRunner(config, setup.environment, p, rank)) };
    })();
    const on = fresh();
    for (let t = 0; t < 3; t++) [on, off].forEach((r) => playRound(r.coordinator, r.clients));
    const replies = [on, off].map(({ coordinator, clients }) => {
      coordinator.startRound();
      return [0, 1, 2].map((rank) => {
        const msg = coordinator.roundStartFor(rank);
        coordinator.markSent(rank, msg);
        return clients[rank]!.onRoundStart(msg)[0]!.slice();
      });
    })[0]!;
    // Radii below each honest one (so plausible) whose float64 sums round: for half the sign patterns of a
    // coordinate, (a + b) + c ≠ (c + b) + a, so 43 coordinates all missing it has odds 2⁻⁴³.
    const radius = (m: Uint8Array) => new DataView(m.buffer, roundPayload(m).byteOffset, 4);
    const P = 2 ** Math.floor(Math.log2(Math.min(...replies.map((m) => radius(m).getFloat32(0, true))))) / 2;
    const mantissas = [1 + 2 ** -23, (1 + 3 * 2 ** -23) * 2 ** -30, (1 + 2 ** -22) * 2 ** -31];
    replies.forEach((m, rank) => radius(m).setFloat32(0, P * mantissas[rank]!, true));
    const d = on.setup.d;
    const decoded = replies.map((m, rank) => {
      const v = new Float64Array(d);
      createCompressor('iq').decodeInto(v, roundPayload(m), { d, n: 3, slot: rank, rank, seed: 6, round: 3 });
      return v;
    });
    const differs = decoded[0]!.some((_, j) => decoded[0]![j]! + decoded[1]![j]! + decoded[2]![j]! !== decoded[2]![j]! + decoded[1]![j]! + decoded[0]![j]!);
    expect(differs).toBe(true);
    for (const rank of [2, 1, 0]) on.coordinator.accept(rank, replies[rank]!);
    for (const rank of [0, 1, 2]) off.coordinator.accept(rank, replies[rank]!);
    const [a, b] = [on, off].map((r) => (r.coordinator.finishRound(), r.coordinator.x));
    expect(new Uint8Array(a!.buffer, a!.byteOffset, a!.byteLength)).toEqual(new Uint8Array(b!.buffer, b!.byteOffset, b!.byteLength));
  });

  it('keeps a held update when its sender drops: the replacement is not asked for it again', () => {
    const { setup, coordinator, clients } = fresh();
    for (let t = 0; t < 3; t++) playRound(coordinator, clients);
    coordinator.startRound();
    const send = (rank: number) => {
      const msg = coordinator.roundStartFor(rank);
      coordinator.markSent(rank, msg);
      return clients[rank]!.onRoundStart(msg);
    };
    const [update1] = send(1);
    coordinator.accept(1, update1!);
    coordinator.forget(1);
    coordinator.rejoined(1);
    expect(coordinator.waitingFor()).toEqual([0, 2]);
    clients[1] = new ClientRunner(config, setup.environment, setup.problems[1]!, 1);
    expect(send(1).map((m) => readRoundHeader(m, coordinator.maxPayloadBytes).kind === Kind.Update)).toEqual([]);
    for (const rank of [2, 0]) for (const m of send(rank)) coordinator.accept(rank, m);
    expect(coordinator.finishRound().xHash).toBe(expected[3]);
  });
});
