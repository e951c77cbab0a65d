export * from './read.js';
export * from './libsvm.js';
export * from './idx.js';
export * from './clientData.js';
export * from './hash.js';
