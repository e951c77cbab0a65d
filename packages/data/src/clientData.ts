import { ProtocolError } from '@marina/protocol';
import { getProblem, selectRows, shardRows, type Dataset, type ProblemDef, type RunConfig } from '@marina/core';
import { readIdxImagesFile } from './idx.js';
import { loadDataset, loadShard } from './libsvm.js';

/**
 * Where a client's rows come from (three ways, all giving the same shard for the same rank):
 *  1. the run's `--data FILE`, seen by every party at the same path: the client keeps only its rank's part
 *     (the papers' contiguous split, or the seeded shuffle of `--shard shuffled`);
 *  2. the client's own file (`marina client --data FILE`), private to its machine: all of it is its shard;
 *  3. in-process (`marina sim`, `marina theory`): `loadAllShards` reads the file once and splits it n ways.
 * Generated problems have no data (null). An own file that is the run's file (one environment shared by a
 * compose deployment sets both) is way 1.
 */
export async function loadClientData(config: RunConfig, rank: number, ownFile: string | null, shared: SharedRead | null = null): Promise<Dataset | null> {
  const def = getProblem(config.problem);
  if (def.data === 'none') return null;
  if (ownFile !== null && ownFile !== config.data) return readWhole(def, ownFile, config.features);
  const path = requireData(config, def);
  // Several clients of one process read the file once between them (way 3's split, the same shards).
  if (shared) return splitOf(config, def, await shared.read(path, () => readWhole(def, path, config.features)), rank);
  // A problem that splits its own way (the autoencoder's hold-out) needs the whole file; otherwise pass 2 keeps only this rank's rows.
  if (def.split || def.data === 'idx') return splitOf(config, def, await readWhole(def, path, config.features), rank);
  return (await loadShard(path, { features: config.features, clients: config.clients, rank, shard: config.shard, seed: config.seed })).shard;
}

/**
 * The run's data file read once for the `readers` clients of one process (`marina client --count K`), instead
 * of K two-pass reads of the whole file: each takes its rank's part of the one parse. The parse is dropped
 * once every reader has had it (a client that later takes another rank reads again), so the process holds
 * the whole file only while its clients join.
 */
export class SharedRead {
  private parsed: { path: string; data: Promise<Dataset> } | null = null;
  private left: number;

  constructor(readers: number) {
    this.left = readers;
  }

  async read(path: string, parse: () => Promise<Dataset>): Promise<Dataset> {
    if (this.parsed?.path !== path) this.parsed = { path, data: parse() };
    const data = this.parsed.data;
    if (--this.left <= 0) this.parsed = null;
    return data;
  }
}

/** Every rank's shard, read once (way 3). */
export async function loadAllShards(config: RunConfig): Promise<(Dataset | null)[]> {
  const def = getProblem(config.problem);
  if (def.data === 'none') return new Array<null>(config.clients).fill(null);
  const all = await readWhole(def, requireData(config, def), config.features);
  return Array.from({ length: config.clients }, (_, rank) => splitOf(config, def, all, rank));
}

/** A held-out file for `--test-data` (read whole; the problem's feature count is checked when it is used). */
export async function loadTestData(config: RunConfig, path: string): Promise<Dataset> {
  return readWhole(getProblem(config.problem), path, config.features);
}

/** Rank `rank`'s part of the whole data set: the problem's own split, else the run's `--shard` rule. */
function splitOf(config: RunConfig, def: ProblemDef, all: Dataset, rank: number): Dataset {
  if (def.split) return def.split(config, all, config.clients, rank);
  return selectRows(all, shardRows(all.rows, config.clients, rank, config.shard, config.seed));
}

async function readWhole(def: ProblemDef, path: string, features: number | null): Promise<Dataset> {
  if (def.data === 'idx') return readIdxImagesFile(path);
  return (await loadDataset(path, { features })).data;
}

function requireData(config: RunConfig, def: ProblemDef): string {
  if (config.data !== null) return config.data;
  throw new ProtocolError(
    'MARINA_ERR_BAD_CONFIG',
    `problem "${def.name}" needs data: give --data FILE (${def.data === 'idx' ? 'IDX images' : 'a LIBSVM file'} every party reads at that path), or give each client its own file (marina client --data FILE)`,
    { field: 'data' },
  );
}
