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
export async function loadClientData(config: RunConfig, rank: number, ownFile: string | null, shared: DataReader | null = null): Promise<Dataset | null> {
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

/** Where a client gets the run's parsed data file from when it shares one parse with others (`SharedRead`). */
export interface DataReader {
  read(path: string, parse: () => Promise<Dataset>): Promise<Dataset>;
}

/**
 * The run's data file read once for the `readers` clients of one process (`marina client --count K`), instead
 * of K two-pass reads of the whole file: each takes its rank's part of the one parse. The parse is dropped
 * once every reader has had it or has left without it (`leave`: a client that failed before reading), so the
 * process holds the whole file only while its clients join; a reader's later read (another rank after a
 * reconnect) parses again, and a parse that failed is not kept.
 */
export class SharedRead {
  private parsed: { path: string; data: Promise<Dataset> } | null = null;
  private readonly done = new Set<number>();

  constructor(private readonly readers: number) {}

  /** Reader i's door to the data. */
  reader(i: number): DataReader {
    return { read: (path, parse) => (this.done.has(i) ? parse() : this.share(i, path, parse)) };
  }

  /** Reader i needs the parse no more (it has read it, or it ended without reading). */
  leave(i: number): void {
    this.done.add(i);
    if (this.done.size >= this.readers) this.parsed = null;
  }

  private share(i: number, path: string, parse: () => Promise<Dataset>): Promise<Dataset> {
    if (this.parsed?.path !== path) {
      const data = parse();
      this.parsed = { path, data };
      data.catch(() => {
        if (this.parsed?.data === data) this.parsed = null;
      });
    }
    const data = this.parsed.data;
    this.leave(i);
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
