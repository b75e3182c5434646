// The firewall step's network kernel settings end to end: dist/bulwark.js over SSH against a sandbox
// box. The net.* sysctls bulwark sets are per network namespace on this kernel, so the box's netns
// has its own copy: the test sets some to non-default values first, and reads them back through the
// box's /proc/sys after the apply and after each kind of rollback (`bulwark rollback`, and the
// dead-man switch for a change nobody confirmed). The host's own values are read before and after:
// they never change.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { eventually, overSsh, STATE_DIR, status, stepStatus, tokenOf } from '../helpers/bulwark-in-box.js';

const CONF = '/etc/sysctl.d/60-bulwark-network.conf';
/** Keys set to values bulwark changes, before the apply: a restore must bring exactly these back. */
const UNUSUAL: Record<string, string> = {
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.all.log_martians': '0',
  'net.ipv4.conf.all.accept_redirects': '1',
  'net.ipv4.tcp_syncookies': '0',
  'net.ipv4.icmp_echo_ignore_broadcasts': '0',
  'net.ipv6.conf.all.accept_redirects': '1',
};
/** What bulwark sets them to on a box with one way out. */
const WANTED: Record<string, string> = {
  'net.ipv4.conf.all.rp_filter': '1',
  'net.ipv4.conf.default.rp_filter': '1',
  'net.ipv4.conf.all.log_martians': '1',
  'net.ipv4.conf.all.accept_redirects': '0',
  'net.ipv4.conf.all.send_redirects': '0',
  'net.ipv4.conf.all.accept_source_route': '0',
  'net.ipv4.tcp_syncookies': '1',
  'net.ipv4.icmp_echo_ignore_broadcasts': '1',
  'net.ipv4.icmp_ignore_bogus_error_responses': '1',
  'net.ipv6.conf.all.accept_redirects': '0',
  'net.ipv6.conf.default.accept_source_route': '0',
};
const KEYS = [...new Set([...Object.keys(UNUSUAL), ...Object.keys(WANTED)])];
const procPath = (key: string) => `/proc/sys/${key.replaceAll('.', '/')}`;

async function boxValues(box: Box): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const key of KEYS) values[key] = (await box.readFile(procPath(key))).trim();
  return values;
}

function hostValues(): Record<string, string> {
  return Object.fromEntries(KEYS.map((key) => [key, readFileSync(procPath(key), 'utf8').trim()]));
}

/** Lynis's KRNL-6000 in the box (its netns and mount ns: `sysctl -a` there shows the box's values):
 *  the net.* keys it reports as differing from its default profile. */
async function lynisDifferingNetKeys(box: Box): Promise<string[]> {
  const run = await box.exec('lynis', ['audit', 'system', '--tests', 'KRNL-6000', '--no-colors', '--quick', '--logfile', '/root/lynis.log', '--report-file', '/root/lynis-report.dat'], { reject: false, timeoutMs: 120_000 });
  expect(run.stdout).toContain('sysctl');
  const report = await box.readFile('/root/lynis-report.dat');
  // details[]=KRNL-6000|sysctl|desc:...;field:net.ipv4.conf.all.rp_filter;prefval:1;value:0;|
  return [...report.matchAll(/^details\[\]=KRNL-6000\|sysctl\|.*;field:(net\.[a-z0-9_.]+);prefval:/gm)].map((m) => m[1]!).sort();
}

describe('the firewall step\'s network kernel settings on a live box', () => {
  let box: Box | undefined;
  beforeEach(() => requireSandboxTools());
  afterEach(async () => {
    await box?.destroy();
    box = undefined;
  });

  async function unusualBox(): Promise<{ box: Box; before: Record<string, string> }> {
    box = await createBox();
    for (const [key, value] of Object.entries(UNUSUAL)) await box.exec('sysctl', ['-q', '-w', `${key}=${value}`]);
    const before = await boxValues(box);
    for (const [key, value] of Object.entries(UNUSUAL)) expect(before[key]).toBe(value);
    const lynisBefore = await lynisDifferingNetKeys(box);
    expect(lynisBefore).toEqual(expect.arrayContaining(['net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.all.log_martians', 'net.ipv4.tcp_syncookies']));
    return { box, before };
  }

  it('sets them in the box\'s kernel and the boot file once confirmed, and `bulwark rollback` puts the old values back', async () => {
    const host = hostValues();
    const { box: b, before } = await unusualBox();

    // When the admin applies the firewall over SSH and confirms from a new connection
    const applied = await overSsh(b, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60']);
    expect(applied.code, applied.stderr).toBe(0);
    // Then the kernel has the new values at once, and the boot file waits for the confirmation
    expect(await boxValues(b)).toMatchObject(WANTED);
    expect((await b.exec('test', ['-e', CONF], { reject: false })).code).toBe(1);
    const confirmed = await overSsh(b, ['confirm', tokenOf(applied)]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    // and Lynis no longer lists any of the keys bulwark sets (it did before)
    const lynisAfter = await lynisDifferingNetKeys(b);
    expect(lynisAfter.filter((key) => key in WANTED || key in UNUSUAL)).toEqual([]);
    console.log(`Lynis KRNL-6000 net.* keys still differing after the apply: ${lynisAfter.join(', ') || 'none'}`);
    const conf = await b.readFile(CONF);
    for (const [key, value] of Object.entries(WANTED)) expect(conf).toContain(`${key} = ${value}\n`);
    // and the box's sysctl reads the file as the new values (what a boot applies)
    await b.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_syncookies=0']);
    await b.exec('sysctl', ['-q', '-p', CONF]);
    expect(await boxValues(b)).toMatchObject(WANTED);

    // When the admin rolls the step back
    const rolledBack = await overSsh(b, ['rollback', '--step', 'firewall', '--yes']);
    expect(rolledBack.code, `${rolledBack.stdout}\n${rolledBack.stderr}`).toBe(0);
    // Then every value is the one before, and the file is gone
    expect(await boxValues(b)).toEqual(before);
    expect((await b.exec('test', ['-e', CONF], { reject: false })).code).toBe(1);
    expect(stepStatus(await status(b), 'firewall')).toBe('rolled-back');
    // and the host's own values never moved
    expect(hostValues()).toEqual(host);
  }, 90_000);

  it('the dead-man switch puts the old values back when nobody confirms', async () => {
    const host = hostValues();
    const { box: b, before } = await unusualBox();

    const applied = await overSsh(b, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '10']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await boxValues(b)).toMatchObject(WANTED);

    // Then, after the deadline, the switch has written every old value back
    const back = await eventually(async () => (await status(b)).lastGuardedChange?.status === 'rolled-back', 20_000, 200);
    expect(back, await b.readFile(`${STATE_DIR}/watchdog.log`)).toBe(true);
    expect(await boxValues(b)).toEqual(before);
    expect((await status(b)).lastGuardedChange?.decidedBy).toContain('not confirmed before the deadline');
    expect(await b.readFile(`${STATE_DIR}/guard-${JSON.parse(await b.readFile(`${STATE_DIR}/guard.json`)).id}.outcome`)).toMatch(/^rolled-back /);
    expect(hostValues()).toEqual(host);
  }, 60_000);
});
