import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { formatLibsvm, selectRows, shardRows, shardSizes, type ShardMode } from '@marina/core';
import { loadDataset } from '@marina/data';
import { UsageError } from './common.js';

/**
 * `marina shard FILE --clients n --out DIR`: writes the n files of `--data FILE`'s split (the same rows, in the
 * same order, that rank i keeps when it reads its part of FILE), so each machine can be handed its own file
 * and run `marina client --data DIR/shard-i.txt --rank i`. The fingerprints agree, so the run is the same.
 */
export const shardCommand: CommandModule = {
  command: 'shard <file>',
  describe: "split a LIBSVM file into n clients' shard files (the split of --data FILE), one per machine",
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'LIBSVM/svmlight file, plain or gzip', demandOption: true })
      .options({
        clients: { type: 'number', demandOption: true, describe: 'number of clients n' },
        out: { type: 'string', demandOption: true, describe: 'directory for shard-0.txt … shard-(n−1).txt (created; existing shard files are refused unless --force)' },
        features: { type: 'number', describe: 'feature count (default: the largest index); give the run the same --features' },
        shard: { type: 'string', choices: ['contiguous', 'shuffled'], default: 'contiguous', describe: 'equal contiguous parts (the papers), or a seeded shuffle' },
        seed: { type: 'number', default: 1, describe: 'the run seed (the shuffle is keyed by it)' },
        force: { type: 'boolean', default: false, describe: 'overwrite existing shard files' },
      }),
  handler: async (a) => {
    const n = positiveInt('clients', a['clients']);
    const seed = Number(a['seed']);
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new UsageError(`--seed is ${JSON.stringify(a['seed'])}; expected an integer in [0, 4294967295]`);
    const features = a['features'] === undefined ? null : positiveInt('features', a['features']);
    const { data, rows } = await loadDataset(String(a['file']), { features });
    if (rows < n) throw new UsageError(`${String(a['file'])} has ${rows} rows: too few for ${n} clients (every shard needs a row)`);
    const dir = String(a['out']);
    mkdirSync(dir, { recursive: true });
    const sizes = shardSizes(rows, n);
    for (let rank = 0; rank < n; rank++) {
      const part = selectRows(data, shardRows(rows, n, rank, a['shard'] as ShardMode, seed));
      writeFileSync(join(dir, `shard-${rank}.txt`), formatLibsvm(part), { flag: a['force'] ? 'w' : 'wx' });
    }
    process.stdout.write(`${n} shards of ${String(a['file'])} (${rows} rows, ${data.features} features, ${a['shard']}; ${sizes[0]}${sizes[0] !== sizes[n - 1] ? `–${sizes[n - 1]}` : ''} rows each) in ${dir}/shard-RANK.txt\n` +
      `run them with: marina server --problem PROBLEM --clients ${n} --features ${data.features} …, and on machine i: marina client --server ws://HOST:7070 --data shard-i.txt --rank i\n`);
  },
};

function positiveInt(flag: string, v: unknown): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1 && x <= 1 << 24)) throw new UsageError(`--${flag} is ${JSON.stringify(v)}; expected a positive integer`);
  return x;
}
