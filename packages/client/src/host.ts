import { SharedRead } from '@marina/data';
import { runClient, trustedContext, type ClientOptions, type ClientResult } from './client.js';
import { JoinGate } from './gate.js';
import { tuneHeapForRounds } from './heap.js';

/** In a data path given to several clients, stands for each client's rank (`--data shard-{rank}.txt`). */
export const RANK_PLACEHOLDER = '{rank}';

export interface HostOptions extends ClientOptions {
  /** K ≥ 1 clients in this process. */
  count: number;
  /** At most this many of them wait to join at once (connected, no rank yet): the server refuses more than its `--max-pending`. */
  maxJoining: number;
}

export interface HostedResult extends ClientResult {
  /** The client's index in this process, 0..K−1. */
  index: number;
}

/**
 * K clients in one process (`marina client --count K`), each with its own WebSocket, rank, shard and core
 * ClientRunner: they share only values nobody writes (the options, the TLS context) and the join gate. Client
 * i is named `${name}#${i}`, asks for rank `rank + i` when a rank is given (any free rank otherwise), reads
 * `data` with {rank} replaced by that rank, and logs with `index: i`. With K = 1 it is exactly `runClient`.
 * Resolves once all K finished cleanly; otherwise rejects, once every client has ended, with the error of the
 * first client that failed (the one whose failure the others' may follow from), its message prefixed with how
 * many failed, so the caller's exit status is that error's.
 */
export async function hostClients(opts: HostOptions): Promise<HostedResult[]> {
  const { count: k } = opts;
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`hostClients: count must be an integer ≥ 1, got ${k}`);
  const placeholder = opts.data !== null && opts.data.includes(RANK_PLACEHOLDER);
  if (placeholder && opts.rank === null) throw new RangeError(`hostClients: a data path with ${RANK_PLACEHOLDER} needs the first rank`);
  tuneHeapForRounds(); // this process is the clients' own: a GC heuristic for their round loop
  if (k === 1 && !placeholder) return [{ index: 0, ...(await runClient(opts)) }];
  const gate = new JoinGate(opts.maxJoining);
  // Parsing the CA store costs tens of ms and a few MB: once per process, not once per client.
  const secureContext = opts.url.startsWith('wss:') ? opts.secureContext ?? trustedContext(opts.ca ?? null) : null;
  // The run's data file, if the clients read it (no {rank}), is parsed once for all K instead of K times.
  const sharedRead = placeholder ? null : new SharedRead(k);
  const failures: { index: number; error: Error }[] = [];
  const runs = Array.from({ length: k }, async (_, i) => {
    const rank = opts.rank === null ? null : opts.rank + i;
    try {
      const result = await runClient({
        ...opts,
        name: k === 1 ? opts.name : `${opts.name}#${i}`,
        logger: k === 1 ? opts.logger : opts.logger.child({ index: i }),
        rank,
        data: placeholder ? opts.data!.replaceAll(RANK_PLACEHOLDER, String(rank)) : opts.data,
        dataSharedBy: placeholder ? 1 : k,
        sharedRead: sharedRead?.reader(i) ?? null,
        secureContext,
        gate,
      });
      return { index: i, ...result };
    } catch (e) {
      failures.push({ index: i, error: e as Error });
      return null;
    } finally {
      sharedRead?.leave(i); // one that failed before reading must not keep the parse alive for the others
    }
  });
  const results = await Promise.all(runs);
  const first = failures[0];
  if (!first) return results as HostedResult[];
  if (k > 1) first.error.message = `${failures.length} of ${k} clients of this process failed; the first, #${first.index}: ${first.error.message}`;
  throw first.error;
}
