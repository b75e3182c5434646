// The compile on the data's index must give exactly what the general path gives (parse every range
// into bigints, merge, cover: cidr.ts, itself proved against a brute-force oracle). Proved on the
// shipped data itself and on generated data, IPv4 and IPv6, sorted or not; and the index survives
// its trip to disk, and is refused when damaged or built from other data.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIndex, compileIndex, compileIndexText, countryAddresses, deserializeIndex, serializeIndex, type GeoIndex } from '../../steps/geoblock/compile.js';
import { parseCountryCsv, summarize } from '../../steps/geoblock/csv.js';
import { setEntries } from '../../steps/geoblock/index.js';
import { formatAddress, formatCidr, parseIPv4, rangeToCidrs } from '../../steps/geoblock/cidr.js';
import { dataSource, indexStamp, loadIndex, type DataSource } from '../../steps/geoblock/source.js';

const DATA = path.dirname(createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country/package.json'));

function generalPath(texts: { ipv4: string; ipv6: string }, family: 'ipv4' | 'ipv6', countries: readonly string[]): string[] {
  const ranges = parseCountryCsv(texts[family], 'test', { only: new Set(countries) });
  return setEntries(ranges, countries, family);
}

const shipped = {
  ipv4: readFileSync(path.join(DATA, 'geo-whois-asn-country-ipv4.csv'), 'utf8'),
  ipv6: readFileSync(path.join(DATA, 'geo-whois-asn-country-ipv6.csv'), 'utf8'),
};

describe('compileIndex', () => {
  it('equals the general path on the shipped data: one country, a few, all but one; line and address counts too', () => {
    const index = buildIndex(shipped, 'shipped');
    expect(index.ipv4.count).toBeGreaterThan(300_000);
    expect(index.ipv6.count).toBeGreaterThan(200_000);
    const all = [...index.codes];
    for (const chosen of [['GB'], ['US', 'DE', 'BR', 'ZA'], all.filter((c) => c !== 'GB')]) {
      const compiled = compileIndex(index, new Set(chosen));
      for (const family of ['ipv4', 'ipv6'] as const) expect(compiled.entries[family]).toEqual(generalPath(shipped, family, chosen));
      const reference = parseCountryCsv(shipped.ipv4 + shipped.ipv6, 'test', { only: new Set(chosen) });
      for (const code of chosen) {
        expect(compiled.lines.get(code)).toEqual({ ipv4: reference.ipv4.get(code)?.length ?? 0, ipv6: reference.ipv6.get(code)?.length ?? 0 });
      }
      if (chosen.length < 10) {
        for (const row of summarize(reference, chosen)) expect(countryAddresses(index, row.country)).toEqual({ ipv4: row.ipv4Addresses, ipv6: row.ipv6Addresses });
      }
    }
  }, 120_000);

  it('equals the general path on random IPv4 data, sorted or not', () => {
    const line = fc.record({ start: fc.integer({ min: 0, max: 4000 }), length: fc.integer({ min: 0, max: 300 }), code: fc.constantFrom('GB', 'IE', 'FR') });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 60 }), fc.subarray(['GB', 'IE', 'FR'], { minLength: 1 }), fc.boolean(), (lines, chosen, sort) => {
        const ordered = sort ? [...lines].sort((a, b) => a.start - b.start) : lines;
        // Near the top of the space too: the last address, and blocks that reach it.
        const v4 = (n: number) => formatAddress(BigInt(n < 2000 ? n : 0xffff_ffff - (4000 - n)), 'ipv4');
        const text = ordered.map((l) => `${v4(l.start)},${v4(Math.min(l.start + l.length, 4000))},${l.code}`).join('\n') + '\n';
        const index = buildIndex({ ipv4: text, ipv6: '' }, 't');
        const compiled = compileIndex(index, new Set(chosen));
        expect(compiled.entries.ipv4).toEqual(generalPath({ ipv4: text, ipv6: '' }, 'ipv4', chosen));
        for (const code of chosen) expect(compiled.lines.get(code)?.ipv4).toBe(lines.filter((l) => l.code === code).length);
      }),
      { numRuns: 300 },
    );
  });

  it('equals the general path on random IPv6 data: across word boundaries, up to the last address, dotted tails', () => {
    // Addresses built around a few "interesting" bases, so ranges touch, overlap and carry across
    // the 32-bit words the compile works on.
    const bases = [0n, 0xffffn << 32n, (1n << 32n) - 1n, 1n << 32n, (1n << 64n) - 1n, 1n << 64n, (1n << 96n) - 1n, 1n << 96n, (1n << 128n) - 5000n, (1n << 128n) - 1n, 0x2001_0db8n << 96n, (0x2001_0db8n << 96n) - 1n];
    // Half the time exactly on a base, so one range ends right where the next begins.
    const address = fc.tuple(fc.constantFrom(...bases), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4000 }))).map(([base, offset]) => {
      const value = base + BigInt(offset);
      return value >= 1n << 128n ? (1n << 128n) - 1n : value;
    });
    const line = fc.record({ from: address, to: address, code: fc.constantFrom('GB', 'IE', 'FR') }).map(({ from, to, code }) => (from <= to ? { start: from, end: to, code } : { start: to, end: from, code }));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), fc.subarray(['GB', 'IE', 'FR'], { minLength: 1 }), (lines, chosen) => {
        const text =
          lines
            .map((l) => `${formatAddress(l.start, 'ipv6')},${formatAddress(l.end, 'ipv6')},${l.code}`)
            .join('\n') + '\n';
        const index = buildIndex({ ipv4: '', ipv6: text }, 't');
        expect(compileIndex(index, new Set(chosen)).entries.ipv6).toEqual(generalPath({ ipv4: '', ipv6: text }, 'ipv6', chosen));
      }),
      { numRuns: 300 },
    );
  });

  it('writes as `add` lines, for each name given, exactly the networks it lists (the path an apply takes)', async () => {
    const same = async (index: GeoIndex, chosen: readonly string[]) => {
      const listed = compileIndex(index, new Set(chosen));
      const written = await compileIndexText(index, new Set(chosen), { ipv4: ['geo4-new', 'geo4'], ipv6: ['geo6'] }, { ipv4RangesFor: new Set(['geo4-new']) });
      // geo4 as CIDRs: the list, line for line.
      const [v4load, v4boot] = written.sets.ipv4.texts.map((t) => t.toString('latin1'));
      expect(v4boot).toBe(listed.entries.ipv4.map((cidr) => `add geo4 ${cidr}\n`).join(''));
      // geo4-new as ranges, one per merged range: cut into CIDRs (as the kernel does), the list.
      const ranges = [...v4load!.matchAll(/^add geo4-new (\S+)-(\S+)$/gm)].map((m) => ({ start: BigInt(parseIPv4(m[1]!)!), end: BigInt(parseIPv4(m[2]!)!) }));
      expect(ranges.length).toBe(v4load!.split('\n').length - 1);
      expect(ranges.flatMap((r) => rangeToCidrs(r, 'ipv4').map((c) => formatCidr(c, 'ipv4')))).toEqual(listed.entries.ipv4);
      expect(written.sets.ipv4.count).toBe(listed.entries.ipv4.length);
      // the merged ranges it hands back (the digest's input): the same networks
      const words = [...written.sets.ipv4.ranges];
      expect(words.length).toBe(ranges.length * 2);
      expect(ranges.map((r) => [Number(r.start), Number(r.end)]).flat()).toEqual(words);
      expect(written.sets.ipv6.count).toBe(listed.entries.ipv6.length);
      expect(written.sets.ipv6.texts.map((t) => t.toString('latin1'))).toEqual([listed.entries.ipv6.map((cidr) => `add geo6 ${cidr}\n`).join('')]);
      expect(written.lines).toEqual(listed.lines);
    };
    const index = buildIndex(shipped, 'shipped');
    for (const chosen of [['GB'], ['US', 'DE'], index.codes.filter((c) => c !== 'GB'), ['XX']]) await same(index, chosen);
    // Every prefix length and octet width, both families, at the edges of the space.
    const edges = buildIndex({ ipv4: '0.0.0.0,0.0.0.0,GB\n1.2.3.4,9.99.199.255,GB\n255.255.255.254,255.255.255.255,GB\n', ipv6: '::,::1,GB\n::ffff:1.2.3.0,::ffff:1.2.3.255,GB\n2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,GB\nffff::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,GB\n' }, 't');
    await same(edges, ['GB']);
  }, 120_000);

  it('counts a code the data does not have as no lines', () => {
    const index = buildIndex({ ipv4: '10.0.0.0,10.0.0.255,GB\n', ipv6: '' }, 't');
    expect(compileIndex(index, new Set(['GB', 'XX'])).lines.get('XX')).toEqual({ ipv4: 0, ipv6: 0 });
    expect(compileIndex(index, new Set(['GB'])).entries.ipv4).toEqual(['10.0.0.0/24']);
  });
});

