import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { sendAll } from './client.js';
import { maskGenerator, nonzeroMask } from './mask.js';

/** A client WebSocket connected to a loopback server; `received` collects what the server got. */
async function pair(generateMask: (mask: Buffer) => void = nonzeroMask): Promise<{ ws: WebSocket; received: Buffer[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const received: Buffer[] = [];
  wss.on('connection', (s) => s.on('message', (d: Buffer) => received.push(d)));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false, generateMask });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  return {
    ws,
    received,
    close: async () => {
      ws.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

/** Counts the socket writes (Writable's _write and _writev: one system call each) that `fn` causes. */
function countWrites(ws: WebSocket, fn: () => void): number {
  const socket = (ws as unknown as { _socket: { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void } })._socket;
  const [write, writev] = [socket._write, socket._writev];
  let writes = 0;
  socket._write = function (...a: unknown[]) {
    writes++;
    return write.apply(this, a);
  };
  socket._writev = function (...a: unknown[]) {
    writes++;
    return writev.apply(this, a);
  };
  try {
    fn();
  } finally {
    [socket._write, socket._writev] = [write, writev];
  }
  return writes;
}

let open: { close(): Promise<void> } | null = null;
afterEach(async () => {
  await open?.close();
  open = null;
});

describe('sendAll (a round\'s replies from a client)', () => {
  it('puts an update and an evaluation report on the socket in one write, and both arrive whole', async () => {
    const p = await pair();
    open = p;
    const update = new Uint8Array(137).fill(1);
    const report = new Uint8Array(8 * 1025 + 5).fill(2);
    // One write for both; without the cork ws writes each masked frame on its own.
    expect(countWrites(p.ws, () => sendAll(p.ws, [update, report]))).toBe(1);
    expect(countWrites(p.ws, () => sendAll(p.ws, [update]))).toBe(1);
    expect(countWrites(p.ws, () => [update, report].forEach((m) => p.ws.send(m)))).toBe(2);
    // ws copied them as it masked them: the caller may reuse its buffers at once.
    update.fill(9);
    report.fill(9);
    for (const end = Date.now() + 10_000; p.received.length < 5 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(p.received.map((b) => [b.length, b[0], b.at(-1)])).toEqual([
      [137, 1, 1],
      [8 * 1025 + 5, 2, 2],
      [137, 1, 1],
      [137, 1, 1],
      [8 * 1025 + 5, 2, 2],
    ]);
  });
});

/** Waits (bounded) until `received` holds `count` messages. */
async function arrived(received: Buffer[], count: number): Promise<void> {
  for (const end = Date.now() + 10_000; received.length < count && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
}

describe('nonzeroMask (why the runner may reuse its buffers)', () => {
  it('with it, a message overwritten while its frame still waits in the socket arrives as it was sent', async () => {
    const p = await pair();
    open = p;
    const socket = (p.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    const msg = new Uint8Array(145).fill(1);
    socket.cork(); // the frame is queued in the socket, not yet written
    for (let i = 0; i < 50; i++) sendAll(p.ws, [msg]);
    msg.fill(9);
    socket.uncork();
    await arrived(p.received, 50);
    expect(p.received.every((b) => b.length === 145 && b.every((x) => x === 1))).toBe(true);
  });

  it('without it, ws writes an all-zero-masked message from the caller\'s buffer: the overwrite would arrive', async () => {
    // The case the generator rules out: ws skips the copy when the key is 0 (once in 2^32 keys with its own).
    const p = await pair((mask) => mask.fill(0));
    open = p;
    const socket = (p.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    const msg = new Uint8Array(145).fill(1);
    socket.cork();
    sendAll(p.ws, [msg]);
    msg.fill(9);
    socket.uncork();
    await arrived(p.received, 1);
    expect(p.received[0]![0]).toBe(9);
  });

  it('draws an all-zero key again, from the next random bytes', () => {
    let fills = 0;
    // First pool: zeros, then one key's worth of 0x00 00 00 05 …; later pools: 0xab.
    const gen = maskGenerator((pool) => {
      pool.fill(fills++ === 0 ? 0 : 0xab);
      if (fills === 1) pool[8192 - 1] = 5;
    });
    const mask = Buffer.alloc(4);
    gen(mask);
    expect([...mask]).toEqual([0, 0, 0, 5]); // 2047 zero keys skipped, the pool's last key taken
    gen(mask);
    expect([...mask]).toEqual([0xab, 0xab, 0xab, 0xab]);
    expect(fills).toBe(2);
  });
});
