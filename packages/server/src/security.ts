import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { DASHBOARD_TOKEN_INPUT, proofInput } from '@marina/protocol';

/**
 * The server's side of README "Security": who may bind where, the hello's proof, and the read-only token of
 * the dashboard and /metrics. The secret is the bytes of `--secret-file`; it never leaves this process.
 */

/** Whether `host` names this machine's loopback only (127.0.0.0/8, ::1, localhost): reachable from here alone. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) !== 6) return false;
  // The URL parser writes an IPv6 address in its one compressed form (an IPv4-mapped one in hex).
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/**
 * The binding rule: without a secret anyone who reaches the port could take a rank, so only a loopback
 * address is allowed unless the operator says `--insecure`. The refusal, in one line, or null.
 */
export function bindingRefusal(host: string, secret: Uint8Array | null, insecure: boolean): string | null {
  if (secret !== null || insecure || isLoopback(host)) return null;
  return `--host ${host} would let anyone who reaches this port join the run: give --secret-file FILE (clients then need the same file), or --insecure to allow it without a secret`;
}

/** HMAC-SHA256(secret, nonce ‖ version ‖ client name): what a hello's proof must be (protocol `proofInput`). */
export function expectedProof(secret: Uint8Array, nonce: Uint8Array, client: string): Buffer {
  return createHmac('sha256', secret).update(proofInput(nonce, client)).digest();
}

/** Constant-time comparison of a hello's proof (checked to be PROOF_BYTES long by the decoder) with the expected one. */
export function proofMatches(expected: Buffer, proof: Uint8Array): boolean {
  return proof.length === expected.length && timingSafeEqual(expected, proof);
}

/**
 * The read-only token of the dashboard, /live and /metrics: HMAC-SHA256(secret, "dashboard") in lowercase hex.
 * It shows the run, and it cannot answer a challenge (that MACs a fresh nonce with the secret itself).
 */
export function dashboardToken(secret: Uint8Array): string {
  return createHmac('sha256', secret).update(DASHBOARD_TOKEN_INPUT).digest('hex');
}

/** Whether `req` carries `token` as `?token=` or `Authorization: Bearer`, compared in constant time. */
export function carriesToken(req: IncomingMessage, token: string): boolean {
  const given: string[] = [];
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (bearer) given.push(bearer[1]!);
  const query = (req.url ?? '').split('?')[1];
  if (query !== undefined) given.push(...new URLSearchParams(query).getAll('token'));
  const want = Buffer.from(token, 'utf8');
  // Every candidate is compared, so the time taken does not tell which one, if any, matched.
  let ok = false;
  for (const g of given) {
    const b = Buffer.from(g, 'utf8');
    if (b.length === want.length && timingSafeEqual(b, want)) ok = true;
  }
  return ok;
}

/**
 * A limit on failed authentications per remote address (README "Security"): past `limit` failures within
 * `windowMs`, the address's new connections are refused at once (MARINA_ERR_RATE_LIMITED, before any
 * challenge) until the window has passed. An address that has authenticated in this run is exempt: it holds
 * the secret, and a stranger sharing it must not lock its clients out. At most `maxAddresses` are tracked
 * (the oldest window goes first), so a spray of addresses cannot grow the server's memory.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { since: number; count: number }>();
  private readonly trusted = new Set<string>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    private readonly maxAddresses = 4096,
  ) {}

  /** Whether `address` is refused now; 0 disables the limit. */
  blocked(address: string, now: number): boolean {
    if (this.limit <= 0 || this.trusted.has(address)) return false;
    const f = this.failures.get(address);
    if (!f) return false;
    if (now - f.since >= this.windowMs) {
      this.failures.delete(address);
      return false;
    }
    return f.count >= this.limit;
  }

  failed(address: string, now: number): void {
    if (this.limit <= 0 || this.trusted.has(address)) return;
    const f = this.failures.get(address);
    if (f && now - f.since < this.windowMs) {
      f.count++;
      return;
    }
    this.failures.delete(address);
    if (this.failures.size >= this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(address, { since: now, count: 1 });
  }

  succeeded(address: string): void {
    if (this.trusted.size < this.maxAddresses) this.trusted.add(address);
    this.failures.delete(address);
  }
}
