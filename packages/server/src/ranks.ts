import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { ProtocolError } from '@marina/protocol';

/** One socket's byte counts: what the kernel socket counted, and how it splits. */
export interface SocketStats {
  rank: number;
  remote: string;
  bytesRead: number;
  bytesWritten: number;
  handshakeRead: number;
  handshakeWritten: number;
  /** Frame bytes of the messages this socket carried (ledger-accounted and rejected ones). */
  framesRead: number;
  framesWritten: number;
}

/** A protocol connection: ranked once its hello is accepted, reported once its shard facts are. */
export interface Conn {
  ws: WebSocket;
  socket: Socket;
  /** This connection's challenge nonce (NONCE_BYTES random bytes): a hello's proof is checked against it. */
  nonce: Uint8Array;
  rank: number;
  /** Whether this client's shard report was accepted (it may take part in rounds once the run is resolved). */
  reported: boolean;
  /** Set once the server has rejected this connection: frames it still delivers while closing are ignored. */
  rejected: boolean;
  /** The join deadline running for this connection (its hello, then its shard report), if any. */
  deadline: NodeJS.Timeout | null;
  log: Logger;
  stats: SocketStats;
}

/**
 * Who holds which rank: every open protocol connection, the holder of each rank 0..n−1, and the byte counts
 * of the sockets that closed. No I/O: the server decides, the table keeps the books.
 */
export class RankTable {
  /** Every open protocol connection, ranked or not. */
  readonly open = new Set<Conn>();
  /** Stats of the sockets that have closed (the summary's `sockets`). */
  readonly closed: SocketStats[] = [];
  private readonly holders: (Conn | null)[];

  constructor(readonly n: number) {
    this.holders = new Array<Conn | null>(n).fill(null);
  }

  holder(rank: number): Conn | null {
    return this.holders[rank] ?? null;
  }

  /** Ranks held. */
  connected(): number {
    let c = 0;
    for (const h of this.holders) if (h) c++;
    return c;
  }

  /** Whether all n ranks are held by clients whose reports were accepted. */
  allReported(): boolean {
    return this.holders.every((c) => c?.reported === true);
  }

  /** Held connections, by rank. */
  held(): Conn[] {
    return this.holders.filter((c): c is Conn => c !== null);
  }

  vacant(): number[] {
    return this.holders.flatMap((c, i) => (c ? [] : [i]));
  }

  /** Gives `conn` the rank it asked for, or the lowest free one; a typed refusal when it cannot. */
  take(conn: Conn, requested: number | null): number {
    if (requested !== null && requested >= this.n) throw new ProtocolError('MARINA_ERR_OUT_OF_RANGE', `hello asks for rank ${requested}; the run has ranks 0..${this.n - 1}`);
    if (requested !== null && this.holders[requested]) throw new ProtocolError('MARINA_ERR_RUN_FULL', `rank ${requested} is taken`);
    const rank = requested ?? this.holders.indexOf(null);
    if (rank < 0) throw new ProtocolError('MARINA_ERR_RUN_FULL', `all ${this.n} ranks are taken`);
    conn.rank = rank;
    conn.stats.rank = rank;
    this.holders[rank] = conn;
    return rank;
  }

  /** Frees `conn`'s rank if it holds one; returns whether it did. */
  vacate(conn: Conn): boolean {
    if (conn.rank < 0 || this.holders[conn.rank] !== conn) return false;
    this.holders[conn.rank] = null;
    return true;
  }

  /** The socket closed: its stats move to `closed`. */
  close(conn: Conn): void {
    conn.stats.bytesRead = conn.socket.bytesRead;
    conn.stats.bytesWritten = conn.socket.bytesWritten;
    this.open.delete(conn);
    this.closed.push(conn.stats);
  }
}
