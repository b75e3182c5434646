import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  aggregate,
  cidrSize,
  formatAddress,
  formatCidr,
  mergeRanges,
  parseAddress,
  parseCidr,
  parseIPv4,
  parseIPv6,
  rangeToCidrs,
  type Cidr,
  type Family,
  type Range,
} from '../../steps/geoblock/cidr.js';

const v4 = (text: string): bigint => {
  const value = parseIPv4(text);
  if (value === null) throw new Error(`bad test address ${text}`);
  return BigInt(value);
};
const v6 = (text: string): bigint => {
  const value = parseIPv6(text);
  if (value === null) throw new Error(`bad test address ${text}`);
  return value;
};
const r4 = (start: string, end: string): Range => ({ start: v4(start), end: v4(end) });
const r6 = (start: string, end: string): Range => ({ start: v6(start), end: v6(end) });
const show = (cidrs: Cidr[], family: Family): string[] => cidrs.map((c) => formatCidr(c, family));

describe('parseIPv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffff_ffff],
    ['10.0.0.1', 0x0a00_0001],
    ['192.168.100.200', 0xc0a8_64c8],
  ])('reads %s', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.256', '1..2.3', '.1.2.3', '1.2.3.', '01.2.3.4', '1.2.3.00', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1.2.3.-4', '1.2.3.4/8', '::1', '1234.1.1.1'])(
    'rejects %j',
    (text) => {
      expect(parseIPv4(text)).toBeNull();
    },
  );
});

describe('parseIPv6', () => {
  it.each([
    ['::', 0n],
    ['::1', 1n],
    ['1::', 1n << 112n],
    ['2001:db8::', 0x2001_0db8n << 96n],
    ['2001:DB8:0:0:1:0:0:1', 0x2001_0db8_0000_0000_0001_0000_0000_0001n],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', 0x2001_0db8_0000_0000_0001_0000_0000_0001n],
    ['1:2:3:4:5:6:7:8', 0x0001_0002_0003_0004_0005_0006_0007_0008n],
    ['1:2:3:4:5:6:7::', 0x0001_0002_0003_0004_0005_0006_0007_0000n],
    ['::2:3:4:5:6:7:8', 0x0000_0002_0003_0004_0005_0006_0007_0008n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n],
    ['::ffff:1.2.3.4', 0xffff_0102_0304n],
    ['::1.2.3.4', 0x0102_0304n],
    ['64:ff9b::192.0.2.33', 0x0064_ff9b_0000_0000_0000_0000_c000_0221n],
    ['1:2:3:4:5:6:1.2.3.4', 0x0001_0002_0003_0004_0005_0006_0102_0304n],
    ['2001:218:2000:51:ffff:ffff:ffff:ffff', 0x2001_0218_2000_0051_ffff_ffff_ffff_ffffn],
  ])('reads %s', (text, value) => {
    expect(parseIPv6(text)).toBe(value);
  });

  it.each([
    '',
    ':',
    ':::',
    '1::2::3',
    '::1::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::8',
    '1:2:3:4:5:6:7',
    '12345::',
    '::12345',
    ':1::',
    '1::2:',
    ':1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:',
    'g::',
    '::1%eth0',
    '::ffff:1.2.3',
    '::ffff:1.2.3.256',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1:2:3:4:5:6::1.2.3.4',
    ' ::1',
    '1.2.3.4',
  ])('rejects %j', (text) => {
    expect(parseIPv6(text)).toBeNull();
  });
});

