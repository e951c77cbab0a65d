import { describe, expect, it } from 'vitest';
// ws is the server's framer (hoisted in the workspace); the protocol package itself never imports it.
import * as ws from 'ws';

/** ws's framer; @types/ws does not declare it, ws's ESM entry exports it. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
import { allocUpdate, Ledger, wsFrameBytes } from '@marina/protocol';

describe('wsFrameBytes (RFC 6455 §5.2)', () => {
  it('adds 2 header bytes, a 16-bit length from 126 bytes, a 64-bit length from 65536, and 4 mask bytes when masked', () => {
    const table: [number, number, number][] = [
      // payload, unmasked (server → client), masked (client → server)
      [0, 2, 6],
      [1, 3, 7],
      [125, 127, 131],
      [126, 130, 134],
      [127, 131, 135],
      [65535, 65539, 65543],
      [65536, 65546, 65550],
      [65537, 65547, 65551],
      [2 ** 32, 2 ** 32 + 10, 2 ** 32 + 14],
    ];
    for (const [len, unmasked, masked] of table) {
      expect(wsFrameBytes(len, false)).toBe(unmasked);
      expect(wsFrameBytes(len, true)).toBe(masked);
    }
  });

  it('agrees with the frames ws itself builds at the boundaries', () => {
    // The real framer, with an injected deterministic mask (ws `generateMask`), so nothing random is used.
    const generateMask = (m: Uint8Array): void => {
      m.fill(0x5a);
    };
    for (const len of [0, 1, 125, 126, 127, 65535, 65536, 65537]) {
      for (const mask of [false, true]) {
        const parts = Sender.frame(Buffer.alloc(len), { fin: true, opcode: 2, mask, readOnly: false, rsv1: false, generateMask });
        const total = parts.reduce((s: number, p: Uint8Array) => s + p.length, 0);
        expect(total).toBe(wsFrameBytes(len, mask));
      }
    }
  });
});

describe('Ledger', () => {
  it('keeps algorithm bits, payload, message and wire bytes apart, uplink apart from downlink', () => {
    const ledger = new Ledger(3);
    // Round 0: every client sends a dense gradient (d = 100: 3200 bits, 400 payload bytes, 424-byte message).
    for (let i = 0; i < 3; i++) {
      ledger.down(i, 'algorithm', 24 + 800); // RoundStart with x as float64
      ledger.up(i, 'algorithm', 424, 400, 3200);
    }
    const r0 = ledger.closeRound();
    expect(r0.senders).toBe(3);
    expect(r0.bitsUp).toBe(9600);
    expect(r0.wireBytesUp).toBe(3 * wsFrameBytes(424, true));
    expect(r0.wireBytesUp).toBe(3 * (424 + 2 + 2 + 4));
    expect(r0.wireBytesDown).toBe(3 * (824 + 2 + 2));
    expect(r0.telemetryBytes).toBe(0);
    expect(r0.perClient[1]).toEqual({ bitsUp: 3200, payloadBytesUp: 400, messageBytesUp: 424, wireBytesUp: 432, wireBytesDown: 828, telemetryBytes: 0 });

    // Round 1: ranks 0 and 2 send compressed updates with fractional bits (decision 12); rank 1 only reports
    // an evaluation (telemetry both ways); a control message is counted apart from every round.
    ledger.down(0, 'algorithm', 824);
    ledger.down(2, 'algorithm', 824);
    ledger.down(1, 'telemetry', 824);
    ledger.up(0, 'algorithm', 24 + 17, 17, 31 + 100 * Math.log2(3));
    ledger.up(2, 'algorithm', 24 + 17, 17, 31 + 100 * Math.log2(3));
    ledger.up(1, 'telemetry', 24 + 808);
    ledger.up(2, 'control', 60);
    ledger.down(0, 'control', 40);
    const r1 = ledger.closeRound();
    const bits = 31 + 100 * Math.log2(3);
    expect(r1.senders).toBe(2);
    expect(r1.bitsUp).toBeCloseTo(2 * bits, 9);
    expect(r1.wireBytesUp).toBe(2 * (41 + 6));
    expect(r1.wireBytesDown).toBe(2 * 828);
    expect(r1.telemetryBytes).toBe(828 + wsFrameBytes(832, true));
    expect(r1.perClient.map((c) => c.bitsUp)).toEqual([bits, 0, bits]);
    expect(r1.perClient[1]!.telemetryBytes).toBe(828 + 840);

    // The sums of a round are the sums of its clients; the totals are the sums of the rounds.
    for (const r of [r0, r1]) {
      const sum = (k: 'bitsUp' | 'wireBytesUp' | 'wireBytesDown' | 'telemetryBytes'): number => r.perClient.reduce((s, c) => s + c[k], 0);
      expect(r.bitsUp).toBe(sum('bitsUp'));
      expect(r.wireBytesUp).toBe(sum('wireBytesUp'));
      expect(r.wireBytesDown).toBe(sum('wireBytesDown'));
      expect(r.telemetryBytes).toBe(sum('telemetryBytes'));
    }
    expect(ledger.totals).toEqual({
      bitsUp: r0.bitsUp + r1.bitsUp,
      wireBytesUp: r0.wireBytesUp + r1.wireBytesUp,
      wireBytesDown: r0.wireBytesDown + r1.wireBytesDown,
      telemetryBytes: r0.telemetryBytes + r1.telemetryBytes,
      controlBytes: wsFrameBytes(60, true) + wsFrameBytes(40, false),
    });
    expect(Array.from(ledger.bitsPerClient)).toEqual([3200 + bits, 3200, 3200 + bits]);
  });

  it('starts every round from zero, and an empty round sums to zero', () => {
    const ledger = new Ledger(2);
    ledger.up(0, 'algorithm', 30, 6, 45);
    ledger.closeRound();
    const r = ledger.closeRound();
    expect(r).toEqual({
      bitsUp: 0,
      senders: 0,
      wireBytesUp: 0,
      wireBytesDown: 0,
      telemetryBytes: 0,
      perClient: [0, 1].map(() => ({ bitsUp: 0, payloadBytesUp: 0, messageBytesUp: 0, wireBytesUp: 0, wireBytesDown: 0, telemetryBytes: 0 })),
    });
    expect(ledger.totals.bitsUp).toBe(45);
  });

  it('counts a sender once however many algorithm messages it sends, and telemetry never makes a sender', () => {
    const ledger = new Ledger(4);
    ledger.up(3, 'algorithm', 30, 6, 45);
    ledger.up(3, 'algorithm', 30, 6, 45);
    ledger.up(0, 'telemetry', 100);
    const r = ledger.closeRound();
    expect(r.senders).toBe(1);
    expect(r.perClient[3]).toEqual({ bitsUp: 90, payloadBytesUp: 12, messageBytesUp: 60, wireBytesUp: 72, wireBytesDown: 0, telemetryBytes: 0 });
  });

  it('hands back per-client records that later rounds do not change', () => {
    const ledger = new Ledger(1);
    ledger.up(0, 'algorithm', 30, 6, 45);
    const r = ledger.closeRound();
    ledger.up(0, 'algorithm', 30, 6, 45);
    ledger.closeRound();
    expect(r.perClient[0]!.bitsUp).toBe(45);
  });
});

describe('uplink wire bytes over algorithm bits (issue 12: ≤ 1.12 at d = 1024, ≤ 1.001 at d = 10⁶)', () => {
  it('a CQ or IQ update (32 + d bits) in its compact-header message and masked frame', () => {
    const ratio = (d: number): number => (8 * wsFrameBytes(allocUpdate(1, true, 32 + d).length, true)) / (32 + d);
    // 132 payload bytes + 5 header + 2 frame + 2 length + 4 mask = 145; 125,004 + 5 + 2 + 8 + 4 = 125,023.
    expect(wsFrameBytes(allocUpdate(1, true, 32 + 1024).length, true)).toBe(145);
    expect(wsFrameBytes(allocUpdate(1, true, 32 + 1e6).length, true)).toBe(125_023);
    expect(ratio(1024)).toBeLessThanOrEqual(1.12);
    expect(ratio(1e6)).toBeLessThanOrEqual(1.001);
  });
});
