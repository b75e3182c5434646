// bulwark judged by tools nobody here wrote, on a sandbox Debian box: Lynis (inside the box) and
// ssh-audit (from the admin's namespace), before and after bulwark's default run of the firewall, ids
// and ssh steps, each applied over SSH with its default answers and confirmed from a new connection.
// After it: ssh-audit fails nothing and the admin's own ssh still logs in; Lynis no longer reports
// the missing AIDE configuration (FINT-4315), the SSH-7408 options bulwark sets, or the network
// sysctls of KRNL-6000; cron's AIDE check reports a changed /etc/hosts. Then every step rolls back,
// and the judges see the box as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole, overSsh } from '../helpers/bulwark-in-box.js';
import { DEFAULT_RUN, hardenByDefault, lynisAudit, sshAudit, type LynisResult, type SshAuditResult } from '../helpers/peers.js';

/** What bulwark's ssh step sets, by SSH-7408's option names. */
const SSH_OPTIONS = ['AllowTcpForwarding', 'ClientAliveCountMax', 'ClientAliveInterval', 'MaxAuthTries', 'TCPKeepAlive', 'X11Forwarding', 'AllowAgentForwarding', 'LogLevel', 'LoginGraceTime', 'Compression'];
/** The network keys of the firewall step (steps/firewall/kernel.ts) that Lynis's profile has. */
const NET_KEYS = /^net\.ipv[46]\.(conf\.(all|default)\.(rp_filter|accept_redirects|secure_redirects|send_redirects|accept_source_route|log_martians)|tcp_syncookies|icmp_echo_ignore_broadcasts|icmp_ignore_bogus_error_responses)$/;

/** The box's values of those keys (its own network namespace), as `sysctl -a` prints them. */
async function netSettings(box: Box): Promise<string> {
  const all = (await box.exec('sysctl', ['-a'], { reject: false })).stdout;
  return all.split('\n').filter((line) => NET_KEYS.test(line.split(' = ')[0]!)).sort().join('\n');
}

