export * from './errors.js';
export * from './header.js';
export * from './auth.js';
export * from './bitpack.js';
export * from './ledger.js';
export * from './messages/control.js';
export * from './messages/hot.js';
// Vitest-free test helpers, so the tests of every package share one copy (they throw on mismatch).
