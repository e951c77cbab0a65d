import type { CommandModule } from 'yargs';
import { compressors, contextOf, createCompressor, CounterRng, resolveConfig, runInProcess } from '@marina/core';
import { nodeHooks } from '@marina/server';
import { makeLogger } from '../logger.js';
import { resolveInProcess, runLocal } from '../runs.js';

/**
 * `marina bench`: speed figures as JSON lines on stdout (one object per measurement), medians over
 * repetitions, with a memcpy baseline measured in the same run so results compare as ratios.
 */
export const benchCommand: CommandModule = {
  command: 'bench',
  describe: 'measure encode/decode throughput per compressor and round rates; prints JSON lines',
  builder: (y) =>
    y.options({
      dim: { type: 'number', default: 65536, describe: 'vector length for the compressor kernels' },
      clients: { type: 'number', default: 16, describe: 'n for the compressor kernels and round rates' },
      reps: { type: 'number', default: 15, describe: 'repetitions per measurement (the median is reported)' },
      network: { type: 'boolean', default: true, describe: 'also measure a local cluster over real sockets' },
    }),
  handler: async (a) => {
    const d = a['dim'] as number;
    const n = a['clients'] as number;
    const reps = a['reps'] as number;
    const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ node: process.version, ...o }) + '\n');

    const src = new Float64Array(d);
    const rng = new CounterRng(1, 0, 0, 'bench');
    for (let j = 0; j < d; j++) src[j] = rng.normal();
    const dst = new Float64Array(d);
    const copyNs = median(reps, () => dst.set(src)) / d;
    emit({ bench: 'memcpy-float64', d, nsPerCoord: copyNs });

    for (const name of Object.keys(compressors)) {
      const q = createCompressor(name, { k: null, levels: 4, norm: 2 });
      const env = { d, n, seed: 1, compressor: q, dense: q, gamma: 0, p: 0 };
      const plan = { round: 1, kind: 'compressed' as const, coin: false, senders: Int32Array.from({ length: n }, (_, i) => i) };
      const ctx = contextOf(env, plan, 0, 0);
      const out = new Uint8Array(Math.ceil(q.payloadBits(ctx) / 8));
      const sum = new Float64Array(d);
      const enc = median(reps, () => q.encode(src, ctx, out)) / d;
      const dec = median(reps, () => q.decodeInto(sum, out, ctx)) / d;
      emit({
        bench: 'compressor',
        name,
        d,
        n,
        encodeMcoordPerS: 1e3 / enc,
        decodeMcoordPerS: 1e3 / dec,
        encodeVsMemcpy: enc / copyNs,
        decodeVsMemcpy: dec / copyNs,
        payloadBytes: out.length,
      });
    }

    const config = resolveConfig({ clients: n, dim: 1024, rounds: 400, stopAtTarget: false, targetRel: null, p: '0.1' });
    const { setup, problems } = await resolveInProcess(config);
    const simNs = median(5, () => runInProcess(setup, problems, { ...nodeHooks, runId: 'bench' }));
    emit({
      bench: 'sim-rounds',
      method: config.method,
      compressor: config.compressor,
      clients: n,
      d: setup.d,
      roundsPerS: (config.rounds * 1e9) / simNs,
    });

    if (a['network']) {
      const logger = makeLogger('silent', 'bench');
      const times: number[] = [];
      for (let r = 0; r < 3; r++) {
        const s = await runLocal(config, {
          out: null,
          force: false,
          logger,
          progress: 'quiet',
          clientLogLevel: 'silent',
          roundTimeoutMs: 60_000,
        });
        times.push(s.totals.seconds);
      }
      times.sort((x, y) => x - y);
      emit({
        bench: 'local-rounds',
        method: config.method,
        compressor: config.compressor,
        clients: n,
        d: setup.d,
        roundsPerS: config.rounds / times[1]!,
        note: 'server + n client processes on this machine, evaluation every round',
      });
    }
  },
};

/** Median wall time in ns of `fn` over `reps` runs, after two warm-up runs. */
function median(reps: number, fn: () => unknown): number {
  fn();
  fn();
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0));
  }
  t.sort((x, y) => x - y);
  return t[Math.floor(reps / 2)]!;
}
