// The ids step through the real CLI on fixture roots. Under --root nothing runs (no fail2ban-regex,
// no aide --init, no service): the jail file and the ban action are written on the files, a jail
// whose log is missing stays off with the reason, and a rollback gives back a byte-identical tree.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';

const roots = fixtureRoots();
let root: string;
let state: string;

async function box(name: FixtureName): Promise<void> {
  ({ root, state } = await roots.box(name));
}

const read = (file: string) => fs.readFile(path.join(root, file), 'utf8');
const g = () => rootArgs(root, state);
const output = cliOutput;


describe('ids on Elastix 2.x / CentOS 5', () => {
  beforeEach(() => box('elastix-centos5'));

  it('watches /var/log/secure and Apache\'s error_log, says what Asterisk lacks, writes the jail file and the set action; a rollback gives back the tree', async () => {
    const pristine = await snapshotTree(root);
    const plan = await bulwark(['plan', '--step', 'ids', ...g()]);
    expect(plan.code, output(plan)).toBe(2);
    // Elastix's logger.conf has no security channel: said, and the jail not chosen
    expect(plan.stdout).toMatch(/asterisk: not watched: Asterisk logs no failed SIP logins fail2ban can read: no security log: add "security => security" under \[logfiles\]/);
    expect(plan.stdout).not.toContain('add "dateformat=%F %T"'); // Elastix's logger.conf has the dates right
    expect(plan.stdout).toContain('filter not proved: --root does not run fail2ban-regex');

    const apply = await bulwark(['apply', '--step', 'ids', '--yes', ...g()]);
    expect(apply.code, output(apply)).toBe(0);
    const jails = await read('etc/fail2ban/jail.d/bulwark.local');
    expect(jails).toMatch(/\[sshd\]\nenabled   = true\nport      = 22\nbackend   = auto\nlogpath   = \/var\/log\/secure\n/);
    expect(jails).toMatch(/\[apache-auth\]\nenabled   = true\nport      = http,https\nbackend   = auto\nlogpath   = \/var\/log\/httpd\/error_log\n/);
    expect(jails).not.toContain('[asterisk]');
    expect(jails).toMatch(/^banaction = bulwark-ipset\[type=multiport\]$/m);
    expect(await read('etc/fail2ban/action.d/bulwark-ipset.conf')).toContain('maxelem = 1048576');
    // AIDE's configuration is written; its baseline waits for the live system
    expect(await read('etc/aide/bulwark.conf')).toMatch(/^\/etc BULWARK$/m);
    // and the daily check cron runs (CentOS 5's /etc/crontab runs /etc/cron.daily with run-parts)
    expect(await read('etc/cron.daily/bulwark-aide')).toContain('aide --check --config "$CONF"');
    expect((await fs.stat(path.join(root, 'etc/cron.daily/bulwark-aide'))).mode & 0o777).toBe(0o755);
    expect(plan.stdout).toContain('integrity: only AIDE\'s configuration is written under --root; the baseline (aide --init) is recorded on the live system.');

    const again = await bulwark(['plan', '--step', 'ids', ...g()]);
    expect(again.code, output(again)).toBe(0);

    const rollback = await bulwark(['rollback', '--step', 'ids', '--yes', ...g()]);
    expect(rollback.code, output(rollback)).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

describe('ids on Debian 12 with A2Billing', () => {
  beforeEach(() => box('debian12-a2billing'));

  it('watches the Asterisk security log (dates as %F %T), and the SIP trunk is never banned', async () => {
    const plan = await bulwark(['plan', '--step', 'ids', ...g()]);
    expect(plan.code, output(plan)).toBe(2);
    expect(plan.stdout).toMatch(/\+\[asterisk\]\n\+enabled   = true\n\+port      = 5060\n\+backend   = auto\n\+logpath   = \/var\/log\/asterisk\/security/);
    expect(plan.stdout).toMatch(/\+ignoreip  = 127\.0\.0\.1\/8 ::1 sip\.carrier\.example\.net/);
  });

  it('refuses an unknown jail with exit 2 naming the field and the accepted names', async () => {
    const pristine = await snapshotTree(root);
    const file = path.join(state, 'answers.json');
    await fs.writeFile(file, JSON.stringify({ ids: { jails: ['sshd', 'ssh'] } }));
    const result = await bulwark(['apply', '--step', 'ids', '--yes', '--answers', file, ...g()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ids\.jails\[1\]: expected one of "sshd", "asterisk", "apache-auth", "recidive"/);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});
