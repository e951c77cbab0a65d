import type { ProblemDef } from './types.js';
import { quadratic } from './quadratic.js';
import { logreg } from './logreg.js';
import { sigmoidLs } from './sigmoidLs.js';
import { mlp } from './mlp.js';
import { autoencoder } from './autoencoder.js';

/** Name → problem (STYLE lesson 11), beside compressors and methods; the CLI's choices come from these keys. */
export const problems: Record<string, ProblemDef> = { quadratic, logreg, 'sigmoid-ls': sigmoidLs, mlp, autoencoder };

export function getProblem(name: string): ProblemDef {
  const p = problems[name];
  if (!p) throw new RangeError(`unknown problem "${name}"; expected one of ${Object.keys(problems).join(', ')}`);
  return p;
}
