import { open, readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { ProtocolError } from '@marina/protocol';

/**
 * Reading data files: the only I/O of the data path. Parsers live in @marina/core, sans-I/O; this module
 * opens files, gunzips them when they start with the gzip magic (whatever their name), and turns every
 * failure into a ProtocolError MARINA_ERR_BAD_DATA that names the path.
 */

/** Whether `head` starts with the gzip magic bytes 1f 8b (RFC 1952, section 2.3.1). */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Streams the bytes of the file at `path` to `sink`, chunk by chunk (gunzipped when the file is gzip), so
 * memory stays what the sink keeps. An error thrown by `sink` (a parse error) stops the read and is
 * rethrown as is.
 */
export async function streamFile(path: string, sink: (chunk: Uint8Array) => void): Promise<void> {
  const handle = await open(path, 'r').catch((e: unknown) => {
    throw unreadable(path, e);
  });
  try {
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    const stream = handle.createReadStream({ start: 0, autoClose: false });
    const consume = async (source: AsyncIterable<Uint8Array>): Promise<void> => {
      for await (const chunk of source) sink(chunk);
    };
    if (isGzip(head.subarray(0, bytesRead))) await pipeline(stream, createGunzip(), consume);
    else await pipeline(stream, consume);
  } catch (e) {
    throw asDataError(path, e);
  } finally {
    await handle.close();
  }
}

/** The whole file at `path` in memory, gunzipped when it is gzip (for formats parsed at once, IDX). */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  const raw = await readFile(path).catch((e: unknown) => {
    throw unreadable(path, e);
  });
  if (!isGzip(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = await promisify(gunzip)(raw).catch((e: unknown) => {
    throw asDataError(path, e);
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** A failure while reading: parse errors pass through; zlib's become "not valid gzip"; the rest "cannot read". */
function asDataError(path: string, e: unknown): unknown {
  if (e instanceof ProtocolError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new ProtocolError('MARINA_ERR_BAD_DATA', `${path}: not a valid gzip file (${(e as Error).message})`, { file: path });
  }
  return unreadable(path, e);
}

/** "cannot read": Node's message without its trailing `, open '<path>'`, since the path leads already. */
function unreadable(path: string, e: unknown): ProtocolError {
  const why = e instanceof Error ? e.message.replace(/, \w+ '.*'$/, '') : String(e);
  return new ProtocolError('MARINA_ERR_BAD_DATA', `${path}: cannot read the data file (${why})`, { file: path });
}
