import { UsageError } from '../commands/common.js';

/**
 * An emulated wide-area link (`--link SPEC`, README "Slow networks"): `key=value` pairs joined by commas, e.g.
 * `rate=10mbit,delay=20ms,loss=0.1%`. Keys:
 *   rate    token-bucket rate both ways (kbit, mbit, gbit: 10^3, 10^6, 10^9 bits per second)
 *   up      client → server rate (overrides rate for that direction)
 *   down    server → client rate
 *   delay   one-way delay added in each direction (ms or us; the round trip gains twice this)
 *   jitter  ± random variation of that delay (ms or us; at most delay)
 *   loss    packet loss in each direction, percent (`1%` or `1`)
 * A direction with no rate is not rate-limited.
 */
export interface LinkSpec {
  /** Client → server rate, bits per second; null when that direction is not rate-limited. */
  upBps: number | null;
  /** Server → client rate, bits per second; null when not rate-limited. */
  downBps: number | null;
  /** One-way delay added in each direction, microseconds. */
  delayUs: number;
  jitterUs: number;
  /** Packet loss in each direction, percent in [0, 100). */
  lossPct: number;
}

/** A SPEC the user can fix (exit status 2). */
export class LinkSpecError extends UsageError {
  override name = 'LinkSpecError';
}

const KEYS = ['rate', 'up', 'down', 'delay', 'jitter', 'loss'] as const;
type Key = (typeof KEYS)[number];

const RATE_UNITS: Record<string, number> = { kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const TIME_UNITS: Record<string, number> = { ms: 1000, us: 1 };
/** tc's token bucket needs some bits to count; past 100 Gbit/s a veth is the limit, not the emulation. */
const MIN_BPS = 8e3;
const MAX_BPS = 100e9;
const MAX_DELAY_US = 10e6;
const NUMBER = String.raw`(\d+(?:\.\d+)?)`;

/** Parses `--link` (or `--slow-link`) text, refusing any malformed, unknown, repeated or out-of-range field. */
export function parseLinkSpec(text: string, flag = '--link'): LinkSpec {
  const fail = (why: string): never => {
    throw new LinkSpecError(`${flag} ${JSON.stringify(text)}: ${why}`);
  };
  if (text.trim() === '') fail(`empty; give key=value pairs such as rate=10mbit,delay=20ms (keys: ${KEYS.join(', ')})`);
  const seen = new Map<Key, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) fail(`"${part}" is not key=value (keys: ${KEYS.join(', ')})`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(key)) fail(`unknown key "${key}" (keys: ${KEYS.join(', ')})`);
    if (seen.has(key as Key)) fail(`"${key}" given twice`);
    seen.set(key as Key, value);
  }
  const rate = (key: Key): number | null => {
    const v = seen.get(key);
    if (v === undefined) return null;
    const m = new RegExp(`^${NUMBER}(kbit|mbit|gbit)$`, 'i').exec(v);
    if (!m) fail(`${key}=${v} is not a rate: a number and kbit, mbit or gbit (e.g. 10mbit)`);
    const bps = Number(m![1]) * RATE_UNITS[m![2]!.toLowerCase()]!;
    if (bps < MIN_BPS || bps > MAX_BPS) fail(`${key}=${v} is out of range (8kbit to 100gbit)`);
    return Math.round(bps);
  };
  const time = (key: Key): number => {
    const v = seen.get(key);
    if (v === undefined || v === '0') return 0;
    const m = new RegExp(`^${NUMBER}(ms|us)$`, 'i').exec(v);
    if (!m) fail(`${key}=${v} is not a time: a number and ms or us (e.g. 20ms)`);
    const us = Number(m![1]) * TIME_UNITS[m![2]!.toLowerCase()]!;
    if (us > MAX_DELAY_US) fail(`${key}=${v} is over 10 s`);
    if (!Number.isInteger(us)) fail(`${key}=${v} is finer than a microsecond`);
    return us;
  };
  const both = rate('rate');
  const spec: LinkSpec = { upBps: rate('up') ?? both, downBps: rate('down') ?? both, delayUs: time('delay'), jitterUs: time('jitter'), lossPct: 0 };
  const loss = seen.get('loss');
  if (loss !== undefined) {
    const m = new RegExp(`^${NUMBER}%?$`).exec(loss);
    if (!m) fail(`loss=${loss} is not a percentage (e.g. 0.5%)`);
    spec.lossPct = Number(m![1]);
    if (spec.lossPct >= 100) fail(`loss=${loss} must be under 100%`);
  }
  if (spec.jitterUs > spec.delayUs) fail(`jitter (${seen.get('jitter')}) exceeds delay (${seen.get('delay') ?? '0'})`);
  return spec;
}

/** Whether the link needs netem (delay, jitter or loss), not just a token bucket. */
export const needsNetem = (s: LinkSpec): boolean => s.delayUs > 0 || s.jitterUs > 0 || s.lossPct > 0;

/** A rate as tc and people write it. */
export function fmtRate(bps: number | null): string {
  if (bps === null) return 'unlimited';
  for (const [unit, scale] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) if (bps >= scale) return `${+(bps / scale).toPrecision(6)}${unit}`;
  return `${bps}bit`;
}

/** The spec in its own syntax, normalised: what the summary and the compare table show. */
export function formatLinkSpec(s: LinkSpec): string {
  const parts: string[] = [];
  if (s.upBps !== null && s.upBps === s.downBps) parts.push(`rate=${fmtRate(s.upBps)}`);
  else {
    if (s.upBps !== null) parts.push(`up=${fmtRate(s.upBps)}`);
    if (s.downBps !== null) parts.push(`down=${fmtRate(s.downBps)}`);
  }
  if (s.delayUs > 0) parts.push(`delay=${s.delayUs / 1000}ms`);
  if (s.jitterUs > 0) parts.push(`jitter=${s.jitterUs / 1000}ms`);
  if (s.lossPct > 0) parts.push(`loss=${s.lossPct}%`);
  return parts.length > 0 ? parts.join(',') : 'unshaped';
}
