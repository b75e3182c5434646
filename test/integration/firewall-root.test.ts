// The firewall step on fixture roots (--root): no running firewall to touch, so the plan is the
// files that load the rules at boot, in the distribution's own place.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { materializeFixture, removeFixture, snapshotTree, type FixtureName } from '../helpers/fixture.js';

const made: string[] = [];
afterEach(async () => {
  for (const dir of made.splice(0)) await removeFixture(dir);
});

async function box(name: FixtureName): Promise<{ root: string; state: string; g: string[] }> {
  const root = await materializeFixture(name);
  const state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-'));
  made.push(root, state);
  return { root, state, g: ['--root', root, '--state-dir', state] };
}

describe('firewall under --root', () => {
  it.each([
    // CentOS 5 reads only /etc/sysctl.conf at boot: the kernel settings go there, in a marked block.
    ['elastix-centos5', 'etc/sysconfig/iptables', 'etc/sysconfig/ip6tables', 'etc/sysctl.conf'],
    ['debian12-a2billing', 'etc/iptables/rules.v4', 'etc/iptables/rules.v6', 'etc/sysctl.d/60-bulwark-network.conf'],
  ] as const)('%s: writes %s, %s and %s, plans nothing again, and rolls back byte for byte', async (name, v4, v6, sysctl) => {
    const { root, g } = await box(name);
    const pristine = await snapshotTree(root);

    const plan = await bulwark(['plan', '--step', 'firewall', ...g]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(`+++ b/${v4}`);
    expect(plan.stdout).toContain(`+++ b/${v6}`);
    expect(plan.stdout).toContain(`+++ b/${sysctl}`);
    // No running kernel under --root: no kernel settings changed now, the boot file only.
    expect(plan.stdout).not.toContain('kernel setting(s) now');
    // Nothing about the running firewall: under --root there is none to touch.
    expect(plan.stdout).not.toContain('running iptables');

    const apply = await bulwark(['apply', '--step', 'firewall', '--yes', ...g]);
    expect(apply.code).toBe(0);
    expect(apply.stdout).not.toContain('dead-man switch'); // files only: nothing to guard
    const rules = await fs.readFile(path.join(root, v4), 'utf8');
    expect(rules).toContain(':INPUT DROP [0:0]');
    // Prefilled from the box's own config files: SSH, SIP, IAX and the RTP range of rtp.conf.
    for (const rule of ['--dport 22 -j RETURN', '-p udp -m udp --dport 5060 -j RETURN', '--dport 4569 -j RETURN', '--dport 10000:20000 -j RETURN']) expect(rules).toContain(rule);
    // Internal services stay closed: MySQL, the Asterisk manager, SMTP.
    for (const closed of ['--dport 3306', '--dport 5038', '--dport 25 ']) expect(rules).not.toContain(closed);
    expect((await fs.stat(path.join(root, v4))).mode & 0o777).toBe(0o600);
    expect(await fs.readFile(path.join(root, v6), 'utf8')).toContain('--icmpv6-type 135 -j RETURN');
    const settings = await fs.readFile(path.join(root, sysctl), 'utf8');
    for (const line of ['net.ipv4.conf.all.rp_filter = 1', 'net.ipv4.conf.default.accept_redirects = 0', 'net.ipv4.tcp_syncookies = 1', 'net.ipv6.conf.all.accept_source_route = 0']) expect(settings).toContain(`${line}\n`);
    expect(settings).not.toContain('forward');
    if (name === 'elastix-centos5') expect(settings).toMatch(/^# BEGIN bulwark network settings\n[^]*# END bulwark network settings\n$/);

    expect((await bulwark(['plan', '--step', 'firewall', ...g])).code).toBe(0);
    expect((await bulwark(['rollback', '--step', 'firewall', '--yes', ...g])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('elastix-centos5 (iptables 1.3.5): the SIP limit in the form that version loads, the FreePBX trunk exempt, IPv6 without string or hashlimit', async () => {
    const { root, g } = await box('elastix-centos5');
    const plan = await bulwark(['plan', '--step', 'firewall', ...g]);
    expect(plan.code, plan.stderr).toBe(2);
    // the trunk FreePBX wrote into sip_additional.conf (included by sip.conf) is found and exempt
    expect(plan.stdout).toContain('Never counted, as SIP trunks: carrier-out (198.51.100.20).');
    expect(plan.stdout).toContain('This box\'s iptables (1.3.5) predates --hashlimit-above and --icase');
    expect((await bulwark(['apply', '--step', 'firewall', '--yes', ...g])).code).toBe(0);
    const v4 = await fs.readFile(path.join(root, 'etc/sysconfig/iptables'), 'utf8');
    expect(v4).toContain('-A BULWARK-SIPLIMIT -s 198.51.100.20/32 -j RETURN');
    expect(v4).toContain('-A BULWARK-SIPLIMIT -m hashlimit --hashlimit 10/sec --hashlimit-burst 60 --hashlimit-mode srcip --hashlimit-name bw-sip --hashlimit-htable-size 16384 --hashlimit-htable-max 65536 --hashlimit-htable-expire 30000 -j RETURN');
    expect(v4).toContain('-A BULWARK-INPUT -p udp -m udp --dport 5060 -m string --string "REGISTER " --algo bm --from 28 --to 94 -j BULWARK-SIPLIMIT');
    expect(v4).not.toMatch(/--hashlimit-(upto|above|srcmask)|--icase/);
    const v6 = await fs.readFile(path.join(root, 'etc/sysconfig/ip6tables'), 'utf8');
    expect(v6).not.toMatch(/-m string|-m hashlimit/);
    expect(v6).toContain('-A BULWARK-INPUT -p udp -m udp --dport 5060 -j RETURN');
  });

  it('debian12-a2billing: a trunk named by host name is not looked up under --root, and the plan says how to exempt it', async () => {
    const { g } = await box('debian12-a2billing');
    const plan = await bulwark(['plan', '--step', 'firewall', ...g]);
    expect(plan.stdout).toContain('Trunk carrier (sip.carrier.example.net) is not exempted: a host name: not looked up under --root. Put its addresses in firewall.sipLimit.exempt');
    expect(plan.stdout).toContain('-A BULWARK-SIPLIMIT -m hashlimit --hashlimit-upto 10/sec');
  });

  it('uses the answers file: ports limited to sources, trusted sources, no rate limit', async () => {
    const { root, state, g } = await box('debian12-a2billing');
    const answers = path.join(state, 'answers.json');
    await fs.writeFile(answers, JSON.stringify({ firewall: { allow: [{ port: 22, proto: 'tcp' }, { port: 443, proto: 'tcp', from: ['198.51.100.0/24', '2001:db8:5::/48'] }], trustedSources: ['203.0.113.0/24'], rateLimit: false } }));
    expect((await bulwark(['apply', '--step', 'firewall', '--yes', '--answers', answers, ...g])).code).toBe(0);
    const v4 = await fs.readFile(path.join(root, 'etc/iptables/rules.v4'), 'utf8');
    expect(v4).toContain('-A BULWARK-INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 443 -j RETURN');
    expect(v4).toContain('-A BULWARK-INPUT -s 203.0.113.0/24 -j RETURN');
    expect(v4).not.toContain('hashlimit');
    expect(v4).not.toContain('--dport 5060'); // not in this allow list: closed
    const v6 = await fs.readFile(path.join(root, 'etc/iptables/rules.v6'), 'utf8');
    expect(v6).toContain('-A BULWARK-INPUT -s 2001:db8:5::/48 -p tcp -m tcp --dport 443 -j RETURN');
    expect(v6).not.toContain('198.51.100.0');
  });

  it('networkSettings false: the rules only, no kernel settings file, and the verify does not ask for one', async () => {
    const { root, state, g } = await box('debian12-a2billing');
    const answers = path.join(state, 'answers.json');
    await fs.writeFile(answers, JSON.stringify({ firewall: { allow: [{ port: 22, proto: 'tcp' }], networkSettings: false } }));
    const plan = await bulwark(['plan', '--step', 'firewall', '--answers', answers, ...g]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('+++ b/etc/iptables/rules.v4');
    expect(plan.stdout).not.toContain('sysctl');
    const apply = await bulwark(['apply', '--step', 'firewall', '--yes', '--answers', answers, ...g]);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).not.toContain('network kernel settings');
    await expect(fs.access(path.join(root, 'etc/sysctl.d/60-bulwark-network.conf'))).rejects.toThrow();
  });

  it.each([
    [{ allow: [{ port: 70000, proto: 'tcp' }] }, /firewall\.allow\[0\]\.port: expected a port .*\(got 70000\)/],
    [{ allow: [{ port: '20000-10000', proto: 'udp' }] }, /firewall\.allow\[0\]\.port: .*LOW <= HIGH.*\(got "20000-10000"\)/],
    [{ allow: [{ port: 22, proto: 'sctp' }] }, /firewall\.allow\[0\]\.proto: expected "tcp" or "udp" \(got "sctp"\)/],
    [{ allow: [{ port: 22, proto: 'tcp', from: ['1.2.3.4/33'] }] }, /firewall\.allow\[0\]\.from\[0\]: expected an IPv4 or IPv6 address or CIDR/],
    [{ allow: [{ proto: 'tcp', from: ['198.51.100.0/24'] }] }, /firewall\.allow\[0\]\.port: missing/],
    [{ allow: [{ port: 22, proto: 'tcp' }], sipLimit: { perSecond: 0 } }, /firewall\.sipLimit\.perSecond: expected a whole number of requests a second from 1 to 10000 \(got 0\)/],
    [{ allow: [{ port: 22, proto: 'tcp' }], sipLimit: { exempt: ['sip.example.com'] } }, /firewall\.sipLimit\.exempt\[0\]: expected an IPv4 or IPv6 address or CIDR/],
    [{ allow: [{ port: 22, proto: 'tcp' }], networkSettings: 'no' }, /firewall\.networkSettings: expected true or false \(got "no"\)/],
  ])('bad answers %j: exit 2 naming the field, nothing changed', async (firewall, message) => {
    const { root, state, g } = await box('debian12-a2billing');
    const pristine = await snapshotTree(root);
    const answers = path.join(state, 'answers.json');
    await fs.writeFile(answers, JSON.stringify({ firewall }));
    const result = await bulwark(['apply', '--step', 'firewall', '--yes', '--answers', answers, ...g]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});
