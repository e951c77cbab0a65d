/** A client's local objective f_i over its shard (ARCHITECTURE "Problems and data"). */
export interface Problem {
  readonly d: number;
  /** f_i(x). */
  loss(x: Float64Array): number;
  /** out ← ∇f_i(x). */
  gradInto(out: Float64Array, x: Float64Array): void;
}

/** Smoothness constants (SPEC A.2, decision 10), each flagged exact or an upper bound. */
export interface Smoothness {
  Lminus: number;
  Lplus: number;
  Lpm: number;
  /** L_i of every client. */
  Li: number[];
  exact: { Lminus: boolean; Lplus: boolean; Lpm: boolean };
}
