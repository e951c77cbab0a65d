import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { clientsPerProcess, defaultProcesses, MARINA_BIN } from '../runs.js';
import { summarize, type Figure } from './figures.js';

/**
 * `server-bytes-per-client.n<n>` (issue 12): a `marina server` in a child process (so its RSS is its own),
 * MARINA + CQ at n clients and d, sampled from /proc/PID/status: once it listens (before any client), once it
 * logs that every client reported (all joined, round 0 starting), and every 50 ms while the rounds run. The
 * figures are the growth over the first sample per client: at the join (`server-bytes-per-client`) and the
 * median over the rounds (`server-bytes-per-client-rounds`, with the round state the coordinator keeps per client).
 * Linux only (/proc); elsewhere the figures are skipped with a line saying so.
 */

/** The resident set size of a process in bytes, from /proc (null where there is none). */
export function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface Sample {
  idle: number;
  joined: number;
  rounds: number[];
}

/** One server run with its RSS samples. */
async function sampleServer(n: number, dim: number, rounds: number, seed: number): Promise<Sample> {
  const server = spawn(
    process.execPath,
    [MARINA_BIN, 'server', '--port', '0', '--clients', String(n), '--dim', String(dim), '--seed', String(seed), '--rounds', String(rounds), '--no-stop-at-target', '--method', 'marina', '--compressor', 'cq', '--eval-every', 'auto', '--log-level', 'info', '--quiet', '--wait-timeout', '120000'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const pid = server.pid!;
  const clients: ChildProcess[] = [];
  let poll: NodeJS.Timeout | undefined;
  try {
    const sample: Sample = { idle: NaN, joined: NaN, rounds: [] };
    const exited = new Promise<number>((resolve) => server.once('exit', (code) => resolve(code ?? 1)));
    await new Promise<void>((resolve, reject) => {
      exited.then((code) => reject(new Error(`the bench's marina server exited with ${code} before its run was over`)));
      const lines = createInterface({ input: server.stderr! });
      lines.on('line', (line) => {
        let msg: { msg?: string; port?: number; level?: number; err?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.msg === 'server listening' && msg.port) {
          // Let start-up garbage settle before the baseline, then bring the clients.
          setTimeout(() => {
            sample.idle = rssOf(pid) ?? NaN;
            const counts = clientsPerProcess(n, defaultProcesses(n));
            const joining = Math.max(1, Math.floor(64 / counts.length));
            for (const k of counts) {
              clients.push(
                spawn(process.execPath, [MARINA_BIN, 'client', '--server', `ws://127.0.0.1:${msg.port}`, '--count', String(k), '--max-joining', String(joining), '--log-level', 'silent', '--exit-with-stdin'], { stdio: ['pipe', 'ignore', 'inherit'] }),
              );
            }
          }, 300);
        } else if (msg.msg?.startsWith('every client reported')) {
          sample.joined = rssOf(pid) ?? NaN;
          poll = setInterval(() => {
            const rss = rssOf(pid);
            if (rss !== null) sample.rounds.push(rss);
          }, 50);
        } else if (msg.msg === 'run finished') {
          resolve();
        } else if ((msg.level ?? 0) >= 50) {
          reject(new Error(`the bench's marina server: ${msg.msg ?? line}`));
        }
      });
    });
    if (sample.rounds.length === 0) sample.rounds.push(sample.joined);
    return sample;
  } finally {
    clearInterval(poll);
    for (const c of clients) c.stdin!.end();
    if (server.exitCode === null) server.kill();
    await Promise.all([server, ...clients].map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  }
}

export async function memoryFigures(n: number, dim: number, rounds: number, runs: number, seed: number, log: (line: string) => void): Promise<Figure[]> {
  if (!existsSync(`/proc/${process.pid}/status`)) {
    log(`server-bytes-per-client: no /proc on this system; figures skipped`);
    return [];
  }
  const joined: number[] = [];
  const during: number[] = [];
  for (let r = 0; r < runs; r++) {
    const s = await sampleServer(n, dim, rounds, seed);
    joined.push((s.joined - s.idle) / n);
    during.push((median(s.rounds) - s.idle) / n);
  }
  const figures = [
    summarize(`server-bytes-per-client.n${n}`, 'bytes', joined, `server RSS growth per client once all ${n} joined (d = ${dim}, marina server in a child process)`),
    summarize(`server-bytes-per-client-rounds.n${n}`, 'bytes', during, `the same, median over ${rounds} rounds (round state included)`),
  ];
  for (const f of figures) log(`${f.name}: ${f.median.toPrecision(3)} ${f.unit}`);
  return figures;
}

const median = (xs: readonly number[]): number => summarize('', 'bytes', [...xs]).median;
