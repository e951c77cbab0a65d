import { createHash } from 'node:crypto';

/** Hex SHA-256: the shard fingerprint and the iterate hash (core takes hashing as an argument: it opens no Node API). */
export const nodeSha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
