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

  it('ssh-audit (Debian\'s, from the admin side) fails the stock sshd and passes it after the step; the admin\'s ssh still gets in; rollback gives back the file and the verdict', async () => {
    requirePrograms({ '/usr/bin/ssh-audit': 'ssh-audit' });
    // ssh-audit's exit codes: 0 good, 2 warnings, 3 failures (ssh_audit/exitcodes.py).
    const audit = async () => {
      const result = await box.admin('ssh-audit', ['--no-colors', '--level=warn', box.boxV4], { reject: false, timeoutMs: 60_000 });
      const lines = result.stdout.split('\n');
      return { code: result.code, fails: lines.filter((l) => /\[fail\]/.test(l)), warns: lines.filter((l) => /\[warn\]/.test(l)).length, text: result.stdout };
    };
    const before = await box.readFile('/etc/ssh/sshd_config');
    const stock = await audit();
    expect(stock.code, stock.text).toBe(3);
    expect(stock.fails.length).toBeGreaterThan(0);
    // bulwark's own audit names what ssh-audit fails
    const stockFindings = await overSsh(box, ['audit', '--step', 'ssh']);
    expect(stockFindings.stdout + stockFindings.stderr).toMatch(/SSH offers weak key exchanges: [^\n]*ecdh-sha2-nistp256/);

    await box.writeFile('/root/answers.json', JSON.stringify({ ssh: {} }), 0o600);
    const apply = await overSsh(box, ['apply', '--step', 'ssh', '--yes', '--answers', '/root/answers.json', '--confirm-timeout', '120']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    // The admin's client negotiates the new algorithms: a NEW connection confirms.
    const confirm = await box.ssh([process.execPath, BULWARK, 'confirm', tokenOf(apply), '--no-color'], { reject: false, timeoutMs: 60_000 });
    expect(confirm.code, confirm.stdout + confirm.stderr).toBe(0);
    expect(stepStatus(await status(box), 'ssh')).not.toBe('rolled-back');

    const hardened = await audit();
    console.log(`ssh-audit 2.5.0 before the ssh step: exit ${stock.code}, ${stock.fails.length} failure(s), ${stock.warns} warning(s); after: exit ${hardened.code}, ${hardened.fails.length} failure(s), ${hardened.warns} warning(s)`);
    console.log(`failures before:\n${stock.fails.join('\n')}\nwarnings after:\n${hardened.text.split('\n').filter((l) => /\[warn\]/.test(l)).join('\n')}`);
    expect(hardened.fails, hardened.text).toEqual([]);
    expect(hardened.code).not.toBe(3);
    // sshd -T has the session settings
    const effective = (await box.exec('sshd', ['-T'])).stdout;
    for (const line of ['maxauthtries 3', 'logingracetime 30', 'x11forwarding no', 'allowagentforwarding no', 'allowtcpforwarding no', 'clientaliveinterval 300', 'clientalivecountmax 2', 'tcpkeepalive no', 'loglevel VERBOSE', 'compression no']) expect(effective).toMatch(new RegExp(`^${line}$`, 'm'));
    expect((await box.ssh(['true'], { reject: false })).code).toBe(0);
    // Applied once, nothing more to do (the dropped ECDSA host key stays dropped)
    const replan = await overSsh(box, ['plan', '--step', 'ssh', '--answers', '/root/answers.json']);
    expect(replan.stdout, replan.stdout + replan.stderr).toMatch(/nothing to do/);
    expect(await box.readFile('/etc/ssh/sshd_config')).toMatch(/^HostKey \/etc\/ssh\/ssh_host_ed25519_key$/m);
    expect(await box.readFile('/etc/ssh/sshd_config')).not.toMatch(/^HostKey \/etc\/ssh\/ssh_host_ecdsa_key$/m);
    const audited = await overSsh(box, ['audit', '--step', 'ssh']);
    expect(audited.stdout + audited.stderr).not.toMatch(/SSH offers weak/);

    expect((await overSsh(box, ['rollback', '--step', 'ssh', '--yes'])).code).toBe(0);
    expect(await box.readFile('/etc/ssh/sshd_config')).toBe(before);
    const again = await audit();
    expect(again.code).toBe(stock.code);
    expect(again.fails).toEqual(stock.fails);
  }, 240_000);

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
