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

/** TCP retransmitted segments from /proc/net/snmp (printed with the ratio: a retransmission carries payload twice). */
export function retransSegs(snmp: string): number | null {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
  if (lines.length < 2) return null;
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  const i = names.indexOf('RetransSegs');
  return i < 0 ? null : Number(values[i]);
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
 * Bounds on what an interface may count beyond the socket payload, per frame it counted.
 * A TCP/IPv4 frame on Ethernet carries 14 + 20 + 20 = 54 header bytes; Linux adds the timestamp option by
 * default (66 bytes, the size of nearly every frame of a run), and SYNs carry 20 option bytes (74). A frame that
 * GSO/GRO merged is counted as one packet with one set of headers, so the mean stays in that range. The few
 * other frames an interface sees (ARP, 42 bytes; IPv6 neighbour discovery or MLD where IPv6 is on, 70–110) move
 * the mean by well under a byte over the thousands of frames of these runs. Hence, per counted frame:
 * 50 ≤ (interface bytes − socket bytes) / frames ≤ 76, i.e. 1 + 50·frames/B < ratio < 1 + 76·frames/B.
 */
export const HEADER_BYTES_MIN = 50;
export const HEADER_BYTES_MAX = 76;

export interface WireCheck {
  ratio: number;
  headerBytesPerFrame: number;
  frames: number;
  interfaceBytes: number;
  socketBytes: number;
}

/** Prints interface bytes / socket payload bytes and asserts it within the header-only bounds above. */
export function checkWire(label: string, c: Counters, socketBytes: number, retransmits: number | null = null): WireCheck {
  const interfaceBytes = c.rxBytes + c.txBytes;
  const frames = c.rxPackets + c.txPackets;
  const ratio = interfaceBytes / socketBytes;
  const headerBytesPerFrame = (interfaceBytes - socketBytes) / frames;
  const lo = 1 + (HEADER_BYTES_MIN * frames) / socketBytes;
  const hi = 1 + (HEADER_BYTES_MAX * frames) / socketBytes;
  console.log(
    `${label}: interface ${interfaceBytes} B in ${frames} frames (rx ${c.rxBytes}/${c.rxPackets}, tx ${c.txBytes}/${c.txPackets}); ` +
      `socket payload ${socketBytes} B; ratio ${ratio.toFixed(4)} (bounds ${lo.toFixed(4)}..${hi.toFixed(4)}); ` +
      `${headerBytesPerFrame.toFixed(2)} non-payload bytes per frame` + (retransmits === null ? '' : `; TCP retransmitted segments ${retransmits}`),
  );
  // Enough frames that the stray non-TCP frames cannot matter (see above).
  expect(frames).toBeGreaterThan(500);
  expect(ratio).toBeGreaterThan(1);
  expect(ratio).toBeGreaterThan(lo);
  expect(ratio).toBeLessThan(hi);
  return { ratio, headerBytesPerFrame, frames, interfaceBytes, socketBytes };
}
