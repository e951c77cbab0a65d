import { describe, expect, it } from 'vitest';
import { wsFrameBytes } from '@marina/protocol';
import type { RoundRecord } from '@marina/core';
import { messageBytes, scheduleOf } from './rawWs.js';

/** The raw ws loop's schedule: message lengths recovered exactly from a run's ledger records. */
describe('raw ws schedule', () => {
  it('messageBytes inverts wsFrameBytes across the 7-, 16- and 64-bit length forms', () => {
    for (const len of [0, 1, 125, 126, 127, 8199, 65535, 65536, 1 << 20]) {
      for (const masked of [false, true]) expect(messageBytes(wsFrameBytes(len, masked), masked)).toBe(len);
    }
    expect(messageBytes(1, false)).toBeNull(); // shorter than any frame
    expect(messageBytes(127 + 2, false)).toBeNull(); // 127 bytes need the 16-bit form: 131 on the wire, never 129
  });

  const record = (over: Partial<RoundRecord>): RoundRecord => ({
    round: 0, kind: 'compressed', coin: false, gamma: 0.1, p: 0.1, gradNormSq: null, loss: null, testLoss: null, testAccuracy: null,
    bitsUp: 0, senders: 2, bitsUpPerClient: 0, wireBytesUp: 0, wireBytesDown: 0, telemetryBytes: 0, xHash: '', seconds: 0, ...over,
  });

  it('turns per-round ledger bytes over n clients into message lengths, reports included', () => {
    const s = scheduleOf([
      record({ wireBytesDown: 2 * wsFrameBytes(8199, false), wireBytesUp: 2 * wsFrameBytes(137, true), telemetryBytes: 2 * wsFrameBytes(8205, true) }),
      record({ round: 1, wireBytesDown: 2 * wsFrameBytes(8199, false), wireBytesUp: 2 * wsFrameBytes(4101, true) }),
    ], 2);
    expect([...s.down]).toEqual([8199, 8199]);
    expect([...s.up]).toEqual([137, 4101]);
    expect([...s.report]).toEqual([8205, 0]);
  });

  it('refuses rounds the loop cannot replay: fewer senders, or bytes that are not one frame per client', () => {
    expect(() => scheduleOf([record({ senders: 1, wireBytesDown: 2 * 20, wireBytesUp: 16 })], 2)).toThrow(/1 senders of 2/);
    expect(() => scheduleOf([record({ wireBytesDown: 2 * wsFrameBytes(100, false) + 1, wireBytesUp: 2 * wsFrameBytes(10, true) })], 2)).toThrow(/downlink/);
  });
});
