export * from './client.js';
export * from './gate.js';
export * from './host.js';