describe('formatAddress', () => {
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:DB8::AB', '2001:db8::ab'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['1:0:0:2:0:0:0:0', '1:0:0:2::'],
    ['0:0:1:0:0:0:0:0', '0:0:1::'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0102:0304', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['2001:5a0:3602:0:0:1::', '2001:5a0:3602::1:0:0'],
    ['2001:2::ffff:ffff:ffff:ffff:ffff', '2001:2:0:ffff:ffff:ffff:ffff:ffff'],
  ])('prints %s as %s', (text, canonical) => {
    expect(formatAddress(v6(text), 'ipv6')).toBe(canonical);
    expect(parseIPv6(canonical)).toBe(v6(text));
  });

  it('prints IPv4 dotted', () => {
    expect(formatAddress(0n, 'ipv4')).toBe('0.0.0.0');
    expect(formatAddress(0xffff_ffffn, 'ipv4')).toBe('255.255.255.255');
    expect(formatAddress(0x0a01_0203n, 'ipv4')).toBe('10.1.2.3');
  });

  it('refuses values outside the family', () => {
    expect(() => formatAddress(1n << 32n, 'ipv4')).toThrow(RangeError);
    expect(() => formatAddress(-1n, 'ipv6')).toThrow(RangeError);
    expect(() => formatAddress(1n << 128n, 'ipv6')).toThrow(RangeError);
  });

  const ipv6Value = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
  // Values with many zero groups, where "::" placement matters.
  const sparseIPv6 = fc
    .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
    .map((groups) => groups.reduce((value, g) => (value << 16n) | BigInt(g), 0n));

  it('round-trips every IPv6 value through text', () => {
    fc.assert(
      fc.property(fc.oneof(ipv6Value, sparseIPv6), (value) => {
        expect(parseIPv6(formatAddress(value, 'ipv6'))).toBe(value);
      }),
    );
  });

  it('matches the WHATWG URL serializer (also RFC 5952) apart from the dotted IPv4 tail', () => {
    fc.assert(
      fc.property(fc.oneof(ipv6Value, sparseIPv6), (value) => {
        const text = formatAddress(value, 'ipv6');
        fc.pre(!text.includes('.'));
        expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
        expect(text).toBe(new URL(`http://[${expandIPv6(value)}]/`).hostname.slice(1, -1));
      }),
    );
  });

  it('reads the long form with any case and leading zeros', () => {
    fc.assert(
      fc.property(ipv6Value, fc.boolean(), (value, upper) => {
        const long = expandIPv6(value);
        expect(parseIPv6(upper ? long.toUpperCase() : long)).toBe(value);
        expect(parseAddress(long)).toEqual({ family: 'ipv6', value });
      }),
    );
  });

  it('round-trips every IPv4 value through text', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (n) => {
        const text = formatAddress(BigInt(n), 'ipv4');
        expect(text).toBe([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
        expect(parseIPv4(text)).toBe(n);
        expect(parseAddress(text)).toEqual({ family: 'ipv4', value: BigInt(n) });
      }),
    );
  });
});

function expandIPv6(value: bigint): string {
  const hex = value.toString(16).padStart(32, '0');
  return hex.match(/.{4}/g)!.join(':');
}

describe('parseAddress, parseCidr, formatCidr, cidrSize', () => {
  it('tells the families apart', () => {
    expect(parseAddress('10.0.0.1')).toEqual({ family: 'ipv4', value: 0x0a00_0001n });
    expect(parseAddress('::ffff:10.0.0.1')).toEqual({ family: 'ipv6', value: 0xffff_0a00_0001n });
    expect(parseAddress('example.org')).toBeNull();
    expect(parseAddress('')).toBeNull();
  });

  it('normalises the base to the network', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 'ipv4', cidr: { base: 0x0a00_0000n, prefix: 8 } });
    expect(parseCidr('2001:db8::1/32')).toEqual({ family: 'ipv6', cidr: { base: 0x2001_0db8n << 96n, prefix: 32 } });
    expect(parseCidr('1.2.3.4/0')).toEqual({ family: 'ipv4', cidr: { base: 0n, prefix: 0 } });
    expect(parseCidr('::/0')).toEqual({ family: 'ipv6', cidr: { base: 0n, prefix: 0 } });
  });

  it('reads a bare address as a host block, as ipset save prints them', () => {
    expect(parseCidr('10.1.2.3')).toEqual({ family: 'ipv4', cidr: { base: 0x0a01_0203n, prefix: 32 } });
    expect(parseCidr('::1')).toEqual({ family: 'ipv6', cidr: { base: 1n, prefix: 128 } });
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/8/8', '10.0.0.0/ 8', '/8', 'x/8', '10.0.0.256/8'])(
    'rejects %j',
    (text) => {
      expect(parseCidr(text)).toBeNull();
    },
  );

  it('prints and sizes blocks', () => {
    expect(formatCidr({ base: 0x0a00_0000n, prefix: 8 }, 'ipv4')).toBe('10.0.0.0/8');
    expect(formatCidr({ base: 0x2001_0db8n << 96n, prefix: 32 }, 'ipv6')).toBe('2001:db8::/32');
    expect(cidrSize({ base: 0n, prefix: 0 }, 'ipv4')).toBe(1n << 32n);
    expect(cidrSize({ base: 0n, prefix: 24 }, 'ipv4')).toBe(256n);
    expect(cidrSize({ base: 0n, prefix: 0 }, 'ipv6')).toBe(1n << 128n);
    expect(cidrSize({ base: 0n, prefix: 128 }, 'ipv6')).toBe(1n);
  });

  it('round-trips formatCidr through parseCidr', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }), (value, prefix) => {
        const host = BigInt(128 - prefix);
        const cidr = { base: (value >> host) << host, prefix };
        expect(parseCidr(formatCidr(cidr, 'ipv6'))).toEqual({ family: 'ipv6', cidr });
      }),
    );
  });
});

