import { describe, expect, it } from 'vitest';
import { CounterRng } from '@marina/core';

describe('CounterRng', () => {
  it('is a pure function of (seed, round, rank, purpose)', () => {
    const a = new CounterRng(7, 3, 2, 'x');
    const b = new CounterRng(7, 3, 2, 'x');
    expect([a.u32(), a.u32()]).toEqual([b.u32(), b.u32()]);
    expect(new CounterRng(7, 3, 2, 'y').u32()).not.toBe(new CounterRng(7, 3, 2, 'x').u32());
  });
});
