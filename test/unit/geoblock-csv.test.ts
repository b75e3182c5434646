import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aggregate, formatAddress, parseIPv4, parseIPv6, type Family, type Range } from '../../steps/geoblock/cidr.js';
import { codeNote, countriesIn, GeoDataError, parseCountryCsv, summarize, type CountryRanges } from '../../steps/geoblock/csv.js';

const r4 = (start: string, end: string): Range => ({ start: BigInt(parseIPv4(start)!), end: BigInt(parseIPv4(end)!) });
const r6 = (start: string, end: string): Range => ({ start: parseIPv6(start)!, end: parseIPv6(end)! });

/** The GeoDataError a parse throws (fails the test if it does not throw one). */
function parseError(text: string, options?: Parameters<typeof parseCountryCsv>[2]): GeoDataError {
  try {
    parseCountryCsv(text, 'ipv4.csv', options);
  } catch (error) {
    if (error instanceof GeoDataError) return error;
    throw error;
  }
  throw new Error('the parse did not fail');
}

describe('parseCountryCsv', () => {
  it('reads ranges per country and family, tolerating spaces, comments, blank lines and CRLF', () => {
    const text = [
      '# geo-whois-asn-country',
      '1.0.0.0,1.0.0.255,AU',
      '',
      '  1.0.1.0 , 1.0.3.255 ,CN  ',
      '\t# indented comment',
      '1.0.4.0,\t1.0.7.255,\tAU\r',
      '2001:200::,2001:218:2000:51:ffff:ffff:ffff:ffff,AU',
      '   ',
      '::ffff:1.2.3.0, ::ffff:1.2.3.255 ,JP',
      '',
    ].join('\n');

    const parsed = parseCountryCsv(text, 'mixed.csv');

    expect(parsed.ipv4).toEqual(
      new Map([
        ['AU', [r4('1.0.0.0', '1.0.0.255'), r4('1.0.4.0', '1.0.7.255')]],
        ['CN', [r4('1.0.1.0', '1.0.3.255')]],
      ]),
    );
    expect(parsed.ipv6).toEqual(
      new Map([
        ['AU', [r6('2001:200::', '2001:218:2000:51:ffff:ffff:ffff:ffff')]],
        ['JP', [r6('::ffff:1.2.3.0', '::ffff:1.2.3.255')]],
      ]),
    );
    expect(parsed.lines).toEqual({ ipv4: 3, ipv6: 2 });
  });

  it('reads an empty text or only comments as no ranges', () => {
    for (const text of ['', '\n', '# nothing\n\n']) {
      const parsed = parseCountryCsv(text, 'empty.csv');
      expect(parsed.ipv4.size + parsed.ipv6.size).toBe(0);
      expect(parsed.lines).toEqual({ ipv4: 0, ipv6: 0 });
    }
  });

  it('keeps a single-address range', () => {
    expect(parseCountryCsv('2.58.197.15,2.58.197.15,BE\n', 'x').ipv4.get('BE')).toEqual([r4('2.58.197.15', '2.58.197.15')]);
  });

  it.each([
    ['a bad IPv4 start', '1.0.0.0,1.0.0.255,AU\n1.0.0.256,1.0.1.0,AU\n', 2, 'bad IPv4 start address "1.0.0.256"'],
    ['a bad IPv4 end', '1.0.0.0,1.0.0.x,AU\n', 1, 'bad IPv4 end address "1.0.0.x"'],
    ['a bad IPv6 start', '# c\n2001:db8:::,2001:db8::ff,AU\n', 2, 'bad IPv6 start address "2001:db8:::"'],
    ['a bad IPv6 end', '2001:db8::,2001:db8::1::ff,AU\n', 1, 'bad IPv6 end address "2001:db8::1::ff"'],
    ['an IPv6 group of five digits', '2001:db8::,2001:db8::fffff,AU\n', 1, 'bad IPv6 end address "2001:db8::fffff"'],
    ['an IPv4 end before the start', '1.0.0.0,1.0.0.255,AU\n\n1.0.1.0,1.0.0.255,CN\n', 3, 'end 1.0.0.255 is before start 1.0.1.0'],
    ['an IPv6 end before the start', '2001:db8::1,2001:db8::,AU\n', 1, 'end 2001:db8:: is before start 2001:db8::1'],
    ['mixed families in one line', '1.0.0.0,::ffff:1.0.0.255,AU\n', 1, 'start "1.0.0.0" and end "::ffff:1.0.0.255" are not of the same family'],
    ['a lowercase code', '1.0.0.0,1.0.0.255,au\n', 1, 'country code "au" is not two capital letters'],
    ['a three-letter code', '1.0.0.0,1.0.0.255,AUS\n', 1, 'country code "AUS" is not two capital letters'],
    ['an empty code', '1.0.0.0,1.0.0.255,\n', 1, 'country code "" is not two capital letters'],
    ['a missing field', '1.0.0.0,1.0.0.255,AU\n1.0.1.0,CN\n', 2, 'expected 3 fields "start,end,CC", found 2: "1.0.1.0,CN"'],
    ['an extra field', '1.0.0.0,1.0.0.255,AU,x\n', 1, 'expected 3 fields "start,end,CC", found 4: "1.0.0.0,1.0.0.255,AU,x"'],
    ['an extra field before the code', '1.0.0.0,1.0.0.255,x,AU\n', 1, 'expected 3 fields "start,end,CC", found 4: "1.0.0.0,1.0.0.255,x,AU"'],
    ['a missing final newline', '1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.3.255,C', 2, 'truncated: the last line has no end'],
    ['a missing newline after a whole line', '1.0.0.0,1.0.0.255,AU', 1, 'truncated: the last line has no end'],
  ])('refuses %s, naming the line', (_, text, line, reason) => {
    const error = parseError(text);
    expect(error).toBeInstanceOf(Error);
    expect(error.source).toBe('ipv4.csv');
    expect(error.line).toBe(line);
    expect(error.message).toBe(`ipv4.csv line ${line}: ${reason}`);
  });

  it('counts line numbers across CRLF, blank and comment lines', () => {
    expect(parseError('# a\r\n\r\n1.0.0.0,1.0.0.255,AU\r\n1.0.0.0,1.0.0.255,gb\r\n').line).toBe(4);
  });

  it('with `only` still checks the other countries’ lines; `trusted` skips them unread', () => {
    const text = '1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.0.9,CN\n2001:db8::,zzzz,CN\n1.0.4.0,1.0.7.255,GB\n';
    const only = new Set(['AU', 'GB']);

    expect(parseError(text, { only }).line).toBe(2);

    const trusted = parseCountryCsv(text, 'ipv4.csv', { only, trusted: true });
    expect(trusted.ipv4).toEqual(
      new Map([
        ['AU', [r4('1.0.0.0', '1.0.0.255')]],
        ['GB', [r4('1.0.4.0', '1.0.7.255')]],
      ]),
    );
    expect(trusted.ipv6.size).toBe(0);
    expect(trusted.lines).toEqual({ ipv4: 3, ipv6: 1 });
  });

  it('`trusted` alone changes nothing: every line is read', () => {
    expect(parseError('1.0.0.0,1.0.0.x,AU\n', { trusted: true }).line).toBe(1);
  });
});

