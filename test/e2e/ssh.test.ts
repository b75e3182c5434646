// The ssh step end to end, in a sandbox box whose sshd was started by its init script (no systemd),
// behind bulwark's own firewall. A confirmed move to 2222: a new connection on 2222 works and
// confirms (one on 22 may not), passwords are refused, and 22 is closed once confirmed. An
// unconfirmed move rolls back by itself: sshd_config byte for byte, nothing listening on 2222.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole, eventually, overSsh, status, stepStatus, tokenOf } from '../helpers/bulwark-in-box.js';
import { BULWARK } from '../helpers/cli.js';


describe('ssh: key-only login and a guarded port move, in a box', () => {
  let box: Box;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/bin/fail2ban-server': 'fail2ban' });
    box = await createBox();
    await box.exec('useradd', ['--create-home', '--shell', '/bin/sh', 'voip']);
    await box.setPassword('voip', 'a-password-that-works-1');
  }, 60_000);

  afterEach(async () => {
    await box?.destroy();
  });

  const listening = async (port: number) => (await box.exec('sh', ['-c', `ss -H -ltn 'sport = :${port}' | grep -c LISTEN`], { reject: false })).stdout.trim() !== '0';
  const passwordLogin = (port: number) => box.ssh(['true'], { user: 'voip', password: 'a-password-that-works-1', port, reject: false, timeoutMs: 10_000 });

  it('a confirmed move to 2222: confirmed only from a new connection on 2222; passwords refused; 22 closed afterwards', async () => {
    // Given bulwark's firewall, confirmed
    const firewall = await overSsh(box, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '120']);
    expect(firewall.code, firewall.stdout + firewall.stderr).toBe(0);
    expect((await overSsh(box, ['confirm', tokenOf(firewall)])).code).toBe(0);
    expect((await passwordLogin(22)).code).toBe(0); // passwords work today
    // and fail2ban's sshd jail, on port 22
    await box.writeFile('/root/ids.json', JSON.stringify({ ids: { jails: ['sshd'], integrity: false } }), 0o600);
    const ids = await overSsh(box, ['apply', '--step', 'ids', '--yes', '--answers', '/root/ids.json']);
    expect(ids.code, ids.stdout + ids.stderr).toBe(0);
    expect(await box.readFile('/etc/fail2ban/jail.d/bulwark.local')).toMatch(/^port {6}= 22$/m);

    // When the admin (logged in with a key) moves SSH to 2222 and turns passwords off
    await box.writeFile('/root/answers.json', JSON.stringify({ ssh: { port: 2222, passwordAuthentication: false } }), 0o600);
    const apply = await overSsh(box, ['apply', '--step', 'ssh', '--yes', '--answers', '/root/answers.json', '--confirm-timeout', '120']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/check\s+sshd -t on the new file/);

    // Then during the window sshd listens on both, and the firewall admits both
    expect(await listening(22)).toBe(true);
    expect(await listening(2222)).toBe(true);
    expect(await box.canConnect(2222)).toBe(true);
    // A new connection on the OLD port may not confirm
    const onOld = await overSsh(box, ['confirm', tokenOf(apply)]);
    expect(onOld.code).toBe(1);
    expect(onOld.stderr).toContain('SSH moved to 2222');
    // One on the new port does
    const onNew = await box.ssh([process.execPath, BULWARK, 'confirm', tokenOf(apply), '--no-color'], { port: 2222, reject: false, timeoutMs: 60_000 });
    expect(onNew.code, onNew.stdout + onNew.stderr).toBe(0);

    // Then 22 is closed (sshd and firewall), 2222 works with the key, and passwords are refused
    expect(await eventually(async () => !(await listening(22)), 10_000)).toBe(true);
    expect(await box.canConnect(22)).toBe(false);
    expect((await box.ssh(['true'], { port: 2222, reject: false })).code).toBe(0);
    expect((await passwordLogin(2222)).code).not.toBe(0);
    const config = await box.readFile('/etc/ssh/sshd_config');
    expect(config).toMatch(/^Port 2222$/m);
    expect(config).not.toMatch(/^Port 22$/m);
    expect(config).toMatch(/^PasswordAuthentication no$/m);
    // fail2ban's sshd jail followed the port
    expect(await box.readFile('/etc/fail2ban/jail.d/bulwark.local')).toMatch(/^port {6}= 2222$/m);
    await box.exec('fail2ban-client', ['stop'], { reject: false, timeoutMs: 15_000 });
  }, 180_000);

  it('an unconfirmed move rolls back by itself: sshd_config byte for byte, nothing on 2222, 22 works, the firewall as before', async () => {
    // Behind bulwark's firewall, confirmed
    const firewall = await overSsh(box, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '120']);
    expect(firewall.code, firewall.stdout + firewall.stderr).toBe(0);
    expect((await overSsh(box, ['confirm', tokenOf(firewall)])).code).toBe(0);
    const rules = async () => (await box.exec('iptables', ['-S', 'BULWARK-INPUT'])).stdout + (await box.exec('ip6tables', ['-S', 'BULWARK-INPUT'])).stdout;
    const rulesBefore = await rules();
    expect(rulesBefore).not.toContain('2222');
    const before = await box.readFile('/etc/ssh/sshd_config');
    await box.writeFile('/root/answers.json', JSON.stringify({ ssh: { port: 2222 } }), 0o600);
    const apply = await overSsh(box, ['apply', '--step', 'ssh', '--yes', '--answers', '/root/answers.json', '--confirm-timeout', '10']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(await listening(2222)).toBe(true);
    expect(await rules()).toContain('2222'); // opened for the window
    expect(await eventually(async () => stepStatus(await status(box), 'ssh') === 'rolled-back', 30_000, 500)).toBe(true);
    expect(await rules()).toBe(rulesBefore);
    expect(await box.readFile('/etc/ssh/sshd_config')).toBe(before);
    expect(await eventually(async () => !(await listening(2222)), 10_000)).toBe(true);
    expect((await box.ssh(['true'], { reject: false })).code).toBe(0);
  }, 120_000);

  it('refuses to turn passwords off from a session that did not log in with a key (exit 1, nothing changed)', async () => {
    const before = await box.readFile('/etc/ssh/sshd_config');
    await box.writeFile('/root/answers.json', JSON.stringify({ ssh: { passwordAuthentication: false } }), 0o600);
    const result = await atConsole(box, ['apply', '--step', 'ssh', '--yes', '--answers', '/root/answers.json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Passwords stay on');
    expect(result.stderr).toContain('ssh-copy-id');
    expect(await box.readFile('/etc/ssh/sshd_config')).toBe(before);
  }, 60_000);
});
