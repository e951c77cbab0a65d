/** A client's local objective f_i over its shard (ARCHITECTURE "Problems and data"). */
export interface Problem {
  readonly d: number;
  /** f_i(x). */
  loss(x: Float64Array): number;
  /** out ← ∇f_i(x). */
  gradInto(out: Float64Array, x: Float64Array): void;
  /** f_i as a finite sum f_i = (1/m) Σ_k f_ik, when the problem is one (VR-MARINA needs it; SPEC A.6). */
  readonly components?: FiniteSum;
}

/** The components f_i0..f_i(m−1) of a finite-sum f_i = (1/m) Σ_k f_ik. */
export interface FiniteSum {
  /** m: the number of components. */
  readonly m: number;
  /** out ← ∇f_ik(x), k in [0, m). */
  gradInto(out: Float64Array, x: Float64Array, k: number): void;
}

/** Smoothness of the components of finite-sum problems (SPEC A.6; MARINA's VR assumption). */
export interface ComponentSmoothness {
  /** m: components per client. */
  m: number;
  /**
   * ℒ: the smallest constant with (1/n) Σ_i (1/m) Σ_k ‖∇f_ik(x) − ∇f_ik(y)‖² ≤ ℒ²‖x − y‖² (the mean-square
   * component smoothness of the VR-MARINA analysis; the second moment, not the variance).
   */
  Lcomp: number;
  /** Whether ℒ is exact (true) or an upper bound (decision 10). */
  exact: boolean;
}

/** Smoothness constants (SPEC A.2, decision 10), each flagged exact or an upper bound. */
export interface Smoothness {
  Lminus: number;
  Lplus: number;
  Lpm: number;
  /** L_i of every client. */
  Li: number[];
  exact: { Lminus: boolean; Lplus: boolean; Lpm: boolean };
  /** Present when the clients' f_i are finite sums (decision 22). */
  components?: ComponentSmoothness;
}
