import { createHash } from 'node:crypto';
import { expectProtocolError } from '@marina/protocol/testing';
import { describe, expect, it } from 'vitest';
import { compressors, createCompressor } from '../compressors/registry.js';
import type { Compressor } from '../compressors/types.js';
import { resolveConfig } from '../config.js';
import { runInProcess } from '../engine.js';
import { setupRun } from '../setup.js';
import { ef21Contraction } from './ef21.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hasTopk = 'topk' in compressors;

describe('ef21', () => {
  it.skipIf(!hasTopk)('TopK: α = K/d and γ = 1/(L_- + L_QM·sqrt(β/θ)) (decision 17)', () => {
    const setup = setupRun(resolveConfig({ method: 'ef21', compressor: 'topk', noise: 0.5, k: 4 }));
    const s = setup.smoothness;
    const alpha = 4 / 64;
    const theta = 1 - Math.sqrt(1 - alpha);
    const beta = (1 - alpha) / (1 - Math.sqrt(1 - alpha));
    const Lqm = Math.sqrt(s.Li.reduce((a, L) => a + L * L, 0) / s.Li.length);
    expect(setup.theory.gammaTheory).toBeCloseTo(1 / (s.Lminus + Lqm * Math.sqrt(beta / theta)), 14);
    expect(setup.theory.params).toEqual({ scale: 1 });
  });

  it.skipIf(!hasTopk)('round 0 is a dense init round (32d bits per client); then TopK messages (32K + K·⌈log2 d⌉ bits)', () => {
    const setup = setupRun(resolveConfig({ method: 'ef21', compressor: 'topk', rounds: 50, stopAtTarget: false }));
    const { records } = runInProcess(setup, setup.problems, { runId: 'ef21', sha256, now: () => 0 });
    expect(records[0]!).toMatchObject({ kind: 'init', coin: true, senders: 8, bitsUp: 8 * 32 * 64 });
    for (const r of records.slice(1)) expect(r).toMatchObject({ kind: 'compressed', coin: false, senders: 8, bitsUp: 8 * (32 * 8 + 8 * 6) });
  });

  it('an unbiased compressor is used as Q/(ω+1), a contraction with α = 1/(ω+1)', () => {
    const cq = createCompressor('cq');
    const c = ef21Contraction(cq, cq.constants(64, 8, 'default'), 64, 8);
    expect(c.alpha).toBe(1 / 64);
    expect(c.scale).toBe(1 / 64);
    expect(setupRun(resolveConfig({ method: 'ef21', compressor: 'iq' })).theory.params).toEqual({ scale: 1 / 64 });
  });

  it('refuses a biased compressor that reports no contraction, naming the field', () => {
    const sign: Compressor = { ...createCompressor('identity'), name: 'sign', unbiased: false };
    const call = () => ef21Contraction(sign, sign.constants(64, 8, 'default'), 64, 8);
    expectProtocolError(
      call,
      'MARINA_ERR_BAD_CONFIG',
      'config field "compressor" is "sign", which EF21 cannot use: EF21 needs a contraction ("topk") or an unbiased compressor (used as Q/(ω+1))',
    );
  });
});