// Random valid data, written in the many ways the parser accepts.
interface Line {
  readonly family: Family;
  readonly start: bigint;
  readonly end: bigint;
  readonly country: string;
}

const countryCode = fc.constantFrom('AU', 'CN', 'GB', 'DE', 'US', 'XK', 'AN', 'ZZ');
const ipv4Line = fc
  .tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 0xffff_ffff }), countryCode)
  .map(([a, b, country]): Line => ({ family: 'ipv4', start: BigInt(Math.min(a, b)), end: BigInt(Math.max(a, b)), country }));
const ipv6Line = fc
  .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) }), countryCode)
  .map(([a, span, country]): Line => {
    const end = a + span > (1n << 128n) - 1n ? (1n << 128n) - 1n : a + span;
    return { family: 'ipv6', start: a, end, country };
  });
const spacing = fc.constantFrom('', ' ', '  ', '\t');
const lineEnd = fc.constantFrom('\n', '\r\n');
const filler = fc.constantFrom('\n', '# comment\n', '   \n', '#1.0.0.0,1.0.0.1,AU\n');

function addressText(value: bigint, family: Family, long: boolean): string {
  if (family === 'ipv4' || !long) return formatAddress(value, family);
  return value.toString(16).padStart(32, '0').replace(/(.{4})(?!$)/g, '$1:');
}

const csv = fc
  .array(
    fc.tuple(fc.oneof(ipv4Line, ipv6Line), spacing, spacing, fc.boolean(), lineEnd, fc.option(filler, { nil: undefined })),
    { maxLength: 40 },
  )
  .map((rows) => {
    let text = '';
    const lines: Line[] = [];
    for (const [line, before, after, long, end, extra] of rows) {
      const start = addressText(line.start, line.family, long);
      const stop = addressText(line.end, line.family, long);
      text += `${before}${start}${after},${before}${stop}${after},${before}${line.country}${after}${end}${extra ?? ''}`;
      lines.push(line);
    }
    return { text, lines };
  });

function expectedMaps(lines: readonly Line[], keep: (country: string) => boolean): Pick<CountryRanges, 'ipv4' | 'ipv6'> {
  const maps = { ipv4: new Map<string, Range[]>(), ipv6: new Map<string, Range[]>() };
  for (const line of lines) {
    if (!keep(line.country)) continue;
    const map = maps[line.family];
    const list = map.get(line.country) ?? [];
    list.push({ start: line.start, end: line.end });
    map.set(line.country, list);
  }
  return maps;
}

