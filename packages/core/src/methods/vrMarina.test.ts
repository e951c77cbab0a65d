import { createHash } from 'node:crypto';
import { expectProtocolError } from '@marina/protocol/testing';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { runInProcess } from '../engine.js';
import { quadraticFamily } from '../problems/quadratic.js';
import { setupRun } from '../setup.js';
import { computeTheory } from '../theory.js';
import { createCompressor } from '../compressors/registry.js';
import { sqNorm } from '../compressors/testkit.js';
import { sampleSubset } from './sampling.js';
import { vrMarina } from './vrMarina.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const spec = { clients: 8, dim: 64, noise: 0.5, lambda: 0.001, seed: 1, samples: 8, componentNoise: 0.5 };

describe('finite-sum quadratic components (decision 22)', () => {
  it('the m components average to f_i: mean_k ∇f_ik(x) = ∇f_i(x) to rounding', () => {
    const fam = quadraticFamily(spec);
    const x = Float64Array.from({ length: 64 }, (_, j) => Math.sin(j + 1) * 3);
    for (let i = 0; i < 8; i++) {
      const shard = fam.shard(i);
      const comp = shard.components!;
      expect(comp.m).toBe(8);
      const full = new Float64Array(64);
      shard.gradInto(full, x);
      const mean = new Float64Array(64);
      const gk = new Float64Array(64);
      for (let k = 0; k < comp.m; k++) {
        comp.gradInto(gk, x, k);
        for (let j = 0; j < 64; j++) mean[j]! += gk[j]! / comp.m;
      }
      const err = Math.sqrt(sqNorm(mean.map((v, j) => v - full[j]!)) / sqNorm(full));
      expect(err).toBeLessThan(1e-14);
    }
  });

  it('ℒ is exact: attained on an eigenvector of T and never exceeded on random directions', () => {
    const fam = quadraticFamily(spec);
    const L = fam.smoothness().components!.Lcomp;
    const d = 64;
    // (1/n) Σ_i (1/m) Σ_k ‖∇f_ik(u) − ∇f_ik(0)‖² / ‖u‖²: the gradient difference is linear in u.
    const ratio = (u: Float64Array): number => {
      const a = new Float64Array(d);
      const b = new Float64Array(d);
      const zero = new Float64Array(d);
      let s = 0;
      for (let i = 0; i < 8; i++) {
        const c = fam.shard(i).components!;
        for (let k = 0; k < c.m; k++) {
          c.gradInto(a, u, k);
          c.gradInto(b, zero, k);
          for (let j = 0; j < d; j++) s += (a[j]! - b[j]!) ** 2;
        }
      }
      return s / (8 * 8 * sqNorm(u));
    };
    const mode = (k: number) => Float64Array.from({ length: d }, (_, j) => Math.sin(((j + 1) * k * Math.PI) / (d + 1)));
    const attained = Math.max(ratio(mode(1)), ratio(mode(d)));
    expect(Math.abs(attained - L * L) / (L * L)).toBeLessThan(1e-12);
    for (let trial = 0; trial < 20; trial++) {
      const u = Float64Array.from({ length: d }, (_, j) => Math.cos(7.3 * j * (trial + 1) + trial));
      expect(ratio(u)).toBeLessThanOrEqual(L * L * (1 + 1e-12));
    }
  });

  it('without samples a shard has no components, and VR-MARINA refuses it with a configuration error', () => {
    const fam = quadraticFamily({ clients: 8, dim: 64, noise: 0, lambda: 0.001, seed: 1 });
    expect(fam.shard(0).components).toBeUndefined();
    const config = resolveConfig({ method: 'vr-marina' });
    const input = { compressor: createCompressor('cq'), smoothness: fam.smoothness(), d: 64, n: 8, config };
    expectProtocolError(() => computeTheory(vrMarina, input), 'MARINA_ERR_BAD_CONFIG', /needs a finite-sum problem/);
  });
});

describe('vr-marina', () => {
  it('minibatches are b\' distinct components, ascending, the same for any party, uniform over subsets', () => {
    const counts = new Map<string, number>();
    const N = 7000;
    for (let t = 0; t < N; t++) {
      const I = Array.from(sampleSubset(1, t, 3, 'minibatch', 8, 2));
      expect(I.length).toBe(2);
      expect(I[0]!).toBeLessThan(I[1]!);
      expect(I[1]!).toBeLessThan(8);
      expect(Array.from(sampleSubset(1, t, 3, 'minibatch', 8, 2))).toEqual(I);
      counts.set(I.join(','), (counts.get(I.join(',')) ?? 0) + 1);
    }
    // C(8, 2) = 28 subsets, 250 expected each; chi-square with 27 degrees of freedom, 99.99th percentile ≈ 66.
    expect(counts.size).toBe(28);
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - N / 28) ** 2 / (N / 28);
    expect(chi2).toBeLessThan(66);
  });

  it('theory: γ per SPEC A.6 in the AB form with the exact ℒ; p = min(ζ_Q/d, b\'/(m+b\')) for zeta, capped for auto', () => {
    const cfg = { method: 'vr-marina', compressor: 'iq', noise: 0.5, batch: 2, p: 'zeta' };
    const setup = setupRun(resolveConfig(cfg));
    const s = setup.smoothness;
    const th = setup.theory;
    expect(th.p).toBe(2 / (8 + 2)); // IQ is dense: ζ_Q/d = 1
    // IQ: A = d/n, B = 0 (decision 5): K = A·L_+² + (A + 1/n)·ℒ²/b'.
    const A = 64 / 8;
    const Lc = s.components!.Lcomp;
    const K = A * s.Lplus ** 2 + (A + 1 / 8) * (Lc * Lc) / 2;
    expect(th.gammaTheory).toBeCloseTo(1 / (s.Lminus + Math.sqrt(((1 - th.p) / th.p) * K)), 14);
    expect(th.params).toEqual({ batch: 2 });
    const auto = setupRun(resolveConfig({ ...cfg, p: 'auto' })).theory;
    expect(auto.p).toBeLessThanOrEqual(2 / 10);
  });

  it('compressed rounds cost the compressor\'s bits; coin rounds 32d; every client sends every round', () => {
    const setup = setupRun(resolveConfig({ method: 'vr-marina', compressor: 'cq', rounds: 200, stopAtTarget: false }));
    const { records } = runInProcess(setup, setup.problems, { runId: 'vr', sha256, now: () => 0 });
    for (const r of records) {
      expect(r.senders).toBe(8);
      expect(r.bitsUp).toBe(r.kind === 'compressed' ? 8 * (32 + 64) : 8 * 32 * 64);
    }
    expect(records.filter((r) => r.kind === 'compressed').length).toBeGreaterThan(150);
  });

  it('refuses an odd number of samples and a batch larger than the samples', () => {
    expect(() => resolveConfig({ samples: 7 })).toThrow('config field "samples" is 7; expected an even integer ≥ 2');
    expectProtocolError(() => resolveConfig({ method: 'vr-marina', samples: 8, batch: 9 }), 'MARINA_ERR_BAD_CONFIG', 'config field "batch" is 9; expected an integer in [1, samples = 8] (the minibatch is drawn without replacement)');
  });
});
