// The ids step end to end: a real fail2ban-server started the SysV way in a sandbox box, sshd
// logging to /var/log/auth.log through rsyslogd (no journald), bulwark's jail file and ban action.
// An attacker namespace with a TEST-NET address fails SSH logins: it is banned, its address lands in
// the kernel set, and its next connection is refused. The admin failing as often is not banned.
// Packets only go between the test's own namespaces.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole, eventually, overSsh, tokenOf } from '../helpers/bulwark-in-box.js';


describe('ids: fail2ban on kernel sets, in a box', () => {
  let box: Box;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/bin/fail2ban-server': 'fail2ban', '/usr/bin/aide': 'aide' });
    box = await createBox({ attacker: true });
    await box.exec('useradd', ['--create-home', '--shell', '/bin/sh', 'voip']);
    await box.setPassword('voip', 'the-right-password-1');
  }, 60_000);

  afterEach(async () => {
    await box?.exec('fail2ban-client', ['stop'], { reject: false, timeoutMs: 15_000 });
    await box?.destroy();
  });

  /** Is the address in the jail's kernel set? (`ipset test`, no packets.) */
  async function banned(address: string, set = 'f2b-sshd'): Promise<boolean> {
    return (await box.exec('ipset', ['test', set, address], { reject: false })).code === 0;
  }

  /** One failed password login as `voip` from a namespace. */
  async function failLogin(from: 'admin' | 'attacker'): Promise<void> {
    await box.ssh(['true'], { from, user: 'voip', password: 'a-wrong-password', reject: false, timeoutMs: 10_000 });
  }

  it('bans an attacker failing SSH logins into the set and refuses its next connection; never the admin; rollback stops fail2ban and removes bulwark\'s files', async () => {
    // Given the step applied over SSH from the admin's namespace, with the sshd jail
    await box.writeFile('/root/answers.json', JSON.stringify({ ids: { jails: ['sshd'] } }), 0o600);
    const plan = await overSsh(box, ['plan', '--step', 'ids', '--answers', '/root/answers.json']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(2);
    // the filter was proved on the box's real auth.log before enabling the jail
    expect(plan.stdout).toMatch(/sshd: its filter read \/var\/log\/auth\.log: \d+ lines, \d+ with a date it understands/);
    expect(plan.stdout).toContain(`ignoreip  = 127.0.0.1/8 ::1 ${box.adminV4}`);
    const apply = await overSsh(box, ['apply', '--step', 'ids', '--yes', '--answers', '/root/answers.json']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/check\s+fail2ban configuration test/);
    expect(apply.stdout).toContain('✔ jail sshd runs');

    // When the attacker fails six logins
    for (let i = 0; i < 6; i++) await failLogin('attacker');

    // Then it is banned: in the set, with room for a million, and its next connection refused
    // (fail2ban may take its time on a loaded machine: a name lookup in the box waits for its timeout)
    expect(await eventually(() => banned(box.attackerV4!), 45_000, 250)).toBe(true);
    const header = (await box.exec('ipset', ['list', '-t', 'f2b-sshd'])).stdout;
    expect(header).toMatch(/maxelem 1048576/);
    // one rule refers to the set: never one rule per address
    const rules = (await box.exec('iptables', ['-S', 'INPUT'])).stdout;
    expect(rules).toMatch(/-A INPUT -p tcp -m multiport --dports 22 -m set --match-set f2b-sshd src -j REJECT/);
    expect(rules).not.toContain(box.attackerV4!);
    expect(await box.canConnect(22, { from: 'attacker' })).toBe(false);

    // When the admin fails as often
    for (let i = 0; i < 6; i++) await failLogin('admin');
    // Then the admin is never banned, and still gets in
    const status = (await box.exec('fail2ban-client', ['status', 'sshd'])).stdout;
    expect(status).toContain(box.attackerV4!);
    expect(await banned(box.adminV4)).toBe(false);
    expect(await box.canConnect(22, { from: 'admin' })).toBe(true);

    // When bulwark's firewall is applied (confirmed from a new connection), then rolled back
    const firewall = await overSsh(box, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '120']);
    expect(firewall.code, firewall.stdout + firewall.stderr).toBe(0);
    const confirmed = await overSsh(box, ['confirm', tokenOf(firewall)]);
    expect(confirmed.code, confirmed.stdout + confirmed.stderr).toBe(0);
    // Then the ban survives: still in the set, its rule still in INPUT, the attacker still refused
    expect(await banned(box.attackerV4!)).toBe(true);
    expect((await box.exec('iptables', ['-S', 'INPUT'])).stdout).toContain('--match-set f2b-sshd src -j REJECT');
    expect(await box.canConnect(22, { from: 'attacker' })).toBe(false);
    const firewallBack = await atConsole(box, ['rollback', '--step', 'firewall', '--yes']);
    expect(firewallBack.code, firewallBack.stdout + firewallBack.stderr).toBe(0);
    expect(await banned(box.attackerV4!)).toBe(true);
    expect((await box.exec('iptables', ['-S', 'INPUT'])).stdout).toContain('--match-set f2b-sshd src -j REJECT');
    expect(await box.canConnect(22, { from: 'attacker' })).toBe(false);

    // When the ids step is rolled back
    const rollback = await atConsole(box, ['rollback', '--step', 'ids', '--yes']);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    // Then fail2ban is stopped again (it was not running before), and bulwark's files are gone
    expect(await eventually(async () => (await box.exec('fail2ban-client', ['ping'], { reject: false })).code !== 0, 15_000)).toBe(true);
    for (const file of ['/etc/fail2ban/jail.d/bulwark.local', '/etc/fail2ban/action.d/bulwark-ipset.conf']) {
      expect((await box.exec('test', ['-e', file], { reject: false })).code, file).not.toBe(0);
    }
  }, 180_000);

  it('records an AIDE baseline checked daily by cron; a file changed under /etc afterwards is reported by the scheduled check and `bulwark audit --step ids`; rollback removes the baseline and the cron job', async () => {
    // Given the step applied with the integrity baseline only (no jail)
    await box.writeFile('/root/answers.json', JSON.stringify({ ids: { jails: [], integrity: true } }), 0o600);
    const apply = await atConsole(box, ['apply', '--step', 'ids', '--yes', '--answers', '/root/answers.json']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/run\s+recording the integrity baseline: aide --init/);
    // bulwark's configuration: /etc/aide/aide.conf where Debian's aide has none of its own (no aide-common), bulwark.conf beside it otherwise
    expect(apply.stdout).toMatch(/aide --init --config \/etc\/aide\/(aide|bulwark)\.conf: done in [\d.]+ s/);
    const conf = /aide --init --config (\S+):/.exec(apply.stdout)![1]!;
    expect((await box.exec('test', ['-s', '/var/lib/aide/bulwark.db'], { reject: false })).code).toBe(0);
    expect((await box.exec('test', ['-x', '/etc/cron.daily/bulwark-aide'], { reject: false })).code).toBe(0);
    expect(apply.stdout).toContain('✔ the daily integrity check is in place (/etc/cron.daily/bulwark-aide)');
    // Before cron ran it, the audit says so
    const before = JSON.parse((await atConsole(box, ['audit', '--step', 'ids', '--json'])).stdout) as AuditJson;
    expect(before.steps[0]!.findings.map((f) => f.title)).toContain('The daily integrity check has not run yet (no /var/log/bulwark-aide.log)');
    // Lynis's own check of the AIDE configuration (FINT-4315), run in the box's namespaces
    const lynis = await box.exec('lynis', ['audit', 'system', '--tests', 'FINT-4315', '--quick', '--no-colors', '--no-log'], { reject: false, timeoutMs: 120_000 });
    // (lynis moves the cursor to align its results: the escapes go before matching)
    const lynisText = lynis.stdout.replace(/\x1b\[\d*C/g, ' ');
    expect(lynisText, lynisText).toMatch(/- AIDE config file\s+\[ FOUND \]/);
    expect(lynisText).not.toContain('No AIDE configuration file was found');
    expect(lynisText).not.toContain('FINT-4315');

    // When nothing changed, the audit says so
    const clean = JSON.parse((await atConsole(box, ['audit', '--step', 'ids', '--json'])).stdout) as AuditJson;
    expect(clean.steps[0]!.findings.map((f) => f.title)).toContain('No file changed since the integrity baseline');

    // When a file under /etc is changed and another added
    await box.exec('sh', ['-c', 'echo "10.1.2.3 intruder.example" >> /etc/hosts && echo evil > /etc/cron.d/bulwark-probe']);

    // When cron runs the daily check (as cron would: run-parts execs it with cron's minimal environment)
    const cron = await box.exec('env', ['-i', 'PATH=/usr/bin:/bin', 'SHELL=/bin/sh', 'HOME=/root', 'LOGNAME=root', '/etc/cron.daily/bulwark-aide'], { reject: false, timeoutMs: 120_000 });
    expect(cron.code, cron.stdout + cron.stderr).toBe(0);
    // Then its result is in its log, and a summary in syslog (tag aide)
    expect((await box.exec('cat', ['/var/log/bulwark-aide.log'])).stdout).toMatch(/^# bulwark-aide started=\d+ exit=[1-7]\n/);
    expect(await eventually(async () => (await box.exec('grep', ['-h', 'aide.*bulwark baseline: files differ from the baseline', '/var/log/auth.log', '/var/log/syslog'], { reject: false })).stdout !== '', 15_000)).toBe(true);
    // and `bulwark audit` shows that scheduled result and its age
    const scheduled = (JSON.parse((await atConsole(box, ['audit', '--step', 'ids', '--json'])).stdout) as AuditJson).steps[0]!.findings.find((f) => /^The daily integrity check \d+ s ago found/.test(f.title));
    expect(scheduled?.severity).toBe('high');
    expect(scheduled?.title).toContain('changed /etc/hosts');
    expect(scheduled?.title).toContain('added /etc/cron.d/bulwark-probe');

    // Then the audit's own check lists both, as a high finding
    const audit = await atConsole(box, ['audit', '--step', 'ids', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    const finding = (JSON.parse(audit.stdout) as AuditJson).steps[0]!.findings.find((f) => /differ from the integrity baseline/.test(f.title));
    expect(finding?.severity).toBe('high');
    expect(finding?.title).toContain('changed /etc/hosts');
    expect(finding?.title).toContain('added /etc/cron.d/bulwark-probe');

    // When rolled back, bulwark's AIDE files are gone
    const rollback = await atConsole(box, ['rollback', '--step', 'ids', '--yes']);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    for (const file of ['/var/lib/aide/bulwark.db', '/var/lib/aide/bulwark.db.new', conf, '/etc/cron.daily/bulwark-aide']) {
      expect((await box.exec('test', ['-e', file], { reject: false })).code, file).not.toBe(0);
    }
  }, 180_000);
});

interface AuditJson {
  score: number;
  steps: { id: string; findings: { severity: string; title: string; why: string; fix: string }[] }[];
}
