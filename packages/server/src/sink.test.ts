import { existsSync, mkdtempSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientRunner, Coordinator, playRound, resolveConfig, setupRun } from '@marina/core';
import { CheckpointError, readCheckpoint } from './checkpoint.js';
import { RunFolder } from './runFolder.js';
import { RunSink } from './sink.js';

/** The output sink on a real in-process run (no binary, no sockets): what lands in the run folder, and when. */
const hooks = { sha256: () => '0'.repeat(64), now: () => 0 };

function start(method: string) {
  const setup = setupRun(resolveConfig({ method, compressor: method === 'ef21' ? 'topk' : 'randk', clients: 3, dim: 8, rounds: 50, seed: 5, stopAtTarget: false }));
  const coordinator = new Coordinator(setup, hooks);
  const clients = setup.problems.map((p, rank) => new ClientRunner(setup.config, setup.environment, p, rank));
  const dir = mkdtempSync(join(tmpdir(), 'marina-sink-'));
  const sink = new RunSink(RunFolder.open(dir, false), { runId: 'r', config: setup.config, facts: setup.facts }, 4, true);
  const play = (k: number) => {
    for (let i = 0; i < k; i++) sink.round(playRound(coordinator, clients)!, coordinator);
  };
  return { setup, coordinator, dir, sink, play };
}

const lines = (dir: string) => readFileSync(join(dir, 'rounds.jsonl'), 'utf8').split('\n').filter(Boolean);

describe('RunSink', () => {
  it('appends each round and writes the checkpoint every k rounds, of the state after the last finished one', () => {
    const { dir, play } = start('diana');
    play(3);
    expect(lines(dir)).toHaveLength(3);
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(false);
    play(2);
    const cp = readCheckpoint(dir);
    expect(cp.coordinator.round).toBe(4);
    // DIANA's mirrored h_i are part of the checkpoint (h.0 … h.2), beside x and h.
    expect(Object.keys(cp.coordinator.vectors).sort()).toEqual(['h', 'h.0', 'h.1', 'h.2', 'x']);
  });

  it('on a signal writes the checkpoint of the last finished round; a finished run removes it and writes the summary', () => {
    const { dir, sink, play, coordinator } = start('marina');
    play(6);
    expect(sink.ending(true, true)).toBe(true);
    expect(readCheckpoint(dir).coordinator.round).toBe(6);
    const again = start('marina');
    again.play(2);
    expect(again.sink.checkpoint()).toBe(true);
    expect(again.sink.ending(false, false)).toBe(false);
    // The checkpoint goes only after the summary is written: a crash in between leaves a resumable folder.
    expect(existsSync(join(again.dir, 'checkpoint.json'))).toBe(true);
    again.sink.close(again.coordinator.summary('r', 'network', 0));
    expect(existsSync(join(again.dir, 'checkpoint.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(again.dir, 'summary.json'), 'utf8')).totals.rounds).toBe(2);
    expect(coordinator.roundsDone).toBe(6);
  });

  it('a resumed folder keeps exactly the rounds before the checkpoint, a half-written line cut off', () => {
    const { dir, play, sink } = start('marina');
    play(9); // checkpoint at round 8
    sink.ending(true, false);
    appendFileSync(join(dir, 'rounds.jsonl'), '{"round": 9, "kind": "compr'); // the crash's half line
    const cp = readCheckpoint(dir);
    RunFolder.resume(dir, cp.coordinator.round).close();
    expect(lines(dir).map((l) => JSON.parse(l).round)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('a checkpoint whose plausibility bounds are malformed is refused as a checkpoint error (exit 2), not a crash', () => {
    const { dir, play } = start('marina');
    play(4);
    const path = join(dir, 'checkpoint.json');
    const cp = JSON.parse(readFileSync(path, 'utf8'));
    expect(cp.coordinator.plausibility.grad).toHaveLength(3);
    cp.coordinator.plausibility.grad = [1, 2];
    writeFileSync(path, JSON.stringify(cp));
    expect(() => readCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => readCheckpoint(dir)).toThrow(/plausibility bounds are malformed/);
  });
});
