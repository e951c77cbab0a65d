import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Ledger } from '@marina/protocol';
import type { RoundRecord } from '@marina/core';
import type { RunView } from '../view.js';
import { LiveFeed } from './live.js';

/** A run as the feed sees it: events and the ledger, no sockets. */
function view(n: number): RunView {
  return Object.assign(new EventEmitter(), {
    runId: 'r',
    config: { clients: n } as RunView['config'],
    clients: n,
    ledger: new Ledger(n),
    resolved: () => null,
    done: new Promise<never>(() => {}),
    route: () => {},
    upgrade: () => {},
  }) as unknown as RunView;
}

const record = (round: number): RoundRecord => ({
  round, kind: 'compressed', coin: false, gamma: 1, p: 0.5, gradNormSq: 1 / (round + 1), loss: 1, testLoss: null, testAccuracy: null,
  bitsUp: 0, senders: 2, bitsUpPerClient: 0, wireBytesUp: 0, wireBytesDown: 0, telemetryBytes: 0, xHash: '0'.repeat(16), seconds: round,
});

describe('LiveFeed', () => {
  it('holds no pending points while no dashboard is open (memory O(1) per round, not O(rounds))', () => {
    const run = view(2);
    const feed = new LiveFeed(run);
    for (let t = 0; t < 50_000; t++) run.emit('round', record(t), null);
    const pending = (feed as unknown as { pending: { round: number[] } }).pending;
    expect(pending.round).toHaveLength(0);
    // The thinned history still covers the run for a dashboard that opens later.
    const history = (feed as unknown as { history: { round: number[] } }).history;
    expect(history.round.length).toBeGreaterThan(0);
    expect(history.round.length).toBeLessThan(50_000);
    feed.close();
  });
});
