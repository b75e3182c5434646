// The streaming compile (many countries) must give exactly what the general path gives: parse every
// range, merge, cover. Proved on the shipped data itself, and on small generated files.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { streamCompile } from '../../steps/geoblock/compile.js';
import { parseCountryCsv } from '../../steps/geoblock/csv.js';
import { setEntries } from '../../steps/geoblock/index.js';

const DATA = path.dirname(createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country/package.json'));

function generalPath(text: string, family: 'ipv4' | 'ipv6', countries: readonly string[]): string[] {
  const ranges = parseCountryCsv(text, 'test', { only: new Set(countries) });
  return setEntries(ranges, countries, family);
}

describe('streamCompile', () => {
  it('equals the general path on the shipped data, for one country and for all but one', () => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const text = readFileSync(path.join(DATA, `geo-whois-asn-country-${family}.csv`), 'utf8');
      const codes = [...new Set(text.split('\n').filter((l) => l.length > 3).map((l) => l.slice(-2)))];
      for (const chosen of [['GB'], codes.filter((c) => c !== 'GB')]) {
        const fast = streamCompile(text, family, new Set(chosen));
        expect(fast).not.toBeNull();
        expect(fast!.cidrs).toEqual(generalPath(text, family, chosen));
      }
    }
  }, 60_000);

  it('equals the general path on random sorted IPv4 data, and counts lines per country', () => {
    const line = fc.record({ start: fc.integer({ min: 0, max: 4000 }), length: fc.integer({ min: 0, max: 300 }), code: fc.constantFrom('GB', 'IE', 'FR') });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 60 }), fc.subarray(['GB', 'IE', 'FR'], { minLength: 1 }), (lines, chosen) => {
        const sorted = [...lines].sort((a, b) => a.start - b.start);
        const v4 = (n: number) => `10.0.${Math.floor(n / 256)}.${n % 256}`;
        const text = sorted.map((l) => `${v4(l.start)},${v4(Math.min(l.start + l.length, 65535))},${l.code}`).join('\n') + '\n';
        const fast = streamCompile(text, 'ipv4', new Set(chosen))!;
        expect(fast.cidrs).toEqual(generalPath(text, 'ipv4', chosen));
        for (const code of chosen) expect(fast.lines.get(code) ?? 0).toBe(sorted.filter((l) => l.code === code).length);
      }),
      { numRuns: 200 },
    );
  });

  it('gives up (null) on data not sorted by start, so the caller takes the general path', () => {
    expect(streamCompile('10.0.1.0,10.0.1.255,GB\n10.0.0.0,10.0.0.255,GB\n', 'ipv4', new Set(['GB']))).toBeNull();
    expect(streamCompile('2001:db8:1::,2001:db8:1::ff,GB\n2001:db8::,2001:db8::ff,GB\n', 'ipv6', new Set(['GB']))).toBeNull();
  });
});
