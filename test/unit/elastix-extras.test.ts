// The minimal-installation step's pieces on small roots written here: which links each box's tool
// changes (update-rc.d on Debian, chkconfig without a header, systemd aliases), the FreePBX distro,
// and the Apache and xinetd texts.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { detectSystem } from '../../src/system.js';
import { findDaemon } from '../../steps/elastix-extras/boot.js';
import { disableXinetd, extrasStep, renderDenyConf, type FoundExtra } from '../../steps/elastix-extras/index.js';
import { extraById } from '../../steps/elastix-extras/catalog.js';

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await fs.rm(root, { recursive: true, force: true });
});

/** A root from a map of path -> content (a string) or symlink target ({ link }). */
async function makeRoot(entries: Record<string, string | { link: string }>): Promise<Host> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-extras-'));
  roots.push(root);
  for (const [file, content] of Object.entries(entries)) {
    const full = path.join(root, file);
    await fs.mkdir(path.dirname(full), { recursive: true });
    if (typeof content === 'string') await fs.writeFile(full, content);
    else await fs.symlink(content.link, full);
  }
  return new Host(root);
}

const LSB = (start: string) => `#!/bin/sh\n### BEGIN INIT INFO\n# Provides: webmin\n# Default-Start: ${start}\n# Default-Stop: 0 1 6\n### END INIT INFO\n`;

describe('findDaemon: the links `disable` changes', () => {
  it('Debian without systemd (update-rc.d): S##name becomes K##name in the Default-Start levels, same number and target', async () => {
    const host = await makeRoot({
      'etc/debian_version': '12.8\n',
      'etc/inittab': 'id:2:initdefault:\n',
      'etc/init.d/webmin': LSB('2 3 4 5'),
      'etc/rc2.d/S02webmin': { link: '../init.d/webmin' },
      'etc/rc3.d/S02webmin': { link: '../init.d/webmin' },
      'etc/rc5.d/S02webmin': { link: '../init.d/webmin' },
      'etc/rc0.d/K01webmin': { link: '../init.d/webmin' },
    });
    const daemon = await findDaemon(host, await detectSystem(host), ['webmin']);
    expect(daemon?.tool).toBe('update-rc.d');
    expect(daemon?.disable).toEqual([
      { path: '/etc/rc2.d/S02webmin', before: '../init.d/webmin', after: null },
      { path: '/etc/rc2.d/K02webmin', before: null, after: '../init.d/webmin' },
      { path: '/etc/rc3.d/S02webmin', before: '../init.d/webmin', after: null },
      { path: '/etc/rc3.d/K02webmin', before: null, after: '../init.d/webmin' },
      { path: '/etc/rc5.d/S02webmin', before: '../init.d/webmin', after: null },
      { path: '/etc/rc5.d/K02webmin', before: null, after: '../init.d/webmin' },
    ]);
    expect(daemon?.bootLinks).toEqual(['/etc/rc2.d/S02webmin', '/etc/rc3.d/S02webmin', '/etc/rc5.d/S02webmin']);
  });

  it('only the levels the script names: Default-Start 3 5 leaves rc2.d alone', async () => {
    const host = await makeRoot({
      'etc/debian_version': '12.8\n',
      'etc/inittab': 'id:2:initdefault:\n',
      'etc/init.d/webmin': LSB('3 5'),
      'etc/rc2.d/S02webmin': { link: '../init.d/webmin' },
      'etc/rc3.d/S02webmin': { link: '../init.d/webmin' },
    });
    const daemon = await findDaemon(host, await detectSystem(host), ['webmin']);
    expect(daemon?.disable.map((e) => e.path)).toEqual(['/etc/rc3.d/S02webmin', '/etc/rc3.d/K02webmin']);
  });

  it('RHEL, a service already off: nothing to change', async () => {
    const host = await makeRoot({
      'etc/redhat-release': 'CentOS release 5.11 (Final)\n',
      'etc/inittab': 'id:3:initdefault:\n',
      'etc/rc.d/init.d/festival': '#!/bin/sh\n# festival server, no header\n',
      'etc/init.d': { link: 'rc.d/init.d' },
      'etc/rc.d/rc3.d/K20festival': { link: '../init.d/festival' },
    });
    const daemon = await findDaemon(host, await detectSystem(host), ['festival']);
    expect(daemon?.tool).toBe('chkconfig');
    expect(daemon?.disable).toEqual([]);
  });

  it('RHEL, a script with no "# chkconfig:" header: K priority 100 - start, made by bulwark itself (chkconfig would derive it otherwise)', async () => {
    const host = await makeRoot({
      'etc/redhat-release': 'CentOS release 5.11 (Final)\n',
      'etc/inittab': 'id:3:initdefault:\n',
      'etc/rc.d/init.d/festival': LSB('3 5'),
      'etc/init.d': { link: 'rc.d/init.d' },
      'etc/rc3.d': { link: 'rc.d/rc3.d' },
      'etc/rc.d/rc3.d/S80festival': { link: '../init.d/festival' },
    });
    const daemon = await findDaemon(host, await detectSystem(host), ['festival']);
    expect(daemon?.byTool).toBe(false);
    expect(daemon?.disable).toEqual([
      { path: '/etc/rc.d/rc3.d/S80festival', before: '../init.d/festival', after: null },
      { path: '/etc/rc.d/rc3.d/K20festival', before: null, after: '../init.d/festival' },
    ]);
  });

  it('systemd: the wants link and an Alias= link go; a mask and other units stay', async () => {
    const host = await makeRoot({
      'etc/os-release': 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
      'usr/sbin/init': { link: '../lib/systemd/systemd' },
      'sbin': { link: 'usr/sbin' },
      'lib/systemd/system/vsftpd.service': '[Unit]\n',
      'etc/systemd/system/multi-user.target.wants/vsftpd.service': { link: '/lib/systemd/system/vsftpd.service' },
      'etc/systemd/system/ftp.service': { link: '/lib/systemd/system/vsftpd.service' },
      'etc/systemd/system/multi-user.target.wants/ssh.service': { link: '/lib/systemd/system/ssh.service' },
      'etc/systemd/system/tftp.service': { link: '/dev/null' },
    });
    const system = await detectSystem(host);
    expect(system.init).toBe('systemd');
    const daemon = await findDaemon(host, system, ['vsftpd']);
    expect(daemon?.tool).toBe('systemd');
    expect(daemon?.disable).toEqual([
      { path: '/etc/systemd/system/ftp.service', before: '/lib/systemd/system/vsftpd.service', after: null },
      { path: '/etc/systemd/system/multi-user.target.wants/vsftpd.service', before: '/lib/systemd/system/vsftpd.service', after: null },
    ]);
  });

  it('the first candidate name installed wins (portmap on CentOS 5, rpcbind on 7); none installed: null', async () => {
    const host = await makeRoot({ 'etc/redhat-release': 'CentOS release 5.11 (Final)\n', 'etc/inittab': '\n', 'etc/init.d/rpcbind': '# chkconfig: 2345 13 87\n' });
    const system = await detectSystem(host);
    expect((await findDaemon(host, system, ['portmap', 'rpcbind']))?.name).toBe('rpcbind');
    expect(await findDaemon(host, system, ['openfire'])).toBeNull();
  });
});

