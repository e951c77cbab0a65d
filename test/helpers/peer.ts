import { createHmac } from 'node:crypto';
import { WebSocket } from 'ws';
import { decodeError, type ErrorMessage, Kind, payloadOf, proofInput } from '@marina/protocol';

/** What a protocol peer written in a test saw of the server: every message kind in order, the error, the close. */
export interface PeerOutcome {
  kinds: number[];
  /** The server's Error message, if it sent one. */
  error: ErrorMessage | null;
  /** The WebSocket close code (1006: the connection dropped without a close frame). */
  closeCode: number;
  /** A socket-level error (refused connection, reset), if any. */
  socketError: string | null;
  /** The peer's own deadline closed the connection: the server neither refused nor dropped it in time. */
  timedOut: boolean;
}

/**
 * Opens a protocol WebSocket to `url` and hands every binary message the server sends to `onMessage` (which may
 * answer on `ws`); resolves when the socket closes, or after `deadlineMs` (the peer then terminates it itself).
 * `localAddress` (such as 127.0.0.2) makes the peer come from another address than the honest clients.
 */
export function protocolPeer(url: string, onMessage: (ws: WebSocket, bytes: Uint8Array) => void, deadlineMs: number, opts: { localAddress?: string } = {}): Promise<PeerOutcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
    const out: PeerOutcome = { kinds: [], error: null, closeCode: 0, socketError: null, timedOut: false };
    const timer = setTimeout(() => {
      out.timedOut = true;
      ws.terminate();
    }, deadlineMs);
    ws.on('error', (e) => (out.socketError ??= e.message));
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      out.kinds.push(bytes[0]!);
      if (bytes[0] === Kind.Error) out.error = decodeError(payloadOf(bytes));
      onMessage(ws, bytes);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      out.closeCode = code;
      resolve(out);
    });
  });
}

/** A hello's proof: HMAC-SHA256(secret, nonce ‖ version ‖ client name), as README "Security" defines it. */
export const helloProof = (secret: Uint8Array, nonce: Uint8Array, client: string): Uint8Array =>
  createHmac('sha256', secret).update(proofInput(nonce, client)).digest();

/** The dashboard's read-only token for a run's secret: HMAC-SHA256(secret, "dashboard") in hex. */
export const dashboardTokenOf = (secret: Uint8Array): string => createHmac('sha256', secret).update('dashboard').digest('hex');
