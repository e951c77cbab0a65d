import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCompressor, resolveConfig, type RunConfig } from '@marina/core';
import { allocUpdate, wsFrameBytes } from '@marina/protocol';
import { makeLogger } from '../logger.js';
import { clientsPerProcess, defaultProcesses, runLocal, runSim } from '../runs.js';
import { fmtD, shown, summarize, type Figure } from './figures.js';
import { rawRun, scheduleOf } from './rawWs.js';
import { inRunRate, readRun, runWireOverBits, secondsToTarget, type FinishedRun } from './runFolder.js';

/**
 * The round, wire and time-to-target figures of `marina bench` (issue 12), all of MARINA + CQ with a fixed
 * seed and `--eval-every auto`, in-run time from the runs' own round records:
 * - at n = `clients`, runs to the default relative target in-process (`marina sim`) and as a local cluster:
 *   `time-to-target.{sim,net}.n<n>` and the rounds/s of those runs, `rounds.sim.n<n>.d<d>` and `rounds.n<n>.d<d>`;
 * - at every other n of `roundClients`, a local cluster for a fixed number of rounds, `rounds.n<n>.d<d>`;
 * - beside each networked run, `raw-ws.rounds.n<n>.d<d>`: the raw ws loop with that run's message lengths and
 *   process layout (rawWs.ts), started as cold as marina's, runs interleaved so load drifts hit both;
 * - `wire-over-bits.<cq|iq>.<d>` of one update (exact, protocol arithmetic, checked against the ledger) and
 *   `wire-over-bits.run.<cq|iq>.<d>` of a whole run (the ledger's totals).
 */
export interface RoundBenchOptions {
  /** n of the time-to-target runs (`--clients`). */
  clients: number;
  /** n of the rounds/s figures (`--round-clients`). */
  roundClients: readonly number[];
  /** d of every run (`--round-dim`). */
  dim: number;
  /** Runs per figure (`--net-runs`). */
  runs: number;
  seed: number;
  /** Local clusters too (`--network`); without, the in-process figures only. */
  network: boolean;
}

/** Rounds of a fixed-length run at n clients: about 2^16 client-rounds, at least 50 and at most 400 rounds. */
export const fixedRounds = (n: number): number => Math.max(50, Math.min(400, Math.round(65536 / n)));

/** `marina bench`'s runs are MARINA + CQ (or IQ), everything else at its default, the seed fixed. */
export function benchConfig(n: number, dim: number, seed: number, extra: Record<string, unknown> = {}): RunConfig {
  return resolveConfig({ method: 'marina', compressor: 'cq', clients: n, dim, seed, evalEvery: 'auto', ...extra });
}

