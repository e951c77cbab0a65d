import { describe, expect, it } from 'vitest';
import { expectProtocolError } from '@marina/protocol/testing';
import { RankTable, type Conn } from './ranks.js';
import { RunLifecycle } from './lifecycle.js';

/** A connection as the table sees it: no socket I/O happens in the table. */
function conn(): Conn {
  return {
    ws: {} as Conn['ws'],
    socket: { bytesRead: 10, bytesWritten: 20 } as Conn['socket'],
    nonce: new Uint8Array(32),
    rank: -1,
    reported: false,
    rejected: false,
    deadline: null,
    log: {} as Conn['log'],
    stats: { rank: -1, remote: 'x', bytesRead: 0, bytesWritten: 0, handshakeRead: 0, handshakeWritten: 0, framesRead: 0, framesWritten: 0 },
  };
}

describe('RankTable', () => {
  it('gives the lowest free rank, or the one asked for, and refuses a taken, out-of-range or full one with typed errors', () => {
    const t = new RankTable(3);
    const [a, b, c, d] = [conn(), conn(), conn(), conn()];
    expect(t.take(a, null)).toBe(0);
    expect(t.take(b, 2)).toBe(2);
    expectProtocolError(() => t.take(c, 2), 'MARINA_ERR_RUN_FULL', 'rank 2 is taken');
    expectProtocolError(() => t.take(c, 3), 'MARINA_ERR_OUT_OF_RANGE', 'hello asks for rank 3; the run has ranks 0..2');
    expect(t.take(c, null)).toBe(1);
    expectProtocolError(() => t.take(d, null), 'MARINA_ERR_RUN_FULL', 'all 3 ranks are taken');
    expect(t.connected()).toBe(3);
    expect(t.allReported()).toBe(false);
    for (const x of [a, b, c]) x.reported = true;
    expect(t.allReported()).toBe(true);
  });

  it('vacates only the holder, and keeps the stats of closed sockets', () => {
    const t = new RankTable(2);
    const [a, b] = [conn(), conn()];
    t.open.add(a);
    t.take(a, 1);
    expect(t.vacate(b)).toBe(false);
    expect(t.vacate(a)).toBe(true);
    expect(t.vacate(a)).toBe(false);
    expect(t.vacant()).toEqual([0, 1]);
    t.close(a);
    expect(t.open.size).toBe(0);
    expect(t.closed).toEqual([{ ...a.stats, rank: 1, bytesRead: 10, bytesWritten: 20 }]);
  });
});

describe('RunLifecycle', () => {
  it('moves only forward: joining → running → ending (once, with its reason) → done', () => {
    const life = new RunLifecycle();
    expect(life.phase).toBe('joining');
    life.start();
    expect(() => life.start()).toThrow('lifecycle: start() in phase running');
    expect(life.end('target: reached')).toBe(true);
    expect(life.end('aborted: late')).toBe(false);
    expect(life.endReason).toBe('target: reached');
    expect(life.complete()).toBe(true);
    expect(life.complete()).toBe(false);
    expect(life.phase).toBe('done');
  });

  it('clears its timers when the run ends, and arms none afterwards', async () => {
    const life = new RunLifecycle();
    let fired = 0;
    life.arm('round', 20, () => fired++);
    life.arm('join', 20, () => fired++);
    expect(life.armed('round') && life.armed('join')).toBe(true);
    life.end('aborted: test');
    life.arm('wait', 1, () => fired++);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toBe(0);
    expect(life.armed('round') || life.armed('join') || life.armed('wait')).toBe(false);
  });
});
