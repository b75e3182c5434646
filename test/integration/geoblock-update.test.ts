// `bulwark geoblock update --from FILE|URL` against a real HTTP server of the test's own, on
// 127.0.0.1: a good download replaces the country data (and the next plan uses it); a download
// that is cut short, broken off, wrong or missing is refused and leaves the data in place, byte for
// byte. The data is generated: documentation ranges (TEST-NET-1/2/3, 2001:db8::/32) labelled with
// real country codes — the update checks the form of the lines, not who owns the networks.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { materializeFixture, removeFixture, snapshotTree } from '../helpers/fixture.js';

// --- the generated data -----------------------------------------------------------------------

const DATA_DIR = path.dirname(createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country/package.json'));
const countLines = (file: string) => readFileSync(path.join(DATA_DIR, file), 'utf8').split('\n').length - 1;
/** Lines of the shipped data: an update with less than half of them is refused as truncated. */
const SHIPPED = { ipv4: countLines('geo-whois-asn-country-ipv4.csv'), ipv6: countLines('geo-whois-asn-country-ipv6.csv') };
const FILLER_CODES = ['US', 'FR', 'DE', 'JP'];

interface Generated {
  text: string;
  lines: { ipv4: number; ipv6: number };
}

/**
 * `gb4` and `gb6` are GB's ranges (start, end), each already one CIDR, and not adjacent to each
 * other: the set is exactly those. The rest are other countries' lines, enough of them to be "the
 * whole data": single addresses of 192.0.2.128/25 (repeated: only the form counts) and distinct /64s
 * of 2001:db8:1000::/36.
 */
function generate(lines: { ipv4: number; ipv6: number }, gb4: readonly [string, string][], gb6: readonly [string, string][]): Generated {
  const out: string[] = [];
  for (const [start, end] of gb4) out.push(`${start},${end},GB`);
  for (let i = out.length; i < lines.ipv4; i++) out.push(`192.0.2.${128 + (i % 128)},192.0.2.${128 + (i % 128)},${FILLER_CODES[i % 4]}`);
  for (const [start, end] of gb6) out.push(`${start},${end},GB`);
  for (let i = gb6.length; i < lines.ipv6; i++) {
    const prefix = `2001:db8:${(0x1000 + (i >> 16)).toString(16)}:${(i & 0xffff).toString(16)}`;
    out.push(`${prefix}::,${prefix}:ffff:ffff:ffff:ffff,${FILLER_CODES[i % 4]}`);
  }
  return { text: out.join('\n') + '\n', lines };
}

const FULL = { ipv4: Math.ceil(SHIPPED.ipv4 * 0.55), ipv6: Math.ceil(SHIPPED.ipv6 * 0.55) };
const GB4: [string, string][] = [['192.0.2.0', '192.0.2.127'], ['198.51.100.0', '198.51.100.255'], ['203.0.113.64', '203.0.113.127']];
const GB6: [string, string][] = [['2001:db8:a::', '2001:db8:a:ffff:ffff:ffff:ffff:ffff'], ['2001:db8:c::', '2001:db8:c:ffff:ffff:ffff:ffff:ffff']];
const GOOD = generate(FULL, GB4, GB6);
/** A later release: GB has one IPv4 and one IPv6 network left. */
const NEWER = generate(FULL, [['203.0.113.0', '203.0.113.255']], [['2001:db8:e::', '2001:db8:e:ffff:ffff:ffff:ffff:ffff']]);
/** Valid, but far fewer lines than the data it would replace (a download cut at a line end). */
const SMALL = generate({ ipv4: 1000, ipv6: 1000 }, GB4, GB6);

const BAD_LINE = 4321;
const BAD = GOOD.text.split('\n').map((line, i) => (i === BAD_LINE - 1 ? '192.0.2.10,192.0.2.300,US' : line)).join('\n');
/** Cut in the middle of a line, past the middle of the file: no final newline. */
const TRUNCATED = GOOD.text.slice(0, GOOD.text.indexOf(',', Math.floor(GOOD.text.length * 0.6)) + 3);
const TRUNCATED_LINE = TRUNCATED.split('\n').length;

// --- the server -----------------------------------------------------------------------------

let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const send = (body: string) => {
      response.writeHead(200, { 'content-type': 'text/csv', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    };
    switch (request.url) {
      case '/good.csv':
        return send(GOOD.text);
      case '/small.csv':
        return send(SMALL.text);
      case '/bad-line.csv':
        return send(BAD);
      case '/truncated.csv':
        return send(TRUNCATED);
      case '/broken-off.csv': {
        // Announces the whole file, sends 40% of it, then the connection dies.
        const body = Buffer.from(GOOD.text);
        response.writeHead(200, { 'content-type': 'text/csv', 'content-length': body.length });
        response.write(body.subarray(0, Math.floor(body.length * 0.4)), () => {
          response.socket?.destroy();
        });
        return;
      }
      default:
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// --- roots and state dirs ----------------------------------------------------------------------

const made: string[] = [];
afterEach(async () => {
  for (const dir of made.splice(0)) await removeFixture(dir);
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

async function setup(): Promise<{ root: string; state: string; g: string[]; answers: string }> {
  const root = await materializeFixture('debian12-a2billing');
  made.push(root);
  const state = await tempDir('bulwark-state-');
  const answers = path.join(await tempDir('bulwark-answers-'), 'answers.json');
  await fs.writeFile(answers, JSON.stringify({ geoblock: { mode: 'allow', countries: ['GB'], ports: [{ port: 5060, proto: 'udp' }] } }));
  return { root, state, g: ['--root', root, '--state-dir', state], answers };
}

const DATA_FILES = ['ipv4.csv', 'ipv6.csv', 'meta.json', 'index.bin'];

/**
 * sha256 of each data file in <state>/geo (absent ones left out), or null when there is none. Only
 * the data: bulwark may keep other things there (a cache of compiled sets).
 */
async function geoFiles(state: string): Promise<Record<string, string> | null> {
  const out: Record<string, string> = {};
  for (const name of DATA_FILES) {
    const bytes = await fs.readFile(path.join(state, 'geo', name)).catch(() => null);
    if (bytes !== null) out[name] = createHash('sha256').update(bytes).digest('hex');
  }
  return Object.keys(out).length > 0 ? out : null;
}

const output = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const fmt = (n: number) => n.toLocaleString('en');

describe('bulwark geoblock update --from', () => {
  it('takes a good download, stores it with its origin, and the next plan and apply use it', async () => {
    // Given a root whose plan uses the shipped data (tens of thousands of GB networks)
    const { root, state, g, answers } = await setup();
    const shipped = await bulwark(['plan', '--step', 'geoblock', '--answers', answers, ...g]);
    expect(shipped.code, output(shipped)).toBe(2);
    expect(shipped.stdout).toMatch(/sets bulwark-geo4, bulwark-geo6: \d{1,3},\d{3} IPv4 and \d{1,3},\d{3} IPv6 networks/);

    // When the data is updated from the HTTP server
    const url = `${base}/good.csv`;
    const result = await bulwark(['geoblock', 'update', '--from', url, ...g]);

    // Then it says what it took
    expect(result.code, output(result)).toBe(0);
    expect(result.stdout).toContain(`Country data updated from ${url}: ${fmt(FULL.ipv4)} IPv4 and ${fmt(FULL.ipv6)} IPv6 ranges (replaced: ipv4, ipv6).`);
    // and the state dir holds the data, one file per family, and where it came from
    const meta = JSON.parse(await fs.readFile(path.join(state, 'geo', 'meta.json'), 'utf8')) as { origin: string; lines: unknown; date: string };
    expect(meta.origin).toBe(url);
    expect(meta.lines).toEqual(FULL);
    expect(meta.date).toBe(new Date().toISOString().slice(0, 10));
    const v4 = await fs.readFile(path.join(state, 'geo', 'ipv4.csv'), 'utf8');
    const v6 = await fs.readFile(path.join(state, 'geo', 'ipv6.csv'), 'utf8');
    expect(v4 + v6).toBe(GOOD.text);

    // When the plan is made again
    const plan = await bulwark(['plan', '--step', 'geoblock', '--answers', answers, ...g]);
    // Then the boot file of sets holds the new data's GB networks: 3 IPv4 and 2 IPv6
    expect(plan.code, output(plan)).toBe(2);
    expect(plan.stdout).toContain('sets bulwark-geo4, bulwark-geo6: 3 IPv4 and 2 IPv6 networks');
    // and applying it (files only, under --root) writes exactly them
    const apply = await bulwark(['apply', '--step', 'geoblock', '--yes', '--answers', answers, ...g]);
    expect(apply.code, output(apply)).toBe(0);
    const sets = (await fs.readFile(path.join(root, 'etc/iptables/ipsets'), 'utf8')).split('\n').filter((l) => l.startsWith('add '));
    expect(sets).toEqual([
      'add bulwark-geo4 192.0.2.0/25',
      'add bulwark-geo4 198.51.100.0/24',
      'add bulwark-geo4 203.0.113.64/26',
      'add bulwark-geo6 2001:db8:a::/48',
      'add bulwark-geo6 2001:db8:c::/48',
    ]);
    expect(await fs.readFile(path.join(root, 'etc/iptables/rules.v4'), 'utf8')).toContain('-A BULWARK-GEO -p udp -m udp --dport 5060 -m set ! --match-set bulwark-geo4 src -j DROP');
  });

  it('takes a local file too, replacing an earlier update', async () => {
    // Given data updated once from the server
    const { state, g, answers } = await setup();
    expect((await bulwark(['geoblock', 'update', '--from', `${base}/good.csv`, ...g])).code).toBe(0);
    const file = path.join(await tempDir('bulwark-csv-'), 'newer.csv');
    await fs.writeFile(file, NEWER.text);

    // When it is updated from a file on disk
    const result = await bulwark(['geoblock', 'update', '--from', file, ...g]);

    // Then that file is the data now, and the plan uses it
    expect(result.code, output(result)).toBe(0);
    expect(result.stdout).toContain(`Country data updated from ${file}: ${fmt(FULL.ipv4)} IPv4 and ${fmt(FULL.ipv6)} IPv6 ranges`);
    expect(JSON.parse(await fs.readFile(path.join(state, 'geo', 'meta.json'), 'utf8')).origin).toBe(file);
    const plan = await bulwark(['plan', '--step', 'geoblock', '--answers', answers, ...g]);
    expect(plan.code, output(plan)).toBe(2);
    expect(plan.stdout).toContain('sets bulwark-geo4, bulwark-geo6: 1 IPv4 and 1 IPv6 networks');
  });

  it.each([
    ['truncated.csv', 'cut mid-line, no final newline', new RegExp(`is not usable: .*/truncated\\.csv line ${TRUNCATED_LINE}: truncated: the last line has no end\\. The current data is kept\\.`)],
    ['broken-off.csv', 'fewer bytes than its Content-Length, then the connection dies', /The download of .*\/broken-off\.csv (broke off: .+|is incomplete: \d+ of \d+ bytes)\. The current data is kept\./],
    ['bad-line.csv', `a bad address on line ${BAD_LINE}`, new RegExp(`is not usable: .*/bad-line\\.csv line ${BAD_LINE}: bad IPv4 end address "192\\.0\\.2\\.300"\\. The current data is kept\\.`)],
    ['missing.csv', 'HTTP 404', /Downloading .*\/missing\.csv failed: HTTP 404\. The current data is kept\./],
    ['small.csv', 'valid, but less than half the lines of the data it would replace', new RegExp(`The IPv4 data from .*/small\\.csv has 1000 lines, less than half of the \\d+ it would replace: it looks truncated\\. The current data is kept\\.`)],
  ])('refuses %s (%s) with exit 1 and keeps the data byte for byte', async (name, _what, message) => {
    const url = `${base}/${name}`;
    // Given a state dir that never had an update: the refusal creates nothing
    const fresh = await setup();
    const first = await bulwark(['geoblock', 'update', '--from', url, ...fresh.g]);
    expect(first.code, output(first)).toBe(1);
    expect(first.stderr).toMatch(message);
    expect(await geoFiles(fresh.state)).toBeNull();

    // Given data from an earlier good update
    const { root, state, g, answers } = await setup();
    expect((await bulwark(['geoblock', 'update', '--from', `${base}/good.csv`, ...g])).code).toBe(0);
    const before = await geoFiles(state);
    expect(Object.keys(before ?? {})).toEqual(DATA_FILES);
    const tree = await snapshotTree(root);

    // When the update is refused
    const result = await bulwark(['geoblock', 'update', '--from', url, ...g]);

    // Then it says why, and the data, its meta file and the root are as they were
    expect(result.code, output(result)).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toContain('Country data updated');
    expect(await geoFiles(state)).toEqual(before);
    expect(await snapshotTree(root)).toEqual(tree);
    // and the plan still uses the earlier update
    const plan = await bulwark(['plan', '--step', 'geoblock', '--answers', answers, ...g]);
    expect(plan.stdout).toContain('sets bulwark-geo4, bulwark-geo6: 3 IPv4 and 2 IPv6 networks');
  });
});
