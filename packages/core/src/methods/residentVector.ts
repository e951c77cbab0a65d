import { kernelVector } from '../kernels/range.js';

/** Where a collected vector's memory was: handed out again as a new view of the same bytes. */
interface Place {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
}

/** Free places by length d. */
const free = new Map<number, Place[]>();

/** Puts a collected vector's place back; it is unreachable, so nothing can see its bytes change. */
const registry = new FinalizationRegistry<{ d: number; place: Place }>(({ d, place }) => {
  let list = free.get(d);
  if (!list) free.set(d, (list = []));
  list.push(place);
});

/**
 * A zeroed d-vector in the range kernels' wasm memory (`kernelVector`), for a client half's update vector: IQ
 * and CQ then encode it in place instead of copying it in chunk by chunk. That memory is never freed and a
 * process may build many client halves over its life (a sweep of in-process runs, a test worker), so a
 * vector whose last reference is gone returns to a free list of its length and is handed out again: the wasm
 * memory in use stays at the most vectors alive at once. Where wasm memory is unavailable or full (its
 * 2 GiB maximum), a plain Float64Array: the kernels accept any, at the cost of the copy.
 */
export function residentVector(d: number): Float64Array {
  const place = free.get(d)?.pop();
  let v: Float64Array;
  if (place) {
    v = new Float64Array(place.buffer, place.byteOffset, d);
    v.fill(0);
  } else {
    try {
      v = kernelVector(d);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // Memory.grow past its maximum, or out of address space
      return new Float64Array(d);
    }
    // A plain array (no shared wasm memory here): the JavaScript heap frees it.
    if (typeof SharedArrayBuffer === 'undefined' || !(v.buffer instanceof SharedArrayBuffer)) return v;
  }
  registry.register(v, { d, place: { buffer: v.buffer, byteOffset: v.byteOffset } });
  return v;
}
