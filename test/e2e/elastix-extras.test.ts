// The minimal-installation step against a real Debian apache2, started the SysV way inside a
// sandbox box (no systemd), reached with curl from the admin's namespace: an app not kept answers
// 403 once bulwark's file is in and Apache has reloaded gracefully, a kept one 200, and after a
// rollback the denied app answers 200 again, with Apache's configuration back byte for byte.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole, eventually, httpStatus, startApache, stopApache } from '../helpers/bulwark-in-box.js';


/** The web apps an Elastix install leaves in the docroot, as plain pages (no PHP needed to be served). */
const APPS: Record<string, string> = {
  '/var/www/html/a2billing/admin/index.html': 'A2Billing admin',
  '/var/www/html/vtigercrm/index.html': 'vTiger CRM',
  '/var/www/html/mail/index.html': 'Roundcube',
  '/var/www/html/recordings/index.html': 'ARI',
};

/** A stand-in for a SysV daemon: an LSB init script around a sleeping process with a pid file. */
const STAND_IN = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          vsftpd
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: a stand-in for vsftpd (bulwark's e2e test)
### END INIT INFO
PIDFILE=/run/vsftpd-stand-in.pid
alive() { [ -f $PIDFILE ] && kill -0 "$(cat $PIDFILE)" 2>/dev/null; }
case "$1" in
  start) alive || { setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $! > $PIDFILE; } ;;
  stop) alive && kill "$(cat $PIDFILE)"; rm -f $PIDFILE ;;
  status) alive || exit 3 ;;
  restart|force-reload) "$0" stop; "$0" start ;;
  *) echo "Usage: $0 {start|stop|status|restart}"; exit 2 ;;
