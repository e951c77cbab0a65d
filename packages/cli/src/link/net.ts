import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LinkSummary } from '@marina/core';
import { UsageError } from '../commands/common.js';
import { formatLinkSpec, needsNetem, type LinkSpec } from './spec.js';
import { egressCommands } from './tc.js';

/**
 * Client processes behind emulated links (README "Slow networks"): each in its own network namespace, joined
 * to a bridge in this (the server's) namespace by a veth pair; the uplink is shaped on the client's end, the
 * downlink on the bridge's. Names carry this process's pid, so a later run removes what a killed one left.
 */

/** The links of a run: one per client process (index = rank), and the flags they came from. */
export interface LinkPlan {
  links: LinkSpec[];
  link: string | null;
  slowLink: string | null;
  slowClients: number;
}

/** The environment cannot emulate the links (not root, no iproute2, no netem...): exit status 2. */
export class LinkError extends UsageError {
  override name = 'LinkError';
}

const NS_PREFIX = 'mlink';
/** Private addresses for the links: one /24 of 10.78.0.0/16 per run (a free one), clients from .10 up. */
const SUBNET = [10, 78] as const;
const FIRST_HOST = 10;
export const MAX_LINK_CLIENTS = 254 - FIRST_HOST;
const TIMEOUT_MS = 20_000;

const nsName = (pid: number, i: number) => `${NS_PREFIX}-${pid}-c${i}`;
const bridgeName = (pid: number) => `mlbr${pid}`;
/** At most 15 characters (IFNAMSIZ): ml + 7-digit pid + - + 3-digit index. */
const hostEnd = (pid: number, i: number) => `ml${pid}-${i}`;

/** Why these links cannot be set up here, or null: the checks behind exit status 2, as one line. */
export function linkRefusal(plan: LinkPlan): string | null {
  if (process.platform !== 'linux') return `--link needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return `--link needs root to create network namespaces and tc qdiscs (running as uid ${process.getuid?.()})`;
  for (const tool of ['ip', 'tc']) {
    const r = spawnSync(tool, ['-V'], { encoding: 'utf8', timeout: TIMEOUT_MS });
    if (r.error || r.status !== 0) return `--link needs \`${tool}\` (iproute2): ${r.error ? r.error.message : r.stderr.trim()} (apt-get install iproute2)`;
  }
  if (plan.links.length > MAX_LINK_CLIENTS) return `--link supports at most ${MAX_LINK_CLIENTS} clients (one /24 of addresses), not ${plan.links.length}`;
  // Probe in a namespace of our own: the permission, and the qdiscs the kernel has (netem is often left out).
  const probe = `${NS_PREFIX}-${process.pid}-probe`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: TIMEOUT_MS });
  if (add.status !== 0) return `--link: \`ip netns add\` is not permitted here: ${(add.stderr || add.error?.message || '').trim()}`;
  try {
    const needs = [
      ...(plan.links.some((l) => l.upBps !== null || l.downBps !== null) ? [['tbf', 'rate', '1mbit', 'burst', '8192', 'limit', '65536']] : []),
      ...(plan.links.some(needsNetem) ? [['netem', 'delay', '1ms']] : []),
    ];
    for (const qdisc of needs) {
      const r = spawnSync('tc', ['-n', probe, 'qdisc', 'add', 'dev', 'lo', 'root', ...qdisc], { encoding: 'utf8', timeout: TIMEOUT_MS });
      if (r.status !== 0) {
        const what = qdisc[0] === 'netem' ? 'delay, jitter and loss need netem' : 'rates need tbf';
        return `--link: ${what}, which this kernel refuses (${(r.stderr || r.error?.message || '').trim()}; CONFIG_NET_SCH_${qdisc[0]!.toUpperCase()})`;
      }
      spawnSync('tc', ['-n', probe, 'qdisc', 'del', 'dev', 'lo', 'root'], { timeout: TIMEOUT_MS });
    }
  } finally {
    spawnSync('ip', ['netns', 'del', probe], { timeout: TIMEOUT_MS });
  }
  return null;
}

function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new LinkError(`--link: \`${cmd} ${args.join(' ')}\` failed: ${(stderr || err.message).trim()}`)) : resolve(stdout),
    ),
  );
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Deletes the namespaces, bridges and veths of earlier runs whose process is gone (killed before tearing down),
 * and their ephemeral secret folders (`marina-link-PID-*` in the temporary folder).
 */
