import { setFlagsFromString } from 'node:v8';

/**
 * V8's old-generation growing factor for a process that hosts clients (`marina client`, as `marina local` starts
 * them): the heap may grow to 3× what the last full collection left live before the next one starts. The round
 * loop's garbage is short-lived, but with V8's default the old generation sits so close to its limit that a full
 * mark-compact followed nearly every scavenge: at n = 128, d = 1024 (128 clients in one process) about 40 per
 * 1000 rounds, 4.4 µs of the clients' CPU per client per round (11%); with this factor, 0–3 per 1500 rounds.
 * The flag is read at each collection, so setting it once the process runs takes effect (unlike the heap sizes).
 */
export function tuneHeapForRounds(): void {
  setFlagsFromString('--heap-growing-percent=200');
}
