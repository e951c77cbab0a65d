/**
 * SPEC C's fixed-p table of C_ind/C_cor (MARINA with IQ over MARINA with CQ, L = 1, L_± = 0), as printed:
 * d, n, p, the ratio with the /4 constants (`paper`), the ratio with A = d/n, d/n² (`default`). The
 * printed strings fix the digits a computed ratio is compared at. One copy for the tests that reproduce it
 * from marinaGamma (theory.test.ts) and from ratioAtP (complexity.test.ts).
 */
export const SPEC_C_FIXED_P: readonly (readonly [d: number, n: number, p: number, paper: string, dflt: string])[] = [
  [1000, 1000, 0.5, '1.48', '1.94'],
  [1000, 1000, 0.1, '2.39', '3.65'],
  [1000, 1000, 0.001, '11.20', '16.31'],
  [1024, 128, 0.0122, '6.46', '8.14'],
  [123, 123, 1 / 124, '4.36', '6.05'],
  [1e6, 1e4, 0.01, '33.9', '50.4'],
];
