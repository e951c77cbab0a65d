import type { Readable } from 'node:stream';

export type LogEntry = Record<string, unknown>;

/**
 * Follows a process's NDJSON log (pino lines on stderr): keeps every entry, and resolves waits for the first
 * entry (past or future) that matches, so a test reacts to what the server did rather than sleeping.
 */
export class LogWatch {
  readonly entries: LogEntry[] = [];
  private buffered = '';
  private readonly waiters = new Set<{ match: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }>();

  constructor(stream: Readable) {
    stream.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as LogEntry;
        this.entries.push(entry);
        for (const w of this.waiters) if (w.match(entry)) (this.waiters.delete(w), w.resolve(entry));
      }
    });
  }

  /** The first entry that satisfies `match`; rejects naming `what` after `timeoutMs`. */
  waitFor(what: string, match: (e: LogEntry) => boolean, timeoutMs: number): Promise<LogEntry> {
    const seen = this.entries.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (e: LogEntry) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no log entry for ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Entries that satisfy `match`, so far. */
  filter(match: (e: LogEntry) => boolean): LogEntry[] {
    return this.entries.filter(match);
  }
}
