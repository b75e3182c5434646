/**
 * The country CSV of @ip-location-db/geo-whois-asn-country (`start,end,CC`, inclusive ranges, one
 * file per family). Pure: the caller reads the file. A hand scanner, because the files hold ≈550k
 * lines and the wizard parses them while the admin waits.
 */
import { groupsToBigint, mergeRanges, scanIPv4, scanIPv6, type Range } from './cidr.js';

// Local bindings for the per-line calls: module loaders that rewrite imports into property reads
// (vitest, tsx) would otherwise pay a lookup on every call.
const scan4 = scanIPv4;
const scan6 = scanIPv6;
const toBigint = groupsToBigint;

export class GeoDataError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${source} line ${line}: ${reason}`);
    this.name = 'GeoDataError';
  }
}

export interface CountryRanges {
  /** Ranges per country code, in file order (the data is sorted by start; see mergeRanges). */
  readonly ipv4: Map<string, Range[]>;
  readonly ipv6: Map<string, Range[]>;
  /** Data lines of each family read, kept or not. */
  readonly lines: { ipv4: number; ipv6: number };
}

export interface ParseOptions {
  /** Keep ranges only for these codes. */
  readonly only?: ReadonlySet<string>;
  /** With `only`: skip other countries' lines without reading their addresses (data already checked). */
  readonly trusted?: boolean;
}

const SPACE = 32;
const TAB = 9;
const COMMA = 44;
const HASH = 35;
const CR = 13;
const LF = 10;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

interface Country {
  readonly code: string;
  readonly keep: boolean;
  ipv4: Range[] | undefined;
  ipv6: Range[] | undefined;
}

/**
 * Parses the CSV. Both families may be mixed in one text; blank lines and '#' comments are skipped;
 * spaces or tabs around fields and CRLF line ends are tolerated. Every other line must be
 * `start,end,CC` with two addresses of one family, start ≤ end, and CC two capital letters. The text
 * must end with a newline, so a download cut mid-line is refused. A bad line throws GeoDataError
 * naming its 1-based line number.
 */
export function parseCountryCsv(text: string, source: string, options: ParseOptions = {}): CountryRanges {
  const only = options.only;
  const skipUnread = only !== undefined && options.trusted === true;
  const ipv4 = new Map<string, Range[]>();
  const ipv6 = new Map<string, Range[]>();
  const lines = { ipv4: 0, ipv6: 0 };
  // Country state by the code's two letters (26 × 26), so a line costs no substring or Map lookup.
  const countries: (Country | undefined)[] = new Array<Country | undefined>(676);
  const startGroups = new Uint16Array(8);
  const endGroups = new Uint16Array(8);

  const length = text.length;
  let lineNumber = 0;
  let position = 0;

  while (position < length) {
    lineNumber++;
    let lineEnd = text.indexOf('\n', position);
    if (lineEnd < 0) fail(source, lineNumber, 'truncated: the last line has no end');
    const next = lineEnd + 1;
    if (lineEnd > position && text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
    let a = position;
    position = next;
    while (a < lineEnd && isBlank(text.charCodeAt(a))) a++;
    if (a === lineEnd || text.charCodeAt(a) === HASH) continue;
    let z = lineEnd;
    while (isBlank(text.charCodeAt(z - 1))) z--;

    // The code is the last two characters: read it first, so skipped lines cost almost nothing.
    const c1 = text.charCodeAt(z - 2);
    const c2 = text.charCodeAt(z - 1);
    let country: Country | undefined;
    if (z - a >= 2 && isUpper(c1) && isUpper(c2)) {
      const key = (c1 - 65) * 26 + (c2 - 65);
      country = countries[key];
      if (country === undefined) {
        const code = String.fromCharCode(c1, c2);
        country = { code, keep: only === undefined || only.has(code), ipv4: undefined, ipv6: undefined };
        countries[key] = country;
      }
    }
    if (skipUnread && (country === undefined || !country.keep)) {
      // Still count the line's family: an IPv6 address has a ':' within its first five characters.
      let v6 = false;
      for (let k = a; k < a + 5 && k < z; k++) {
        const c = text.charCodeAt(k);
        if (c === 58) v6 = true;
        if (c === 58 || c === 46) break;
      }
      if (v6) lines.ipv6++;
      else lines.ipv4++;
      continue;
    }

    // Fields: start , end , CC.
    const comma1 = text.indexOf(',', a);
    const comma2 = comma1 < 0 || comma1 >= z ? -1 : text.indexOf(',', comma1 + 1);
    if (comma2 < 0 || comma2 >= z || text.lastIndexOf(',', z - 1) !== comma2) {
      fail(source, lineNumber, `expected 3 fields "start,end,CC", found ${fieldCount(text, a, z)}: "${text.slice(a, z)}"`);
    }
    let startEnd = comma1;
    while (startEnd > a && isBlank(text.charCodeAt(startEnd - 1))) startEnd--;
    let endFrom = comma1 + 1;
    while (endFrom < comma2 && isBlank(text.charCodeAt(endFrom))) endFrom++;
    let endEnd = comma2;
    while (endEnd > endFrom && isBlank(text.charCodeAt(endEnd - 1))) endEnd--;
    let codeFrom = comma2 + 1;
    while (codeFrom < z && isBlank(text.charCodeAt(codeFrom))) codeFrom++;
    if (country === undefined || z - codeFrom !== 2) {
      fail(source, lineNumber, `country code "${text.slice(codeFrom, z)}" is not two capital letters`);
    }

    const startV6 = isIPv6Field(text, a, startEnd);
    const endV6 = isIPv6Field(text, endFrom, endEnd);
    if (startV6 !== endV6) {
      fail(source, lineNumber, `start "${text.slice(a, startEnd)}" and end "${text.slice(endFrom, endEnd)}" are not of the same family`);
    }
    if (!startV6) {
      const start = scan4(text, a, startEnd);
      if (start < 0) fail(source, lineNumber, `bad IPv4 start address "${text.slice(a, startEnd)}"`);
      const end = scan4(text, endFrom, endEnd);
      if (end < 0) fail(source, lineNumber, `bad IPv4 end address "${text.slice(endFrom, endEnd)}"`);
      if (end < start) fail(source, lineNumber, `end ${text.slice(endFrom, endEnd)} is before start ${text.slice(a, startEnd)}`);
      lines.ipv4++;
      if (country.keep) {
        let list = country.ipv4;
        if (list === undefined) {
          list = country.ipv4 = [];
          ipv4.set(country.code, list);
        }
        list.push({ start: BigInt(start), end: BigInt(end) });
      }
    } else {
      if (!scan6(text, a, startEnd, startGroups)) fail(source, lineNumber, `bad IPv6 start address "${text.slice(a, startEnd)}"`);
      if (!scan6(text, endFrom, endEnd, endGroups)) fail(source, lineNumber, `bad IPv6 end address "${text.slice(endFrom, endEnd)}"`);
      // Compare group by group: a line we do not keep never becomes a bigint.
      for (let k = 0; k < 8; k++) {
        const s = startGroups[k] as number;
        const e = endGroups[k] as number;
        if (s === e) continue;
        if (e < s) fail(source, lineNumber, `end ${text.slice(endFrom, endEnd)} is before start ${text.slice(a, startEnd)}`);
        break;
      }
      lines.ipv6++;
      if (country.keep) {
        let list = country.ipv6;
        if (list === undefined) {
          list = country.ipv6 = [];
          ipv6.set(country.code, list);
        }
        list.push({ start: toBigint(startGroups), end: toBigint(endGroups) });
      }
    }
  }
  return { ipv4, ipv6, lines };
}

function fieldCount(text: string, from: number, to: number): number {
  let count = 1;
  for (let k = from; k < to; k++) if (text.charCodeAt(k) === COMMA) count++;
  return count;
}

function fail(source: string, line: number, reason: string): never {
  throw new GeoDataError(source, line, reason);
}

/** IPv6 text has a ':' before any '.', within its first five characters ("ffff:" or "::"). */
function isIPv6Field(text: string, from: number, to: number): boolean {
  const stop = Math.min(to, from + 5);
  for (let k = from; k < stop; k++) {
    const c = text.charCodeAt(k);
    if (c === 58) return true;
    if (c === 46) return false;
  }
  return false;
}

export interface CountrySummary {
  readonly country: string;
  /** Lines of the data for this country (before merging). */
  readonly ipv4Ranges: number;
  /** Distinct addresses: overlapping lines are counted once. */
  readonly ipv4Addresses: bigint;
  readonly ipv6Ranges: number;
  readonly ipv6Addresses: bigint;
  /** Set when the code is not a current ISO 3166-1 alpha-2 code (see codeNote). */
  readonly note?: string;
}

function countAddresses(ranges: readonly Range[] | undefined): bigint {
  if (ranges === undefined) return 0n;
  let total = 0n;
  for (const r of mergeRanges(ranges)) total += r.end - r.start + 1n;
  return total;
}

/** Which countries appear and how many ranges/addresses each has (for the wizard's table), in the order asked. */
export function summarize(ranges: CountryRanges, countries: Iterable<string>): CountrySummary[] {
  const rows: CountrySummary[] = [];
  for (const country of countries) {
    const v4 = ranges.ipv4.get(country);
    const v6 = ranges.ipv6.get(country);
    const note = codeNote(country);
    rows.push({
      country,
      ipv4Ranges: v4?.length ?? 0,
      ipv4Addresses: countAddresses(v4),
      ipv6Ranges: v6?.length ?? 0,
      ipv6Addresses: countAddresses(v6),
      ...(note === undefined ? {} : { note }),
    });
  }
  return rows;
}

/** Every code that appears in either family, sorted. */
export function countriesIn(ranges: CountryRanges): string[] {
  return [...new Set([...ranges.ipv4.keys(), ...ranges.ipv6.keys()])].sort();
}

// The 249 officially assigned ISO 3166-1 alpha-2 codes.
const ISO_3166_1 = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV ' +
    'BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ' +
    'ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE ' +
    'IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY ' +
    'MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU ' +
    'NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM ' +
    'SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE ' +
    'VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

// Codes the registries use that ISO 3166-1 does not assign (the 2026 data has AN and XK).
const KNOWN_OTHER_CODES: Readonly<Record<string, string>> = {
  AN: 'Netherlands Antilles: withdrawn from ISO 3166-1 in 2010, still in some registry records (now CW, SX, BQ)',
  XK: 'Kosovo: a user-assigned code, not part of ISO 3166-1',
  EU: 'European Union: a reserved code, not a country',
  AP: 'Asia/Pacific region: a registry placeholder, not a country',
  ZZ: 'unknown or unassigned',
};

/** Why a code is unusual, or undefined for an ordinary ISO 3166-1 alpha-2 code. */
export function codeNote(code: string): string | undefined {
  if (ISO_3166_1.has(code)) return undefined;
  return KNOWN_OTHER_CODES[code] ?? 'not an ISO 3166-1 alpha-2 code';
}