describe('mergeRanges', () => {
  it('joins overlapping and touching ranges, keeps gaps', () => {
    const merged = mergeRanges([
      r4('10.0.0.0', '10.0.0.9'),
      r4('10.0.0.10', '10.0.0.19'), // touches
      r4('10.0.0.15', '10.0.0.30'), // overlaps
      r4('10.0.0.20', '10.0.0.25'), // inside
      r4('10.0.0.32', '10.0.0.40'), // one-address gap before it
    ]);
    expect(merged).toEqual([r4('10.0.0.0', '10.0.0.30'), r4('10.0.0.32', '10.0.0.40')]);
  });

  it('sorts first and leaves the input alone', () => {
    const input = [r6('2001:db8::100', '2001:db8::1ff'), r6('2001:db8::', '2001:db8::ff'), r6('::', '::')];
    const copy = [...input];
    expect(mergeRanges(input)).toEqual([r6('::', '::'), r6('2001:db8::', '2001:db8::1ff')]);
    expect(input).toEqual(copy);
  });

  it('refuses a range that starts after it ends, in either family', () => {
    expect(() => mergeRanges([r4('10.0.0.0', '10.0.0.9'), { start: 5n, end: 4n }])).toThrow(RangeError);
    expect(() => mergeRanges([r6('2001:db8::', '2001:db8::9'), { start: v6('2001:db8::5'), end: v6('2001:db8::4') }])).toThrow(RangeError);
  });

  it('handles nothing and the edges of the space', () => {
    expect(mergeRanges([])).toEqual([]);
    expect(mergeRanges([r4('255.255.255.255', '255.255.255.255'), r4('0.0.0.0', '255.255.255.254')])).toEqual([
      r4('0.0.0.0', '255.255.255.255'),
    ]);
  });
});

