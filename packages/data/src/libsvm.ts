import { LibsvmParser, shardRows, type Dataset, type LibsvmResult, type ShardMode } from '@marina/core';
import { ProtocolError } from '@marina/protocol';
import { streamFile } from './read.js';

/** Options of `readLibsvmFile`: those of core's LibsvmParser, the source being the path. */
export interface ReadLibsvmOptions {
  /** The feature count (indices above it are refused); null or absent: the largest index in the file. */
  features?: number | null;
  /** Which rows (0-based, among all valid rows) to store; the others are validated only. Default: all. */
  keep?: (row: number) => boolean;
  /** The label set to map to ±1 by, from a previous pass over the whole file. Default: the file's labels. */
  labels?: readonly number[];
}

/**
 * Parses the LIBSVM/svmlight file at `path` (gzip or plain text, told apart by the magic bytes), streamed
 * through core's LibsvmParser: memory is the kept rows plus one chunk. Errors are ProtocolError
 * MARINA_ERR_BAD_DATA naming the path (and the line, for a malformed row).
 */
export async function readLibsvmFile(path: string, options: ReadLibsvmOptions = {}): Promise<LibsvmResult> {
  const parser = new LibsvmParser({ source: path, features: options.features ?? null, keep: options.keep, labels: options.labels });
  await streamFile(path, (chunk) => parser.push(chunk));
  return parser.finish();
}

/** The whole LIBSVM file at `path` in one pass (the server's view, and tests'). */
export function loadDataset(path: string, options: { features?: number | null } = {}): Promise<LibsvmResult> {
  return readLibsvmFile(path, { features: options.features ?? null });
}

export interface LoadShardOptions {
  /** The feature count; null or absent: the largest index in the whole file. */
  features?: number | null;
  /** n, the number of clients, and this client's rank in [0, n). */
  clients: number;
  rank: number;
  /** How rows are split (core's `shardRows`), and the seed of the `shuffled` permutation. */
  shard: ShardMode;
  seed: number;
}

export interface LoadedShard {
  /** This rank's rows (ascending file order), labels mapped to ±1 by the whole file's label set. */
  shard: Dataset;
  /** Valid rows of the whole file. */
  totalRows: number;
  /** The feature count of the whole file (given, or its largest index): the same on every client. */
  features: number;
  /** The whole file's distinct raw labels, ascending. */
  labels: number[];
}

/**
 * Client `rank`'s shard of the LIBSVM file at `path`, storing only that shard. Pass 1 reads the whole file
 * without storing rows (validation, row count, feature count, labels), so every client agrees on the split
 * and the dimension; pass 2 stores only the rows `shardRows` gives this rank, and maps labels by pass 1's
 * label set (a shard whose rows carry one label still maps it as the whole file does). The shard may be
 * empty (total < n); the caller refuses it (MARINA_ERR_BAD_SHARD).
 */
export async function loadShard(path: string, options: LoadShardOptions): Promise<LoadedShard> {
  const { clients, rank, shard: mode, seed } = options;
  shardRows(0, clients, rank, mode, seed); // checks the arguments before the file is read
  const whole = await readLibsvmFile(path, { features: options.features ?? null, keep: () => false });
  const rows = shardRows(whole.rows, clients, rank, mode, seed);
  const mine = new Uint8Array(whole.rows);
  for (const r of rows) mine[r] = 1;
  const part = await readLibsvmFile(path, { features: whole.features, labels: whole.labels, keep: (r) => mine[r] === 1 });
  if (part.rows !== whole.rows) {
    throw new ProtocolError('MARINA_ERR_BAD_DATA', `${path}: the file changed while it was read (${whole.rows} rows, then ${part.rows})`, { file: path });
  }
  return { shard: part.data, totalRows: whole.rows, features: whole.features, labels: whole.labels };
}
