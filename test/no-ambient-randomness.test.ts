import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * STYLE lesson 2: randomness is an argument, never ambient. Every draw comes from CounterRng keyed by
 * (seed, round, rank, purpose); `Math.random` anywhere in sources or tests would break reproducibility.
 */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    return statSync(p).isDirectory() ? files(p) : /\.(ts|js|mjs)$/.test(name) ? [p] : [];
  });
}

describe('ambient randomness', () => {
  it('Math.random appears nowhere in packages/ or test/', () => {
    const root = join(import.meta.dirname, '..');
    const offenders = [...files(join(root, 'packages')), ...files(join(root, 'test'))].filter(
      (f) => !f.endsWith('no-ambient-randomness.test.ts') && /Math\.random\s*\(/.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
