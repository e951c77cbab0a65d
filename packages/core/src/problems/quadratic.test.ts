import { describe, expect, it } from 'vitest';
import { quadraticFamily, type QuadraticSpec } from './quadratic.js';

/**
 * SPEC D.1 quadratics and their exact smoothness constants (SPEC A.2, decision 10), checked against dense
 * matrices and a brute-force eigenvalue computation for small d.
 */

type Matrix = Float64Array[];

const zeros = (d: number): Matrix => Array.from({ length: d }, () => new Float64Array(d));

/** Dense A_i = (ν_i/4)·T + c·I with T = tridiag(−1, 2, −1). */
function denseA(nu: number, shift: number, d: number): Matrix {
  const A = zeros(d);
  for (let j = 0; j < d; j++) {
    A[j]![j] = (nu / 4) * 2 + shift;
    if (j > 0) A[j]![j - 1] = -nu / 4;
    if (j < d - 1) A[j]![j + 1] = -nu / 4;
  }
  return A;
}

function matMul(A: Matrix, B: Matrix): Matrix {
  const d = A.length;
  const C = zeros(d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) C[i]![j]! += A[i]![k]! * B[k]![j]!;
  return C;
}

function combine(terms: [number, Matrix][]): Matrix {
  const d = terms[0]![1].length;
  const C = zeros(d);
  for (const [w, M] of terms) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) C[i]![j]! += w * M[i]![j]!;
  return C;
}

/** Eigenvalues of a symmetric matrix by the cyclic Jacobi method (rotations until the off-diagonal vanishes). */
function jacobiEigenvalues(M: Matrix): number[] {
  const d = M.length;
  const a = M.map((row) => Float64Array.from(row));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        total += a[i]![j]! ** 2;
        if (i !== j) off += a[i]![j]! ** 2;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p]![q]!;
        if (apq === 0) continue;
        // Rotation angle that zeroes a[p][q]: t = tan θ solves t² + 2τt − 1 = 0, the smaller root.
        const tau = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: d }, (_, i) => a[i]![i]!).sort((x, y) => x - y);
}

const maxAbs = (v: number[]): number => Math.max(...v.map(Math.abs));

/** The brute-force constants of SPEC A.2 for quadratics, from dense matrices. */
function bruteForce(spec: QuadraticSpec) {
  const fam = quadraticFamily(spec);
  const { clients: n, dim: d } = spec;
  const As = Array.from(fam.nu, (nu) => denseA(nu, fam.shift, d));
  const Abar = combine(As.map((A) => [1 / n, A]));
  const meanSq = combine(As.map((A) => [1 / n, matMul(A, A)]));
  // mean A_i² − Ā² = mean (A_i − Ā)²: the second form has no cancellation, so L_± is accurate to rounding.
  const variance = combine(
    As.map((A) => {
      const D = combine([
        [1, A],
        [-1, Abar],
      ]);
      return [1 / n, matMul(D, D)];
    }),
  );
  const eigBar = jacobiEigenvalues(Abar);
  return {
    fam,
    As,
    Abar,
    lambdaMin: eigBar[0]!,
    Lminus: maxAbs(eigBar),
    Lplus: Math.sqrt(Math.max(...jacobiEigenvalues(meanSq))),
    Lpm: Math.sqrt(Math.max(0, ...jacobiEigenvalues(variance))),
    Li: As.map((A) => maxAbs(jacobiEigenvalues(A))),
  };
}

const relClose = (got: number, want: number, rel: number, abs = 0): void => {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want) + abs);
};

const testPoint = (d: number, k: number): Float64Array => Float64Array.from({ length: d }, (_, j) => Math.sin(1.7 * j + k) * (1 + j / d));

