import { createHash } from 'node:crypto';
import type { CoordinatorHooks, RunConfig } from '@marina/core';
import { nodeSha256 } from '@marina/data';

/** The hooks core needs from the platform: SHA-256 and a monotonic clock. */
export const nodeHooks: CoordinatorHooks = {
  sha256: nodeSha256,
  now: () => performance.now(),
};

/** A run id: the first 12 hex digits of SHA-256 over the resolved configuration (keys in fixed order). */
export function runIdOf(config: RunConfig): string {
  const canonical = JSON.stringify(Object.keys(config).sort().map((k) => [k, (config as unknown as Record<string, unknown>)[k]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}
