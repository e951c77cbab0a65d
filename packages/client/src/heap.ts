import { setFlagsFromString } from 'node:v8';

/**
 * V8's old-generation growing factor for a process that hosts clients (`marina client`, as `marina local` starts
 * them): after a full collection the heap may grow to 5× what it left live (V8's own largest factor) before
 * marking starts again. The round loop's garbage dies young, but V8 starts incremental marking whenever the old
 * generation's headroom falls below the young generation's capacity, and with its default factor a client
 * process of 128 clients (d = 1024, about 18 MB live) was there after nearly every scavenge: 64–65 full
 * mark-compacts per 2000 rounds, 2 (both at start-up) with this factor; 3× was not enough once the young
 * generation had grown (33–46). Client CPU per 2000 rounds, three paired runs under the same load: 8.0–8.3 s →
 * 6.8–7.2 s, about 4.6 µs per client per round (15%). The price is garbage held longer: up to 5× the live heap
 * (typed arrays' data lives outside it). The flag is read at each collection, so setting it once the process
 * runs takes effect (the heap's sizes could only be set at start).
 */
export function tuneHeapForRounds(): void {
  setFlagsFromString('--heap-growing-percent=400');
}
