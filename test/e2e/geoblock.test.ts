// The geoblock step end to end: dist/bulwark.js run over SSH (or at the box's console) against a
// sandbox box with a real sshd, the kernel's own iptables (nf_tables) and ipset. The box has two
// neighbours: the admin (10.x and 2001:db8:<n>::2) and an "attacker" (203.0.113.66 and
// 2001:db8:<n>:66::66: documentation addresses, not LAN, and in neither GB nor IE in the data — the
// registries' records list 203.0.113.0/24 as AU and 2001:db8::/32 as JP). Country membership is
// checked with `ipset test` only; packets go between the test's own namespaces and nowhere else.
// Each test builds its own box and destroys it afterwards, whatever happened.
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULWARK } from '../helpers/cli.js';
import { createBox, requireSandboxTools, type Box, type RunResult } from '../helpers/sandbox.js';
import { atConsole, eventually, overSsh, RULES_V4, RULES_V6, STATE_DIR, status, stepStatus, tokenOf, TOKEN_LINE, type Family } from '../helpers/bulwark-in-box.js';

const SETS_FILE = '/etc/iptables/ipsets';
const SSH_AND_SIP = [{ port: 22, proto: 'tcp' }, { port: 5060, proto: 'udp' }] as const;

// --- the country data, read the way the test's own eyes would (not through bulwark's parser) -------

const DATA_DIR = path.dirname(createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country/package.json'));

interface CsvLine {
  start: string;
  end: string;
  code: string;
}

function readCsv(family: 'ipv4' | 'ipv6'): CsvLine[] {
  const text = readFileSync(path.join(DATA_DIR, `geo-whois-asn-country-${family}.csv`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [start, end, code] = l.trim().split(',') as [string, string, string];
      return { start, end, code };
    });
}

function v4ToNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function v6ToBigint(address: string): bigint {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, group) => (n << 16n) + BigInt(parseInt(group, 16)), 0n);
}

/** The country codes of every line of the shipped data that holds this address. */
function countriesOf(lines: readonly CsvLine[], address: string): string[] {
  const value = address.includes(':') ? v6ToBigint : (a: string) => BigInt(v4ToNumber(a));
  const n = value(address);
  return lines.filter((l) => value(l.start) <= n && n <= value(l.end)).map((l) => l.code);
}

const IPV4 = readCsv('ipv4');
const IPV6 = readCsv('ipv6');
/** A GB network (MaxMind's well-known GB test address); checked against the data below, not assumed. */
const GB_V4 = '81.2.69.160';
const IE_V4 = IPV4.find((l) => l.code === 'IE')!.start;
const GB_V6 = IPV6.find((l) => l.code === 'GB')!.start;
const FR_V4 = IPV4.find((l) => l.code === 'FR' && countriesOf(IPV4, l.start).every((c) => c === 'FR'))!.start;

// --- driving bulwark in the box ---------------------------------------------------------------

async function answers(box: Box, file: string, geoblock: unknown): Promise<void> {
  await box.writeFile(file, JSON.stringify({ geoblock }, null, 2) + '\n', 0o600);
}

/** `iptables -S [chain]` in the box; with reject false, so a missing chain shows as a non-zero code. */
function listRules(box: Box, family: Family, chain?: string): Promise<RunResult> {
  return box.exec(family === 4 ? 'iptables' : 'ip6tables', ['-S', ...(chain ? [chain] : [])], { reject: false });
}

async function setNames(box: Box): Promise<string[]> {
  return (await box.exec('ipset', ['list', '-n'])).stdout.split('\n').filter(Boolean).sort();
}

/** Is `address` in the kernel set `set` (exit 0 of `ipset test`, 1 when not)? */
async function inSet(box: Box, set: string, address: string): Promise<boolean> {
  const result = await box.exec('ipset', ['test', set, address], { reject: false });
  if (result.code !== 0 && result.code !== 1) throw new Error(`ipset test ${set} ${address} failed (${result.code}): ${result.stderr}`);
  return result.code === 0;
}

async function readIfExists(box: Box, file: string): Promise<string | null> {
  const result = await box.exec('cat', ['--', file], { reject: false });
  return result.code === 0 ? result.stdout : null;
}

