// The minimal-installation step through the real CLI on the three fixture roots: Elastix 2.x on
// CentOS 5 (Apache 2.2, SysV init, chkconfig links), Issabel 4 on CentOS 7 (Apache 2.4, systemd
// wants links, Openfire as a SysV script), and Debian 12 with A2Billing (no extras). Under --root
// nothing runs: the Apache file and the boot links are changed on the files, as `systemctl --root`
// would, and a rollback gives back a byte-identical tree, links included.
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

const at = (file: string) => path.join(root, file);
const read = (file: string) => fs.readFile(at(file), 'utf8');
const g = () => rootArgs(root, state);
const output = cliOutput;

/** The link at a path, or null. */
async function link(file: string): Promise<string | null> {
  try {
    return await fs.readlink(at(file));
  } catch {
    return null;
  }
}

async function answers(content: unknown): Promise<string> {
  const file = path.join(state, 'answers.json');
  await fs.writeFile(file, JSON.stringify(content));
  return file;
}


describe('elastix-extras on Elastix 2.x / CentOS 5 (Apache 2.2, SysV)', () => {
  beforeEach(() => box('elastix-centos5'));

  it('by default keeps A2Billing and the Elastix GUI, denies the other web apps in 2.2 syntax, takes the daemons out of the boot; a rollback gives back the tree byte for byte', async () => {
    const pristine = await snapshotTree(root);

    const plan = await bulwark(['plan', '--step', 'elastix-extras', ...g()]);
    expect(plan.code, output(plan)).toBe(2);
    expect(plan.stdout).toContain('Kept: A2Billing, Elastix web interface, FreePBX.');
    expect(await snapshotTree(root)).toEqual(pristine);

    const apply = await bulwark(['apply', '--step', 'elastix-extras', '--yes', ...g()]);
    expect(apply.code, output(apply)).toBe(0);

    // Apache 2.2: Order/Deny (Require would stop 2.2 from starting), one Location per app not kept
    const conf = await read('etc/httpd/conf.d/zz-bulwark-extras.conf');
    expect(conf).not.toContain('Require');
    for (const denied of ['/vtigercrm', '/mail', '/recordings', '/panel', '/openfireWrapper.php', '/webminWrapper.php', '/mailman', '/pipermail']) {
      expect(conf).toContain(`<Location "${denied}">\n    Order allow,deny\n    Deny from all\n    Satisfy All\n</Location>`);
    }
    // and nothing about what is kept
    expect(conf).not.toMatch(/a2billing|"\/admin"|LocationMatch/);
    // httpd.conf includes conf.d/*.conf: the file is read without touching httpd.conf
    expect(await read('etc/httpd/conf/httpd.conf')).toMatch(/^Include conf\.d\/\*\.conf$/m);

    // chkconfig off: S links out of runlevels 2-5, K links with the script's stop priority in
    for (const level of [2, 3, 4, 5]) {
      expect(await link(`etc/rc.d/rc${level}.d/S99openfire`)).toBeNull();
      expect(await link(`etc/rc.d/rc${level}.d/K01openfire`)).toBe('../init.d/openfire');
      expect(await link(`etc/rc.d/rc${level}.d/S65cyrus-imapd`)).toBeNull();
      expect(await link(`etc/rc.d/rc${level}.d/K10cyrus-imapd`)).toBe('../init.d/cyrus-imapd');
    }
    // runlevels 0, 1 and 6 are left as they were; Asterisk, MySQL, Apache and sshd still start
    expect(await link('etc/rc.d/rc0.d/K01openfire')).toBe('../init.d/openfire');
    for (const kept of ['S90asterisk', 'S64mysqld', 'S85httpd', 'S55sshd']) expect(await link(`etc/rc.d/rc3.d/${kept}`)).not.toBeNull();
    // xinetd's tftp is disabled in its own file
    expect(await read('etc/xinetd.d/tftp')).toMatch(/^\s*disable\s*=\s*yes$/m);

    const again = await bulwark(['plan', '--step', 'elastix-extras', ...g()]);
    expect(again.code, output(again)).toBe(0);
    expect(again.stdout).toContain('Nothing to change.');

    const rollback = await bulwark(['rollback', '--step', 'elastix-extras', '--yes', ...g()]);
    expect(rollback.code, output(rollback)).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('keeps what the admin names: keeping vtigercrm and openfire leaves them alone', async () => {
    const file = await answers({ 'elastix-extras': { keep: ['a2billing', 'elastix-gui', 'freepbx', 'vtigercrm', 'openfire'] } });
    const apply = await bulwark(['apply', '--step', 'elastix-extras', '--yes', '--answers', file, ...g()]);
    expect(apply.code, output(apply)).toBe(0);
    const conf = await read('etc/httpd/conf.d/zz-bulwark-extras.conf');
    expect(conf).not.toContain('/vtigercrm');
    expect(conf).not.toContain('/openfireWrapper.php');
    expect(conf).toContain('<Location "/mail">');
    expect(await link('etc/rc.d/rc3.d/S99openfire')).toBe('../init.d/openfire');
    expect(await link('etc/rc.d/rc3.d/S65cyrus-imapd')).toBeNull();
  });

  it('refuses a keep list naming an unknown app with exit 2, listing the known ones, and changes nothing', async () => {
    const pristine = await snapshotTree(root);
    const file = await answers({ 'elastix-extras': { keep: ['a2billing', 'sugarcrm'] } });
    const result = await bulwark(['apply', '--step', 'elastix-extras', '--yes', '--answers', file, ...g()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/elastix-extras\.keep\[1\]: expected one of "a2billing", "freepbx", .*"vtigercrm", .*"tftp"/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

describe('elastix-extras on Issabel 4 / CentOS 7 (Apache 2.4, systemd)', () => {
  beforeEach(() => box('issabel-centos7'));

  it('denies in 2.4 syntax, removes the wants links systemctl disable removes, hands the SysV-only Openfire to chkconfig, and rolls back byte for byte', async () => {
    const pristine = await snapshotTree(root);
    const plan = await bulwark(['plan', '--step', 'elastix-extras', ...g()]);
    expect(plan.code, output(plan)).toBe(2);
    expect(plan.stdout).toContain('Issabel on CentOS Linux 7 (Core) (Apache 2.4, systemd)');
    expect(plan.stdout).toContain('Kept: Issabel web interface, FreePBX.');
    // The secrets in issabel.conf and amportal.conf are never read into the plan
    expect(plan.stdout).not.toMatch(/Fixture-\w+-Secret/);

    const apply = await bulwark(['apply', '--step', 'elastix-extras', '--yes', ...g()]);
    expect(apply.code, output(apply)).toBe(0);

    const conf = await read('etc/httpd/conf.d/zz-bulwark-extras.conf');
    expect(conf).toContain('<Location "/mail">\n    Require all denied\n</Location>');
    expect(conf).toContain('<Location "/panel">\n    Require all denied\n</Location>');
    expect(conf).not.toMatch(/Order|Deny from/); // 2.2 syntax in 2.4 is mod_access_compat's, and surprising
    expect(conf).not.toMatch(/pbxapi|"\/admin"/); // kept with the Issabel GUI

    const wants = 'etc/systemd/system/multi-user.target.wants';
    for (const off of ['cyrus-imapd', 'rpcbind', 'hylafax-hfaxd', 'hylafax-faxq']) expect(await link(`${wants}/${off}.service`)).toBeNull();
    for (const kept of ['httpd', 'mariadb', 'asterisk', 'sshd', 'postfix', 'xinetd']) expect(await link(`${wants}/${kept}.service`)).toBe(`/usr/lib/systemd/system/${kept}.service`);
    // MariaDB's alias stays: it is not an extra
    expect(await link('etc/systemd/system/mysql.service')).toBe('/usr/lib/systemd/system/mariadb.service');
    // Openfire has no unit: systemctl disable hands it to chkconfig
    expect(await link('etc/rc.d/rc3.d/S99openfire')).toBeNull();
    expect(await link('etc/rc.d/rc3.d/K01openfire')).toBe('../init.d/openfire');
    expect(await read('etc/xinetd.d/tftp')).toMatch(/^\s*disable\s*=\s*yes$/m);

    const again = await bulwark(['plan', '--step', 'elastix-extras', ...g()]);
    expect(again.code, output(again)).toBe(0);

    const rollback = await bulwark(['rollback', '--step', 'elastix-extras', '--yes', ...g()]);
    expect(rollback.code, output(rollback)).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

describe('elastix-extras on Debian 12 with A2Billing', () => {
  beforeEach(() => box('debian12-a2billing'));

  it('finds no extras, says so, and plans nothing', async () => {
    const pristine = await snapshotTree(root);
    const plan = await bulwark(['plan', '--step', 'elastix-extras', ...g()]);
    expect(plan.code, output(plan)).toBe(0);
    expect(plan.stdout).toContain('Kept: A2Billing.');
    expect(plan.stdout).toContain('Nothing to change.');
    const audit = await bulwark(['audit', '--step', 'elastix-extras', '--json', ...g()]);
    expect(audit.code, output(audit)).toBe(0);
    const report = JSON.parse(audit.stdout) as { score: number; steps: { id: string; findings: { severity: string; title: string }[]; plannedChanges: number }[] };
    expect(report.steps).toEqual([{ id: 'elastix-extras', title: 'Minimal installation', plannedChanges: 0, findings: [expect.objectContaining({ severity: 'info', title: 'No extras left on' })] }]);
    expect(report.score).toBe(100);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

describe('bulwark audit', () => {
  beforeEach(() => box('elastix-centos5'));

  it('reports each extra that is on with a severity, why and what the step would do, scores the box, and writes nothing', async () => {
    const pristine = await snapshotTree(root);
    const audit = await bulwark(['audit', '--json', ...g()]);
    expect(audit.code, output(audit)).toBe(0);
    const report = JSON.parse(audit.stdout) as { score: number; steps: { id: string; findings: { severity: string; title: string; why: string; fix: string }[]; plannedChanges: number }[] };
    expect(await snapshotTree(root)).toEqual(pristine); // read-only
    const extras = report.steps.find((s) => s.id === 'elastix-extras')!;
    const titles = extras.findings.map((f) => `${f.severity} ${f.title}`);
    expect(titles).toContain('high Webmin is on (10000/tcp)');
    expect(titles).toContain('high vTiger CRM is on (/vtigercrm)');
    expect(titles).toContain('medium TFTP server (xinetd) is on (69/udp)');
    expect(titles.some((t) => /A2Billing|Elastix web interface/.test(t))).toBe(false); // kept by default
    for (const finding of extras.findings) {
      expect(finding.why.length).toBeGreaterThan(20);
      expect(finding.fix).toMatch(/^Turn it off: /);
    }
    expect(extras.plannedChanges).toBeGreaterThan(0);
    expect(report.steps.map((s) => s.id)).toEqual(['elastix-extras', 'exposure', 'voip', 'firewall', 'geoblock', 'ids', 'htaccess', 'ssh', 'ssl', 'updates']);
    expect(report.score).toBeGreaterThanOrEqual(0);
    expect(report.score).toBeLessThan(50);

    // After the step is applied, its findings are gone and its score rises (the whole box's may stay
    // at 0: the other steps' findings are still there)
    const stepBefore = JSON.parse((await bulwark(['audit', '--step', 'elastix-extras', '--json', ...g()])).stdout) as typeof report;
    expect((await bulwark(['apply', '--step', 'elastix-extras', '--yes', ...g()])).code).toBe(0);
    const after = JSON.parse((await bulwark(['audit', '--json', ...g()])).stdout) as typeof report;
    expect(after.steps.find((s) => s.id === 'elastix-extras')!.findings.map((f) => f.severity)).toEqual(['info']);
    const stepAfter = JSON.parse((await bulwark(['audit', '--step', 'elastix-extras', '--json', ...g()])).stdout) as typeof report;
    expect(stepAfter.score).toBeGreaterThan(stepBefore.score);
    expect(after.score).toBeGreaterThanOrEqual(report.score);

    const text = await bulwark(['audit', '--step', 'elastix-extras', '--no-color', ...g()]);
    expect(text.stdout).toMatch(/== elastix-extras: Minimal installation\n/);
    expect(text.stdout).toMatch(/Score: \d+\/100/);
    await bulwark(['rollback', '--step', 'elastix-extras', '--yes', ...g()]);
    expect(await snapshotTree(root, { exclude: [] })).toEqual(pristine);
  });
});
