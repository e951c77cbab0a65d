import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP relay on 127.0.0.1 in front of a server port that records the bytes going each way. */
export interface Relay {
  port: number;
  /** Client → server bytes, every connection's in arrival order. */
  toServer: Buffer[];
  /** Server → client bytes. */
  toClient: Buffer[];
  close(): void;
}

/**
 * Starts a relay to 127.0.0.1:`target`: each connection to it is piped to a new connection to the target, and
 * what crosses is recorded (a test reads an honest client's bytes off the wire: its hello, or that a secret
 * never crossed). Closing one side closes the other.
 */
export async function recordingRelay(target: number): Promise<Relay> {
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((inbound: Socket) => {
    const outbound = createConnection(target, '127.0.0.1');
    for (const s of [inbound, outbound]) (open.add(s), s.on('close', () => open.delete(s)));
    inbound.on('data', (d: Buffer) => (toServer.push(d), outbound.write(d)));
    outbound.on('data', (d: Buffer) => (toClient.push(d), inbound.write(d)));
    inbound.on('close', () => outbound.destroy()).on('error', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy()).on('error', () => inbound.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    toServer,
    toClient,
    close() {
      server.close();
      for (const s of open) s.destroy();
    },
  };
}