describe('the index on disk', () => {
  const index = buildIndex({ ipv4: '10.0.0.0,10.0.0.255,GB\n192.0.2.0,192.0.2.127,IE\n', ipv6: '2001:db8::,2001:db8::ffff,IE\n' }, 'data-1');

  it('comes back equal, and compiles the same', () => {
    const back = deserializeIndex(serializeIndex(index), 'data-1');
    expect(back).not.toBeNull();
    expect(back!.codes).toEqual(['GB', 'IE']);
    expect(compileIndex(back!, new Set(['IE'])).entries).toEqual(compileIndex(index, new Set(['IE'])).entries);
    // At an odd offset in a larger buffer (typed arrays need aligned offsets: it copies).
    const shifted = Buffer.concat([Buffer.alloc(1), serializeIndex(index)]).subarray(1);
    expect(compileIndex(deserializeIndex(shifted, 'data-1')!, new Set(['GB'])).entries.ipv4).toEqual(['10.0.0.0/24']);
  });

  it('is refused when built from other data, cut short, or not an index', () => {
    const bytes = serializeIndex(index);
    expect(deserializeIndex(bytes, 'data-2')).toBeNull();
    expect(deserializeIndex(bytes.subarray(0, bytes.length - 1), 'data-1')).toBeNull();
    expect(deserializeIndex(Buffer.from('start,end,country\n'), 'data-1')).toBeNull();
    const damaged = Buffer.from(bytes);
    damaged.writeUInt16LE(999, damaged.length - 2); // a country number past the code table
    expect(deserializeIndex(damaged, 'data-1')).toBeNull();
  });
});