describe('quadratic problem (SPEC D.1)', () => {
  const spec: QuadraticSpec = { clients: 5, dim: 7, noise: 0.5, lambda: 0.01, seed: 3 };

  it('has gradients equal to A_i x − b_i and to central finite differences of the loss', () => {
    const fam = quadraticFamily(spec);
    const d = spec.dim;
    for (let i = 0; i < spec.clients; i++) {
      const p = fam.shard(i);
      expect(p.d).toBe(d);
      const A = denseA(fam.nu[i]!, fam.shift, d);
      const b1 = (fam.nu[i]! / 4) * (fam.beta[i]! - 1);
      for (let k = 0; k < 3; k++) {
        const x = testPoint(d, k + i);
        const g = new Float64Array(d);
        p.gradInto(g, x);
        for (let j = 0; j < d; j++) {
          let ax = 0;
          for (let l = 0; l < d; l++) ax += A[j]![l]! * x[l]!;
          relClose(g[j]!, ax - (j === 0 ? b1 : 0), 1e-12, 1e-12);
        }
        // The loss is quadratic, so the central difference is exact up to rounding: error ≲ ε·|f|/h.
        const h = 1e-3;
        for (let j = 0; j < d; j++) {
          const xp = x.slice();
          const xm = x.slice();
          xp[j]! += h;
          xm[j]! -= h;
          const fd = (p.loss(xp) - p.loss(xm)) / (2 * h);
          relClose(fd, g[j]!, 1e-8, 1e-9);
        }
        // And the loss itself is ½xᵀA x − b_iᵀx.
        let quad = 0;
        for (let j = 0; j < d; j++) for (let l = 0; l < d; l++) quad += x[j]! * A[j]![l]! * x[l]!;
        relClose(p.loss(x), 0.5 * quad - b1 * x[0]!, 1e-12, 1e-12);
      }
    }
  });

  it('has the mean of the ∇f_i equal to ∇f = Ā x − b̄', () => {
    const { fam, Abar } = bruteForce(spec);
    const { clients: n, dim: d } = spec;
    let bbar = 0;
    for (let i = 0; i < n; i++) bbar += ((fam.nu[i]! / 4) * (fam.beta[i]! - 1)) / n;
    const x = testPoint(d, 9);
    const mean = new Float64Array(d);
    const g = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      fam.shard(i).gradInto(g, x);
      for (let j = 0; j < d; j++) mean[j]! += g[j]! / n;
    }
    for (let j = 0; j < d; j++) {
      let ax = 0;
      for (let l = 0; l < d; l++) ax += Abar[j]![l]! * x[l]!;
      relClose(mean[j]!, ax - (j === 0 ? bbar : 0), 1e-12, 1e-12);
    }
  });

  it('starts at x⁰ = √d·e_1 and derives ν, β from the seed alone', () => {
    const fam = quadraticFamily(spec);
    expect(Array.from(fam.x0())).toEqual([Math.sqrt(7), 0, 0, 0, 0, 0, 0]);
    const again = quadraticFamily(spec);
    expect(again.nu).toEqual(fam.nu);
    expect(again.beta).toEqual(fam.beta);
    expect(quadraticFamily({ ...spec, seed: 4 }).nu).not.toEqual(fam.nu);
    // A client's (ν, β) do not depend on how many clients there are (keyed by (seed, j, "problem")).
    expect(quadraticFamily({ ...spec, clients: 9 }).nu.subarray(0, 5)).toEqual(fam.nu);
  });

  const configs: QuadraticSpec[] = [
    { clients: 5, dim: 7, noise: 0.5, lambda: 0.01, seed: 3 },
    { clients: 8, dim: 6, noise: 1.5, lambda: 1e-3, seed: 11 }, // some ν_i < 0: indefinite f_i
    { clients: 3, dim: 10, noise: 0.05, lambda: 1e-6, seed: 1 },
    { clients: 1, dim: 5, noise: 0.8, lambda: 0.2, seed: 2 },
    { clients: 4, dim: 1, noise: 0.3, lambda: 0.5, seed: 5 },
    { clients: 6, dim: 2, noise: 0.2, lambda: 0, seed: 6 },
  ];

  for (const c of configs) {
    it(`has exact L_-, L_+, L_±, L_i equal to brute-force eigenvalues (n = ${c.clients}, d = ${c.dim}, s = ${c.noise})`, () => {
      const bf = bruteForce(c);
      const s = bf.fam.smoothness();
      expect(s.exact).toEqual({ Lminus: true, Lplus: true, Lpm: true });
      const scale = bf.Lplus;
      relClose(s.Lminus, bf.Lminus, 1e-10, 1e-13 * scale);
      relClose(s.Lplus, bf.Lplus, 1e-10, 1e-13 * scale);
      relClose(s.Lpm, bf.Lpm, 1e-10, 1e-13 * scale);
      expect(s.Li.length).toBe(c.clients);
      for (let i = 0; i < c.clients; i++) relClose(s.Li[i]!, bf.Li[i]!, 1e-10, 1e-13 * scale);
      // SPEC A.2 relations: L_- ≤ L_+ ≤ L_QM and L_+² − L_-² ≤ L_±² ≤ L_+².
      const Lqm = Math.sqrt(s.Li.reduce((x, l) => x + l * l, 0) / c.clients);
      const eps = 1e-12 * scale;
      expect(s.Lminus).toBeLessThanOrEqual(s.Lplus + eps);
      expect(s.Lplus).toBeLessThanOrEqual(Lqm + eps);
      expect(s.Lplus ** 2 - s.Lminus ** 2).toBeLessThanOrEqual(s.Lpm ** 2 + eps * scale);
      expect(s.Lpm).toBeLessThanOrEqual(s.Lplus + eps);
    });

    it(`has λ_min of the mean Hessian equal to λ (n = ${c.clients}, d = ${c.dim}, s = ${c.noise})`, () => {
      const bf = bruteForce(c);
      relClose(bf.lambdaMin, c.lambda, 1e-9, 1e-13 * bf.Lplus);
    });
  }

  it('has L_± = std(ν)·μ_max/4 (SPEC D.1)', () => {
    const c = configs[0]!;
    const fam = quadraticFamily(c);
    const n = c.clients;
    const m = fam.nu.reduce((x, v) => x + v, 0) / n;
    const std = Math.sqrt(fam.nu.reduce((x, v) => x + (v - m) ** 2, 0) / n);
    const muMax = 2 - 2 * Math.cos((c.dim * Math.PI) / (c.dim + 1));
    relClose(fam.smoothness().Lpm, (std * muMax) / 4, 1e-14);
  });

  it('gives L_± = 0 exactly, and L_- = L_+, when s = 0 (identical clients)', () => {
    for (const n of [1, 2, 3, 5, 7, 10, 100, 128, 1000]) {
      for (const d of [1, 2, 3, 10, 123, 1024]) {
        for (const lambda of [1e-6, 1e-3, 0.1, 0.7]) {
          const s = quadraticFamily({ clients: n, dim: d, noise: 0, lambda, seed: n + d }).smoothness();
          if (s.Lpm !== 0) expect({ n, d, lambda, Lpm: s.Lpm }).toEqual({ n, d, lambda, Lpm: 0 });
          relClose(s.Lminus, s.Lplus, 1e-13); // m1 and sqrt(mean e²) of n equal values, a few ulps apart
        }
      }
    }
    // And the dense check agrees.
    const bf = bruteForce({ clients: 4, dim: 6, noise: 0, lambda: 0.3, seed: 1 });
    expect(bf.Lpm).toBeLessThan(1e-14);
  });
});

