// The htaccess step against a real Debian apache2 started the SysV way in a sandbox box, reached
// with curl from the admin's namespace: the protected page answers 401 without credentials and with
// wrong ones, 200 with the right ones; the rest of the site stays open; after a rollback the page is
// open again. The password never appears in bulwark's output or state.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole, eventually, httpStatus, startApache, STATE_DIR, stopApache } from '../helpers/bulwark-in-box.js';


const PASSWORD = 'Correct-Horse-Battery-42';

describe('htaccess with a real apache2 in a box', () => {
  let box: Box;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/sbin/apache2': 'apache2', '/usr/bin/curl': 'curl', '/usr/bin/htpasswd': 'apache2-utils' });
    box = await createBox({ ssh: false });
    await box.writeFile('/var/www/html/a2billing/admin/index.html', '<html>A2Billing admin</html>\n');
    await box.writeFile('/var/www/html/a2billing/customer/index.html', '<html>A2Billing customer</html>\n');
    await box.writeFile('/root/ops.pw', `${PASSWORD}\n`, 0o600);
    await startApache(box);
  }, 60_000);

  afterEach(async () => {
    await stopApache(box);
    await box?.destroy();
  });

  const status = (urlPath: string, credentials?: string) => httpStatus(box, urlPath, credentials);


  async function expectStatuses(expected: [string, string | undefined, number][]): Promise<void> {
    const ok = await eventually(async () => {
      for (const [urlPath, credentials, code] of expected) if ((await status(urlPath, credentials)) !== code) return false;
      return true;
    }, 10_000);
    const seen = [];
    for (const [urlPath, credentials] of expected) seen.push([urlPath, credentials, await status(urlPath, credentials)]);
    expect(ok ? expected : seen).toEqual(expected);
  }

  it('401 without and with wrong credentials, 200 with the right ones, the rest open; open again after rollback', async () => {
    await box.writeFile('/root/answers.json', JSON.stringify({ htaccess: { protect: ['/a2billing/admin'], users: [{ name: 'ops', passwordFile: '/root/ops.pw' }] } }), 0o600);
    await expectStatuses([['/a2billing/admin/', undefined, 200]]);

    const apply = await atConsole(box, ['apply', '--step', 'htaccess', '--yes', '--answers', '/root/answers.json']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/check\s+Apache configuration test/);

    await expectStatuses([
      ['/a2billing/admin/', undefined, 401],
      ['/a2billing/admin/', 'ops:not-the-password', 401],
      ['/a2billing/admin/', 'intruder:' + PASSWORD, 401],
      ['/a2billing/admin/', `ops:${PASSWORD}`, 200],
      ['/a2billing/customer/', undefined, 200],
      ['/', undefined, 200],
    ]);
    // The password file: bcrypt, root:www-data, 0640 — and htpasswd itself accepts it
    const meta = (await box.exec('stat', ['-c', '%a %U:%G', '/etc/apache2/bulwark.htpasswd'])).stdout.trim();
    expect(meta).toBe('640 root:www-data');
    expect(await box.readFile('/etc/apache2/bulwark.htpasswd')).toMatch(/^ops:\$2y\$12\$[./A-Za-z0-9]{53}\n$/);
    expect((await box.exec('htpasswd', ['-vb', '/etc/apache2/bulwark.htpasswd', 'ops', PASSWORD], { reject: false })).code).toBe(0);
    // The password is nowhere in bulwark's output or state
    expect(apply.stdout + apply.stderr).not.toContain(PASSWORD);
    const leaks = await box.exec('grep', ['-r', '-l', PASSWORD, STATE_DIR], { reject: false });
    expect(leaks.stdout).toBe('');
    const plan = await atConsole(box, ['plan', '--step', 'htaccess', '--answers', '/root/answers.json']);
    expect(plan.code).toBe(0); // nothing left to do: the user's line is kept, not rehashed

    const rollback = await atConsole(box, ['rollback', '--step', 'htaccess', '--yes']);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    await expectStatuses([['/a2billing/admin/', undefined, 200]]);
    expect((await box.exec('test', ['-e', '/etc/apache2/bulwark.htpasswd'], { reject: false })).code).not.toBe(0);
  }, 120_000);

  it('a password file that cannot be read is refused with exit 2 naming the field; Apache is untouched', async () => {
    await box.writeFile('/root/answers.json', JSON.stringify({ htaccess: { protect: ['/a2billing/admin'], users: [{ name: 'ops', passwordFile: '/root/missing.pw' }] } }), 0o600);
    const result = await atConsole(box, ['apply', '--step', 'htaccess', '--yes', '--answers', '/root/answers.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/htaccess\.users\[0\]\.passwordFile: cannot read \/root\/missing\.pw/);
    await expectStatuses([['/a2billing/admin/', undefined, 200]]);
  }, 60_000);
});
