import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `marina` command (npm test builds before running tests). */
export const MARINA = fileURLToPath(new URL('../../packages/cli/bin/marina.js', import.meta.url));

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `marina ...args` to completion (bounded by `timeoutMs`). */
export function marina(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MARINA, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`marina ${args.join(' ')} timed out after ${opts.timeoutMs ?? 60_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `marina server` with the port it announced in its NDJSON log. */
export interface RunningServer {
  child: ChildProcess;
  port: number;
  /** The 'server listening' log entry (host, port, tls, secret). */
  entry: Record<string, unknown>;
  /** Its stderr so far. */
  log(): string;
  exited: Promise<Finished>;
}

/** Starts `marina server --port 0 ...args` on 127.0.0.1 and resolves once it listens. */
export function startServerProcess(args: string[], timeoutMs = 60_000): Promise<RunningServer> {
  return startListening(['server', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...args], timeoutMs);
}

/** Starts `marina ...args` (a command that serves, logging NDJSON at level info) and resolves once it logs 'server listening'. */
export function startListening(args: string[], timeoutMs = 60_000): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MARINA, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let announced = false;
    const exited = new Promise<Finished>((res) => child.on('exit', (code) => res({ code, stdout, stderr })));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not announce its port within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (announced) return;
      // Complete lines only: the last one may be cut mid-entry.
      for (const line of stderr.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry['msg'] === 'server listening' && entry['port']) {
          announced = true;
          clearTimeout(timer);
          resolve({ child, port: entry['port'] as number, entry, log: () => stderr, exited });
          return;
        }
      }
    });
    child.on('exit', (code) => {
      if (!announced) {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before listening\n${stderr}`));
      }
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `marina-${prefix}-`));
}

export function readRounds(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'rounds.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function readSummary(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, any>;
}

/** The per-round fields two runs of one configuration must share, networked or in-process. */
const LEDGER_FIELDS = ['round', 'xHash', 'kind', 'coin', 'gradNormSq', 'bitsUp', 'senders', 'wireBytesUp', 'wireBytesDown', 'telemetryBytes'];

/**
 * Reads the rounds of two run folders and returns them with each round reduced to LEDGER_FIELDS, so a test
 * can assert `expect(a).toEqual(b)` (every iterate, coin, bit and frame byte) and inspect the full rows.
 */
export function sameRunRows(dirA: string, dirB: string): { a: Record<string, unknown>[]; rowsA: unknown[][]; rowsB: unknown[][] } {
  const a = readRounds(dirA);
  const pick = (rs: Record<string, unknown>[]) => rs.map((r) => LEDGER_FIELDS.map((k) => r[k]));
  return { a, rowsA: pick(a), rowsB: pick(readRounds(dirB)) };
}
