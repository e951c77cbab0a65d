import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { marina, tempDir } from './helpers/cli.js';

/**
 * Progress of long-running commands when stderr is a pipe (a terminal gets a bar instead): a line for the
 * first round and one for the last, even for a run shorter than the 2 s between lines; JSON lines with
 * --json; nothing with --quiet. Progress goes to stderr, results to stdout.
 */
const small = ['--clients', '2', '--dim', '16', '--rounds', '40', '--stop-at-target', 'false'];

describe('progress on a pipe', () => {
  it.each(['sim', 'local'])('%s: first and last round, on stderr only', async (command) => {
    const r = await marina([command, ...small]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${command}: 1/40 rounds  bits/client \\S+  ‖∇f‖² \\S+$`));
    expect(lines.at(-1)).toMatch(new RegExp(`^${command}: 40/40 rounds `));
    expect(r.stdout).not.toContain('rounds  bits/client');
  });

  it('--json: progress as JSON lines, the last one marked final', async () => {
    const r = await marina(['sim', ...small, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ progress: 'sim', round: 0, rounds: 40 });
    expect(lines.at(-1)).toMatchObject({ progress: 'sim', round: 39, final: true });
    expect(JSON.parse(r.stdout)).toHaveProperty('totals');
  });

  it('--quiet: nothing on stderr', async () => {
    const r = await marina(['local', ...small, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('compare: one labelled line pair per run', async () => {
    const r = await marina(['compare', '--sim', ...small, '--out', join(tempDir('progress'), 'cmp')]);
    expect(r.code, r.stderr).toBe(0);
    for (const label of ['marina+cq (auto p)', 'gd', 'dcgd+iq']) {
      expect(r.stderr).toContain(`${label}: 1/40 rounds`);
      expect(r.stderr).toContain(`${label}: 40/40 rounds`);
    }
  });
});
