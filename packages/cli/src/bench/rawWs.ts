import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { wsFrameBytes } from '@marina/protocol';
import type { RoundRecord } from '@marina/core';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The raw ws broadcast-and-reply loop `marina bench` sets beside `marina local` (issue 12): the same message
 * lengths round by round and the same process layout (this process serves, P client processes host the n
 * sockets), but nothing is computed: each round the server sends one message to every socket and waits for
 * every reply. Its rate is what the wire and ws allow on this machine; marina's rate over it is what marina
 * costs beyond them.
 */

/** Message lengths (bytes, headers included, frames excluded) of each round: what to send and what comes back. */
export interface Schedule {
  /** The message every client receives (RoundStart). */
  down: Uint32Array;
  /** Each client's update. */
  up: Uint32Array;
  /** Each client's evaluation report, 0 where the round has none. */
  report: Uint32Array;
}

/** The message length whose WebSocket frame takes `wire` bytes (inverse of `wsFrameBytes`), or null if none does. */
export function messageBytes(wire: number, masked: boolean): number | null {
  for (const header of [2, 4, 10]) {
    const len = wire - header - (masked ? 4 : 0);
    if (len >= 0 && wsFrameBytes(len, masked) === wire) return len;
  }
  return null;
}

/**
 * A run's schedule from its round records (rounds.jsonl): per-client frame bytes of each direction (the
 * ledger's own accounting) turned back into message lengths. The raw loop has every client answer every round,
 * so it refuses a run where some round had fewer senders, or traffic that is not one message per client.
 */
export function scheduleOf(records: readonly RoundRecord[], n: number): Schedule {
  const R = records.length;
  const s: Schedule = { down: new Uint32Array(R), up: new Uint32Array(R), report: new Uint32Array(R) };
  const one = (total: number, masked: boolean, what: string, t: number): number => {
    const len = total % n === 0 ? messageBytes(total / n, masked) : null;
    if (len === null) throw new Error(`raw ws schedule: round ${t}'s ${what} (${total} bytes over ${n} clients) is not one frame per client`);
    return len;
  };
  records.forEach((r, t) => {
    if (r.senders !== n) throw new Error(`raw ws schedule: round ${t} had ${r.senders} senders of ${n}; the raw loop has all answer`);
    s.down[t] = one(r.wireBytesDown, false, 'downlink', t);
    s.up[t] = one(r.wireBytesUp, true, 'uplink', t);
    s.report[t] = r.telemetryBytes === 0 ? 0 : one(r.telemetryBytes, true, 'evaluation report', t);
    // The first 8 bytes of the downlink message carry the reply lengths.
    if (s.down[t]! < 8) throw new Error(`raw ws schedule: round ${t}'s downlink message is ${s.down[t]} bytes; the raw loop needs 8`);
  });
  return s;
}

const CLIENT_SCRIPT = fileURLToPath(new URL('./rawWsClient.js', import.meta.url));

/**
 * Runs the schedule once on a fresh cluster (a server here, `counts.length` client processes hosting
 * counts[i] sockets each, started cold like marina's) and returns the seconds from the first round's send to
 * the last round's last reply.
 */
export async function rawRun(schedule: Schedule, counts: readonly number[]): Promise<number> {
  const n = counts.reduce((a, b) => a + b, 0);
  const maxDown = Math.max(...schedule.down);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: Math.max(...schedule.up, ...schedule.report) + 16 });
  await new Promise<void>((resolve, reject) => wss.once('listening', resolve).once('error', reject));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const sockets: WebSocket[] = [];
  const children: ChildProcess[] = [];
  try {
    let ready = 0;
    const allReady = new Promise<void>((resolve, reject) => {
      for (const k of counts) {
        const child = spawn(process.execPath, [CLIENT_SCRIPT, url, String(k)], { stdio: ['pipe', 'pipe', 'inherit'] });
        children.push(child);
        child.stdout!.on('data', (b: Buffer) => {
          if (b.toString().includes('ready') && ++ready === counts.length) resolve();
        });
        child.on('exit', (code) => reject(new Error(`raw ws client process exited with ${code} before the loop ended`)));
      }
    });
    wss.on('connection', (ws) => sockets.push(ws));
    await allReady;
    while (sockets.length < n) await new Promise((r) => setImmediate(r));

    const buffers = new Map<number, Buffer>();
    const bufferOf = (bytes: number): Buffer => {
      let b = buffers.get(bytes);
      if (!b) buffers.set(bytes, (b = Buffer.alloc(bytes, 0x33)));
      return b;
    };
    bufferOf(maxDown);
    const R = schedule.down.length;
    return await new Promise<number>((resolve, reject) => {
      let t = 0;
      let pending = 0;
      const start = () => {
        const msg = bufferOf(schedule.down[t]!);
        msg.writeUInt32LE(schedule.up[t]!, 0);
        msg.writeUInt32LE(schedule.report[t]!, 4);
        pending = n * (schedule.report[t] === 0 ? 1 : 2);
        for (let i = 0; i < n; i++) sockets[i]!.send(msg);
      };
      const t0 = process.hrtime.bigint();
      const onMessage = () => {
        if (--pending > 0) return;
        if (++t === R) resolve(Number(process.hrtime.bigint() - t0) / 1e9);
        else start();
      };
      for (const ws of sockets) {
        ws.on('message', onMessage);
        ws.on('close', () => t < R && reject(new Error('raw ws: a client closed its socket during the loop')));
      }
      start();
    });
  } finally {
    for (const child of children) {
      child.removeAllListeners('exit');
      child.stdin!.end();
    }
    for (const ws of sockets) ws.terminate();
    await new Promise((r) => wss.close(r));
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  }
}
