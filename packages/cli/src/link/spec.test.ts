import { describe, expect, it } from 'vitest';
import { formatLinkSpec, LinkSpecError, parseLinkSpec } from './spec.js';
import { burstBytes, egressCommands } from './tc.js';

describe('--link SPEC', () => {
  it('parses rates, times and loss with their units', () => {
    expect(parseLinkSpec('rate=10mbit,delay=20ms,loss=0')).toEqual({ upBps: 10e6, downBps: 10e6, delayUs: 20_000, jitterUs: 0, lossPct: 0 });
    expect(parseLinkSpec('up=512kbit, down=1.5gbit,delay=250us,jitter=100us,loss=0.5%')).toEqual({ upBps: 512e3, downBps: 1.5e9, delayUs: 250, jitterUs: 100, lossPct: 0.5 });
    // up/down override rate for their direction only.
    expect(parseLinkSpec('rate=10mbit,up=1mbit')).toMatchObject({ upBps: 1e6, downBps: 10e6 });
    expect(parseLinkSpec('delay=5ms')).toMatchObject({ upBps: null, downBps: null, delayUs: 5000 });
  });

  it.each([
    ['', /empty/],
    ['rate', /not key=value/],
    ['speed=1mbit', /unknown key "speed"/],
    ['rate=10', /not a rate/],
    ['rate=10mbps', /not a rate/],
    ['rate=-1mbit', /not a rate/],
    ['rate=1kbit', /out of range/],
    ['rate=1mbit,rate=2mbit', /given twice/],
    ['delay=20', /not a time/],
    ['delay=20s', /not a time/],
    ['delay=11000ms', /over 10 s/],
    ['delay=0.5us', /finer than a microsecond/],
    ['loss=100%', /under 100%/],
    ['loss=lots', /not a percentage/],
    ['delay=5ms,jitter=6ms', /jitter \(6ms\) exceeds delay \(5ms\)/],
  ])('refuses %j', (text, why) => {
    expect(() => parseLinkSpec(text)).toThrow(LinkSpecError);
    expect(() => parseLinkSpec(text)).toThrow(why);
  });

  it('formats back to a SPEC that parses to the same link', () => {
    for (const text of ['rate=10mbit,delay=20ms', 'up=1mbit,down=1gbit,loss=1%', 'down=2.5mbit', 'delay=1ms,jitter=0.5ms']) {
      const spec = parseLinkSpec(text);
      expect(parseLinkSpec(formatLinkSpec(spec))).toEqual(spec);
    }
    expect(formatLinkSpec(parseLinkSpec('rate=10mbit,up=10mbit'))).toBe('rate=10mbit');
  });
});

describe('tc commands', () => {
  it('a rate alone is a root token bucket; delay or loss put netem at the root with the bucket under it', () => {
    const rateOnly = parseLinkSpec('rate=8mbit');
    expect(egressCommands('eth0', rateOnly, rateOnly.upBps)).toEqual([['qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '10:', 'tbf', 'rate', '8000000bit', 'burst', '3028', 'limit', '16777216']]);
    const wan = parseLinkSpec('up=8mbit,delay=20ms,jitter=2ms,loss=0.1%');
    const cmds = egressCommands('eth0', wan, wan.upBps);
    expect(cmds[0]).toEqual(['qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'netem', 'delay', '20000us', '2000us', 'loss', '0.1%', 'limit', '100000']);
    expect(cmds[1]!.slice(0, 8)).toEqual(['qdisc', 'add', 'dev', 'eth0', 'parent', '1:1', 'handle', '10:']);
    // The downlink of that spec has no rate: netem only.
    expect(egressCommands('h', wan, wan.downBps)).toHaveLength(1);
    expect(egressCommands('h', parseLinkSpec('up=1mbit'), null)).toEqual([]);
  });

  it('the bucket holds 1 ms at the rate, never less than two full frames', () => {
    expect(burstBytes(1e6)).toBe(3028);
    expect(burstBytes(1e9)).toBe(125_000);
  });
});