describe('rangeToCidrs', () => {
  it.each([
    ['10.0.0.0', '10.0.0.255', ['10.0.0.0/24']],
    ['10.0.0.1', '10.0.0.6', ['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']],
    ['10.0.0.0', '10.0.0.0', ['10.0.0.0/32']],
    ['0.0.0.0', '255.255.255.255', ['0.0.0.0/0']],
    ['0.0.0.1', '255.255.255.255', [...Array.from({ length: 32 }, (_, k) => `${formatAddress(1n << BigInt(k), 'ipv4')}/${32 - k}`)]],
    ['128.0.0.0', '255.255.255.255', ['128.0.0.0/1']],
    ['255.255.255.255', '255.255.255.255', ['255.255.255.255/32']],
    ['1.0.0.0', '1.0.3.255', ['1.0.0.0/22']],
    ['192.168.1.7', '192.168.2.8', ['192.168.1.7/32', '192.168.1.8/29', '192.168.1.16/28', '192.168.1.32/27', '192.168.1.64/26', '192.168.1.128/25', '192.168.2.0/29', '192.168.2.8/32']],
  ])('%s-%s', (start, end, expected) => {
    expect(show(rangeToCidrs(r4(start, end), 'ipv4'), 'ipv4')).toEqual(expected);
  });

  it.each([
    ['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['::/0']],
    [
      '2001:200::',
      '2001:218:2000:51:ffff:ffff:ffff:ffff',
      ['2001:200::/28', '2001:210::/29', '2001:218::/35', '2001:218:2000::/58', '2001:218:2000:40::/60', '2001:218:2000:50::/63'],
    ],
    ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', ['2001:db8::/32']],
    ['::1', '::6', ['::1/128', '::2/127', '::4/127', '::6/128']],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128']],
    ['8000::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', ['8000::/1']],
  ])('%s-%s', (start, end, expected) => {
    expect(show(rangeToCidrs(r6(start, end), 'ipv6'), 'ipv6')).toEqual(expected);
  });

  it('refuses a backwards range or one outside the family', () => {
    expect(() => rangeToCidrs({ start: 5n, end: 4n }, 'ipv4')).toThrow(RangeError);
    expect(() => rangeToCidrs({ start: 0n, end: 1n << 32n }, 'ipv4')).toThrow(RangeError);
    expect(() => aggregate([{ start: -1n, end: 4n }], 'ipv6')).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a brute-force oracle on a 4096-address space (10.0.0.0/20, and a /116 for IPv6).

const SPACE_BITS = 12;
const SPACE = 1 << SPACE_BITS;

/** The unique minimal cover of a bitmap: a block wholly set is one CIDR, an empty one none, else split. */
function oracleCover(bitmap: Uint8Array, from: number, size: number, out: [number, number][]): void {
  let set = 0;
  for (let k = from; k < from + size; k++) set += bitmap[k] as number;
  if (set === 0) return;
  if (set === size) {
    out.push([from, size]);
    return;
  }
  oracleCover(bitmap, from, size / 2, out);
  oracleCover(bitmap, from + size / 2, size / 2, out);
}

function checkAgainstOracle(family: Family, spaceBase: bigint, spans: [number, number][]): void {
  const bits = family === 'ipv4' ? 32 : 128;
  const ranges = spans.map(([a, b]) => ({ start: spaceBase + BigInt(Math.min(a, b)), end: spaceBase + BigInt(Math.max(a, b)) }));
  const union = new Uint8Array(SPACE);
  for (const [a, b] of spans) for (let k = Math.min(a, b); k <= Math.max(a, b); k++) union[k] = 1;

  const cidrs = aggregate(ranges, family);

  // (1) Exactly the union is covered, and (2) blocks are disjoint, aligned, sorted, inside the space.
  // Plain checks gathered into one expect: an expect per address would dominate the run time.
  const problems: string[] = [];
  const covered = new Uint8Array(SPACE);
  let previousEnd = -1n;
  for (const cidr of cidrs) {
    const name = formatCidr(cidr, family);
    const size = 1n << BigInt(bits - cidr.prefix);
    if (cidr.base % size !== 0n) problems.push(`${name} is not aligned`);
    if (cidr.base <= previousEnd) problems.push(`${name} overlaps or is out of order`);
    previousEnd = cidr.base + size - 1n;
    const offset = Number(cidr.base - spaceBase);
    if (offset < 0 || offset + Number(size) > SPACE) problems.push(`${name} leaves the space`);
    else for (let k = offset; k < offset + Number(size); k++) covered[k]! += 1;
  }
  // (3) Minimal: no two blocks are siblings that would make one aligned block.
  const keys = new Set(cidrs.map((c) => `${c.base}/${c.prefix}`));
  for (const cidr of cidrs) {
    const size = 1n << BigInt(bits - cidr.prefix);
    if (cidr.prefix > 0 && keys.has(`${cidr.base ^ size}/${cidr.prefix}`)) problems.push(`${formatCidr(cidr, family)} has its sibling`);
  }
  const wrong = covered.findIndex((count, k) => count !== union[k]);
  if (wrong >= 0) problems.push(`address +${wrong} covered ${covered[wrong]} times, in the ranges: ${union[wrong] === 1}`);
  expect(problems).toEqual([]);

  // The recursive split gives the unique minimal cover: same blocks.
  const expected: [number, number][] = [];
  oracleCover(union, 0, SPACE, expected);
  expect(cidrs.length).toBe(expected.length);
  expect(cidrs.map((c) => [Number(c.base - spaceBase), Number(1n << BigInt(bits - c.prefix))])).toEqual(expected);

  // rangeToCidrs on each merged range agrees with aggregate.
  expect(mergeRanges(ranges).flatMap((r) => rangeToCidrs(r, family))).toEqual(cidrs);
}

const offset = fc.integer({ min: 0, max: SPACE - 1 });
// Bias towards aligned edges so whole blocks and siblings appear often.
const edge = fc.oneof(offset, fc.integer({ min: 0, max: 63 }).map((k) => k * 64), fc.integer({ min: 1, max: 64 }).map((k) => k * 64 - 1));
const spans = fc.array(fc.tuple(edge, edge), { minLength: 0, maxLength: 12 });

describe('aggregate against a bitmap oracle', () => {
  it('IPv4 ranges inside 10.0.0.0/20', () => {
    fc.assert(fc.property(spans, (s) => checkAgainstOracle('ipv4', 0x0a00_0000n, s)), { numRuns: 300 });
  });

  it('IPv6 ranges inside 2001:db8:1234:5678:9abc:def0:1234:5000/116', () => {
    fc.assert(fc.property(spans, (s) => checkAgainstOracle('ipv6', v6('2001:db8:1234:5678:9abc:def0:1234:5000'), s)), { numRuns: 300 });
  });

  it('the whole space and its ends', () => {
    checkAgainstOracle('ipv4', 0x0a00_0000n, [[0, SPACE - 1]]);
    checkAgainstOracle('ipv4', 0x0a00_0000n, [[1, SPACE - 2]]);
    checkAgainstOracle('ipv6', 0n, [[SPACE - 1, 0]]);
  });
});

describe('aggregate over the whole address space', () => {
  // A second oracle for big spaces: the union's size and boundaries, without enumerating addresses.
  function check(family: Family, ranges: Range[]): void {
    const bits = family === 'ipv4' ? 32 : 128;
    const merged = mergeRanges(ranges);
    const cidrs = aggregate(ranges, family);
    const covered = cidrs.reduce((sum, c) => sum + cidrSize(c, family), 0n);
    expect(covered).toBe(merged.reduce((sum, r) => sum + r.end - r.start + 1n, 0n));
    // Blocks run contiguously and aligned from each range's start to its end.
    const problems: string[] = [];
    let k = 0;
    for (const range of merged) {
      let next = range.start;
      while (next <= range.end && k < cidrs.length) {
        const cidr = cidrs[k++]!;
        const size = 1n << BigInt(bits - cidr.prefix);
        if (cidr.base !== next) problems.push(`${formatCidr(cidr, family)} should start at ${formatAddress(next, family)}`);
        if (cidr.base % size !== 0n) problems.push(`${formatCidr(cidr, family)} is not aligned`);
        next = cidr.base + size;
      }
      if (next !== range.end + 1n) problems.push(`blocks end at ${next - 1n}, the range at ${range.end}`);
    }
    if (k !== cidrs.length) problems.push(`${cidrs.length - k} blocks beyond the ranges`);
    expect(problems).toEqual([]);
    // A range never needs more than 2 × (bits − 1) blocks.
    for (const range of merged) expect(rangeToCidrs(range, family).length).toBeLessThanOrEqual(2 * (bits - 1));
  }

  // Anywhere, near either end, or next to a power of two (where block sizes change).
  const near = (bits: number) => {
    const max = (1n << BigInt(bits)) - 1n;
    return fc.oneof(
      fc.bigInt({ min: 0n, max }),
      fc.bigInt({ min: 0n, max: 300n }),
      fc.bigInt({ min: max - 300n, max }),
      fc
        .tuple(fc.integer({ min: 0, max: bits }), fc.integer({ min: -1, max: 1 }))
        .map(([k, d]) => (1n << BigInt(k)) + BigInt(d))
        .filter((v) => v >= 0n && v <= max),
    );
  };
  const rangesOf = (bits: number) =>
    fc.array(
      fc.tuple(near(bits), near(bits)).map(([a, b]) => (a <= b ? { start: a, end: b } : { start: b, end: a })),
      { maxLength: 20 },
    );

  it('IPv4, including the number fast path at 2^32', () => {
    fc.assert(fc.property(rangesOf(32), (ranges) => check('ipv4', ranges)), { numRuns: 300 });
  });

  it('IPv6', () => {
    fc.assert(fc.property(rangesOf(128), (ranges) => check('ipv6', ranges)), { numRuns: 300 });
  });

  it('does not depend on the order of the input', () => {
    fc.assert(
      fc.property(rangesOf(32), fc.boolean(), (ranges, ipv6) => {
        const family: Family = ipv6 ? 'ipv6' : 'ipv4';
        const shifted = ipv6 ? ranges.map((r) => ({ start: r.start << 96n, end: (r.end << 96n) | 0xffffn })) : ranges;
        expect(aggregate([...shifted].reverse(), family)).toEqual(aggregate(mergeRanges(shifted), family));
      }),
    );
  });
});
