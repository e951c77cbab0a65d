export * from './server.js';
export * from './runFolder.js';
export * from './hash.js';
export * from './view.js';
export type { SocketStats } from './ranks.js';
export { dashboardToken, isLoopback } from './security.js';
export type { Access } from './http.js';
export * from './checkpoint.js';
