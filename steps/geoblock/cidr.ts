/**
 * Addresses, ranges and CIDR blocks for the geo-blocking step. Pure: no I/O, no ipaddr.js.
 *
 * Values are bigint so IPv4 and IPv6 share one code path, but the country data is large
 * (≈334k IPv4 and ≈216k IPv6 lines), so the hot paths are hand-written scanners over a slice of a
 * string (no substrings, no regular expressions) and IPv4 arithmetic is done on plain numbers.
 */

export type Family = 'ipv4' | 'ipv6';

/** An inclusive range of addresses. */
export interface Range {
  readonly start: bigint;
  readonly end: bigint;
}

/** An aligned block: `base` is the network address (its host bits are zero). */
export interface Cidr {
  readonly base: bigint;
  readonly prefix: number;
}

const IPV4_MAX = 0xffff_ffffn;
const IPV6_MAX = (1n << 128n) - 1n;

export function familyBits(family: Family): 32 | 128 {
  return family === 'ipv4' ? 32 : 128;
}

// ---------------------------------------------------------------------------------------------
// Scanners. They read s[from, to) and never allocate; the CSV parser calls them on its big text.

/**
 * Dotted-quad IPv4 in s[from, to) as a number, or -1. Rejects empty parts, parts over 255, anything
 * but digits and dots, and leading zeros ("010"): inet_aton would read those as octal.
 */
export function scanIPv4(s: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9) return -1;
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + d;
      if (part > 255) return -1;
      digits++;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Hex digit values by char code; -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[65 + c] = 10 + c;
  HEX[97 + c] = 10 + c;
}

/**
 * IPv6 text (RFC 4291 §2.2: full, "::"-compressed, or with a dotted IPv4 tail) in s[from, to) into
 * `groups` (8 × 16 bits). Returns false for anything else: two "::", more than 8 groups, a group of
 * more than 4 hex digits, a lone leading or trailing ':', a zone ("%eth0"), or "::" standing in for
 * no group at all (8 explicit groups plus "::", which inet_pton refuses too).
 */
export function scanIPv6(s: string, from: number, to: number, groups: Uint16Array | number[]): boolean {
  let count = 0; // groups read so far
  let gap = -1; // index in groups where "::" stands, or -1
  let i = from;
  if (i >= to) return false;
  if (s.charCodeAt(i) === 58 /* : */) {
    if (i + 1 >= to || s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < to) {
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < to) {
      const c = s.charCodeAt(i);
      const d = c < 128 ? (HEX[c] as number) : -1;
      if (d < 0) break;
      value = (value << 4) | d;
      digits++;
      i++;
    }
    if (i < to && s.charCodeAt(i) === 46 /* . */) {
      // A dotted IPv4 tail takes the last 32 bits and must end the text.
      if (count > 6) return false;
      const v4 = scanIPv4(s, groupStart, to);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = to;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = value;
    if (i === to) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < to && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === to) {
      return false; // a trailing single ':'
    }
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  // Slide the groups after "::" to the end and zero the hole.
  const tail = count - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k] as number;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

const wordView = new DataView(new ArrayBuffer(16));

/** 8 × 16-bit groups to a 128-bit value. Two 64-bit reads beat building it from small BigInts. */
export function groupsToBigint(g: Uint16Array | readonly number[]): bigint {
  for (let k = 0; k < 8; k++) wordView.setUint16(k * 2, g[k] as number);
  const high = wordView.getBigUint64(0) << 64n;
  const low = wordView.getBigUint64(8);
  return low === 0n ? high : high | low;
}

// ---------------------------------------------------------------------------------------------
// Text ⇄ value.

export function parseIPv4(text: string): number | null {
  const value = scanIPv4(text, 0, text.length);
  return value < 0 ? null : value;
}

const scratch = new Uint16Array(8);

export function parseIPv6(text: string): bigint | null {
  return scanIPv6(text, 0, text.length, scratch) ? groupsToBigint(scratch) : null;
}

export function parseAddress(text: string): { family: Family; value: bigint } | null {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === null ? null : { family: 'ipv6', value };
  }
  const value = parseIPv4(text);
  return value === null ? null : { family: 'ipv4', value: BigInt(value) };
}