describe('loadIndex', () => {
  const made: string[] = [];
  afterAll(async () => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));
  // Data as `geoblock update` leaves it in <state-dir>/geo.
  async function updatedState(v4: string): Promise<{ state: string; source: DataSource }> {
    const state = await mkdtemp(path.join(tmpdir(), 'bulwark-geo-index-'));
    made.push(state);
    await mkdir(path.join(state, 'geo'));
    await writeFile(path.join(state, 'geo', 'ipv4.csv'), v4);
    await writeFile(path.join(state, 'geo', 'ipv6.csv'), '2001:db8::,2001:db8::ffff,IE\n');
    await writeFile(path.join(state, 'geo', 'meta.json'), JSON.stringify({ date: '2026-11-01', origin: 'test', lines: { ipv4: 1, ipv6: 1 } }));
    return { state, source: await dataSource(state) };
  }

  it('builds the index once and keeps it; data that changes is indexed again', async () => {
    const { state, source } = await updatedState('10.0.0.0,10.0.0.255,GB\n');
    const kept = path.join(state, 'geo', 'index.bin');
    expect(compileIndex(await loadIndex(source, state), new Set(['GB'])).entries.ipv4).toEqual(['10.0.0.0/24']);
    const first = await stat(kept);
    // Used as it is the next time (not rewritten)
    await loadIndex(source, state);
    expect((await stat(kept)).mtimeMs).toBe(first.mtimeMs);
    // Other data in the same place (as a second update writes it): the old index is not used
    await writeFile(path.join(state, 'geo', 'ipv4.csv'), '10.1.0.0,10.1.255.255,GB\n');
    expect(compileIndex(await loadIndex(await dataSource(state), state), new Set(['GB'])).entries.ipv4).toEqual(['10.1.0.0/16']);
    // and a damaged index is rebuilt, not trusted
    await writeFile(kept, Buffer.from('BWGEOIX1 damaged'));
    expect(compileIndex(await loadIndex(await dataSource(state), state), new Set(['GB'])).entries.ipv4).toEqual(['10.1.0.0/16']);
    expect(deserializeIndex(await readFile(kept), indexStamp(await dataSource(state)))).not.toBeNull();
  });

  it('writes nothing where the state directory does not exist (a plan on a new box)', async () => {
    const { state, source } = await updatedState('10.0.0.0,10.0.0.255,GB\n');
    const missing = path.join(state, 'not-yet');
    await loadIndex(source, missing);
    await expect(stat(missing)).rejects.toThrow();
  });
});
