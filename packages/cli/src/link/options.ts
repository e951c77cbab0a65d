import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Options } from 'yargs';
import { UsageError } from '../commands/common.js';
import { LinkNet, type LinkPlan } from './net.js';
import { parseLinkSpec, type LinkSpec } from './spec.js';

const GROUP = 'Slow networks (root, iproute2):';

/** `--link`, `--slow-link`, `--slow-clients` of `marina local` and `marina compare`. */
export const linkOptions: Record<string, Options> = {
  link: {
    type: 'string',
    describe:
      "run each client process in its own network namespace behind an emulated link, e.g. rate=10mbit,delay=20ms,loss=0.1% " +
      '(keys: rate both ways, up, down: kbit/mbit/gbit; delay and jitter one-way: ms/us; loss: %)',
    group: GROUP,
  },
  'slow-link': { type: 'string', describe: 'the link of the last --slow-clients ranks instead (stragglers); implies namespaces', group: GROUP },
  'slow-clients': { type: 'number', describe: 'how many ranks (the last ones) get --slow-link', defaultDescription: '1 with --slow-link', group: GROUP },
};

/** The links the flags ask for (one per rank), or null without `--link`/`--slow-link`; a UsageError if malformed. */
export function linkPlanFromArgv(a: Record<string, unknown>, clients: number): LinkPlan | null {
  const link = a['link'] as string | undefined;
  const slowLink = a['slow-link'] as string | undefined;
  const k = a['slow-clients'] as number | undefined;
  if (slowLink === undefined && k !== undefined) throw new UsageError('--slow-clients needs --slow-link');
  if (link === undefined && slowLink === undefined) return null;
  const fast: LinkSpec = link !== undefined ? parseLinkSpec(link, '--link') : { upBps: null, downBps: null, delayUs: 0, jitterUs: 0, lossPct: 0 };
  const slow = slowLink !== undefined ? parseLinkSpec(slowLink, '--slow-link') : null;
  const slowClients = slow ? (k ?? 1) : 0;
  if (!Number.isInteger(slowClients) || slowClients < (slow ? 1 : 0) || slowClients > clients) {
    throw new UsageError(`--slow-clients ${a['slow-clients']}: give an integer from 1 to the number of clients (${clients})`);
  }
  return {
    links: Array.from({ length: clients }, (_, i) => (slow && i >= clients - slowClients ? slow : fast)),
    link: link ?? null,
    slowLink: slowLink ?? null,
    slowClients,
  };
}

/** A run's links and the secret its server needs to listen on the bridge (README "Security"). */
export interface LinkSession {
  net: LinkNet;
  secret: { bytes: Uint8Array; file: string };
  close(): Promise<void>;
}

/**
 * Builds the links, with the user's secret or, without one, an ephemeral one in a private temporary file (the
 * server then listens on a non-loopback address, which takes a secret). `close` removes both.
 */
export async function openLinks(plan: LinkPlan, secret: { bytes: Uint8Array; file: string } | null): Promise<LinkSession> {
  const net = await LinkNet.open(plan);
  let dir: string | null = null;
  if (!secret) {
    dir = mkdtempSync(join(tmpdir(), `marina-link-${process.pid}-`)); // pid-named: a SIGKILLed run's is swept by the next
    const bytes = Buffer.from(randomBytes(32).toString('hex'));
    const file = join(dir, 'secret');
    writeFileSync(file, bytes, { mode: 0o600 });
    secret = { bytes, file };
  }
  return {
    net,
    secret,
    async close() {
      await net.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
