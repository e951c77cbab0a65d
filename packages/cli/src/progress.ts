import cliProgress from 'cli-progress';
import type { RoundRecord } from '@marina/core';

export interface Progress {
  update(record: RoundRecord, bitsPerClient: number): void;
  stop(): void;
}

/**
 * A progress display for long runs: a bar on a terminal; on a pipe (or with --json), a line for the first
 * round, one every 2 s, and one for the last round at `stop()`, so even a short run reports where it
 * ended; nothing when quiet. Written to stderr so stdout carries only results. `stop()` may be called twice.
 */
export function makeProgress(label: string, totalRounds: number, mode: 'auto' | 'quiet' | 'json'): Progress {
  let lastNorm = NaN;
  if (mode === 'quiet') return { update: () => {}, stop: () => {} };
  if (mode === 'json' || !process.stderr.isTTY) {
    let printedAt = -Infinity;
    let pending: { round: number; bits: number } | null = null;
    let stopped = false;
    const print = (round: number, bits: number, final: boolean) => {
      const line = mode === 'json'
        ? JSON.stringify({ progress: label, round, rounds: totalRounds, bitsPerClient: bits, gradNormSq: Number.isNaN(lastNorm) ? null : lastNorm, ...(final ? { final: true } : {}) })
        : `${label}: ${round + 1}/${totalRounds} rounds  bits/client ${fmtBits(bits)}  ‖∇f‖² ${Number.isNaN(lastNorm) ? '-' : lastNorm.toExponential(3)}`;
      process.stderr.write(line + '\n');
    };
    return {
      update(r, bits) {
        if (stopped) return;
        if (r.gradNormSq !== null) lastNorm = r.gradNormSq;
        const now = performance.now();
        if (now - printedAt < 2000) {
          pending = { round: r.round, bits };
          return;
        }
        printedAt = now;
        pending = null;
        print(r.round, bits, false);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        if (pending) print(pending.round, pending.bits, true);
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} rounds | bits/client {bits} | ‖∇f‖² {norm}`, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalRounds, 0, { bits: '0', norm: '-' });
  return {
    update(r, bits) {
      if (r.gradNormSq !== null) lastNorm = r.gradNormSq;
      bar.update(r.round + 1, { bits: fmtBits(bits), norm: Number.isNaN(lastNorm) ? '-' : lastNorm.toExponential(3) });
    },
    // cli-progress ignores a second stop.
    stop: () => bar.stop(),
  };
}

export function fmtBits(bits: number): string {
  if (bits >= 1e9) return `${(bits / 1e9).toFixed(2)}G`;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(2)}M`;
  if (bits >= 1e3) return `${(bits / 1e3).toFixed(1)}k`;
  return bits.toFixed(0);
}
