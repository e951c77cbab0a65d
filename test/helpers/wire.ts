import { expect } from 'vitest';

/** One interface's kernel counters (Ethernet frames: bytes without preamble and FCS, and frame count). */
export interface Counters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

export const zeroCounters = (): Counters => ({ rxBytes: 0, rxPackets: 0, txBytes: 0, txPackets: 0 });

export function addCounters(a: Counters, b: Counters, sign = 1): Counters {
  return {
    rxBytes: a.rxBytes + sign * b.rxBytes,
    rxPackets: a.rxPackets + sign * b.rxPackets,
    txBytes: a.txBytes + sign * b.txBytes,
    txPackets: a.txPackets + sign * b.txPackets,
  };
}

/** Reads one interface's line of /proc/net/dev (rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets ...). */
export function parseProcNetDev(text: string, iface: string): Counters {
  const line = text.split('\n').find((l) => l.trim().startsWith(`${iface}:`));
  if (!line) throw new Error(`no ${iface} in /proc/net/dev:\n${text}`);
  const f = line.slice(line.indexOf(':') + 1).trim().split(/\s+/).map(Number);
  return { rxBytes: f[0]!, rxPackets: f[1]!, txBytes: f[8]!, txPackets: f[9]! };
}

/** Named counters of /proc/net/snmp and /proc/net/netstat ("Tcp: names" / "Tcp: values" line pairs), keyed "Tcp.RetransSegs". */
export function parseMib(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    if (!names[0]?.endsWith(':') || names[0] !== values[0] || !/^-?\d/.test(values[1] ?? '')) continue;
    const group = names[0].slice(0, -1);
    for (let j = 1; j < names.length; j++) out.set(`${group}.${names[j]}`, Number(values[j]));
    i++;
  }
  return out;
}

/**
 * TCP segments that crossed the server's links twice, from the server's own counters: segments it retransmitted
 * (Tcp.RetransSegs) and duplicates it received (each answered by a D-SACK: TcpExt.TCPDSACKOldSent, TCPDSACKOfoSent).
 * A loaded machine makes a few: a tail loss probe fires when an ACK is late by a couple of milliseconds.
 */
export function duplicateSegments(mib: Map<string, number>): number {
  return (mib.get('Tcp.RetransSegs') ?? 0) + (mib.get('TcpExt.TCPDSACKOldSent') ?? 0) + (mib.get('TcpExt.TCPDSACKOfoSent') ?? 0);
}

/**
 * The server's socket byte total, after checking that the ledger adds up to it exactly (ARCHITECTURE
 * "Outputs"): the sum over rounds of wireBytesUp + wireBytesDown + telemetryBytes, plus the summary's
 * controlBytes and connectionBytes (handshakes, pings, close frames), equals what the kernel sockets counted
 * (summary.sockets: bytesRead + bytesWritten).
 */
export function ledgerSocketBytes(rounds: Record<string, unknown>[], summary: Record<string, any>, clients: number): number {
  const sum = (key: string) => rounds.reduce((acc, r) => acc + (r[key] as number), 0);
  const t = summary['totals'];
  expect(sum('wireBytesUp')).toBe(t.wireBytesUp);
  expect(sum('wireBytesDown')).toBe(t.wireBytesDown);
  expect(sum('telemetryBytes')).toBe(t.telemetryBytes);
  const ledger = sum('wireBytesUp') + sum('wireBytesDown') + sum('telemetryBytes') + t.controlBytes + t.connectionBytes;
  const sockets = summary['sockets'] as { bytesRead: number; bytesWritten: number }[];
  expect(sockets).toHaveLength(clients);
  const socketBytes = sockets.reduce((acc, s) => acc + s.bytesRead + s.bytesWritten, 0);
  expect(ledger).toBe(socketBytes);
  expect(t.connectionBytes).toBeGreaterThan(0);
  return socketBytes;
}

/**
 * Bounds on what an interface may count beyond the socket payload.
 * A TCP/IPv4 frame on Ethernet carries 14 + 20 + 20 = 54 header bytes; Linux adds the timestamp option by
 * default (66 bytes, the size of nearly every frame of a run), and SYNs carry 20 option bytes (74). A frame that
 * GSO/GRO merged is counted as one packet with one set of headers, so the mean stays in that range. The few
 * other frames an interface sees (ARP, 42 bytes; IPv6 neighbour discovery or MLD where IPv6 is on, 70–110) move
 * the mean by well under a byte over the thousands of frames of these runs. The one other thing on the wire is a
 * retransmitted segment's payload, at most one MSS (1448 bytes at MTU 1500 with timestamps) per segment. Hence
 *   1 + 50·frames/B  <  ratio  <  1 + (76·frames + 1448·duplicates)/B,
 * where B is the socket payload (the ledger's total) and frames, duplicates are counted by the kernel.
 */
export const HEADER_BYTES_MIN = 50;
export const HEADER_BYTES_MAX = 76;
export const MSS = 1448;

export interface WireCheck {
  ratio: number;
  headerBytesPerFrame: number;
  frames: number;
  interfaceBytes: number;
  socketBytes: number;
}

/** Prints interface bytes / socket payload bytes and asserts it within the bounds above. */
export function checkWire(label: string, c: Counters, socketBytes: number, duplicates: number): WireCheck {
  const interfaceBytes = c.rxBytes + c.txBytes;
  const frames = c.rxPackets + c.txPackets;
  const ratio = interfaceBytes / socketBytes;
  const headerBytesPerFrame = (interfaceBytes - socketBytes) / frames;
  const lo = 1 + (HEADER_BYTES_MIN * frames) / socketBytes;
  const hi = 1 + (HEADER_BYTES_MAX * frames + MSS * duplicates) / socketBytes;
  console.log(
    `${label}: interface ${interfaceBytes} B in ${frames} frames (rx ${c.rxBytes} B/${c.rxPackets}, tx ${c.txBytes} B/${c.txPackets}); ` +
      `socket payload ${socketBytes} B; ratio ${ratio.toFixed(4)} (bounds ${lo.toFixed(4)}..${hi.toFixed(4)}); ` +
      `${headerBytesPerFrame.toFixed(2)} bytes beyond payload per frame; ${duplicates} retransmitted/duplicate TCP segments`,
  );
  // Enough frames that the stray non-TCP frames cannot matter (see above).
  expect(frames).toBeGreaterThan(500);
  expect(ratio).toBeGreaterThan(1);
  expect(ratio).toBeGreaterThan(lo);
  expect(ratio).toBeLessThan(hi);
  return { ratio, headerBytesPerFrame, frames, interfaceBytes, socketBytes };
}
