import cliProgress from 'cli-progress';
import type { RoundRecord } from '@marina/core';

export interface Progress {
  update(record: RoundRecord, bitsPerClient: number): void;
  stop(): void;
}

/**
 * A progress display for long runs: a bar on a terminal; on a pipe, one plain line every 2 s; nothing when
 * quiet. Written to stderr so stdout carries only results.
 */
export function makeProgress(label: string, totalRounds: number, mode: 'auto' | 'quiet' | 'json'): Progress {
  let lastNorm = NaN;
  if (mode === 'quiet') return { update: () => {}, stop: () => {} };
  if (mode === 'json' || !process.stderr.isTTY) {
    let last = 0;
    return {
      update(r, bits) {
        if (r.gradNormSq !== null) lastNorm = r.gradNormSq;
        const now = performance.now();
        if (now - last < 2000) return;
        last = now;
        const line = mode === 'json'
          ? JSON.stringify({ progress: label, round: r.round, bitsPerClient: bits, gradNormSq: lastNorm })
          : `${label}: round ${r.round}/${totalRounds}  bits/client ${fmtBits(bits)}  ‖∇f‖² ${lastNorm.toExponential(3)}`;
        process.stderr.write(line + '\n');
      },
      stop() {},
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
    stop: () => bar.stop(),
  };
}

export function fmtBits(bits: number): string {
  if (bits >= 1e9) return `${(bits / 1e9).toFixed(2)}G`;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(2)}M`;
  if (bits >= 1e3) return `${(bits / 1e3).toFixed(1)}k`;
  return bits.toFixed(0);
}
