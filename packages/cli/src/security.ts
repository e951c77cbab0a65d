import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Options } from 'yargs';
import { UsageError } from './commands/common.js';

/**
 * The security flags (README "Security"): the run's secret for server, client and `marina local`, TLS files,
 * and the exit statuses of a client that authentication or TLS refused. Files are read here, once, before
 * any socket opens; a file that cannot be used is a UsageError (exit status 2).
 */

/** A secret shorter than this is refused: 16 bytes are 128 bits if random (`openssl rand -hex 32` gives 64). */
export const MIN_SECRET_BYTES = 16;

const GROUP = 'Security:';

export const secretOption: Record<string, Options> = {
  'secret-file': {
    type: 'string',
    describe:
      "file holding the run's secret (its bytes, trailing newlines dropped; at least 16): clients prove they know it by " +
      'challenge and response before they get a rank, and it never crosses the wire; a Docker or Swarm secret such as /run/secrets/marina works',
    group: GROUP,
  },
};

export const serverTlsOptions: Record<string, Options> = {
  'tls-cert': { type: 'string', describe: 'PEM certificate (chain) of the server: HTTPS and wss:// on the one port; needs --tls-key', group: GROUP },
  'tls-key': { type: 'string', describe: 'PEM private key of --tls-cert', group: GROUP },
};

export const caOption: Record<string, Options> = {
  ca: { type: 'string', describe: "PEM certificate(s) of the CA that signed the server's certificate, trusted for wss:// besides the system's and Node's CA stores", group: GROUP },
};

/** The run's secret from `--secret-file` (or MARINA_SECRET_FILE), or null when none is given. */
export function readSecret(path: string | undefined): Buffer | null {
  if (path === undefined) return null;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read --secret-file ${path}: ${(e as Error).message}`);
  }
  // A trailing line ending (echo, an editor, `openssl rand -hex 32 > FILE`) is not part of the secret.
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  if (end < MIN_SECRET_BYTES) {
    throw new UsageError(`--secret-file ${path} holds ${end} bytes; a secret needs at least ${MIN_SECRET_BYTES} (make one with: openssl rand -hex 32 > ${path})`);
  }
  return Buffer.from(bytes.subarray(0, end));
}

/** `--tls-cert` and `--tls-key`, read and checked to be a pair; null when neither is given. */
export function readServerTls(certPath: string | undefined, keyPath: string | undefined): { cert: Buffer; key: Buffer } | null {
  if (certPath === undefined && keyPath === undefined) return null;
  if (certPath === undefined || keyPath === undefined) {
    throw new UsageError(`give both --tls-cert and --tls-key (got only ${certPath === undefined ? '--tls-key' : '--tls-cert'})`);
  }
  const cert = readPem(certPath, '--tls-cert');
  const key = readPem(keyPath, '--tls-key');
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new UsageError(`--tls-cert ${certPath} and --tls-key ${keyPath} cannot serve TLS: ${(e as Error).message}`);
  }
  return { cert, key };
}

/** `--ca`'s PEM, checked to parse; null when not given. */
export function readCa(path: string | undefined): Buffer | null {
  if (path === undefined) return null;
  const ca = readPem(path, '--ca');
  try {
    createSecureContext({ ca });
  } catch (e) {
    throw new UsageError(`--ca ${path} holds no usable PEM certificate: ${(e as Error).message}`);
  }
  return ca;
}

function readPem(path: string, flag: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(e as Error).message}`);
  }
  if (!bytes.includes('-----BEGIN ')) throw new UsageError(`${flag} ${path} is not a PEM file (no -----BEGIN line)`);
  return bytes;
}

/**
 * Exit statuses of `marina client` (README "Security"): 0 the run finished, 1 any other failure (run aborted,
 * server unreachable, an error from the server), 2 bad input (flags, files), 4 authentication refused, 5 TLS
 * (certificate not trusted, handshake failed), 6 protocol mismatch (ws:// against wss:// or the reverse, another
 * protocol version).
 */
export const CLIENT_EXIT = { failed: 1, usage: 2, auth: 4, tls: 5, mismatch: 6 } as const;

/** The exit status for a ClientError's code. */
export function clientExitStatus(code: string): number {
  if (code === 'MARINA_ERR_AUTH') return CLIENT_EXIT.auth;
  if (code === 'MARINA_ERR_TLS') return CLIENT_EXIT.tls;
  if (code === 'MARINA_ERR_SCHEME' || code === 'MARINA_ERR_BAD_VERSION') return CLIENT_EXIT.mismatch;
  return CLIENT_EXIT.failed;
}
