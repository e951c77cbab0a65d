import { CounterRng } from '../rng.js';

/**
 * k distinct integers of [0, n), every k-subset equally likely (Floyd's algorithm: k draws, no O(n) scratch),
 * returned ascending so that whoever iterates them (sums, sender slots) does so in a fixed order.
 * Keyed like every draw (decision 15): PP-MARINA's participants use (seed, t, SHARED, "participants"),
 * VR-MARINA's minibatches (seed, t, rank, "minibatch").
 */
export function sampleSubset(seed: number, round: number, rank: number, purpose: string, n: number, k: number): Int32Array {
  if (!(Number.isInteger(n) && Number.isInteger(k) && k >= 0 && k <= n)) throw new RangeError(`sampleSubset needs integers 0 ≤ k ≤ n, got k = ${k}, n = ${n}`);
  const rng = new CounterRng(seed, round, rank, purpose);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from(chosen).sort();
}
