// The SSH port move from the workstation (`--host`), on a box with no Node or Python: bulwark proves
// access itself with a NEW connection on the NEW port, confirms through it, and the old port closes.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/bulwark-in-box.js';
import { BULWARK } from '../helpers/cli.js';
import { createBox, requireSandboxTools, type Box } from '../helpers/sandbox.js';

describe('bulwark --host: moving SSH to another port, confirmed on the new port from the workstation', () => {
  let box: Box;
  const ssh = (port = 22) => ['--host', `root@${box.boxV4}:${port}`, '--ssh-option', `IdentityFile=${box.adminKey}`, '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'UserKnownHostsFile=/dev/null'];
  const remote = (args: readonly string[], port = 22) => box.admin(process.execPath, [BULWARK, ...ssh(port), ...args, '--no-color'], { reject: false, timeoutMs: 180_000 });
  const listening = async (port: number) => (await box.exec('sh', ['-c', `ss -H -ltn 'sport = :${port}' | grep -c LISTEN`], { reject: false })).stdout.trim() !== '0';

  beforeAll(async () => {
    requireSandboxTools();
    box = await createBox();
    await box.hideInterpreters();
  }, 60_000);

  afterAll(async () => {
    await box?.destroy();
  });

  it('geo-blocking from the workstation: the sets are compiled here, loaded on the box, confirmed, and rolled back', async () => {
    // all but GB denied on 22: about 93,000 IPv4 and 82,000 IPv6 networks, streamed to the box's ipset
    writeFileSync(`${box.tmp}/geo.json`, JSON.stringify({ geoblock: { mode: 'allow', countries: ['GB'], ports: [{ port: 22, proto: 'tcp' }] } }));
    const applied = await remote(['apply', '--step', 'geoblock', '--yes', '--answers', `${box.tmp}/geo.json`, '--confirm-timeout', '90']);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Confirmed: the geoblock change stays');
    const inSet = async (set: string, address: string) => (await box.exec('ipset', ['test', set, address], { reject: false })).code === 0;
    expect(await inSet('bulwark-geo4', '81.2.69.160')).toBe(true); // GB
    expect(await inSet('bulwark-geo4', '203.0.113.66')).toBe(false);
    const entries = Number(/Number of entries: (\d+)/.exec((await box.exec('ipset', ['list', '-t', 'bulwark-geo4'])).stdout)?.[1]);
    expect(entries).toBeGreaterThan(1000);
    expect((await box.exec('iptables', ['-S', 'BULWARK-GEO'])).stdout).toContain('--match-set bulwark-geo4 src');
    // the admin (10.x) still gets in with a new connection
    expect((await box.ssh(['true'], { reject: false })).code).toBe(0);
    const rolledBack = await remote(['rollback', '--step', 'geoblock', '--yes']);
    expect(rolledBack.code, rolledBack.stdout + rolledBack.stderr).toBe(0);
    expect((await box.exec('ipset', ['list', '-n'])).stdout).not.toContain('bulwark-geo');
    expect((await box.exec('iptables-save', [])).stdout).not.toContain('BULWARK-GEO');
  }, 240_000);

  it('geoblock update over --host: checked here, kept on the box, and what the next plans compile from any workstation', async () => {
    // Data of the shipped form and size (an update under half the lines it replaces is refused as
    // cut short): GB holds three TEST-NET networks, other countries single addresses of 192.0.2.128/25.
    const dataDir = path.dirname(createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country/package.json'));
    const shipped = (file: string) => Math.ceil((readFileSync(path.join(dataDir, file), 'utf8').split('\n').length - 1) * 0.55);
    const [v4Lines, v6Lines] = [shipped('geo-whois-asn-country-ipv4.csv'), shipped('geo-whois-asn-country-ipv6.csv')];
    const lines: string[] = ['192.0.2.0,192.0.2.127,GB', '198.51.100.0,198.51.100.255,GB', '203.0.113.64,203.0.113.127,GB'];
    for (let i = 0; lines.length < v4Lines; i++) lines.push(`192.0.2.${128 + (i % 128)},192.0.2.${128 + (i % 128)},${['US', 'FR', 'DE'][i % 3]}`);
    lines.push('2001:db8:a::,2001:db8:a:ffff:ffff:ffff:ffff:ffff,GB');
    for (let i = 0; lines.length < v4Lines + v6Lines; i++) {
      const prefix = `2001:db8:${(0x1000 + (i >> 16)).toString(16)}:${(i & 0xffff).toString(16)}`;
      lines.push(`${prefix}::,${prefix}:ffff:ffff:ffff:ffff,US`);
    }
    writeFileSync(`${box.tmp}/geo.json`, JSON.stringify({ geoblock: { mode: 'allow', countries: ['GB'], ports: [{ port: 22, proto: 'tcp' }] } }));
    const csv = `${box.tmp}/countries.csv`;
    writeFileSync(csv, lines.join('\n') + '\n');
    const cache = (name: string) => ({ env: { XDG_CACHE_HOME: `${box.tmp}/${name}` } });
    const withCache = (args: readonly string[], name: string) => box.admin(process.execPath, [BULWARK, ...ssh(), ...args, '--no-color'], { reject: false, timeoutMs: 180_000, ...cache(name) });

    const updated = await withCache(['geoblock', 'update', '--from', csv], 'cache-a');
    expect(updated.code, updated.stdout + updated.stderr).toBe(0);
    expect(updated.stdout).toContain(`Country data updated from ${csv}`);
    // kept on the box, in the state directory, as a run on the box keeps it
    const meta = JSON.parse(await box.readFile('/var/lib/bulwark/geo/meta.json')) as { origin: string };
    expect(meta.origin).toBe(csv);
    expect((await box.readFile('/var/lib/bulwark/geo/ipv4.csv')).split('\n')[0]).toBe('192.0.2.0,192.0.2.127,GB');
    // the next plan, from this workstation and from one that never saw the update, compiles it
    for (const name of ['cache-a', 'cache-b']) {
      const plan = await withCache(['plan', '--step', 'geoblock', '--answers', `${box.tmp}/geo.json`], name);
      expect(plan.code, plan.stdout + plan.stderr).toBe(2);
      expect(plan.stdout).toContain('sets bulwark-geo4, bulwark-geo6: 3 IPv4 and 1 IPv6 networks');
      expect(plan.stdout).toMatch(/GB: 3 IPv4 ranges \(448 addresses\), 1 IPv6 ranges/);
    }
    // a bad download changes nothing on the box
    writeFileSync(`${box.tmp}/bad.csv`, '192.0.2.10,192.0.2.300,US\n');
    const bad = await withCache(['geoblock', 'update', '--from', `${box.tmp}/bad.csv`], 'cache-a');
    expect(bad.code).toBe(1);
    expect(JSON.parse(await box.readFile('/var/lib/bulwark/geo/meta.json'))).toEqual(meta);
  }, 240_000);

  it('applies the firewall, then moves SSH to 2222 with passwords off: proved on 2222, 22 closed afterwards', async () => {
    const firewall = await remote(['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60']);
    expect(firewall.code, firewall.stdout + firewall.stderr).toBe(0);
    expect(firewall.stdout).toContain('Confirmed: the firewall change stays');

    writeFileSync(`${box.tmp}/ssh.json`, JSON.stringify({ ssh: { port: 2222, passwordAuthentication: false } }));
    const moved = await remote(['apply', '--step', 'ssh', '--yes', '--answers', `${box.tmp}/ssh.json`, '--confirm-timeout', '60']);
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
    // the proof came on the new port
    expect(moved.stdout).toMatch(/prove +a new SSH connection from here on port 2222/);
    expect(moved.stdout).toMatch(/Confirmed: the ssh change stays \(confirmed from a new SSH connection from 10\.\d+\.0\.2\)/);
    const guard = JSON.parse(await box.readFile('/var/lib/bulwark/guard.json')) as { status: string; confirmPort: number };
    expect(guard).toMatchObject({ status: 'confirmed', confirmPort: 2222 });
    // sshd and the firewall: 2222 open, 22 closed once confirmed
    expect(await eventually(async () => !(await listening(22)), 15_000)).toBe(true);
    expect(await listening(2222)).toBe(true);
    expect(await box.canConnect(22, { timeoutMs: 1000 })).toBe(false);
    expect((await box.exec('sshd', ['-T'])).stdout).toMatch(/^passwordauthentication no$/m);
    // and the workstation reaches the box on the new port from now on
    const status = await remote(['status', '--json'], 2222);
    expect(status.code, status.stderr).toBe(0);
    const state = JSON.parse(status.stdout) as { lastGuardedChange: { step: string; status: string } | null; steps: { id: string; status: string }[] };
    expect(state.lastGuardedChange).toMatchObject({ step: 'ssh', status: 'confirmed' });
    // (the second phase, closing 22, is applied once the move is confirmed)
    expect(state.steps.find((s) => s.id === 'ssh')?.status).toBe('applied');
  }, 240_000);
});
