import seedrandom from 'seedrandom';

/**
 * How a data set's rows are split among n clients (ARCHITECTURE "Problems and data"). `contiguous` is the
 * papers' split: client i gets the i-th block of consecutive rows. `shuffled` cuts a seeded permutation of
 * the rows into the same blocks, so every client sees a sample of the whole file (more homogeneous f_i).
 */
export type ShardMode = 'contiguous' | 'shuffled';

/**
 * Rows per client for `total` rows among `n`: ⌊total/n⌋ each, and one more for the first total mod n
 * clients (sizes differ by at most one and sum to total). A size is 0 when total < n.
 */
export function shardSizes(total: number, n: number): number[] {
  checkCounts(total, n);
  const base = Math.floor(total / n);
  const extra = total % n;
  return Array.from({ length: n }, (_, r) => base + (r < extra ? 1 : 0));
}

/**
 * The rows of client `rank` (0-based, ascending) out of `total`, for n clients.
 * - `contiguous`: rows [start, start + size) with the sizes of `shardSizes`.
 * - `shuffled`: the same cut of a permutation of 0..total−1 drawn by Fisher–Yates (i from total−1 down to
 *   1, j = ⌊u·(i+1)⌋) with u from `seedrandom(\`marina-shard/${seed}\`)` (ARC4, the default generator), each
 *   shard then sorted ascending. The permutation depends only on (total, seed), so every client computes
 *   the same one and the shards are disjoint and cover all rows.
 * An empty array when the shard is empty (total < n); the caller decides whether to refuse it.
 */
export function shardRows(total: number, n: number, rank: number, mode: ShardMode, seed: number): Int32Array {
  checkCounts(total, n);
  if (!(Number.isInteger(rank) && rank >= 0 && rank < n)) throw new RangeError(`rank must be an integer in [0, ${n}), got ${rank}`);
  if (mode !== 'contiguous' && mode !== 'shuffled') throw new RangeError(`shard mode must be "contiguous" or "shuffled", got "${String(mode)}"`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`shard seed must be a safe integer, got ${seed}`);
  const base = Math.floor(total / n);
  const extra = total % n;
  const size = base + (rank < extra ? 1 : 0);
  const start = rank * base + Math.min(rank, extra);
  if (mode === 'contiguous') {
    const out = new Int32Array(size);
    for (let k = 0; k < size; k++) out[k] = start + k;
    return out;
  }
  const perm = new Int32Array(total);
  for (let i = 0; i < total; i++) perm[i] = i;
  const rng = seedrandom(`marina-shard/${seed}`);
  for (let i = total - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  return perm.slice(start, start + size).sort();
}

function checkCounts(total: number, n: number): void {
  if (!(Number.isInteger(total) && total >= 0 && total <= 0x7fff_ffff)) throw new RangeError(`total rows must be an integer in [0, 2^31), got ${total}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`client count must be an integer ≥ 1, got ${n}`);
}