describe('the FreePBX distro', () => {
  it('is recognised, keeps FreePBX by default, and denies UCP', async () => {
    const host = await makeRoot({
      'etc/os-release': 'ID="sangoma"\nID_LIKE="centos rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="Sangoma Linux 7"\n',
      'etc/schmooze/pbx-version': '16.0\n',
      'etc/freepbx.conf': '<?php $amp_conf["AMPDBPASS"] = "not-shown";\n',
      'etc/httpd/conf/httpd.conf': 'DocumentRoot "/var/www/html"\nIncludeOptional conf.d/*.conf\n',
      'etc/httpd/conf.modules.d/00-base.conf': 'LoadModule authz_core_module modules/mod_authz_core.so\n',
      'var/www/html/admin/config.php': '<?php\n',
      'var/www/html/ucp/index.php': '<?php\n',
    });
    const system = await detectSystem(host);
    const facts = await extrasStep.detect({ host, system, stateDir: '/nonexistent' });
    expect(facts.flavour).toBe('freepbx');
    expect(facts.found.map((f) => f.extra.id)).toEqual(['freepbx', 'ucp']);
    expect(extrasStep.defaults(facts).keep).toEqual(['a2billing', 'freepbx']);
    const changes = extrasStep.plan(facts, extrasStep.defaults(facts));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'file', path: '/etc/httpd/conf.d/zz-bulwark-extras.conf' });
    expect((changes[0] as { after: string }).after).toContain('<Location "/ucp">\n    Require all denied\n</Location>');
  });
});