describe('quadratic with heterogeneous linear terms (--linear-noise)', () => {
  const base: QuadraticSpec = { clients: 6, dim: 12, noise: 0, lambda: 0.01, seed: 4 };

  it('σ_b = 0 leaves ν and β exactly as before; σ_b > 0 changes β only, so L± stays 0 at s = 0', () => {
    const plain = quadraticFamily(base);
    const zero = quadraticFamily({ ...base, linearNoise: 0 });
    expect(Array.from(zero.nu)).toEqual(Array.from(plain.nu));
    expect(Array.from(zero.beta)).toEqual(Array.from(plain.beta));
    const noisy = quadraticFamily({ ...base, linearNoise: 0.5 });
    expect(Array.from(noisy.nu)).toEqual(Array.from(plain.nu));
    expect(Array.from(noisy.beta)).not.toEqual(Array.from(plain.beta));
    expect(noisy.smoothness().Lpm).toBe(0);
    expect(plain.smoothness().dissimilarity).toBe(0);
  });

  for (const [noise, linearNoise] of [[0, 0.5], [0.3, 0.2]] as const) {
    it(`ζ² = (1/n)Σ‖∇f_i(x*) − ∇f(x*)‖² is exact (s = ${noise}, σ_b = ${linearNoise}): equal to the clients' gradients at x* found by gradient descent`, () => {
      const fam = quadraticFamily({ ...base, noise, linearNoise });
      const shards = Array.from({ length: base.clients }, (_, i) => fam.shard(i));
      const d = base.dim;
      // x* by plain GD on f (strongly convex with μ = λ): (1 − λ/L)^k contraction, 20 000 steps reach 1e-15.
      const x = fam.x0();
      const g = new Float64Array(d);
      const gi = new Float64Array(d);
      const L = fam.smoothness().Lminus;
      for (let k = 0; k < 20_000; k++) {
        g.fill(0);
        for (const s of shards) {
          s.gradInto(gi, x);
          for (let j = 0; j < d; j++) g[j]! += gi[j]! / base.clients;
        }
        for (let j = 0; j < d; j++) x[j]! -= g[j]! / L;
      }
      let zeta = 0;
      for (const s of shards) {
        s.gradInto(gi, x);
        for (let j = 0; j < d; j++) zeta += (gi[j]! - g[j]!) ** 2 / base.clients;
      }
      expect(fam.smoothness().dissimilarity!).toBeGreaterThan(0);
      expect(fam.smoothness().dissimilarity!).toBeCloseTo(zeta, 10);
    });
  }
});
