export * from './server.js';
export * from './runFolder.js';
export * from './hash.js';
export * from './view.js';
export type { SocketStats } from './ranks.js';