describe('texts', () => {
  const found = (id: string, webPaths: string[]): FoundExtra => ({ extra: extraById(id)!, webPaths, daemons: [], xinetd: null, packages: [], evidence: [] });

  it('the GUI at the site root is one LocationMatch that leaves /a2billing and /admin alone', () => {
    const text = renderDenyConf({ flavour: 'httpd', version: '2.4', mainConfig: '/etc/httpd/conf/httpd.conf' }, [found('issabel-gui', ['/', '/pbxapi'])]);
    const pattern = new RegExp(/<LocationMatch "([^"]+)">/.exec(text)![1]!);
    for (const denied of ['/', '/index.php', '/modules/pbxadmin/index.php', '/themes/x.css', '/pbxapi/v1/x']) expect(pattern.test(denied), denied).toBe(true);
    for (const open of ['/a2billing/admin/', '/admin/config.php', '/mail/', '/indexes', '/modulesx']) expect(pattern.test(open), open).toBe(false);
    expect(text).not.toContain('<Location "/pbxapi">'); // the pattern covers it
  });

  it('xinetd: disable = no becomes yes; a service without the line gets one', () => {
    expect(disableXinetd('service tftp\n{\n\tdisable\t= no\n\tuser\t= root\n}\n')).toBe('service tftp\n{\n\tdisable\t= yes\n\tuser\t= root\n}\n');
    expect(disableXinetd('service tftp\n{\n\tuser\t= root\n}\n')).toBe('service tftp\n{\n\tuser\t= root\n\tdisable\t\t\t= yes\n}\n');
  });
});

describe('removing packages', () => {
  const DPKG_STATUS = ['vsftpd', 'webmin', 'asterisk']
    .map((name) => `Package: ${name}\nStatus: install ok installed\nVersion: 1.0\n`)
    .join('\n');

  async function debianWithExtras() {
    const host = await makeRoot({
      'etc/debian_version': '12.8\n',
      'etc/inittab': 'id:2:initdefault:\n',
      'var/lib/dpkg/status': DPKG_STATUS,
      'etc/init.d/vsftpd': LSB('2 3 4 5'),
      'etc/rc2.d/S01vsftpd': { link: '../init.d/vsftpd' },
    });
    const system = await detectSystem(host);
    return { host, system, facts: await extrasStep.detect({ host, system, stateDir: '/nonexistent' }) };
  }

  it('is never planned by default, and only on the live system when asked', async () => {
    const { facts } = await debianWithExtras();
    expect(facts.found.find((f) => f.extra.id === 'vsftpd')?.packages).toEqual(['vsftpd']);
    const live = { ...facts, live: true };
    expect(extrasStep.plan(live, extrasStep.defaults(live)).some((c) => c.kind === 'package')).toBe(false);
    expect(extrasStep.plan(facts, { keep: [], removePackages: true }).some((c) => c.kind === 'package')).toBe(false); // --root: never
    const changes = extrasStep.plan(live, { keep: [], removePackages: true });
    expect(changes.filter((c) => c.kind === 'package')).toEqual([expect.objectContaining({ kind: 'package', manager: 'apt', action: 'remove', names: ['webmin', 'vsftpd'] })]);
    // The wizard asks, and says why it is not the default
    const question = extrasStep.questions(live).find((q) => q.key === 'removePackages');
    expect(question?.help).toMatch(/cannot undo byte for byte/);
    // The plan says so too
    const { renderPlan } = await import('../../src/preview.js');
    expect(renderPlan(changes)).toContain('apt-get remove webmin vsftpd (cannot be undone byte for byte: a rollback tells you what to reinstall)');
  });

  it('a rollback says what to reinstall, with the snapshot that lists what was installed', async () => {
    const { host, system } = await debianWithExtras();
    const { SnapshotStore } = await import('../../snapshots/store.js');
    const { restoreSnapshot } = await import('../../src/transaction.js');
    const state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-extras-state-'));
    roots.push(state);
    const store = new SnapshotStore(state);
    const manifest = await store.capture(host, [], { step: 'elastix-extras', label: 'test' });
    manifest.packages = { manager: 'apt', removed: ['webmin', 'vsftpd'], listBefore: await store.putText('vsftpd 1.0\nwebmin 1.0\n') };
    const report = await restoreSnapshot(host, system, store, manifest);
    expect(report.manual).toEqual([`packages removed by the apply are not reinstalled by a rollback: apt-get install webmin vsftpd (the list installed before is in snapshot ${manifest.id})`]);
  });
});
