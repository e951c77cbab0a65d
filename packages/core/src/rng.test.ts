import { describe, expect, it } from 'vitest';
import { CounterRng, hash32, SHARED, streamKeys } from '@marina/core';
import { cqShift, cqStream } from './kernels/range.js';

/**
 * Statistical tests of the generator (SPEC decision 15). Every test uses fixed seeds, so it is a
 * deterministic check; the thresholds are what a sound generator passes with probability ≥ 0.999 (chi-square
 * upper 0.1% points, from scipy.stats.chi2.ppf(0.999, df)) or ≥ 1 − 6e-7 (5 standard errors).
 */

/** Pearson's statistic Σ (O − E)²/E. */
function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): number {
  let x = 0;
  for (let k = 0; k < observed.length; k++) x += (observed[k]! - expected[k]!) ** 2 / expected[k]!;
  return x;
}

/** χ²_{0.999}(df): the statistic a uniform generator exceeds with probability 0.001. */
const CHI2_999: Record<number, number> = { 2: 13.816, 5: 20.515, 6: 22.458, 23: 49.728, 255: 330.52, 999: 1142.85, 1023: 1168.5 };

/** Pearson correlation of two equally long samples. */
function correlation(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

const uniform = (bins: number, total: number): Float64Array => new Float64Array(bins).fill(total / bins);

describe('CounterRng', () => {
  it('is a pure function of (seed, round, rank, purpose)', () => {
    const a = new CounterRng(7, 3, 2, 'x');
    const b = new CounterRng(7, 3, 2, 'x');
    expect([a.u32(), a.u32()]).toEqual([b.u32(), b.u32()]);
    expect(new CounterRng(7, 3, 2, 'y').u32()).not.toBe(new CounterRng(7, 3, 2, 'x').u32());
  });

  it('reads any position directly: at(i) is the i-th sequential draw', () => {
    const seq = new CounterRng(11, 5, SHARED, 'cq-shift');
    const direct = new CounterRng(11, 5, SHARED, 'cq-shift');
    for (let i = 0; i < 100; i++) expect(seq.u32()).toBe(direct.at(i));
  });

  it('changes with every key component', () => {
    const base = new CounterRng(1, 2, 3, 'p').u32();
    expect(new CounterRng(2, 2, 3, 'p').u32()).not.toBe(base);
    expect(new CounterRng(1, 3, 3, 'p').u32()).not.toBe(base);
    expect(new CounterRng(1, 2, 4, 'p').u32()).not.toBe(base);
    expect(new CounterRng(1, 2, SHARED, 'p').u32()).not.toBe(base);
  });

  it('draws 32-bit integers, floats in [0, 1) and float53 in (0, 1)', () => {
    const r = new CounterRng(3, 0, 0, 'range');
    let ok = true;
    for (let i = 0; i < 10_000; i++) {
      const u = r.u32();
      const f = r.float();
      const g = r.float53();
      ok &&= Number.isInteger(u) && u >= 0 && u < 2 ** 32 && f >= 0 && f < 1 && g > 0 && g < 1;
    }
    expect(ok).toBe(true);
  });

  describe('chi-square uniformity (p = 0.001 critical values)', () => {
    it('of the high 8 bits and the low 8 bits of u32, df = 255', () => {
      const N = 256 * 500;
      for (const [seed, purpose] of [
        [1, 'chi'],
        [2, 'cq-shift'],
        [0xffffffff, 'iq'],
      ] as const) {
        const r = new CounterRng(seed, 17, 3, purpose);
        const high = new Float64Array(256);
        const low = new Float64Array(256);
        for (let i = 0; i < N; i++) {
          const u = r.u32();
          high[u >>> 24]!++;
          low[u & 0xff]!++;
        }
        expect(chiSquare(high, uniform(256, N))).toBeLessThan(CHI2_999[255]!);
        expect(chiSquare(low, uniform(256, N))).toBeLessThan(CHI2_999[255]!);
      }
    });

    it('of int(n) for n = 3, 7, 1000 (one cell per value; df = n − 1)', () => {
      for (const n of [3, 7, 1000]) {
        const N = 200 * n;
        const r = new CounterRng(42, n, 0, 'int');
        const counts = new Float64Array(n);
        for (let i = 0; i < N; i++) counts[r.int(n)]!++;
        expect(chiSquare(counts, uniform(n, N))).toBeLessThan(CHI2_999[n - 1]!);
      }
    });

    it('of int(n) for n = 2^21 + 3 (the masked-rejection path) and 2^21 (the multiply-shift path), df = 1023', () => {
      // Too many values for one cell each: 1024 cells by leading part ⌊v·1024/n⌋ and by trailing part v mod 1024,
      // each with its exact expected count (n is not a multiple of 1024 for 2^21 + 3).
      const B = 1024;
      for (const n of [2 ** 21 + 3, 2 ** 21]) {
        const N = 200 * B;
        const r = new CounterRng(5, 0, 9, 'big-int');
        const lead = new Float64Array(B);
        const trail = new Float64Array(B);
        let inRange = true;
        for (let i = 0; i < N; i++) {
          const v = r.int(n);
          inRange &&= v >= 0 && v < n && Number.isInteger(v);
          lead[Math.floor((v * B) / n)]!++;
          trail[v % B]!++;
        }
        expect(inRange).toBe(true);
        const eLead = new Float64Array(B);
        const eTrail = new Float64Array(B);
        for (let b = 0; b < B; b++) {
          eLead[b] = ((Math.ceil(((b + 1) * n) / B) - Math.ceil((b * n) / B)) / n) * N;
          eTrail[b] = ((Math.floor(n / B) + (b < n % B ? 1 : 0)) / n) * N;
        }
        expect(chiSquare(lead, eLead)).toBeLessThan(CHI2_999[1023]!);
        expect(chiSquare(trail, eTrail)).toBeLessThan(CHI2_999[1023]!);
      }
    });

    it('of permutation() over S_3 (df = 5) and S_4 (df = 23), one stream per round', () => {
      for (const [size, perRound] of [
        [3, 2000],
        [4, 1000],
      ] as const) {
        const cells = size === 3 ? 6 : 24;
        const N = cells * perRound;
        const counts = new Map<string, number>();
        const p = new Int32Array(size);
        for (let t = 0; t < N; t++) {
          new CounterRng(8, t, SHARED, 'perm').permutation(p);
          const key = p.join('');
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        expect(counts.size).toBe(cells);
        for (const key of counts.keys()) expect([...key].map(Number).sort().join('')).toBe('0123'.slice(0, size));
        expect(chiSquare(Array.from(counts.values()), uniform(cells, N))).toBeLessThan(CHI2_999[cells - 1]!);
      }
    });
  });

  it('draws int(n) without modulo bias (decision 15)', () => {
    // n = 3·2^30: `u % n` would make v < 2^32 − n = 2^30 twice as likely (probability 1/2 instead of 1/3).
    const n = 3 * 2 ** 30;
    const N = 30_000;
    const r = new CounterRng(1, 0, 0, 'bias');
    let low = 0;
    for (let i = 0; i < N; i++) if (r.int(n) < 2 ** 30) low++;
    // Binomial(N, 1/3): standard error sqrt((1/3)(2/3)/N) = 0.0027; allow 5 of them.
    expect(Math.abs(low / N - 1 / 3)).toBeLessThan(5 * Math.sqrt(2 / 9 / N));
  });

  it('checks int(n) arguments and handles the ends of its range', () => {
    const r = new CounterRng(1, 0, 0, 'edges');
    for (const bad of [0, -1, 1.5, 2 ** 32 + 1, NaN]) expect(() => r.int(bad)).toThrow(RangeError);
    expect(() => r.int(0)).toThrow('int(n) needs an integer n in [1, 2^32], got 0');
    for (let i = 0; i < 100; i++) expect(r.int(1)).toBe(0);
    for (let i = 0; i < 100; i++) {
      const v = r.int(2 ** 32);
      expect(Number.isInteger(v) && v >= 0 && v < 2 ** 32).toBe(true);
    }
  });

  describe('independence across adjacent rounds, ranks and purposes', () => {
    // Under independence a sample correlation of N pairs is ≈ N(0, 1/N): allow 5/sqrt(N).
    const N = 100_000;
    const tol = 5 / Math.sqrt(N);

    const stream = (seed: number, round: number, rank: number, purpose: string): Float64Array => {
      const r = new CounterRng(seed, round, rank, purpose);
      return Float64Array.from({ length: N }, () => r.float());
    };

    it('position by position between streams of adjacent rounds and ranks', () => {
      const base = stream(3, 10, 4, 'cq-jitter');
      expect(Math.abs(correlation(base, stream(3, 11, 4, 'cq-jitter')))).toBeLessThan(tol);
      expect(Math.abs(correlation(base, stream(3, 10, 5, 'cq-jitter')))).toBeLessThan(tol);
      expect(Math.abs(correlation(base, stream(4, 10, 4, 'cq-jitter')))).toBeLessThan(tol);
      expect(Math.abs(correlation(base, stream(3, 10, 4, 'iq')))).toBeLessThan(tol);
      // Lag-1 within a stream (consecutive counters).
      expect(Math.abs(correlation(base.subarray(0, N - 1), base.subarray(1)))).toBeLessThan(tol);
    });

    it('of the first draw as the round or the rank steps by one', () => {
      const byRound = Float64Array.from({ length: N + 1 }, (_, t) => new CounterRng(3, t, 0, 'coin').float());
      const byRank = Float64Array.from({ length: N + 1 }, (_, i) => new CounterRng(3, 0, i, 'coin').float());
      expect(Math.abs(correlation(byRound.subarray(0, N), byRound.subarray(1)))).toBeLessThan(tol);
      expect(Math.abs(correlation(byRank.subarray(0, N), byRank.subarray(1)))).toBeLessThan(tol);
      expect(Math.abs(correlation(byRound.subarray(0, N), byRank.subarray(0, N)))).toBeLessThan(tol);
      // Beyond linear correlation: the joint cells (⌊16x⌋, ⌊16y⌋) of consecutive rounds are uniform over
      // 256 cells (df = 255 with known uniform marginals).
      const joint = new Float64Array(256);
      for (let t = 0; t < N; t++) joint[Math.floor(16 * byRound[t]!) * 16 + Math.floor(16 * byRound[t + 1]!)]!++;
      expect(chiSquare(joint, uniform(256, N))).toBeLessThan(CHI2_999[255]!);
    });
  });

  it('normal() has mean 0, variance 1, fourth moment 3 and the normal tail mass', () => {
    const N = 200_000;
    const r = new CounterRng(12, 0, 0, 'normal');
    let s1 = 0;
    let s2 = 0;
    let s4 = 0;
    let tail = 0;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s1 += z;
      s2 += z * z;
      s4 += z ** 4;
      if (Math.abs(z) > 1.959964) tail++;
    }
    expect(Number.isFinite(s4)).toBe(true);
    const mean = s1 / N;
    const m2 = s2 / N;
    // Standard errors for N(0, 1): mean 1/sqrt(N); E z² = 1 with Var z² = 2; E z⁴ = 3 with Var z⁴ = 105 − 9 = 96;
    // P(|z| > 1.96) = 0.05 with binomial variance 0.05·0.95.
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(m2 - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(s4 / N - 3)).toBeLessThan(5 * Math.sqrt(96 / N));
    expect(Math.abs(tail / N - 0.05)).toBeLessThan(5 * Math.sqrt((0.05 * 0.95) / N));
  });

  it('bernoulli(p) has mean p, and p ≥ 1 / p ≤ 0 are certain', () => {
    const N = 100_000;
    for (const p of [0.001, 0.1, 0.5, 0.9]) {
      const r = new CounterRng(2, 0, 0, `coin-${p}`);
      let k = 0;
      for (let i = 0; i < N; i++) if (r.bernoulli(p)) k++;
      // Binomial(N, p): standard error sqrt(p(1 − p)/N).
      expect(Math.abs(k / N - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    }
    const r = new CounterRng(2, 0, 0, 'certain');
    for (let i = 0; i < 1000; i++) {
      expect(r.bernoulli(1)).toBe(true);
      expect(r.bernoulli(0)).toBe(false);
    }
  });
});

describe('hash32 (the kernels\' fast stream, protocol 3)', () => {
  const N = 256 * 500;
  const draws = (seed: number, round: number, rank: number, purpose: string, count = N): Uint32Array => {
    const [k0, k1] = streamKeys(seed, round, rank, purpose);
    return Uint32Array.from({ length: count }, (_, i) => hash32(k0, k1, i));
  };

  it('is uniform in its high, low and middle 8 bits and in both 16-bit halves (CQ\'s two draws per hash)', () => {
    for (const [seed, round, rank, purpose] of [
      [1, 0, 0, 'iq'],
      [2, 17, SHARED, 'cq-shift'],
      [0xffffffff, 3, 9, 'cq-jitter'],
    ] as const) {
      const h = draws(seed, round, rank, purpose);
      for (const shift of [0, 8, 12, 16, 24]) {
        const counts = new Float64Array(256);
        for (const u of h) counts[(u >>> shift) & 0xff]!++;
        expect(chiSquare(counts, uniform(256, N))).toBeLessThan(CHI2_999[255]!);
      }
      // Low and high 16-bit halves jointly (top 4 bits of each: 256 cells).
      const joint = new Float64Array(256);
      for (const u of h) joint[((u >>> 12) & 0xf) * 16 + (u >>> 28)]!++;
      expect(chiSquare(joint, uniform(256, N))).toBeLessThan(CHI2_999[255]!);
    }
  });

  it('has independent consecutive counters and independent streams of adjacent ranks, rounds and purposes', () => {
    const cells = (x: Uint32Array, y: Uint32Array): number => {
      const joint = new Float64Array(256);
      for (let i = 0; i < x.length; i++) joint[(x[i]! >>> 28) * 16 + (y[i]! >>> 28)]!++;
      return chiSquare(joint, uniform(256, x.length));
    };
    const base = draws(3, 10, 4, 'iq');
    expect(cells(base.subarray(0, N - 1), base.subarray(1))).toBeLessThan(CHI2_999[255]!);
    for (const other of [draws(3, 10, 5, 'iq'), draws(3, 11, 4, 'iq'), draws(4, 10, 4, 'iq'), draws(3, 10, 4, 'cq-jitter')]) {
      expect(cells(base, other)).toBeLessThan(CHI2_999[255]!);
      // Not a shifted copy: no equal run of 8 draws at any lag within the first 4096 counters.
      const at = new Map<number, number>();
      for (let i = 0; i < 4096; i++) at.set(other[i]!, i);
      let runs = 0;
      for (let i = 0; i < 4096 - 8; i++) {
        const k = at.get(base[i]!);
        if (k !== undefined && k + 8 < 4096 && base[i + 1] === other[k + 1] && base[i + 7] === other[k + 7]) runs++;
      }
      expect(runs).toBe(0);
    }
  });

  it('gives CQ\'s shared shifts uniform in [0, n) without modulo bias: the 16-bit path, its retries and the 32-bit path', () => {
    // n = 3, 1000 (retry at 0.8%), 40000 (retry at 39%: 2^16 mod 40000 = 25536) and 70000 (one hash each).
    for (const n of [3, 1000, 40000, 70000]) {
      const q = cqStream(5, 1, n, 0, 0);
      const cellsOf = n <= 1000 ? n : 1000;
      const N2 = 300 * cellsOf;
      const counts = new Float64Array(cellsOf);
      for (let j = 0; j < N2; j++) {
        const s = cqShift(q, j);
        expect(s >= 0 && s < n).toBe(true);
        counts[Math.floor((s * cellsOf) / n)]!++;
      }
      // Cells of unequal width when cellsOf does not divide n: expected counts from each cell's width.
      const expected = new Float64Array(cellsOf);
      for (let v = 0; v < n; v++) expected[Math.floor((v * cellsOf) / n)]! += N2 / n;
      expect(chiSquare(counts, expected)).toBeLessThan(CHI2_999[cellsOf - 1] ?? 1142.85);
    }
  });
});
