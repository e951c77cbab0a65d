import pino, { type Logger } from 'pino';

/** NDJSON logs on stderr (stdout stays free for results); synchronous so nothing is lost at exit. */
export function makeLogger(level: string, name: string): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