describe('peers\' audits: Lynis and ssh-audit before and after bulwark\'s default run, in a box', () => {
  let box: Box;
  let lynisBefore: LynisResult;
  let sshBefore: SshAuditResult;
  let sshdConfigBefore: string;
  let sysctlBefore: string;
  /** Debian's aide-common (where installed) has its own /etc/aide/aide.conf: Lynis then finds that one. */
  let distroAideConf: boolean;

  beforeAll(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/sbin/lynis': 'lynis', '/usr/bin/ssh-audit': 'ssh-audit', '/usr/bin/aide': 'aide', '/usr/bin/fail2ban-server': 'fail2ban' });
    box = await createBox();
    sshdConfigBefore = await box.readFile('/etc/ssh/sshd_config');
    sysctlBefore = await netSettings(box);
    distroAideConf = (await box.exec('test', ['-e', '/etc/aide/aide.conf'], { reject: false })).code === 0;
    [lynisBefore, sshBefore] = [await lynisAudit(box), await sshAudit(box)];
  }, 400_000);

  afterAll(async () => {
    await box?.destroy();
  });

  it('after the default run: ssh-audit fails nothing, Lynis drops FINT-4315, the SSH options and the network sysctls, and its index rises; the admin still logs in', async () => {
    // The stock box, as the issue found it
    expect(sshBefore.code, sshBefore.text).toBe(3);
    expect(sshBefore.failures.length).toBeGreaterThan(0);
    if (!distroAideConf) expect(lynisBefore.warnings).toContain('FINT-4315');
    expect(lynisBefore.sshOptions.map((o) => o.split(' ')[0])).toEqual(expect.arrayContaining(['MaxAuthTries', 'AllowTcpForwarding', 'X11Forwarding', 'ClientAliveCountMax', 'TCPKeepAlive']));
    expect(lynisBefore.sysctlKeys.filter((k) => NET_KEYS.test(k)).length).toBeGreaterThan(0);

    await hardenByDefault(box);

    const sshAfter = await sshAudit(box);
    expect(sshAfter.failures, sshAfter.text).toEqual([]);
    expect(sshAfter.code).not.toBe(3);
    expect((await box.ssh(['true'], { reject: false })).code).toBe(0);

    const lynisAfter = await lynisAudit(box);
    console.log([
      `Lynis 3.0.8 hardening index: ${lynisBefore.hardeningIndex} before bulwark's default run (${DEFAULT_RUN.join(', ')}), ${lynisAfter.hardeningIndex} after`,
      `ssh-audit: ${sshBefore.failures.length} failure(s), ${sshBefore.warnings.length} warning(s) before; ${sshAfter.failures.length} and ${sshAfter.warnings.length} after`,
      `Lynis warnings after: ${lynisAfter.warnings.join(', ') || 'none'}; SSH-7408 still: ${lynisAfter.sshOptions.join('; ') || 'none'}; KRNL-6000 still: ${lynisAfter.sysctlKeys.join(', ') || 'none'}`,
    ].join('\n'));
    expect(lynisAfter.warnings).not.toContain('FINT-4315');
    expect(lynisAfter.sshOptions.filter((o) => SSH_OPTIONS.includes(o.split(' ')[0]!))).toEqual([]);
    expect(lynisAfter.sysctlKeys.filter((k) => NET_KEYS.test(k))).toEqual([]);
    expect(lynisAfter.hardeningIndex).toBeGreaterThan(lynisBefore.hardeningIndex);
  }, 900_000);

  it('the scheduled AIDE check, run as cron runs it, reports a changed /etc/hosts', async () => {
    await box.exec('sh', ['-c', 'echo "10.9.8.7 intruder.example" >> /etc/hosts']);
    const cron = await box.exec('env', ['-i', 'PATH=/usr/bin:/bin', 'SHELL=/bin/sh', 'HOME=/root', 'LOGNAME=root', '/etc/cron.daily/bulwark-aide'], { reject: false, timeoutMs: 300_000 });
    expect(cron.code, cron.stdout + cron.stderr).toBe(0);
    const log = await box.readFile('/var/log/bulwark-aide.log');
    expect(log).toMatch(/^# bulwark-aide started=\d+ exit=[1-7]\n/);
    expect(log).toMatch(/^f[^:\n]*: \/etc\/hosts$/m);
    const audit = await atConsole(box, ['audit', '--step', 'ids']);
    expect(audit.stdout).toMatch(/The daily integrity check \d+ s ago found [^\n]*changed \/etc\/hosts/);
  }, 400_000);

  it('every step rolls back: sshd_config byte for byte, the network sysctls, the AIDE files, and ssh-audit\'s verdict as before', async () => {
    for (const step of [...DEFAULT_RUN].reverse()) {
      const rollback = await overSsh(box, ['rollback', '--step', step, '--yes']);
      expect(rollback.code, `${step}: ${rollback.stdout}${rollback.stderr}`).toBe(0);
    }
    expect(await box.readFile('/etc/ssh/sshd_config')).toBe(sshdConfigBefore);
    expect(await netSettings(box)).toBe(sysctlBefore);
    for (const file of ['/etc/sysctl.d/60-bulwark-network.conf', '/etc/cron.daily/bulwark-aide', ...(distroAideConf ? [] : ['/etc/aide/aide.conf']), '/etc/aide/bulwark.conf', '/var/lib/aide/bulwark.db']) {
      expect((await box.exec('test', ['-e', file], { reject: false })).code, file).not.toBe(0);
    }
    const again = await sshAudit(box);
    expect(again.code).toBe(sshBefore.code);
    expect(again.failures).toEqual(sshBefore.failures);
    expect((await box.ssh(['true'], { reject: false })).code).toBe(0);
  }, 300_000);
});