/** A TCP server on `port` (IPv4 and IPv6) inside the box. */
async function startListener(box: Box, port: number): Promise<void> {
  await box.spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.end()).listen(${port}, '::')`]);
  if (!(await eventually(() => box.canConnect(port), 5000))) throw new Error(`the test listener on ${port} did not come up`);
}

const matchSetRules = (rules: string) => rules.split('\n').filter((r) => r.includes('--match-set'));

describe('the geoblock step on a live box (real sshd, iptables and ipset)', () => {
  let box: Box | undefined;

  beforeEach(() => {
    // Missing tools FAIL here, they never skip; ipset is this step's own tool.
    requireSandboxTools();
    for (const tool of ['/usr/sbin/ipset', '/usr/share/netfilter-persistent/plugins.d/10-ipset']) {
      expect(() => accessSync(tool, constants.X_OK), `${tool} is missing (Debian packages ipset, ipset-persistent)`).not.toThrow();
    }
  });

  afterEach(async () => {
    await box?.destroy();
    box = undefined;
  });

  async function newBox(): Promise<Box> {
    box = await createBox({ attacker: true });
    return box;
  }

  it('the shipped data holds what these tests rely on', () => {
    // The addresses below are taken from the data, not assumed: a newer data release that moves them
    // must fail here, not make the live tests prove nothing.
    expect(countriesOf(IPV4, GB_V4)).toEqual(['GB']);
    // its line is one /18, and its neighbours are not GB or IE: the set holds 81.2.64.0/18 as it is
    const at = IPV4.findIndex((l) => l.start === '81.2.64.0' && l.end === '81.2.127.255' && l.code === 'GB');
    expect(at).toBeGreaterThan(0);
    expect(['GB', 'IE']).not.toContain(IPV4[at - 1]!.code);
    expect(['GB', 'IE']).not.toContain(IPV4[at + 1]!.code);
    expect(IE_V4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(GB_V6).toContain(':');
    expect(countriesOf(IPV4, FR_V4)).toEqual(['FR']);
    // the attacker is in neither GB nor IE (the registries do list the documentation ranges, as AU and JP)
    for (const [lines, address] of [[IPV4, '203.0.113.66'], [IPV6, '2001:db8:1:66::66']] as const) {
      const countries = countriesOf(lines, address);
      expect(countries, address).not.toContain('GB');
      expect(countries, address).not.toContain('IE');
    }
  });

  it('allows only GB and IE on SSH and SIP: the admin keeps SSH, a foreign source is refused, confirmed from a new connection', async () => {
    // Given a box whose SSH the attacker (TEST-NET, in no country) can reach now
    const b = await newBox();
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    expect(await b.canConnect(22, { from: 'attacker', family: 6 })).toBe(true);
    await answers(b, '/root/geo.json', { mode: 'allow', countries: ['GB', 'IE'], ports: SSH_AND_SIP });

    // When the admin applies over IPv6 SSH (2001:db8::/32 is not LAN: only the exemption of the
    // admin's own address keeps that connection's successors in; IPv4 10.x is LAN-exempt)
    const applied = await overSsh(b, ['apply', '--step', 'geoblock', '--yes', '--answers', '/root/geo.json', '--confirm-timeout', '60'], 6);

    // Then it is armed under the dead-man switch
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    const token = tokenOf(applied);
    const armed = await status(b);
    expect(armed.awaitingConfirmation?.status).toBe('armed');
    expect(armed.awaitingConfirmation?.step).toBe('geoblock');
    expect(stepStatus(armed, 'geoblock')).toBe('awaiting-confirmation');

    // and the kernel sets hold the chosen countries' networks, and not others
    expect(await setNames(b)).toEqual(['bulwark-geo4', 'bulwark-geo6']);
    expect(await inSet(b, 'bulwark-geo4', GB_V4)).toBe(true);
    expect(await inSet(b, 'bulwark-geo4', IE_V4)).toBe(true);
    expect(await inSet(b, 'bulwark-geo6', GB_V6)).toBe(true);
    expect(await inSet(b, 'bulwark-geo4', FR_V4)).toBe(false);
    expect(await inSet(b, 'bulwark-geo4', b.attackerV4!)).toBe(false);
    expect(await inSet(b, 'bulwark-geo6', b.attackerV6!)).toBe(false);

    // and BULWARK-GEO is jumped to first from INPUT, with ONE drop rule per protected port (not per network)
    for (const family of [4, 6] as const) {
      const set = family === 4 ? 'bulwark-geo4' : 'bulwark-geo6';
      const chain = await listRules(b, family, 'BULWARK-GEO');
      expect(chain.code, chain.stderr).toBe(0);
      expect(matchSetRules(chain.stdout)).toEqual([
        `-A BULWARK-GEO -p tcp -m tcp --dport 22 -m set ! --match-set ${set} src -j DROP`,
        `-A BULWARK-GEO -p udp -m udp --dport 5060 -m set ! --match-set ${set} src -j DROP`,
      ]);
      expect(chain.stdout.split('\n').filter((r) => r.startsWith('-A ')).length).toBeLessThan(20);
      expect((await listRules(b, family, 'INPUT')).stdout.split('\n')[1]).toMatch(/^-A INPUT -m comment --comment "bulwark-geo:[0-9a-f]+" -j BULWARK-GEO$/);
    }
    // the admin's own IPv6 address is exempt by name; 10.x as LAN
    expect((await listRules(b, 6, 'BULWARK-GEO')).stdout).toContain(`-A BULWARK-GEO -s ${b.adminV6}/128 -j RETURN`);
    expect((await listRules(b, 4, 'BULWARK-GEO')).stdout).toContain('-A BULWARK-GEO -s 10.0.0.0/8 -j RETURN');

    // and nothing is saved for boot before the confirmation
    expect(await readIfExists(b, RULES_V4)).toBeNull();
    expect((await readIfExists(b, SETS_FILE)) ?? '').not.toContain('bulwark-geo');

    // and the admin still opens NEW SSH connections, over IPv4 and over IPv6
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
    expect((await b.ssh(['true'], { family: 6, reject: false })).code).toBe(0);
    // while a TEST-NET source is refused on the protected port, over both families
    expect(await b.canConnect(22, { from: 'attacker', timeoutMs: 1000 })).toBe(false);
    expect(await b.canConnect(22, { from: 'attacker', family: 6, timeoutMs: 1000 })).toBe(false);

    // When the admin confirms from a NEW ssh connection
    const confirmed = await overSsh(b, ['confirm', token], 6);

    // Then the change stays and is saved for boot: the sets and the rules that use them
    expect(confirmed.code, `${confirmed.stdout}\n${confirmed.stderr}`).toBe(0);
    const sets = await b.readFile(SETS_FILE);
    expect(sets).toMatch(/^create bulwark-geo4 hash:net family inet /m);
    expect(sets).toMatch(/^create bulwark-geo6 hash:net family inet6 /m);
    expect(sets).toContain('add bulwark-geo4 81.2.64.0/18');
    // the file holds exactly what the kernel set holds
    const kernel4 = (await b.exec('ipset', ['save', 'bulwark-geo4'])).stdout.split('\n').filter((l) => l.startsWith('add ')).sort();
    expect(sets.split('\n').filter((l) => l.startsWith('add bulwark-geo4 ')).sort()).toEqual(kernel4);
    expect(kernel4.length).toBeGreaterThan(1000);
    expect(await b.readFile(RULES_V4)).toContain('-A BULWARK-GEO -p udp -m udp --dport 5060 -m set ! --match-set bulwark-geo4 src -j DROP');
    expect(await b.readFile(RULES_V6)).toContain('-A BULWARK-GEO -p tcp -m tcp --dport 22 -m set ! --match-set bulwark-geo6 src -j DROP');
    const decided = await status(b);
    expect(decided.awaitingConfirmation).toBeNull();
    expect(decided.lastGuardedChange?.status).toBe('confirmed');
    expect(stepStatus(decided, 'geoblock')).toBe('confirmed');
    // and still: admin in, attacker out
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
    expect(await b.canConnect(22, { from: 'attacker', timeoutMs: 1000 })).toBe(false);
    // and planning the same answers again (from the same address) finds nothing to do
    const again = await overSsh(b, ['plan', '--step', 'geoblock', '--answers', '/root/geo.json'], 6);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).toContain('Nothing to change.');
  }, 45_000);

  it('rolls back only what geoblock made: other sets, rules and the boot files stay as they were', async () => {
    // Given a box with a set and an INPUT rule of someone else's, and the boot files as the packages left them
    const b = await newBox();
    await b.exec('ipset', ['create', 'other-set', 'hash:ip']);
    await b.exec('ipset', ['add', 'other-set', '198.51.100.7']);
    await b.exec('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-m', 'set', '--match-set', 'other-set', 'src', '-j', 'ACCEPT']);
    const otherRule = '-A INPUT -p tcp -m tcp --dport 9999 -m set --match-set other-set src -j ACCEPT';
    const otherSet = (await b.exec('ipset', ['save', 'other-set'])).stdout;
    const before = { v4: (await listRules(b, 4)).stdout, v6: (await listRules(b, 6)).stdout };
    expect(before.v4).toContain(otherRule);
    const files = { [RULES_V4]: await readIfExists(b, RULES_V4), [RULES_V6]: await readIfExists(b, RULES_V6), [SETS_FILE]: await readIfExists(b, SETS_FILE) };
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    await answers(b, '/root/geo.json', { mode: 'allow', countries: ['GB', 'IE'], ports: SSH_AND_SIP });

    // and geoblock applied and confirmed
    const applied = await overSsh(b, ['apply', '--step', 'geoblock', '--yes', '--answers', '/root/geo.json', '--confirm-timeout', '60']);
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    const confirmed = await overSsh(b, ['confirm', tokenOf(applied)]);
    expect(confirmed.code, `${confirmed.stdout}\n${confirmed.stderr}`).toBe(0);
    expect(await readIfExists(b, SETS_FILE)).toContain('create bulwark-geo4 hash:net');
    expect(await b.canConnect(22, { from: 'attacker', timeoutMs: 1000 })).toBe(false);

    // When the admin rolls the step back
    const rolledBack = await overSsh(b, ['rollback', '--step', 'geoblock', '--yes']);

    // Then bulwark's chain, jump and sets are gone
    expect(rolledBack.code, `${rolledBack.stdout}\n${rolledBack.stderr}`).toBe(0);
    for (const family of [4, 6] as const) {
      expect((await listRules(b, family, 'BULWARK-GEO')).code).not.toBe(0);
      expect((await listRules(b, family)).stdout).not.toContain('bulwark');
    }
    expect(await setNames(b)).toEqual(['other-set']);
    // and the others' set and rule are there, unchanged: the rules are exactly as before
    expect((await b.exec('ipset', ['save', 'other-set'])).stdout).toBe(otherSet);
    expect((await listRules(b, 4)).stdout).toBe(before.v4);
    expect((await listRules(b, 6)).stdout).toBe(before.v6);
    // and the attacker reaches SSH again
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    // and the boot files are as they were (absent when they were absent)
    for (const [file, content] of Object.entries(files)) expect(await readIfExists(b, file), file).toBe(content);
    expect(stepStatus(await status(b), 'geoblock')).toBe('rolled-back');
  }, 45_000);

  it('rolls back an unconfirmed geoblock made at the console by itself', async () => {
    const TIMEOUT_S = 10; // the shortest --confirm-timeout bulwark accepts
    // Given a box the attacker reaches on SSH
    const b = await newBox();
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    await answers(b, '/root/geo.json', { mode: 'allow', countries: ['GB', 'IE'], ports: SSH_AND_SIP });

    // When geoblock is applied at the console and nobody confirms
    const applied = await atConsole(b, ['apply', '--step', 'geoblock', '--yes', '--answers', '/root/geo.json', '--confirm-timeout', String(TIMEOUT_S)]);
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    tokenOf(applied);
    const armed = await status(b);
    expect(armed.awaitingConfirmation?.status).toBe('armed');
    const deadline = Date.parse(armed.awaitingConfirmation?.deadline ?? '');
    expect(await setNames(b)).toEqual(['bulwark-geo4', 'bulwark-geo6']);
    expect(await b.canConnect(22, { from: 'attacker', timeoutMs: 1000 })).toBe(false);

    // Then, a little after the deadline, the change is undone by itself
    const back = await eventually(async () => (await status(b)).lastGuardedChange?.status === 'rolled-back', deadline + 5000 - Date.now(), 200);
    expect(back, (await readIfExists(b, `${STATE_DIR}/watchdog.log`)) ?? 'no watchdog.log').toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(deadline);
    expect(await setNames(b)).toEqual([]);
    for (const family of [4, 6] as const) {
      expect((await listRules(b, family, 'BULWARK-GEO')).code).not.toBe(0);
      expect((await listRules(b, family)).stdout).not.toContain('bulwark');
    }
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    expect(await readIfExists(b, RULES_V4)).toBeNull();
    expect((await readIfExists(b, SETS_FILE)) ?? '').not.toContain('bulwark');
    const after = await status(b);
    expect(after.awaitingConfirmation).toBeNull();
    expect(after.lastGuardedChange?.decidedBy).toContain('not confirmed before the deadline');
    expect(stepStatus(after, 'geoblock')).toBe('rolled-back');
  }, 45_000);

  it('deny mode keeps the listed countries out and lets everyone else in', async () => {
    // Given a box with SIP-TLS (tcp/5061) listening, reachable by the attacker
    const b = await newBox();
    await startListener(b, 5061);
    expect(await b.canConnect(5061, { from: 'attacker' })).toBe(true);
    await answers(b, '/root/geo.json', { mode: 'deny', countries: ['GB'], ports: [{ port: 5060, proto: 'udp' }, { port: 5061, proto: 'tcp' }] });

    // When the admin applies "not GB" on SIP
    const applied = await overSsh(b, ['apply', '--step', 'geoblock', '--yes', '--answers', '/root/geo.json', '--confirm-timeout', '60']);
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);

    // Then the set holds GB's networks (and not IE's), and the rules drop sources IN the set
    expect(await inSet(b, 'bulwark-geo4', GB_V4)).toBe(true);
    expect(await inSet(b, 'bulwark-geo6', GB_V6)).toBe(true);
    expect(await inSet(b, 'bulwark-geo4', IE_V4)).toBe(false);
    const chain = (await listRules(b, 4, 'BULWARK-GEO')).stdout;
    expect(matchSetRules(chain)).toEqual([
      '-A BULWARK-GEO -p udp -m udp --dport 5060 -m set --match-set bulwark-geo4 src -j DROP',
      '-A BULWARK-GEO -p tcp -m tcp --dport 5061 -m set --match-set bulwark-geo4 src -j DROP',
    ]);
    expect(chain).not.toContain('! --match-set');
    expect(matchSetRules((await listRules(b, 6, 'BULWARK-GEO')).stdout)).toEqual([
      '-A BULWARK-GEO -p udp -m udp --dport 5060 -m set --match-set bulwark-geo6 src -j DROP',
      '-A BULWARK-GEO -p tcp -m tcp --dport 5061 -m set --match-set bulwark-geo6 src -j DROP',
    ]);
    // and the attacker (not GB) still gets in
    expect(await b.canConnect(5061, { from: 'attacker' })).toBe(true);
    // When the attacker's address is put in the set (as if it were a GB network: the test's own
    // change, to see the kernel look the source up in bulwark's set)
    await b.exec('ipset', ['add', 'bulwark-geo4', b.attackerV4!]);
    // Then it is dropped on the protected port, over IPv4 only (IPv6 still not in the set)
    expect(await b.canConnect(5061, { from: 'attacker', timeoutMs: 1000 })).toBe(false);
    expect(await b.canConnect(5061, { from: 'attacker', family: 6 })).toBe(true);
  }, 45_000);

  it.each([
    [['XX'], /geoblock\.countries: unknown country code "XX"/],
    [[], /geoblock\.countries/],
  ])('refuses countries %j with exit 2 naming geoblock.countries, changing nothing', async (countries, message) => {
    // Given a box with no sets and no bulwark rules
    const b = await newBox();
    const before = { v4: (await listRules(b, 4)).stdout, v6: (await listRules(b, 6)).stdout, sets: await readIfExists(b, SETS_FILE) };
    await answers(b, '/root/geo.json', { mode: 'allow', countries, ports: SSH_AND_SIP });

    // When the admin applies answers with a country the data does not know (or none)
    const result = await overSsh(b, ['apply', '--step', 'geoblock', '--yes', '--answers', '/root/geo.json', '--confirm-timeout', '60']);

    // Then it is a usage error naming the field
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toMatch(TOKEN_LINE);
    // and nothing changed: no set, no chain, the same rules, no file, nothing armed
    expect(await setNames(b)).toEqual([]);
    expect((await listRules(b, 4, 'BULWARK-GEO')).code).not.toBe(0);
    expect((await listRules(b, 4)).stdout).toBe(before.v4);
    expect((await listRules(b, 6)).stdout).toBe(before.v6);
    expect(await readIfExists(b, RULES_V4)).toBeNull();
    expect(await readIfExists(b, SETS_FILE)).toBe(before.sets);
    const state = await status(b);
    expect(state.awaitingConfirmation).toBeNull();
    expect(stepStatus(state, 'geoblock')).toBe('pending');
  });
});
