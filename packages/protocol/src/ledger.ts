/**
 * Bit and byte accounting (SPEC decision 1): algorithm bits as the papers count them, and the bytes the
 * WebSocket frames take on the wire, uplink and downlink apart, telemetry and control apart from algorithm
 * traffic.
 */

/**
 * Bytes a WebSocket frame with a payload of `payloadLength` bytes takes on the wire (RFC 6455 §5.2):
 * 2 header bytes, a 16- or 64-bit extended length, and a 4-byte mask on client-to-server frames.
 */
export function wsFrameBytes(payloadLength: number, masked: boolean): number {
  const ext = payloadLength < 126 ? 0 : payloadLength < 65536 ? 2 : 8;
  return 2 + ext + (masked ? 4 : 0) + payloadLength;
}

/** Which account a message belongs to. */
export type Channel = 'algorithm' | 'telemetry' | 'control';

/** One client's traffic in one round. */
export interface ClientRoundTraffic {
  /** Algorithm bits (SPEC convention; may be fractional, decision 12). */
  bitsUp: number;
  payloadBytesUp: number;
  messageBytesUp: number;
  wireBytesUp: number;
  wireBytesDown: number;
  telemetryBytes: number;
}

/** The traffic of one round over all clients. */
export interface RoundTraffic {
  bitsUp: number;
  senders: number;
  wireBytesUp: number;
  wireBytesDown: number;
  telemetryBytes: number;
  perClient: ClientRoundTraffic[];
}

/** Totals over a run. `controlBytes` counts hello/welcome/error/bye frames. */
export interface TrafficTotals {
  bitsUp: number;
  wireBytesUp: number;
  wireBytesDown: number;
  telemetryBytes: number;
  controlBytes: number;
}

const emptyClient = (): ClientRoundTraffic => ({ bitsUp: 0, payloadBytesUp: 0, messageBytesUp: 0, wireBytesUp: 0, wireBytesDown: 0, telemetryBytes: 0 });

/**
 * Accumulates one round at a time. Frame bytes are computed from message sizes (`wsFrameBytes`); the server
 * checks them against its sockets' own counters at the end of a run.
 */
export class Ledger {
  private round: ClientRoundTraffic[];
  /** Which ranks sent algorithm traffic this round (a flag per rank, and their count: no Set per message). */
  private readonly sent: Uint8Array;
  private senders = 0;
  readonly totals: TrafficTotals = { bitsUp: 0, wireBytesUp: 0, wireBytesDown: 0, telemetryBytes: 0, controlBytes: 0 };
  /** Algorithm bits per client over the run, round 0 included (decision 2). */
  readonly bitsPerClient: Float64Array;

  constructor(readonly clients: number) {
    this.round = Array.from({ length: clients }, emptyClient);
    this.bitsPerClient = new Float64Array(clients);
    this.sent = new Uint8Array(clients);
  }

  /** Records a client-to-server message (masked frame). */
  up(rank: number, channel: Channel, messageBytes: number, payloadBytes = 0, bits = 0): void {
    const wire = wsFrameBytes(messageBytes, true);
    if (channel === 'control') {
      this.totals.controlBytes += wire;
      return;
    }
    const c = this.round[rank]!;
    if (channel === 'telemetry') {
      c.telemetryBytes += wire;
      return;
    }
    c.bitsUp += bits;
    c.payloadBytesUp += payloadBytes;
    c.messageBytesUp += messageBytes;
    c.wireBytesUp += wire;
    if (this.sent[rank] === 0) {
      this.sent[rank] = 1;
      this.senders++;
    }
  }

  /** Records a server-to-client message (unmasked frame). */
  down(rank: number, channel: Channel, messageBytes: number): void {
    const wire = wsFrameBytes(messageBytes, false);
    if (channel === 'control') this.totals.controlBytes += wire;
    else if (channel === 'telemetry') this.round[rank]!.telemetryBytes += wire;
    else this.round[rank]!.wireBytesDown += wire;
  }

  /** The totals so far (between rounds), for a checkpoint. */
  snapshot(): { totals: TrafficTotals; bitsPerClient: number[] } {
    return { totals: { ...this.totals }, bitsPerClient: Array.from(this.bitsPerClient) };
  }

  /** Restores a checkpoint's totals (a resumed run's ledger goes on from them). */
  restore(s: { totals: TrafficTotals; bitsPerClient: number[] }): void {
    if (s.bitsPerClient.length !== this.clients) throw new RangeError(`ledger: a checkpoint of ${s.bitsPerClient.length} clients for ${this.clients}`);
    Object.assign(this.totals, s.totals);
    this.bitsPerClient.set(s.bitsPerClient);
  }

  /** Closes the current round and returns its traffic. */
  closeRound(): RoundTraffic {
    const perClient = this.round;
    const r: RoundTraffic = { bitsUp: 0, senders: this.senders, wireBytesUp: 0, wireBytesDown: 0, telemetryBytes: 0, perClient };
    for (let i = 0; i < perClient.length; i++) {
      const c = perClient[i]!;
      r.bitsUp += c.bitsUp;
      r.wireBytesUp += c.wireBytesUp;
      r.wireBytesDown += c.wireBytesDown;
      r.telemetryBytes += c.telemetryBytes;
      this.bitsPerClient[i]! += c.bitsUp;
    }
    this.totals.bitsUp += r.bitsUp;
    this.totals.wireBytesUp += r.wireBytesUp;
    this.totals.wireBytesDown += r.wireBytesDown;
    this.totals.telemetryBytes += r.telemetryBytes;
    this.round = Array.from({ length: this.clients }, emptyClient);
    this.sent.fill(0);
    this.senders = 0;
    return r;
  }
}
