// The country data as an index, and the compile that runs on it.
//
// The CSVs are half a million lines; parsing them is most of the cost of a compile, and it gives the
// same numbers every time. So they are parsed once per data version into an index: per family, every
// range's start and end as 32-bit words (1 for IPv4, 4 for IPv6, most significant first), sorted by
// start, and the range's country as a number. The shipped data's index is built with the bundle
// (scripts/build.mjs); an update's is written by `geoblock update` next to the CSVs; anything else is
// built on first use and kept in <state-dir>/geo (see source.ts).
//
// A compile is then one pass per family over typed arrays: skip other countries, merge what
// overlaps or touches (the index is sorted by start), cut each merged range into aligned blocks,
// largest first. No BigInt, no substrings: IPv6 is done on four words.
//
// The general path (parse into Range objects, mergeRanges, aggregate in cidr.ts) stays the reference:
// the tests prove this one equal to it on the shipped data and on random data.
import { scanIPv4, scanIPv6, type Family } from './cidr.js';

export interface FamilyIndex {
  /** Per range, start words then end words: 2 words per range for IPv4, 8 for IPv6. */
  readonly words: Uint32Array;
  /** Per range, its country: an index into GeoIndex.codes. */
  readonly country: Uint16Array;
  readonly count: number;
}

export interface GeoIndex {
  /** Country codes, sorted; FamilyIndex.country points into this. */
  readonly codes: readonly string[];
  readonly ipv4: FamilyIndex;
  readonly ipv6: FamilyIndex;
  /** What the index was built from (source.ts checks it before use). */
  readonly stamp: string;
}

const WIDTH: Record<Family, 1 | 4> = { ipv4: 1, ipv6: 4 };

// ---------------------------------------------------------------------------------------------
// Building

/** Parses both CSVs (data already validated when it was stored: lines that do not scan are skipped). */
export function buildIndex(texts: Record<Family, string>, stamp: string): GeoIndex {
  const codeIds = new Map<string, number>();
  const rows: Record<Family, { words: number[]; codes: string[] }> = { ipv4: { words: [], codes: [] }, ipv6: { words: [], codes: [] } };
  for (const family of ['ipv4', 'ipv6'] as const) scanCsv(texts[family], family, rows[family]);
  const codes = [...new Set([...rows.ipv4.codes, ...rows.ipv6.codes])].sort();
  codes.forEach((code, i) => codeIds.set(code, i));
  const make = (family: Family): FamilyIndex => {
    const { words, codes: rowCodes } = rows[family];
    const stride = 2 * WIDTH[family];
    const count = rowCodes.length;
    const out = new Uint32Array(words);
    const country = new Uint16Array(count);
    for (let i = 0; i < count; i++) country[i] = codeIds.get(rowCodes[i]!)!;
    return sortByStart({ words: out, country, count }, stride);
  };
  return { codes, ipv4: make('ipv4'), ipv6: make('ipv6'), stamp };
}

function scanCsv(text: string, family: Family, into: { words: number[]; codes: string[] }): void {
  const groups = new Uint16Array(8);
  for (let from = 0; from < text.length; ) {
    let to = text.indexOf('\n', from);
    if (to === -1) to = text.length;
    let end = to;
    if (end > from && text.charCodeAt(end - 1) === 13) end--; // CRLF
    const lineStart = from;
    from = to + 1;
    if (end - lineStart < 5 || text.charCodeAt(lineStart) === 35 /* # */) continue;
    const c1 = text.indexOf(',', lineStart);
    const c2 = text.lastIndexOf(',', end);
    if (c1 === -1 || c1 >= c2) continue;
    const code = text.slice(c2 + 1, end).trim();
    const a0 = skipSpace(text, lineStart, c1);
    const a1 = trimEnd(text, lineStart, c1);
    const b0 = skipSpace(text, c1 + 1, c2);
    const b1 = trimEnd(text, c1 + 1, c2);
    if (family === 'ipv4') {
      const a = scanIPv4(text, a0, a1);
      const b = scanIPv4(text, b0, b1);
      if (a < 0 || b < 0 || b < a) continue;
      into.words.push(a, b);
    } else {
      if (!scanIPv6(text, a0, a1, groups)) continue;
      const a = toWords(groups);
      if (!scanIPv6(text, b0, b1, groups)) continue;
      const b = toWords(groups);
      if (compareAt(b, 0, a, 0, 4) < 0) continue;
      into.words.push(a[0]!, a[1]!, a[2]!, a[3]!, b[0]!, b[1]!, b[2]!, b[3]!);
    }
    into.codes.push(code);
  }
}

