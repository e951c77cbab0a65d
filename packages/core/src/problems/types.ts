import type { Dataset } from '../data/dataset.js';
import type { ConfigValues, OptionSpecs } from '../options.js';

/** A client's local objective f_i over its shard (ARCHITECTURE "Problems and data"). */
export interface Problem {
  readonly d: number;
  /** f_i(x). */
  loss(x: Float64Array): number;
  /** out ← ∇f_i(x). */
  gradInto(out: Float64Array, x: Float64Array): void;
  /** Classification problems: the fraction of the shard's rows whose predicted label at x is right. */
  accuracy?(x: Float64Array): number;
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
  /**
   * ζ² = (1/n)Σ‖∇f_i(x*) − ∇f(x*)‖²: how far the clients' gradients are from agreeing at the minimiser (exact
   * for the quadratic; absent where unknown). Positive ζ² with L± = 0 is heterogeneity in the linear terms
   * alone: MARINA converges, DCGD only to a neighbourhood of size ∝ γ·ω·ζ²/n.
   */
  dissimilarity?: number | null;
  /** Present when the clients' f_i are finite sums (decision 22). */
  components?: ComponentSmoothness;
}

/** How a client's L_i was obtained (decision 10): exact, an upper bound, or an estimate stated as one. */
export type ConstantKind = 'exact' | 'bound' | 'estimate';

/**
 * What a client reports about its shard when it joins (the join phase): what the theory needs, known only
 * to the client when its data is private. The server never sees the rows.
 */
export interface ShardFacts {
  /** m_i: rows of the shard (0 for a generated problem). */
  rows: number;
  /** Feature count of the shard's data (0 for a generated problem). */
  features: number;
  /** d of the model the client built (must agree across clients). */
  d: number;
  /** L_i of the client's f_i, and how it was obtained. */
  Li: number;
  LiKind: ConstantKind;
  /** Hex SHA-256 of the shard's canonical parsed rows (`canonicalBytes`), or of the generated problem's parameters. */
  fingerprint: string;
}

/** A client's local problem over its shard, with its smoothness constant. */
export interface LocalProblem {
  problem: Problem;
  Li: number;
  LiKind: ConstantKind;
}

/**
 * A problem family of the registry (beside compressors and methods): its options, what data it needs, how a
 * client builds its f_i from its shard, and how the server turns the clients' reports into the constants of
 * the theory. Options are read from the run configuration by name (see `options.ts`).
 */
export interface ProblemDef {
  readonly name: string;
  /** One line for `--help` and the README's table. */
  readonly description: string;
  readonly options: OptionSpecs;
  /** `none`: generated, no file; `libsvm`: rows of a LIBSVM/svmlight file; `idx`: an IDX image file (MNIST). */
  readonly data: 'none' | 'libsvm' | 'idx';
  /** d of the model over data with `features` columns (generated problems: from their options; features is 0). */
  dim(config: ConfigValues, features: number): number;
  /**
   * Client `rank`'s shard of the whole data set, when the problem splits data its own way (the autoencoder's
   * homogeneity-controlled split, SPEC D.5); absent: the run's `--shard` rule (contiguous or shuffled).
   */
  split?(config: ConfigValues, all: Dataset, n: number, rank: number): Dataset;
  /** Client side: f_i over this rank's shard (null for a generated problem), and its L_i. */
  local(config: ConfigValues, n: number, rank: number, shard: Dataset | null): LocalProblem;
  /** Server side: L_-, L_+, L_± from every client's report (decision 10: exact where computable, else bounds). */
  smoothness(config: ConfigValues, facts: readonly ShardFacts[]): Smoothness;
  /** x⁰, from the configuration and d alone (the server's; clients get iterates in RoundStart). */
  x0(config: ConfigValues, d: number): Float64Array;
  /**
   * A lower bound on inf f when f* is not known (the data problems: every loss and regulariser here is
   * nonnegative, so 0), used by `marina theory` for Δ0 ≤ f(x⁰) − bound. Absent: f* is computed (quadratic).
   */
  readonly infimumBound?: number;
}

/**
 * Decision 10's bounds from the clients' L_i, for problems whose L_-, L_+, L_± cannot be computed exactly:
 * L_- ≤ L_avg, L_+ ≤ L_QM, L_± ≤ L_+ (SPEC A.2 relations), all flagged as bounds.
 */
export function smoothnessFromLi(facts: readonly ShardFacts[]): Smoothness {
  const Li = facts.map((f) => f.Li);
  const avg = Li.reduce((s, v) => s + v, 0) / Li.length;
  const qm = Math.sqrt(Li.reduce((s, v) => s + v * v, 0) / Li.length);
  return { Lminus: avg, Lplus: qm, Lpm: qm, Li, exact: { Lminus: false, Lplus: false, Lpm: false } };
}