export async function roundFigures(o: RoundBenchOptions, log: (line: string) => void): Promise<Figure[]> {
  const root = mkdtempSync(join(tmpdir(), 'marina-bench-'));
  const figures: Figure[] = [];
  const push = (...fs: Figure[]) => {
    for (const f of fs) {
      figures.push(f);
      log(`${f.name}: ${shown(f, f.median)} ${f.unit}`);
    }
  };
  let folders = 0;
  const folder = () => join(root, `run-${folders++}`);
  const logger = makeLogger('silent', 'bench');
  const local = async (config: RunConfig): Promise<FinishedRun> => {
    const out = folder();
    await runLocal(config, { out, force: false, logger, progress: 'quiet', clientLogLevel: 'silent', roundTimeoutMs: 60_000, processes: defaultProcesses(config.clients) });
    return readRun(out);
  };
  const sim = async (config: RunConfig): Promise<FinishedRun> => {
    const out = folder();
    await runSim(config, out, false, 'quiet');
    return readRun(out);
  };
  const raw = (run: FinishedRun): Promise<number> => rawRun(scheduleOf(run.records, run.summary.config.clients), clientsPerProcess(run.summary.config.clients, defaultProcesses(run.summary.config.clients)));
  const d = fmtD(o.dim);
  const layout = (n: number) => `${n} clients in ${defaultProcesses(n)} process${defaultProcesses(n) > 1 ? 'es' : ''}`;
  try {
    // Runs to the target at n = clients: in-process, and (with --network) networked with its raw loop.
    const n = o.clients;
    const config = benchConfig(n, o.dim, o.seed);
    const sims: FinishedRun[] = [];
    const nets: FinishedRun[] = [];
    const raws: number[] = [];
    for (let r = 0; r < o.runs; r++) {
      sims.push(await sim(config));
      if (!o.network) continue;
      const net = await local(config);
      nets.push(net);
      raws.push(net.records.length / (await raw(net)));
    }
    const what = `MARINA + CQ, n = ${n}, d = ${o.dim}`;
    const simTimes = sims.map(secondsToTarget);
    const netTimes = nets.map(secondsToTarget);
    push(summarize(`rounds.sim.n${n}.d${d}`, 'rounds/s', sims.map(inRunRate), `in-process engine, ${what}, ${sims[0]!.records.length} rounds (to the target)`));
    if (o.network) {
      const rate = summarize(`rounds.n${n}.d${d}`, 'rounds/s', nets.map(inRunRate));
      const rawFig = summarize(`raw-ws.rounds.n${n}.d${d}`, 'rounds/s', raws, 'ws broadcast-and-reply: same message lengths and layout');
      push({ ...rate, note: `marina local, ${layout(n)}, ${nets[0]!.records.length} rounds; ${(rate.median / rawFig.median).toFixed(2)}× raw-ws` }, rawFig);
    }
    const relTarget = config.targetRel;
    if (simTimes.every((t) => t !== null)) {
      const simFig = summarize(`time-to-target.sim.n${n}`, 's', simTimes.map((t) => t!.seconds), `in-process, in-run, to ‖∇f‖² ≤ ${relTarget === null ? "-" : relTarget.toExponential(0)}·‖∇f(x⁰)‖² (round ${simTimes[0]!.round})`);
      push(simFig);
      if (o.network && netTimes.every((t) => t !== null)) {
        const netFig = summarize(`time-to-target.net.n${n}`, 's', netTimes.map((t) => t!.seconds));
        push({ ...netFig, note: `marina local, ${layout(n)}, in-run, round ${netTimes[0]!.round}; ${(netFig.median / simFig.median).toFixed(2)}× sim` });
      }
    } else log(`time-to-target: the run did not reach its relative target within ${config.rounds} rounds; figures skipped`);

    // Rounds/s at the other n: fixed-length runs, each beside its raw loop.
    if (o.network) {
      for (const m of o.roundClients) {
        if (m === n) continue;
        const c = benchConfig(m, o.dim, o.seed, { rounds: fixedRounds(m), stopAtTarget: false });
        const rates: number[] = [];
        const rawRates: number[] = [];
        for (let r = 0; r < o.runs; r++) {
          const net = await local(c);
          rates.push(inRunRate(net));
          rawRates.push(net.records.length / (await raw(net)));
        }
        const rate = summarize(`rounds.n${m}.d${d}`, 'rounds/s', rates);
        const rawFig = summarize(`raw-ws.rounds.n${m}.d${d}`, 'rounds/s', rawRates, 'ws broadcast-and-reply: same message lengths and layout');
        push({ ...rate, note: `marina local, ${layout(m)}, ${c.rounds} rounds; ${(rate.median / rawFig.median).toFixed(2)}× raw-ws` }, rawFig);
      }
    }

    // Wire over bits: one update (protocol arithmetic), checked against the ledger of the CQ runs; whole runs.
    const cqRuns = o.network ? nets : sims;
    for (const name of ['cq', 'iq']) {
      for (const dd of [...new Set([1024, 1e6, o.dim])].sort((a, b) => a - b)) {
        const f = updateWireOverBits(name, dd, n);
        if (name === 'cq' && dd === o.dim) checkAgainstLedger(f, cqRuns[0]!, log);
        push({ name: `wire-over-bits.${name}.${fmtD(dd)}`, unit: 'ratio', median: f.ratio, min: f.ratio, max: f.ratio, runs: 1, note: `one update: ${f.wire} wire bytes for ${f.bits} bits` });
      }
    }
    const iqRun = await sim(benchConfig(n, o.dim, o.seed, { compressor: 'iq' }));
    push(
      summarize(`wire-over-bits.run.cq.${d}`, 'ratio', cqRuns.map(runWireOverBits), `whole ${o.network ? 'networked' : 'in-process'} run, ${cqRuns[0]!.records.length} rounds, p = ${cqRuns[0]!.records[1]?.p.toPrecision(3) ?? '-'}`),
      summarize(`wire-over-bits.run.iq.${d}`, 'ratio', [runWireOverBits(iqRun)], `whole in-process run (same ledger), ${iqRun.records.length} rounds, p = ${iqRun.records[1]?.p.toPrecision(3) ?? '-'}`),
    );
    return figures;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** One compressed update's uplink wire bytes over its algorithm bits, from the protocol's own lengths. */
export function updateWireOverBits(name: string, d: number, n: number): { wire: number; bits: number; ratio: number } {
  const q = createCompressor(name, { k: null, levels: 4, norm: 2 });
  const ctx = { d, n, slot: 0, rank: 0, seed: 1, round: 1 };
  const bits = q.bits(ctx);
  const wire = wsFrameBytes(allocUpdate(1, true, q.payloadBits(ctx)).length, true);
  return { wire, bits, ratio: (8 * wire) / bits };
}

/** The ledger's compressed rounds must count what the protocol arithmetic says (a mismatch is a bug to report). */
function checkAgainstLedger(f: { wire: number; bits: number }, run: FinishedRun, log: (line: string) => void): void {
  const n = run.summary.config.clients;
  const bad = run.records.find((r) => r.kind === 'compressed' && (r.wireBytesUp !== n * f.wire || r.bitsUp !== n * f.bits));
  if (bad) log(`wire-over-bits: round ${bad.round}'s ledger counts ${bad.wireBytesUp / n} wire bytes and ${bad.bitsUp / n} bits per update, not ${f.wire} and ${f.bits}`);
}