export async function removeStale(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    const m = /^marina-link-(\d+)-/.exec(name);
    if (!m || (alive(Number(m[1])) && Number(m[1]) !== process.pid)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
    removed.push(name);
  }
  for (const m of (await sh('ip', ['netns', 'list'])).matchAll(new RegExp(`^(${NS_PREFIX}-(\\d+)-\\S+)`, 'gm'))) {
    if (alive(Number(m[2])) && Number(m[2]) !== process.pid) continue;
    await sh('ip', ['netns', 'del', m[1]!]).catch(() => undefined);
    removed.push(m[1]!);
  }
  for (const m of (await sh('ip', ['-o', 'link', 'show'])).matchAll(/^\d+: (ml(?:br)?(\d+)(?:-\d+)?)[@:]/gm)) {
    if (alive(Number(m[2])) && Number(m[2]) !== process.pid) continue;
    await sh('ip', ['link', 'del', m[1]!]).catch(() => undefined);
    removed.push(m[1]!);
  }
  return removed;
}

/** A /24 of 10.78.0.0/16 that no interface here uses (two runs side by side take two). */
async function freeSubnet(): Promise<number> {
  const used = new Set([...(await sh('ip', ['-4', '-o', 'addr', 'show'])).matchAll(/inet 10\.78\.(\d+)\./g)].map((m) => Number(m[1])));
  for (let k = 0; k < 256; k++) {
    const third = (process.pid + k) % 256;
    if (!used.has(third)) return third;
  }
  throw new LinkError('--link: every /24 of 10.78.0.0/16 is in use on this machine');
}

/** The network of one run: set up by `open`, torn down by `close` (also on exit, synchronously). */
export class LinkNet {
  private closed = false;
  private readonly onExit = () => this.closeSync();

  private constructor(
    readonly plan: LinkPlan,
    private readonly pid: number,
    private readonly third: number,
  ) {}

  /** The server's address on the bridge. */
  get serverAddress(): string {
    return `${SUBNET.join('.')}.${this.third}.1`;
  }

  clientAddress(i: number): string {
    return `${SUBNET.join('.')}.${this.third}.${FIRST_HOST + i}`;
  }

  /** Checks the environment (LinkError if it cannot), removes stale runs' leftovers, and builds the links. */
  static async open(plan: LinkPlan): Promise<LinkNet> {
    const refusal = linkRefusal(plan);
    if (refusal) throw new LinkError(refusal);
    await removeStale();
    const net = new LinkNet(plan, process.pid, await freeSubnet());
    process.on('exit', net.onExit);
    try {
      await net.build();
    } catch (e) {
      await net.close();
      throw e;
    }
    return net;
  }

  private async build(): Promise<void> {
    const br = bridgeName(this.pid);
    await sh('ip', ['link', 'add', br, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${this.serverAddress}/24`, 'dev', br]);
    await sh('ip', ['link', 'set', br, 'up']);
    for (const [i, spec] of this.plan.links.entries()) {
      const ns = nsName(this.pid, i);
      const host = hostEnd(this.pid, i);
      await sh('ip', ['netns', 'add', ns]);
      await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await sh('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await sh('ip', ['link', 'set', host, 'master', br, 'up']);
      await sh('ip', ['-n', ns, 'addr', 'add', `${this.clientAddress(i)}/24`, 'dev', 'eth0']);
      await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      // Uplink: the client's egress; downlink: the bridge port's egress towards the client.
      for (const args of egressCommands('eth0', spec, spec.upBps)) await sh('tc', ['-n', ns, ...args]);
      for (const args of egressCommands(host, spec, spec.downBps)) await sh('tc', args);
    }
  }

  /**
   * Client process `i`'s command run in its namespace, asking for rank i (so `--slow-clients K` means the
   * last K ranks).
   */
  wrap(i: number, argv: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', nsName(this.pid, i), ...argv, '--rank', String(i)]];
  }

  /** What summary.json records. */
  summary(): LinkSummary {
    return {
      link: this.plan.link,
      slowLink: this.plan.slowLink,
      slowClients: this.plan.slowClients,
      serverAddress: this.serverAddress,
      ranks: this.plan.links.map((l) => ({ spec: formatLinkSpec(l), upBps: l.upBps, downBps: l.downBps, delayMs: l.delayUs / 1000, jitterMs: l.jitterUs / 1000, lossPct: l.lossPct })),
    };
  }

  private commandsToRemove(): [string, string[]][] {
    return [...this.plan.links.map((_, i): [string, string[]] => ['ip', ['netns', 'del', nsName(this.pid, i)]]), ['ip', ['link', 'del', bridgeName(this.pid)]]];
  }

  /** Deletes the namespaces (their veth pairs and qdiscs go with them) and the bridge. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    for (const [cmd, args] of this.commandsToRemove()) await sh(cmd, args).catch(() => undefined);
  }

  /** `close` for an exit handler, where nothing asynchronous runs any more. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [cmd, args] of this.commandsToRemove()) {
      try {
        execFileSync(cmd, args, { timeout: TIMEOUT_MS, stdio: 'ignore' });
      } catch {
        // Already gone, or removed by the next run's stale sweep.
      }
    }
  }
}
