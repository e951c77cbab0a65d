import { needsNetem, type LinkSpec } from './spec.js';

/**
 * The tc commands that shape one direction of a link on the egress of `dev` (README "Slow networks"): netem
 * for delay, jitter and loss as the root qdisc when the spec has any, and a token bucket (tbf) for the rate,
 * under netem or as the root. Pure: the caller runs each argument list as `tc [-n NS] ...`.
 */
export function egressCommands(dev: string, spec: LinkSpec, bps: number | null): string[][] {
  const cmds: string[][] = [];
  let parent = ['root'];
  if (needsNetem(spec)) {
    const delay = ['delay', `${spec.delayUs}us`, ...(spec.jitterUs > 0 ? [`${spec.jitterUs}us`] : [])];
    // netem's default queue (1000 packets) drops under a long delay at a high rate; TCP would read that as loss.
    cmds.push(['qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'netem', ...delay, 'loss', `${spec.lossPct}%`, 'limit', '100000']);
    parent = ['parent', '1:1'];
  }
  if (bps !== null) cmds.push(['qdisc', 'add', 'dev', dev, ...parent, 'handle', '10:', 'tbf', 'rate', `${bps}bit`, 'burst', String(burstBytes(bps)), 'limit', String(QUEUE_BYTES)]);
  return cmds;
}

/**
 * The bucket's depth: 1 ms at the rate, at least two full-size frames (tbf needs one; it splits larger GSO
 * packets). A round can pass this much at once after an idle spell, so keep it small next to the messages
 * whose time is measured: a transfer of S bytes then takes between (S − burst) / rate and S / rate on the wire.
 */
export function burstBytes(bps: number): number {
  return Math.max(2 * 1514, Math.ceil((bps / 8) * 0.001));
}

/**
 * The token bucket's queue: more than TCP keeps queued below one socket (TSQ's tcp_limit_output_bytes, 4 MB by
 * default), so the shaper delays packets instead of dropping them.
 */
export const QUEUE_BYTES = 16 * 1024 * 1024;
