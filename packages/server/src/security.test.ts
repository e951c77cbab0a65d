import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './security.js';

describe('AuthThrottle: failed authentications per address', () => {
  it('refuses an address after `limit` failures within the window, and again lets it in once the window has passed', () => {
    const t = new AuthThrottle(3, 1000);
    for (let i = 0; i < 3; i++) {
      expect(t.blocked('10.0.0.9', i)).toBe(false);
      t.failed('10.0.0.9', i);
    }
    expect(t.blocked('10.0.0.9', 500)).toBe(true);
    expect(t.blocked('10.0.0.8', 500)).toBe(false); // another address is not affected
    expect(t.blocked('10.0.0.9', 1000)).toBe(false); // the window (from the first failure) has passed
    t.failed('10.0.0.9', 1001);
    expect(t.blocked('10.0.0.9', 1002)).toBe(false); // a new window, one failure
  });

  it('exempts an address that has authenticated, and a limit of 0 turns it off', () => {
    const t = new AuthThrottle(2, 1000);
    t.succeeded('127.0.0.1');
    for (let i = 0; i < 5; i++) t.failed('127.0.0.1', i);
    expect(t.blocked('127.0.0.1', 5)).toBe(false);
    const off = new AuthThrottle(0);
    for (let i = 0; i < 100; i++) off.failed('x', i);
    expect(off.blocked('x', 100)).toBe(false);
  });

  it('tracks at most maxAddresses windows: a spray of addresses evicts the oldest, never grows without bound', () => {
    const t = new AuthThrottle(1, 60_000, 100);
    for (let i = 0; i < 10_000; i++) t.failed(`a${i}`, 0);
    expect(t.blocked('a9999', 1)).toBe(true);
    expect(t.blocked('a0', 1)).toBe(false); // evicted
    expect((t as unknown as { failures: Map<string, unknown> }).failures.size).toBe(100);
  });
});