function checkValue(value: bigint, family: Family): void {
  if (value < 0n || value > (family === 'ipv4' ? IPV4_MAX : IPV6_MAX)) {
    throw new RangeError(`${value} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
  }
}

function formatIPv4Number(n: number): string {
  return `${Math.floor(n / 0x100_0000)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * IPv4 dotted; IPv6 in RFC 5952 form (lowercase, no leading zeros, the longest run of two or more
 * zero groups as "::", the first on a tie). Like glibc's inet_ntop, which `ipset save` prints with,
 * ::ffff:a.b.c.d and the old IPv4-compatible ::a.b.c.d keep a dotted tail.
 */
export function formatAddress(value: bigint, family: Family): string {
  checkValue(value, family);
  if (family === 'ipv4') return formatIPv4Number(Number(value));
  const hex = value.toString(16).padStart(32, '0');
  const g: number[] = [];
  for (let k = 0; k < 32; k += 4) g.push(parseInt(hex.slice(k, k + 4), 16));
  let bestStart = -1;
  let bestLength = 0;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && g[end] === 0) end++;
    if (end - k > bestLength) {
      bestStart = k;
      bestLength = end - k;
    }
    k = end;
  }
  if (bestLength < 2) bestStart = -1;
  // glibc inet_ntop6: a zero run from group 0 of length 6, or 5 followed by ffff, means IPv4 inside.
  const dotted = bestStart === 0 && (bestLength === 6 || (bestLength === 5 && g[5] === 0xffff));
  const last = dotted ? 6 : 8;
  let out = '';
  for (let k = 0; k < last; k++) {
    if (k === bestStart) {
      out += '::';
      k += bestLength - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += (g[k] as number).toString(16);
  }
  if (dotted) {
    if (!out.endsWith(':')) out += ':';
    out += formatIPv4Number(Number(value & IPV4_MAX));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ranges and blocks.

/**
 * mergeRanges for values below 2^32 (every IPv4 list) on 32-bit integers: BigInts are made only for
 * the output, and the sort is a two-pass radix sort (a bigint comparator, or even a native
 * Float64Array sort, costs several times more on ≈330k ranges). Null when a value does not fit.
 */
function mergeSmall(ranges: readonly Range[]): Range[] | null {
  const n = ranges.length;
  // An IPv6 list usually shows at once that it does not fit: skip the allocations.
  if (n > 0 && (ranges[0] as Range).end > IPV4_MAX) return null;
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  let sorted = true;
  let previous = 0;
  for (let k = 0; k < n; k++) {
    const r = ranges[k] as Range;
    // Number() rounds monotonically, so any bigint beyond 2^32 - 1 stays beyond it.
    const start = Number(r.start);
    const end = Number(r.end);
    if (!(start >= 0 && start <= 0xffff_ffff && end >= 0 && end <= 0xffff_ffff)) return null;
    if (end < start) throw backwards(r);
    starts[k] = start;
    ends[k] = end;
    if (start < previous) sorted = false;
    previous = start;
  }
  const order = sorted ? null : radixOrder(starts);
  const merged: Range[] = [];
  let first = -1; // index of the range the current run started with
  let start = 0;
  let end = -2;
  for (let k = 0; k < n; k++) {
    const index = order === null ? k : (order[k] as number);
    const s = starts[index] as number;
    const e = ends[index] as number;
    if (s <= end + 1) {
      if (e > end) end = e;
      continue;
    }
    if (first >= 0) merged.push(run(ranges, first, starts, ends, start, end));
    first = index;
    start = s;
    end = e;
  }
  if (first >= 0) merged.push(run(ranges, first, starts, ends, start, end));
  return merged;
}

/**
 * Indices that order the keys ascending: a stable LSD radix sort on 16-bit digits. The key is
 * `high` (32 bits), or `high` then `low` when `low` is given.
 */
function radixOrder(high: Uint32Array, low?: Uint32Array): Uint32Array {
  const n = high.length;
  let order: Uint32Array | null = null; // null: identity
  let spare: Uint32Array = new Uint32Array(n);
  const counts = new Uint32Array(0x1_0001);
  const passes: [Uint32Array, number][] = [];
  if (low !== undefined) passes.push([low, 0], [low, 16]);
  passes.push([high, 0], [high, 16]);
  for (const [words, shift] of passes) {
    counts.fill(0);
    for (let k = 0; k < n; k++) (counts[(((words[k] as number) >>> shift) & 0xffff) + 1] as number)++;
    for (let d = 1; d <= 0xffff; d++) counts[d] = (counts[d] as number) + (counts[d - 1] as number);
    for (let k = 0; k < n; k++) {
      const index = order === null ? k : (order[k] as number);
      spare[(counts[((words[index] as number) >>> shift) & 0xffff] as number)++] = index;
    }
    const done = spare;
    spare = order ?? new Uint32Array(n);
    order = done;
  }
  return order as Uint32Array;
}

/** The merged run as a Range: the original object when nothing joined it. */
function run(ranges: readonly Range[], first: number, starts: Uint32Array, ends: Uint32Array, start: number, end: number): Range {
  return starts[first] === start && ends[first] === end ? (ranges[first] as Range) : { start: BigInt(start), end: BigInt(end) };
}

function backwards(range: Range): RangeError {
  return new RangeError(`range starts after it ends (${range.start} > ${range.end})`);
}

function compareStart(a: Range, b: Range): number {
  return a.start < b.start ? -1 : a.start > b.start ? 1 : 0;
}

const doubleView = new DataView(new ArrayBuffer(8));

/**
 * A copy sorted by start. Number(bigint) rounds monotonically, and non-negative doubles order like
 * their bit patterns, so a radix sort on those 64 bits orders the ranges except between starts that
 * round to the same double (rare: they share their top 53 bits); only those ties compare bigints.
 */
function sortByStart(ranges: readonly Range[]): Range[] {
  const n = ranges.length;
  const high = new Uint32Array(n);
  const low = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const start = (ranges[k] as Range).start;
    if (start < 0n) return [...ranges].sort(compareStart);
    doubleView.setFloat64(0, Number(start));
    high[k] = doubleView.getUint32(0);
    low[k] = doubleView.getUint32(4);
  }
  const order = radixOrder(high, low);
  const out = new Array<Range>(n);
  for (let k = 0; k < n; k++) out[k] = ranges[order[k] as number] as Range;
  for (let k = 0; k < n; ) {
    const index = order[k] as number;
    let stop = k + 1;
    while (stop < n && high[order[stop] as number] === high[index] && low[order[stop] as number] === low[index]) stop++;
    if (stop - k > 1) {
      const tied = out.slice(k, stop).sort(compareStart);
      for (let t = 0; t < tied.length; t++) out[k + t] = tied[t] as Range;
    }
    k = stop;
  }
  return out;
}

/**
 * Sorted by start, overlapping and touching (end + 1 === start) ranges joined. Input untouched.
 * A range that starts after it ends is a bug: RangeError.
 */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const small = mergeSmall(ranges);
  if (small !== null) return small;
  let sorted = true;
  for (let k = 0; k < ranges.length; k++) {
    const r = ranges[k] as Range;
    if (r.start > r.end) throw backwards(r);
    if (k > 0 && (ranges[k - 1] as Range).start > r.start) sorted = false;
  }
  // One country's data comes sorted, so that case skips the sort.
  const input = sorted ? ranges : sortByStart(ranges);
  const merged: Range[] = [];
  let first = input[0];
  if (first === undefined) return merged;
  let start = first.start;
  let end = first.end;
  for (let k = 1; k < input.length; k++) {
    const r = input[k] as Range;
    if (r.start <= end + 1n) {
      if (r.end > end) end = r.end;
    } else {
      merged.push(start === first.start && end === first.end ? first : { start, end });
      first = r;
      start = r.start;
      end = r.end;
    }
  }
  merged.push(start === first.start && end === first.end ? first : { start, end });
  return merged;
}

/** Bits needed for x (x < 2^129): 0 for 0. */
function bitLength(x: bigint): number {
  let n = 0;
  if (x >= 0x1_0000_0000_0000_0000n) {
    x >>= 64n;
    n += 64;
  }
  if (x >= 0x1_0000_0000n) {
    x >>= 32n;
    n += 32;
  }
  if (x >= 0x1_0000_0000n) {
    // Only 2^128 (a whole-space count) gets here.
    x >>= 32n;
    n += 32;
  }
  return n + 32 - Math.clz32(Number(x));
}

function checkRange(range: Range, family: Family): void {
  checkValue(range.start, family);
  checkValue(range.end, family);
  if (range.start > range.end) throw backwards(range);
}

/** IPv4 cover on numbers: the hot path for the ≈334k IPv4 lines. */
function pushIPv4Cidrs(start: number, end: number, out: Cidr[]): void {
  let s = start;
  const stop = end + 1; // ≤ 2^32, exact in a double
  while (s < stop) {
    // The largest block aligned at s: its low set bit (s = 0 is aligned to everything)...
    let k = s === 0 ? 32 : 31 - Math.clz32(s & -s);
    // ...that still fits in what is left.
    const left = stop - s;
    const fit = left >= 0x1_0000_0000 ? 32 : 31 - Math.clz32(left);
    if (fit < k) k = fit;
    out.push({ base: BigInt(s), prefix: 32 - k });
    s += 2 ** k;
  }
}

function pushIPv6Cidrs(start: bigint, end: bigint, out: Cidr[]): void {
  let s = start;
  const stop = end + 1n;
  while (s < stop) {
    let k = s === 0n ? 128 : bitLength(s & -s) - 1;
    const fit = bitLength(stop - s) - 1;
    if (fit < k) k = fit;
    out.push({ base: s, prefix: 128 - k });
    s += 1n << BigInt(k);
  }
}

/**
 * The fewest aligned blocks that cover exactly the range, ascending. Greedy from the start is
 * optimal: each step takes the largest block that is aligned at the cursor and does not overshoot.
 */
export function rangeToCidrs(range: Range, family: Family): Cidr[] {
  checkRange(range, family);
  const out: Cidr[] = [];
  if (family === 'ipv4') pushIPv4Cidrs(Number(range.start), Number(range.end), out);
  else pushIPv6Cidrs(range.start, range.end, out);
  return out;
}

/** Merge, then cover: the smallest sorted list of blocks for the union of the ranges. */
export function aggregate(ranges: readonly Range[], family: Family): Cidr[] {
  const out: Cidr[] = [];
  for (const range of mergeRanges(ranges)) {
    checkRange(range, family);
    if (family === 'ipv4') pushIPv4Cidrs(Number(range.start), Number(range.end), out);
    else pushIPv6Cidrs(range.start, range.end, out);
  }
  return out;
}

export function formatCidr(cidr: Cidr, family: Family): string {
  return `${formatAddress(cidr.base, family)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr, family: Family): bigint {
  return 1n << BigInt(familyBits(family) - cidr.prefix);
}

/** The inclusive range a block covers. */
export function cidrRange(cidr: Cidr, family: Family): Range {
  return { start: cidr.base, end: cidr.base + cidrSize(cidr, family) - 1n };
}

/**
 * "10.1.2.3/8" → 10.0.0.0/8 (host bits cleared). A bare address is a host block (/32, /128), because
 * `ipset save` prints hash:net members of full length without a suffix.
 */
export function parseCidr(text: string): { family: Family; cidr: Cidr } | null {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  const bits = familyBits(address.family);
  let prefix: number = bits;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(digits)) return null;
    prefix = Number(digits);
    if (prefix > bits) return null;
  }
  const hostBits = BigInt(bits - prefix);
  const base = (address.value >> hostBits) << hostBits;
  return { family: address.family, cidr: { base, prefix } };
}