esac
exit 0
`;

describe('elastix-extras with a real apache2 in a box', () => {
  let box: Box;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/sbin/apache2': 'apache2', '/usr/bin/curl': 'curl' });
    box = await createBox({ ssh: false });
    for (const [file, text] of Object.entries(APPS)) await box.writeFile(file, `<html><body>${text}</body></html>\n`);
    await startApache(box);
  }, 60_000);

  afterEach(async () => {
    await stopApache(box);
    await box?.destroy();
  });

  /** /etc/apache2 as names, types, modes, owners, link targets and file hashes (overlayfs makes
   *  directory link counts and times meaningless, so `ls -l` is not compared). */
  async function apacheTree(): Promise<string> {
    const names = await box.exec('sh', ['-c', "cd /etc/apache2 && find . -printf '%p %y %m %u:%g %l\\n' | LC_ALL=C sort"]);
    const hashes = await box.exec('sh', ['-c', 'cd /etc/apache2 && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum']);
    return names.stdout + hashes.stdout;
  }

  const status = (urlPath: string) => httpStatus(box, urlPath);


  /** Waits for the statuses (a graceful reload lets old workers finish first). */
  async function expectStatuses(expected: Record<string, number>): Promise<void> {
    const ok = await eventually(async () => {
      for (const [urlPath, code] of Object.entries(expected)) if ((await status(urlPath)) !== code) return false;
      return true;
    }, 10_000);
    const seen: Record<string, number> = {};
    for (const urlPath of Object.keys(expected)) seen[urlPath] = await status(urlPath);
    expect(ok ? expected : seen).toEqual(expected);
  }

  it('denies what is not kept (403), keeps A2Billing (200), and a rollback opens it again (200)', async () => {
    // Given every app answering
    await expectStatuses({ '/vtigercrm/': 200, '/mail/': 200, '/recordings/': 200, '/a2billing/admin/': 200, '/': 200 });
    const before = await apacheTree();

    // When the step is applied with the defaults (keep A2Billing)
    const plan = await atConsole(box, ['plan', '--step', 'elastix-extras']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stdout).toContain('Kept: A2Billing.');
    expect(plan.stdout).toContain('+++ b/etc/apache2/conf-available/zz-bulwark-extras.conf');
    expect(plan.stdout).toContain('create link /etc/apache2/conf-enabled/zz-bulwark-extras.conf -> ../conf-available/zz-bulwark-extras.conf');
    expect(plan.stdout).toContain('reload apache2');
    const apply = await atConsole(box, ['apply', '--step', 'elastix-extras', '--yes']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    // Apache's own configuration test ran before the reload
    expect(apply.stdout).toMatch(/check\s+Apache configuration test/);
    expect(apply.stdout).toMatch(/run\s+(service apache2 reload|\/etc\/init\.d\/apache2 reload)/);

    // Then what is not kept answers 403, and the rest of the site is open
    await expectStatuses({ '/vtigercrm/': 403, '/vtigercrm/index.html': 403, '/mail/': 403, '/recordings/': 403, '/a2billing/admin/': 200, '/': 200 });
    const conf = await box.readFile('/etc/apache2/conf-available/zz-bulwark-extras.conf');
    expect(conf).toContain('<Location "/vtigercrm">\n    Require all denied\n</Location>');

    // And a second plan has nothing left to do
    const again = await atConsole(box, ['plan', '--step', 'elastix-extras']);
    expect(again.code, again.stdout + again.stderr).toBe(0);

    // When it is rolled back
    const rollback = await atConsole(box, ['rollback', '--step', 'elastix-extras', '--yes']);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);

    // Then every app answers 200 again, and /etc/apache2 is as it was (names, modes, owners, links)
    await expectStatuses({ '/vtigercrm/': 200, '/mail/': 200, '/recordings/': 200, '/a2billing/admin/': 200, '/': 200 });
    const after = await apacheTree();
    expect(after).toBe(before);
  }, 120_000);

  it('a daemon not kept is stopped and taken out of the boot by the box\'s own update-rc.d, exactly as planned; a rollback puts the links back and starts it', async () => {
    // Given a SysV service (a stand-in for vsftpd: its init script, rc links, a running process)
    await box.writeFile('/etc/init.d/vsftpd', STAND_IN, 0o755);
    for (const level of [2, 3, 4, 5]) await box.exec('ln', ['-s', '../init.d/vsftpd', `/etc/rc${level}.d/S01vsftpd`]);
    for (const level of [0, 1, 6]) await box.exec('ln', ['-s', '../init.d/vsftpd', `/etc/rc${level}.d/K01vsftpd`]);
    await box.exec('/etc/init.d/vsftpd', ['start']);
    const running = async () => (await box.exec('/etc/init.d/vsftpd', ['status'], { reject: false })).code === 0;
    expect(await running()).toBe(true);
    const rcLinks = async () => (await box.exec('sh', ['-c', "ls -l /etc/rc?.d/ | grep -o '[SK]01vsftpd -> ../init.d/vsftpd' | sort | uniq -c"])).stdout;
    const linksBefore = await rcLinks();

    // When the step is applied (vsftpd is not kept by default)
    const plan = await atConsole(box, ['plan', '--step', 'elastix-extras']);
    for (const level of [2, 3, 4, 5]) {
      expect(plan.stdout).toContain(`remove link /etc/rc${level}.d/S01vsftpd -> ../init.d/vsftpd (by disable vsftpd)`);
      expect(plan.stdout).toContain(`create link /etc/rc${level}.d/K01vsftpd -> ../init.d/vsftpd (by disable vsftpd)`);
    }
    const apply = await atConsole(box, ['apply', '--step', 'elastix-extras', '--yes']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    // Then the box's own tool did it, and verify found exactly the planned links
    expect(apply.stdout).toMatch(/run\s+update-rc\.d vsftpd disable/);
    expect(apply.stdout).toMatch(/run\s+service vsftpd stop/);
    expect(apply.stdout).toContain('✔ vsftpd is stopped');
    expect(await running()).toBe(false);
    for (const level of [2, 3, 4, 5]) {
      expect(await box.exec('readlink', [`/etc/rc${level}.d/K01vsftpd`]).then((r) => r.stdout.trim())).toBe('../init.d/vsftpd');
      expect((await box.exec('test', ['-L', `/etc/rc${level}.d/S01vsftpd`], { reject: false })).code).not.toBe(0);
    }

    // When it is rolled back: the S links are back, the K links gone, and it runs again
    const rollback = await atConsole(box, ['rollback', '--step', 'elastix-extras', '--yes']);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await rcLinks()).toBe(linksBefore);
    expect(await eventually(running, 5000)).toBe(true);
  }, 120_000);

  it('a keep list naming an unknown app is refused with exit 2, listing the known ones; Apache is untouched', async () => {
    await box.writeFile('/root/answers.json', JSON.stringify({ 'elastix-extras': { keep: ['a2billing', 'suitecrm'] } }), 0o600);
    const result = await atConsole(box, ['apply', '--step', 'elastix-extras', '--yes', '--answers', '/root/answers.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/elastix-extras\.keep\[1\]: expected one of "a2billing", "freepbx"/);
    expect(await box.exec('test', ['-e', '/etc/apache2/conf-available/zz-bulwark-extras.conf'], { reject: false }).then((r) => r.code)).not.toBe(0);
    await expectStatuses({ '/vtigercrm/': 200 });
  }, 60_000);
});
