/**
 * One client process of the raw ws loop (`marina bench`, bench/rawWs.ts): `node rawWsClient.js URL K` opens K
 * WebSockets to URL and answers every message at once with what its first 8 bytes ask for: an update of
 * uint32 LE [0, 4) bytes and, when uint32 LE [4, 8) is not 0, an evaluation report of that many bytes, both
 * in one socket write as marina's client sends them (`sendAll`). No decoding, no arithmetic: only the wire.
 * Prints "ready" once all K are open; exits when its stdin closes (the bench process holds the other end).
 */
import { sendAll } from '@marina/client';
import { WebSocket } from 'ws';

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
if (!url || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: rawWsClient.js ws://HOST:PORT COUNT\n');
  process.exit(2);
}

/** Reply buffers by length, reused (marina's client reuses its own). */
const buffers = new Map<number, Uint8Array>();
const bufferOf = (bytes: number): Uint8Array => {
  let b = buffers.get(bytes);
  if (!b) buffers.set(bytes, (b = new Uint8Array(bytes).fill(0x5a)));
  return b;
};
const one: Uint8Array[] = [new Uint8Array(0)];
const two: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];

let open = 0;
for (let i = 0; i < count; i++) {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0 });
  ws.binaryType = 'nodebuffer';
  ws.on('open', () => {
    if (++open === count) process.stdout.write('ready\n');
  });
  ws.on('message', (data: Buffer) => {
    const up = data.readUInt32LE(0);
    const report = data.readUInt32LE(4);
    const replies = report === 0 ? one : two;
    replies[0] = bufferOf(up);
    if (report !== 0) replies[1] = bufferOf(report);
    sendAll(ws, replies);
  });
  ws.on('error', (err) => {
    process.stderr.write(`rawWsClient: ${err.message}\n`);
    process.exit(1);
  });
  ws.on('close', () => process.exit(0));
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
