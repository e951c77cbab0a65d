/**
 * Which rounds are evaluated (every client sends f_i(x^t) and ∇f_i(x^t) as float64: telemetry that costs a
 * round's worth of bytes many times over, 8·(d + 1) bytes a client against CQ's (32 + d)/8).
 *
 * `--eval-every auto` (the default): every round below 16, then 8 rounds per doubling of t (t a multiple of
 * 2^(⌊log₂ t⌋ − 3)), so about 8·log₂(T) − 16 of T rounds, evenly spread on a log axis: ~13% of 400 rounds,
 * 1.6% of 5000. `--eval-every k`: every k-th round. Either way the coordinator adds the last round the round
 * limit or the budget allows, and under `auto` the rounds that close in on a target's predicted crossing
 * (Targets.dueFrom: halfway there, again and again), so for a ‖∇f‖² that falls round by round a target's round
 * is the first round it holds, with the round before it evaluated too (the summary's `previousEvaluation`).
 */
export type EvalEvery = number | 'auto';

/** Whether round `t` is on the schedule (before the coordinator's additions). */
export function scheduledEval(every: EvalEvery, t: number): boolean {
  if (every !== 'auto') return t % every === 0;
  if (t < 16) return true;
  const shift = 31 - Math.clz32(t) - 3; // ⌊log₂ t⌋ − 3 (t < 2^31: rounds are at most 1e9)
  return (t & ((1 << shift) - 1)) === 0;
}