function toWords(g: Uint16Array): number[] {
  return [((g[0]! << 16) | g[1]!) >>> 0, ((g[2]! << 16) | g[3]!) >>> 0, ((g[4]! << 16) | g[5]!) >>> 0, ((g[6]! << 16) | g[7]!) >>> 0];
}

/** ip-location-db's files are sorted by start already; other data is sorted here (stable). */
function sortByStart(index: FamilyIndex, stride: number): FamilyIndex {
  const width = stride / 2;
  const { words, country, count } = index;
  let sorted = true;
  for (let i = 1; i < count && sorted; i++) if (compareAt(words, i * stride, words, (i - 1) * stride, width) < 0) sorted = false;
  if (sorted) return index;
  const order = Array.from({ length: count }, (_, i) => i).sort((x, y) => compareAt(words, x * stride, words, y * stride, width) || x - y);
  const outWords = new Uint32Array(words.length);
  const outCountry = new Uint16Array(count);
  order.forEach((from, to) => {
    outWords.set(words.subarray(from * stride, from * stride + stride), to * stride);
    outCountry[to] = country[from]!;
  });
  return { words: outWords, country: outCountry, count };
}

/** Compares `width` words at a[i..] and b[j..], most significant first. */
function compareAt(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, width: number): number {
  for (let k = 0; k < width; k++) {
    const x = a[i + k]!;
    const y = b[j + k]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// On disk: "BWGEOIX1", a little-endian u32 header length, the JSON header, padding to 4 bytes, then
// the arrays in the machine's byte order (the header records it; an index from another byte order
// is not used).

const MAGIC = 'BWGEOIX1';

export function serializeIndex(index: GeoIndex): Buffer {
  const header = Buffer.from(JSON.stringify({ format: 1, stamp: index.stamp, codes: index.codes, ipv4: index.ipv4.count, ipv6: index.ipv6.count, littleEndian: LITTLE_ENDIAN }));
  const headerEnd = 12 + header.length;
  const pad = (4 - (headerEnd % 4)) % 4;
  const parts = [Buffer.from(MAGIC), u32le(header.length), header, Buffer.alloc(pad)];
  for (const part of [index.ipv4.words, index.ipv6.words, index.ipv4.country, index.ipv6.country]) parts.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  return Buffer.concat(parts);
}

/** The index in `data`, or null when it is not one, is damaged, or was built from other data. */
export function deserializeIndex(data: Buffer, stamp: string): GeoIndex | null {
  if (data.length < 12 || data.toString('latin1', 0, 8) !== MAGIC) return null;
  const headerLength = data.readUInt32LE(8);
  let header: { format: number; stamp: string; codes: string[]; ipv4: number; ipv6: number; littleEndian: boolean };
  try {
    header = JSON.parse(data.toString('utf8', 12, 12 + headerLength)) as typeof header;
  } catch {
    return null;
  }
  if (header.format !== 1 || header.stamp !== stamp || header.littleEndian !== LITTLE_ENDIAN || !Array.isArray(header.codes)) return null;
  let at = 12 + headerLength;
  at += (4 - (at % 4)) % 4;
  const n4 = header.ipv4;
  const n6 = header.ipv6;
  const expected = at + (n4 * 2 + n6 * 8) * 4 + (n4 + n6) * 2;
  if (data.length !== expected) return null;
  // Typed arrays need their offset aligned to their element size: copy when it is not.
  const bytes = data.byteOffset % 4 === 0 ? data : Buffer.from(data);
  const base = bytes.byteOffset;
  const words4 = new Uint32Array(bytes.buffer, base + at, n4 * 2);
  at += n4 * 8;
  const words6 = new Uint32Array(bytes.buffer, base + at, n6 * 8);
  at += n6 * 32;
  const country4 = new Uint16Array(bytes.buffer, base + at, n4);
  at += n4 * 2;
  const country6 = new Uint16Array(bytes.buffer, base + at, n6);
  for (const country of [country4, country6]) for (let i = 0; i < country.length; i++) if (country[i]! >= header.codes.length) return null;
  return { codes: header.codes, stamp, ipv4: { words: words4, country: country4, count: n4 }, ipv6: { words: words6, country: country6, count: n6 } };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Compiling

export interface IndexCompile {
  /** Minimal CIDRs covering the chosen countries' ranges, sorted by address. */
  readonly entries: Record<Family, string[]>;
  /** Data lines per chosen country and family (the wizard's "ranges" figure). */
  readonly lines: Map<string, Record<Family, number>>;
}

/** The set entries for the chosen countries (codes the data does not have are counted as 0 lines). */
export function compileIndex(index: GeoIndex, chosen: ReadonlySet<string>): IndexCompile {
  const sinks = { ipv4: new ListSink(), ipv6: new ListSink() };
  const work = compiling(index, chosen, sinks);
  for (let step = work.next(); ; step = work.next()) if (step.done) return { entries: { ipv4: sinks.ipv4.list, ipv6: sinks.ipv6.list }, lines: step.value };
}

/** A family's entries as `ipset restore` text, one copy per set name (see compileIndexText). */
export interface SetTexts {
  /** The networks (CIDRs) the set will hold. */
  readonly count: number;
  /** Per name given: "add NAME cidr\n" for every entry, as bytes (ASCII); for the IPv4 names in
   *  ipv4RangesFor, "add NAME first-last\n" for every merged range instead (TextSink.v4Range). */
  readonly texts: readonly Buffer[];
  /** IPv4: the merged ranges (first, last address; in address order), whatever the texts' form. */
  readonly ranges: Uint32Array;
}

/**
 * What compileIndex computes, written straight into the `add` lines of each set name given, as
 * bytes: no string per network (175,000 of them for "all but one country", and their garbage),
 * no joins; IPv4 as ranges for the names asked (TextSink.v4Range). Loaded, a set holds exactly
 * compileIndex's entries either way (the unit tests hold the two paths to that). Hands the event loop back every few
 * milliseconds: an apply compiles while it detects, and the detection's programs (iptables-save,
 * sshd -T, ...) keep being started and read in between instead of waiting for the whole compile.
 */
export async function compileIndexText(
  index: GeoIndex,
  chosen: ReadonlySet<string>,
  names: Record<Family, readonly string[]>,
  options: { ipv4RangesFor?: ReadonlySet<string> } = {},
): Promise<{ sets: Record<Family, SetTexts>; lines: Map<string, Record<Family, number>> }> {
  const sinks = { ipv4: new TextSink(names.ipv4, options.ipv4RangesFor ?? new Set()), ipv6: new TextSink(names.ipv6, new Set()) };
  const work = compiling(index, chosen, sinks);
  for (let step = work.next(); ; step = work.next()) {
    if (step.done) return { sets: { ipv4: sinks.ipv4.result(), ipv6: sinks.ipv6.result() }, lines: step.value };
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Where the compile puts what it merged: each IPv4 range whole (cut into CIDRs by emitV4 where
 *  the sink wants CIDRs), each IPv6 network as its first address and prefix length. */
interface Sink {
  v4Range(start: number, end: number): void;
  v6(address: Uint32Array, prefix: number): void;
}

/** Takes the IPv4 CIDRs emitV4 cuts a range into. */
interface V4Blocks {
  v4(address: number, prefix: number): void;
}

class ListSink implements Sink, V4Blocks {
  readonly list: string[] = [];
  v4Range(start: number, end: number): void {
    emitV4(start, end, this);
  }
  v4(at: number, prefix: number): void {
    this.list.push(OCTETS[at >>> 24] + '.' + OCTETS[(at >>> 16) & 255] + '.' + OCTETS[(at >>> 8) & 255] + '.' + OCTETS[at & 255] + PREFIXES[prefix]);
  }
  v6(at: Uint32Array, prefix: number): void {
    this.list.push(formatV6(at) + PREFIXES[prefix]);
  }
}

/** Sums the addresses of what it is given (countryAddresses). */
class AddressSink implements Sink {
  ipv6 = 0n;
  // A number holds any sum of IPv4 addresses exactly.
  private v4Total = 0;
  get ipv4(): bigint {
    return BigInt(this.v4Total);
  }
  v4Range(start: number, end: number): void {
    this.v4Total += end - start + 1;
  }
  v6(_at: Uint32Array, prefix: number): void {
    this.ipv6 += 1n << BigInt(128 - prefix);
  }
}

class TextSink implements Sink, V4Blocks {
  private count = 0;
  private readonly heads: Uint8Array[];
  private readonly outs: { bytes: Uint8Array; length: number }[];
  /** Per name: does it take IPv4 as ranges (v4Range)? */
  private readonly ranged: boolean[];
  /** The merged IPv4 ranges, first and last address each. */
  private ranges = new Uint32Array(0);
  private rangeCount = 0;
  constructor(names: readonly string[], rangeNames: ReadonlySet<string>) {
    this.heads = names.map((name) => Uint8Array.from(Buffer.from(`add ${name} `, 'latin1')));
    this.outs = names.map(() => ({ bytes: new Uint8Array(1 << 20), length: 0 }));
    this.ranged = names.map((name) => rangeNames.has(name));
  }
  /** The line's CIDR is written once (into `line`) and copied after each name's head. */
  private readonly line = new Uint8Array(64);
  private lineLength = 0;
  private byte(code: number): void {
    this.line[this.lineLength++] = code;
  }
  private decimal(value: number): void {
    if (value >= 100) this.byte(48 + Math.floor(value / 100));
    if (value >= 10) this.byte(48 + (Math.floor(value / 10) % 10));
    this.byte(48 + (value % 10));
  }
  /** Ends the line and copies it after the head of every name (ranged: only those that take
   *  ranges, or only those that do not; null: all). */
  private flush(ranged: boolean | null): void {
    this.byte(10);
    const line = this.line;
    const lineLength = this.lineLength;
    for (let k = 0; k < this.outs.length; k++) {
      if (ranged !== null && this.ranged[k] !== ranged) continue;
      const out = this.outs[k]!;
      const head = this.heads[k]!;
      if (out.length + head.length + lineLength > out.bytes.length) {
        const grown = new Uint8Array(out.bytes.length * 2);
        grown.set(out.bytes.subarray(0, out.length));
        out.bytes = grown;
      }
      // Byte by byte in JS: a native copy per line (Buffer.copy, set) costs more than the bytes.
      const bytes = out.bytes;
      let at = out.length;
      for (let i = 0; i < head.length; i++) bytes[at++] = head[i]!;
      for (let i = 0; i < lineLength; i++) bytes[at++] = line[i]!;
      out.length = at;
    }
    this.lineLength = 0;
  }
  private address(at: number): void {
    this.decimal(at >>> 24);
    this.byte(46);
    this.decimal((at >>> 16) & 255);
    this.byte(46);
    this.decimal((at >>> 8) & 255);
    this.byte(46);
    this.decimal(at & 255);
  }
  v4(at: number, prefix: number): void {
    this.address(at);
    this.byte(47);
    this.decimal(prefix);
    this.flush(false);
    this.count++;
  }
  /**
   * A merged IPv4 range: as one line "first-last" for the names that take ranges — the set being
   * loaded: hash:net cuts it into the same minimal CIDRs itself (revision 1 on: kernel 3.1, RHEL 6),
   * and `ipset restore` parses a third of the lines, about half its time for "all but one country"
   * — and as its CIDRs for the others (the boot file, in `ipset save`'s form). The count is that of
   * the CIDRs either way: the set's size, its limit, what verify reads back. (IPv6 ranges are not
   * accepted by hash:net: IPv6 goes as CIDRs everywhere.)
   */
  v4Range(start: number, end: number): void {
    if (this.rangeCount * 2 === this.ranges.length) {
      const grown = new Uint32Array(Math.max(1024, this.ranges.length * 2));
      grown.set(this.ranges);
      this.ranges = grown;
    }
    this.ranges[this.rangeCount * 2] = start;
    this.ranges[this.rangeCount * 2 + 1] = end;
    this.rangeCount++;
    if (this.ranged.includes(true)) {
      this.address(start);
      this.byte(45);
      this.address(end);
      this.flush(true);
    }
    if (this.ranged.includes(false)) emitV4(start, end, this);
    else {
      const counter = { blocks: 0, v4: () => void counter.blocks++ };
      emitV4(start, end, counter);
      this.count += counter.blocks;
    }
  }
  private hex(value: number): void {
    // Lower-case, no leading zeros (inet_ntop's form).
    let shift = value >= 0x1000 ? 12 : value >= 0x100 ? 8 : value >= 0x10 ? 4 : 0;
    for (; shift >= 0; shift -= 4) {
      const digit = (value >>> shift) & 15;
      this.byte(digit < 10 ? 48 + digit : 87 + digit);
    }
  }
  v6(at: Uint32Array, prefix: number): void {
    // formatV6's text, written as bytes (no string per network).
    const { bestStart, bestLength, dotted } = zeroRun(at);
    const last = dotted ? 6 : 8;
    let wrote = false;
    for (let k = 0; k < last; k++) {
      if (k === bestStart) {
        this.byte(58);
        this.byte(58);
        k += bestLength - 1;
        wrote = false;
        continue;
      }
      if (wrote) this.byte(58);
      this.hex(groups[k]!);
      wrote = true;
    }
    if (dotted) {
      if (wrote) this.byte(58);
      this.address(at[3]!);
    }
    this.byte(47);
    this.decimal(prefix);
    this.flush(null);
    this.count++;
  }
  result(): SetTexts {
    return { count: this.count, texts: this.outs.map((out) => Buffer.from(out.bytes.buffer, 0, out.length)), ranges: this.ranges.subarray(0, this.rangeCount * 2) };
  }
}

/** Ranges looked at between two yields: a few milliseconds of work. */
const SLICE = 32_768;

/** Merges the chosen countries' ranges, cuts them into CIDRs for the sinks; returns the line counts. */
function* compiling(index: GeoIndex, chosen: ReadonlySet<string>, sinks: Record<Family, Sink>): Generator<void, Map<string, Record<Family, number>>, void> {
  const mask = new Uint8Array(index.codes.length);
  index.codes.forEach((code, i) => (mask[i] = chosen.has(code) ? 1 : 0));
  const counts4 = new Uint32Array(index.codes.length);
  const counts6 = new Uint32Array(index.codes.length);
  yield* compileV4(index.ipv4, mask, counts4, sinks.ipv4);
  yield* compileV6(index.ipv6, mask, counts6, sinks.ipv6);
  const lines = new Map<string, Record<Family, number>>();
  for (const code of chosen) {
    const id = index.codes.indexOf(code);
    lines.set(code, { ipv4: id < 0 ? 0 : counts4[id]!, ipv6: id < 0 ? 0 : counts6[id]! });
  }
  return lines;
}

/** Addresses a country holds, per family (its ranges merged, so overlaps count once). */
export function countryAddresses(index: GeoIndex, code: string): Record<Family, bigint> {
  const sink = new AddressSink();
  const work = compiling(index, new Set([code]), { ipv4: sink, ipv6: sink });
  while (!work.next().done);
  return { ipv4: sink.ipv4, ipv6: sink.ipv6 };
}

// The merges below run a slice of the ranges per call, in plain functions: V8 cannot move a long
// loop inside a generator to optimized code while it runs (no on-stack replacement there), and a
// first, cold compile would crawl through the whole index in the interpreter.

function* compileV4(family: FamilyIndex, mask: Uint8Array, counts: Uint32Array, out: Sink): Generator<void, void, void> {
  const state = { start: -1, end: -1 };
  for (let from = 0; from < family.count; from += SLICE) {
    mergeV4(family, mask, counts, out, state, from, Math.min(family.count, from + SLICE));
    yield;
  }
  if (state.start >= 0) out.v4Range(state.start, state.end);
}

function mergeV4(family: FamilyIndex, mask: Uint8Array, counts: Uint32Array, out: Sink, state: { start: number; end: number }, from: number, to: number): void {
  const { words, country } = family;
  let { start, end } = state;
  for (let i = from; i < to; i++) {
    const c = country[i]!;
    if (mask[c] === 0) continue;
    counts[c] = counts[c]! + 1;
    const a = words[i * 2]!;
    const b = words[i * 2 + 1]!;
    // Numbers hold 2^32 exactly, so end + 1 never wraps.
    if (start >= 0 && a <= end + 1) {
      if (b > end) end = b;
    } else {
      if (start >= 0) out.v4Range(start, end);
      start = a;
      end = b;
    }
  }
  state.start = start;
  state.end = end;
}

/** Cuts [start, end] into aligned blocks, largest first. */
function emitV4(start: number, end: number, out: V4Blocks): void {
  let at = start;
  while (at <= end) {
    // The largest block aligned at `at` (its trailing zero bits) that does not pass `end` (the
    // highest power of two in the addresses left).
    const left = end - at + 1;
    const fits = left >= 2 ** 32 ? 32 : 31 - Math.clz32(left);
    const aligned = at === 0 ? 32 : 31 - Math.clz32(at & -at);
    const bits = aligned < fits ? aligned : fits;
    out.v4(at, 32 - bits);
    at += 2 ** bits;
  }
}

const OCTETS = Array.from({ length: 256 }, (_, i) => String(i));
const PREFIXES = Array.from({ length: 129 }, (_, i) => `/${i}`);

function* compileV6(family: FamilyIndex, mask: Uint8Array, counts: Uint32Array, out: Sink): Generator<void, void, void> {
  const state = { start: new Uint32Array(4), end: new Uint32Array(4), open: false };
  for (let from = 0; from < family.count; from += SLICE / 4) {
    mergeV6(family, mask, counts, out, state, from, Math.min(family.count, from + SLICE / 4));
    yield;
  }
  if (state.open) emitV6(state.start, state.end, out);
}

function mergeV6(family: FamilyIndex, mask: Uint8Array, counts: Uint32Array, out: Sink, state: { start: Uint32Array; end: Uint32Array; open: boolean }, from: number, to: number): void {
  const { words, country } = family;
  const { start, end } = state;
  let open = state.open;
  for (let i = from; i < to; i++) {
    const c = country[i]!;
    if (mask[c] === 0) continue;
    counts[c] = counts[c]! + 1;
    const at = i * 8;
    // (Word by word: a subarray() per range would be 400,000 short-lived objects.)
    if (open && touchesAt(words, at, end)) {
      if (compareAt(words, at + 4, end, 0, 4) > 0) for (let k = 0; k < 4; k++) end[k] = words[at + 4 + k]!;
    } else {
      if (open) emitV6(start, end, out);
      for (let k = 0; k < 4; k++) {
        start[k] = words[at + k]!;
        end[k] = words[at + 4 + k]!;
      }
      open = true;
    }
  }
  state.open = open;
}

/** Does the range whose start is words[at..at+4) overlap or directly follow one ending at `end`? */
function touchesAt(words: Uint32Array, at: number, end: Uint32Array): boolean {
  if (compareAt(words, at, end, 0, 4) <= 0) return true;
  // words[at..] === end + 1: the words below the first one that differs are 0 in start and all
  // ones in end, and that word is one more.
  for (let k = 3; k >= 0; k--) {
    if (end[k] !== 0xffff_ffff) {
      if (words[at + k] !== end[k]! + 1) return false;
      for (let j = 0; j < k; j++) if (words[at + j] !== end[j]) return false;
      for (let j = k + 1; j < 4; j++) if (words[at + j] !== 0) return false;
      return true;
    }
  }
  return false; // end is the last address
}

const last = new Uint32Array(4);

/** Cuts [start, end] (4 words each) into aligned blocks, largest first. `start` is used up. */
function emitV6(start: Uint32Array, end: Uint32Array, out: Sink): void {
  const at = start;
  for (;;) {
    // The largest block aligned at `at` that does not pass `end`: the lesser of at's trailing zero
    // bits and the highest power of two in the addresses left (end - at + 1).
    const aligned = trailingZeros128(at);
    const fits = log2AddressesLeft(at, end);
    const bits = aligned < fits ? aligned : fits;
    out.v6(at, 128 - bits);
    // Its last address: at with the low `bits` bits set.
    for (let k = 0; k < 4; k++) {
      const low = bits - (3 - k) * 32; // how many of this word's bits are among the lowest `bits`
      last[k] = low <= 0 ? at[k]! : low >= 32 ? 0xffff_ffff : (at[k]! | ((2 ** low - 1) >>> 0)) >>> 0;
    }
    if (compareAt(last, 0, end, 0, 4) === 0) return;
    // Next block: the last address + 1 (it cannot wrap: that would mean end was passed).
    at.set(last);
    for (let k = 3; k >= 0; k--) {
      at[k] = (at[k]! + 1) >>> 0;
      if (at[k] !== 0) break;
    }
  }
}

const left = new Uint32Array(4);

/** floor(log2(end - at + 1)), end >= at: 128 when the range is the whole space. */
function log2AddressesLeft(at: Uint32Array, end: Uint32Array): number {
  // left = end - at, word by word with borrow.
  let borrow = 0;
  for (let k = 3; k >= 0; k--) {
    const d = end[k]! - at[k]! - borrow;
    borrow = d < 0 ? 1 : 0;
    left[k] = d < 0 ? d + 2 ** 32 : d;
  }
  // + 1
  let k = 3;
  for (; k >= 0; k--) {
    left[k] = (left[k]! + 1) >>> 0;
    if (left[k] !== 0) break;
  }
  if (k < 0) return 128; // end - at + 1 = 2^128
  for (let j = 0; j < 4; j++) if (left[j] !== 0) return (3 - j) * 32 + 31 - Math.clz32(left[j]!);
  return 0; // not reached: left >= 1
}

function trailingZeros128(w: Uint32Array): number {
  for (let k = 3; k >= 0; k--) {
    const x = w[k]!;
    if (x !== 0) return (3 - k) * 32 + (31 - Math.clz32(x & -x));
  }
  return 128;
}

const groups = new Array<number>(8);
/** A byte in hex, without and with a leading zero: a group is one or two of them. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** RFC 5952 text, as glibc's inet_ntop writes it (ipset prints it so): the longest run of zero
 *  groups (two or more; the first of equals) becomes "::"; ::a.b.c.d and ::ffff:a.b.c.d keep a
 *  dotted IPv4 tail. Same output as cidr.ts formatAddress. */
function formatV6(w: Uint32Array): string {
  const { bestStart, bestLength, dotted } = zeroRun(w);
  const last = dotted ? 6 : 8;
  let text = '';
  for (let k = 0; k < last; k++) {
    if (k === bestStart) {
      text += '::';
      k += bestLength - 1;
      continue;
    }
    if (text !== '' && text.charCodeAt(text.length - 1) !== 58) text += ':';
    const g = groups[k]!;
    text += g < 256 ? HEX[g] : HEX[g >>> 8]! + HEX2[g & 255];
  }
  if (dotted) {
    if (text.charCodeAt(text.length - 1) !== 58) text += ':';
    const v4 = w[3]!;
    text += `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
  }
  return text;
}

const run = { bestStart: -1, bestLength: 0, dotted: false };

/** Fills `groups` from the address; the run of zero groups "::" stands for (bestStart -1: none),
 *  and whether the address keeps a dotted IPv4 tail. (One object, reused: no garbage.) */
function zeroRun(w: Uint32Array): typeof run {
  for (let k = 0; k < 4; k++) {
    groups[k * 2] = w[k]! >>> 16;
    groups[k * 2 + 1] = w[k]! & 0xffff;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let stop = k;
    while (stop < 8 && groups[stop] === 0) stop++;
    if (stop - k > bestLength) {
      bestStart = k;
      bestLength = stop - k;
    }
    k = stop;
  }
  if (bestLength < 2) bestStart = -1;
  run.bestStart = bestStart;
  run.bestLength = bestLength;
  run.dotted = bestStart === 0 && (bestLength === 6 || (bestLength === 5 && groups[5] === 0xffff));
  return run;
}

function skipSpace(s: string, from: number, to: number): number {
  while (from < to && (s.charCodeAt(from) === 32 || s.charCodeAt(from) === 9)) from++;
  return from;
}

function trimEnd(s: string, from: number, to: number): number {
  while (to > from && (s.charCodeAt(to - 1) === 32 || s.charCodeAt(to - 1) === 9)) to--;
  return to;
}
