// The fast path for many countries ("all but one"): one pass over the data, merging the chosen
// countries' ranges as they come and cutting each merged range into CIDRs at once. It relies on the
// data being sorted by start address (ip-location-db's files are); for data that is not it returns
// null and the caller takes the general path (parse everything, then merge and cover). IPv4 stays
// in plain numbers; only IPv6 needs BigInt.
import { formatCidr, groupsToBigint, rangeToCidrs, scanIPv4, scanIPv6, type Family } from './cidr.js';

export interface StreamResult {
  /** Minimal CIDRs covering the chosen countries' ranges, sorted. */
  readonly cidrs: string[];
  /** Data lines per chosen country (the wizard's "ranges" figure). */
  readonly lines: Map<string, number>;
}

export function streamCompile(text: string, family: Family, chosen: ReadonlySet<string>): StreamResult | null {
  const lines = new Map<string, number>();
  const groups = new Uint16Array(8);
  // IPv4 merging in numbers; IPv6 in BigInt.
  let start4 = -1;
  let end4 = -1;
  let start6 = -1n;
  let end6 = -1n;
  let lastStart6 = -1n;
  const out: string[] = [];
  const flush4 = () => {
    if (start4 >= 0) emitV4(start4, end4, out);
  };
  const flush6 = () => {
    if (start6 >= 0n) for (const cidr of rangeToCidrs({ start: start6, end: end6 }, 'ipv6')) out.push(formatCidr(cidr, 'ipv6'));
  };
  for (let from = 0; from < text.length; ) {
    let to = text.indexOf('\n', from);
    if (to === -1) to = text.length;
    let end = to;
    if (end > from && text.charCodeAt(end - 1) === 13) end--; // CRLF
    const lineStart = from;
    from = to + 1;
    if (end - lineStart < 5 || text.charCodeAt(lineStart) === 35 /* # */) continue;
    const c2 = text.lastIndexOf(',', end);
    const code = text.slice(c2 + 1, end).trim();
    if (!chosen.has(code)) continue;
    const c1 = text.indexOf(',', lineStart);
    if (c1 === -1 || c1 >= c2) continue;
    lines.set(code, (lines.get(code) ?? 0) + 1);
    if (family === 'ipv4') {
      const a = scanIPv4(text, skipSpace(text, lineStart, c1), trimEnd(text, lineStart, c1));
      const b = scanIPv4(text, skipSpace(text, c1 + 1, c2), trimEnd(text, c1 + 1, c2));
      if (a < 0 || b < 0) continue; // validated data: a bad line was refused when it was stored
      if (a < start4) return null; // not sorted by start: the general path
      if (start4 >= 0 && a <= end4 + 1) {
        if (b > end4) end4 = b;
      } else {
        flush4();
        start4 = a;
        end4 = b;
      }
    } else {
      if (!scanIPv6(text, skipSpace(text, lineStart, c1), trimEnd(text, lineStart, c1), groups)) continue;
      const a = groupsToBigint(groups);
      if (!scanIPv6(text, skipSpace(text, c1 + 1, c2), trimEnd(text, c1 + 1, c2), groups)) continue;
      const b = groupsToBigint(groups);
      if (a < lastStart6) return null; // not sorted by start: the general path
      lastStart6 = a;
      if (start6 >= 0n && a <= end6 + 1n) {
        if (b > end6) end6 = b;
      } else {
        flush6();
        start6 = a;
        end6 = b;
      }
    }
  }
  if (family === 'ipv4') flush4();
  else flush6();
  return { cidrs: out, lines };
}

/** Cuts [start, end] (IPv4, numbers) into aligned blocks, largest first, as a.b.c.d/n. */
function emitV4(start: number, end: number, out: string[]): void {
  let at = start;
  while (at <= end) {
    // The largest block aligned at `at` that does not pass `end`.
    let size = at === 0 ? 2 ** 32 : 1;
    if (at !== 0) while (at % (size * 2) === 0 && size * 2 <= 2 ** 32) size *= 2;
    while (at + size - 1 > end) size /= 2;
    const prefix = 32 - Math.log2(size);
    out.push(`${Math.floor(at / 16777216) % 256}.${Math.floor(at / 65536) % 256}.${Math.floor(at / 256) % 256}.${at % 256}/${prefix}`);
    at += size;
  }
}

function skipSpace(s: string, from: number, to: number): number {
  while (from < to && (s.charCodeAt(from) === 32 || s.charCodeAt(from) === 9)) from++;
  return from;
}

function trimEnd(s: string, from: number, to: number): number {
  while (to > from && (s.charCodeAt(to - 1) === 32 || s.charCodeAt(to - 1) === 9)) to--;
  return to;
}
