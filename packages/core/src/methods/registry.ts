import type { MethodDef } from './types.js';
import { gd, marina } from './marina.js';
import { dcgd } from './dcgd.js';

/** Name → method (STYLE lesson 11). */
export const methods: Record<string, MethodDef> = { marina, dcgd, gd };

export function getMethod(name: string): MethodDef {
  const m = methods[name];
  if (!m) throw new RangeError(`unknown method "${name}"; expected one of ${Object.keys(methods).join(', ')}`);
  return m;
}