describe('parseCountryCsv on generated data', () => {
  it('reads back exactly the lines written', () => {
    fc.assert(
      fc.property(csv, ({ text, lines }) => {
        const parsed = parseCountryCsv(text, 'gen.csv');
        const expected = expectedMaps(lines, () => true);
        expect(parsed.ipv4).toEqual(expected.ipv4);
        expect(parsed.ipv6).toEqual(expected.ipv6);
        expect(parsed.lines).toEqual({
          ipv4: lines.filter((l) => l.family === 'ipv4').length,
          ipv6: lines.filter((l) => l.family === 'ipv6').length,
        });
      }),
    );
  });

  it('`only`, with or without `trusted`, gives the full parse’s ranges for the chosen countries', () => {
    fc.assert(
      fc.property(csv, fc.subarray(['AU', 'CN', 'GB', 'DE', 'US', 'XK', 'AN', 'ZZ', 'FR']), ({ text }, chosen) => {
        const only = new Set(chosen);
        const full = parseCountryCsv(text, 'gen.csv');
        const filtered = (map: Map<string, Range[]>) => new Map([...map].filter(([country]) => only.has(country)));
        for (const options of [{ only }, { only, trusted: true }]) {
          const parsed = parseCountryCsv(text, 'gen.csv', options);
          expect(parsed.ipv4).toEqual(filtered(full.ipv4));
          expect(parsed.ipv6).toEqual(filtered(full.ipv6));
          expect(parsed.lines).toEqual(full.lines);
        }
      }),
    );
  });

  it('refuses any text cut short of its final newline', () => {
    fc.assert(
      fc.property(
        csv.filter(({ lines }) => lines.length > 0),
        fc.nat(),
        ({ text }, cut) => {
          const body = text.replace(/\n+$/, '');
          const end = body.length - (cut % Math.max(1, body.length - 1));
          const truncated = body.slice(0, end);
          fc.pre(!truncated.endsWith('\n'));
          let error: unknown;
          try {
            parseCountryCsv(truncated, 'gen.csv');
          } catch (caught) {
            error = caught;
          }
          // Cut mid-address the line may fail first for its own reason; either way it is refused.
          expect(error).toBeInstanceOf(GeoDataError);
          expect((error as GeoDataError).line).toBe(truncated.split('\n').length);
        },
      ),
    );
  });
});

describe('summarize and codeNote', () => {
  const text = ['1.0.0.0,1.0.0.255,AU', '1.0.0.128,1.0.1.255,AU', '10.0.0.0,10.0.0.0,XK', '2001:db8::,2001:db8::ffff,AU', ''].join('\n');
  const parsed = parseCountryCsv(text, 'x.csv');

  it('counts lines and distinct addresses, in the order asked, zero for absent countries', () => {
    expect(summarize(parsed, ['XK', 'AU', 'GB'])).toEqual([
      { country: 'XK', ipv4Ranges: 1, ipv4Addresses: 1n, ipv6Ranges: 0, ipv6Addresses: 0n, note: codeNote('XK') },
      { country: 'AU', ipv4Ranges: 2, ipv4Addresses: 512n, ipv6Ranges: 1, ipv6Addresses: 0x1_0000n },
      { country: 'GB', ipv4Ranges: 0, ipv4Addresses: 0n, ipv6Ranges: 0, ipv6Addresses: 0n },
    ]);
    expect(countriesIn(parsed)).toEqual(['AU', 'XK']);
  });

  it('notes the codes that are not ISO 3166-1 alpha-2', () => {
    expect(codeNote('GB')).toBeUndefined();
    expect(codeNote('CW')).toBeUndefined();
    expect(codeNote('XK')).toMatch(/Kosovo/);
    expect(codeNote('AN')).toMatch(/withdrawn/);
    expect(codeNote('QQ')).toBe('not an ISO 3166-1 alpha-2 code');
  });
});

// The real package (a dependency: always installed): both files parse, and the fast path agrees
// with the full one.
const dataDir = fileURLToPath(new URL('../../node_modules/@ip-location-db/geo-whois-asn-country/', import.meta.url));

describe('the @ip-location-db/geo-whois-asn-country data', () => {
  it('parses whole, and GB by the trusted path equals GB from the full parse', () => {
    const files = { ipv4: readFileSync(`${dataDir}geo-whois-asn-country-ipv4.csv`, 'utf8'), ipv6: readFileSync(`${dataDir}geo-whois-asn-country-ipv6.csv`, 'utf8') };
    for (const family of ['ipv4', 'ipv6'] as const) {
      const text = files[family];
      const full = parseCountryCsv(text, family);
      expect(full.lines[family]).toBe(text.split('\n').length - 1);
      expect(full.lines[family === 'ipv4' ? 'ipv6' : 'ipv4']).toBe(0);
      const codes = countriesIn(full);
      expect(codes.length).toBeGreaterThan(200);
      // Any unusual code is one the notes know by name (today: AN and XK).
      expect(codes.filter((c) => codeNote(c) === 'not an ISO 3166-1 alpha-2 code')).toEqual([]);

      const gb = parseCountryCsv(text, family, { only: new Set(['GB']), trusted: true });
      expect(gb[family].get('GB')).toEqual(full[family].get('GB'));
      expect([...gb[family].keys()]).toEqual(['GB']);
      expect(aggregate(gb[family].get('GB')!, family).length).toBeGreaterThan(1000);
    }
  });
});
