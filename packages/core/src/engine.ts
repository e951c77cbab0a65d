import { ProtocolError } from '@marina/protocol';
import { ClientRunner } from './clientRunner.js';
import { Coordinator, type CoordinatorHooks } from './coordinator.js';
import type { RoundRecord, RunSummary } from './records.js';
import type { Problem } from './problems/types.js';
import type { RunSetup } from './setup.js';
import type { TestEvaluator } from './testSet.js';

export interface EngineOptions extends CoordinatorHooks {
  runId: string;
  /** `--test-data`: evaluated at the iterate on evaluation rounds (telemetry). */
  test?: TestEvaluator | null;
  /** Called after every round (progress display, streaming rounds.jsonl). */
  onRound?(record: RoundRecord): void;
}

/**
 * One round between `coordinator` and in-process `clients` (index = rank): every RoundStart, every reply,
 * R of a shared-range round (decision 3) once every norm is in, and the updates after it. Null when the run is
 * over (`coordinator.stopReason` says why).
 */
export function playRound(coordinator: Coordinator, clients: readonly ClientRunner[]): RoundRecord | null {
  const out = coordinator.startRound();
  if (!out) return null;
  for (const rank of out.addressees) {
    const msg = coordinator.roundStartFor(rank);
    coordinator.markSent(rank, msg);
    for (const reply of clients[rank]!.onMessage(msg)) coordinator.accept(rank, reply);
  }
  for (const { rank, msg } of coordinator.takeRanges()) {
    coordinator.markRangeSent(rank, msg);
    for (const reply of clients[rank]!.onMessage(msg)) coordinator.accept(rank, reply);
  }
  return coordinator.finishRound();
}

/**
 * The in-process engine: the same coordinator and client runners as a networked run, exchanging the same
 * bytes without sockets, so both give the same iterates bit for bit. Wire bytes are those the frames of
 * these messages would take; there are no control messages or handshakes.
 */
export function runInProcess(setup: RunSetup, problems: readonly Problem[], opts: EngineOptions): { records: RoundRecord[]; summary: RunSummary } {
  const coordinator = new Coordinator(setup, opts, undefined, opts.test ?? null);
  const records: RoundRecord[] = [];
  if (problems.length !== setup.n) throw new RangeError(`runInProcess: ${problems.length} client problems for ${setup.n} clients`);
  const clients = problems.map((problem, rank) => new ClientRunner(setup.config, setup.environment, problem, rank, setup.envFactory?.()));
  for (;;) {
    let record: RoundRecord | null;
    try {
      record = playRound(coordinator, clients);
    } catch (e) {
      // A client whose update overflows float32: the run diverged (a result, as over the network).
      if (e instanceof ProtocolError && e.code === 'MARINA_ERR_DIVERGED') {
        coordinator.diverge(e.message);
        break;
      }
      throw e;
    }
    if (record === null) break;
    records.push(record);
    opts.onRound?.(record);
  }
  return { records, summary: coordinator.summary(opts.runId, 'sim', null) };
}
