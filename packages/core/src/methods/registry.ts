import type { MethodDef } from './types.js';
import { gd, marina } from './marina.js';
import { dcgd } from './dcgd.js';
import { diana } from './diana.js';
import { ef21 } from './ef21.js';
import { ppMarina } from './ppMarina.js';
import { vrMarina } from './vrMarina.js';

/** Name → method (STYLE lesson 11). */
export const methods: Record<string, MethodDef> = { marina, dcgd, gd, diana, ef21, 'vr-marina': vrMarina, 'pp-marina': ppMarina };

export function getMethod(name: string): MethodDef {
  const m = methods[name];
  if (!m) throw new RangeError(`unknown method "${name}"; expected one of ${Object.keys(methods).join(', ')}`);
  return m;
}
