// The ids step's texts and parsers: fail2ban-regex and aide --check output as the installed
// versions print it, SIP trunk hosts from chan_sip and PJSIP files, the jail file, the AIDE
// configuration for old and new AIDE.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { age, AIDE_CONF_BESIDE, aideConfig, aideCronScript, chooseAideConf, distroAideConf, parseCheck, parseScheduledLog } from '../../steps/ids/aide.js';
import { ASTERISK_DATEPATTERN, jailFile, parseRegexOutput, trunkHosts, type JailPlan } from '../../steps/ids/fail2ban.js';

/** The parsers are checked against what the installed programs print: without them the test fails. */
const requireProgram = (program: string, pkg: string) => {
  try {
    accessSync(program, constants.X_OK);
  } catch {
    throw new Error(`${program} is not installed (Debian package ${pkg}); \`npm test\` installs it as root on Debian.`);
  }
};

describe('parseRegexOutput', () => {
  it('reads what the installed fail2ban-regex prints: lines, matches, readable dates', () => {
    requireProgram('/usr/bin/fail2ban-regex', 'fail2ban');
    const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-f2b-'));
    try {
      const log = path.join(dir, 'auth.log');
      writeFileSync(
        log,
        [
          '2026-11-25T07:00:47.841175+00:00 box sshd[9775]: Failed password for voip from 203.0.113.66 port 48752 ssh2',
          'Nov 25 07:00:48 box sshd[9776]: Failed password for invalid user admin from 203.0.113.67 port 1 ssh2',
          '2026-11-25T07:00:49.000000+00:00 box sshd[9777]: Accepted publickey for root from 10.0.0.2 port 2 ssh2',
          'a line without any date',
        ].join('\n') + '\n',
      );
      const output = execFileSync('fail2ban-regex', [log, '/etc/fail2ban/filter.d/sshd.conf'], { encoding: 'utf8' });
      expect(parseRegexOutput(output)).toEqual({ lines: 4, matched: 2, dateHits: 3, seconds: expect.any(Number) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the Asterisk jail\'s fixed date pattern reads Asterisk\'s security log (dateformat=%F %T) with the installed fail2ban-regex', () => {
    requireProgram('/usr/bin/fail2ban-regex', 'fail2ban');
    const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-f2b-ast-'));
    try {
      const log = path.join(dir, 'security');
      writeFileSync(
        log,
        [
          '[2026-11-25 07:00:00] SECURITY[1234] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="2026-11-25T07:00:00.000+0000",Severity="Error",Service="SIP",EventVersion="2",AccountID="101",SessionID="0x7f1",LocalAddress="IPV4/UDP/10.0.0.1/5060",RemoteAddress="IPV4/UDP/203.0.113.66/5060",Challenge="41d26de5",ReceivedChallenge="41d26de5",ReceivedHash="7c5b0e0a"',
          '[2026-11-25 07:00:01] SECURITY[1234] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="2026-11-25T07:00:01.000+0000",Severity="Informational",Service="SIP",EventVersion="1",AccountID="102",SessionID="0x7f2",LocalAddress="IPV4/UDP/10.0.0.1/5060",RemoteAddress="IPV4/UDP/10.0.0.2/5060",UsingPassword="1"',
        ].join('\n') + '\n',
      );
      const output = execFileSync('fail2ban-regex', ['-d', ASTERISK_DATEPATTERN, log, '/etc/fail2ban/filter.d/asterisk.conf'], { encoding: 'utf8' });
      expect(parseRegexOutput(output)).toEqual({ lines: 2, matched: 1, dateHits: 2, seconds: expect.any(Number) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a log whose dates the filter cannot read has no date hits (the jail would never ban)', () => {
    const output = 'Running tests\n=============\n\nDate template hits:\n\nLines: 1000 lines, 0 ignored, 0 matched, 1000 missed\n[processed in 0.25 sec]\n';
    expect(parseRegexOutput(output)).toEqual({ lines: 1000, matched: 0, dateHits: 0, seconds: 0.25 });
    expect(parseRegexOutput('fail2ban-regex: error: no such file')).toBeNull();
  });
});

describe('trunkHosts', () => {
  it('takes fixed hosts from chan_sip peers and PJSIP contacts and identify matches, not dynamic ones', () => {
    const sip = '[general]\nbindport=5060\n[trunk1]\ntype=peer\nhost=sip.carrier.example.net ; our carrier\n[phone]\nhost=dynamic\n[local]\nhost=127.0.0.1\n';
    const pjsip = '[carrier]\ntype=aor\ncontact=sip:198.51.100.20:5060\n[carrier-identify]\ntype=identify\nmatch=198.51.100.0/28,203.0.113.9\n[v6]\ntype=aor\ncontact=sip:user@[2001:db8::5]:5060\n';
    expect(trunkHosts(sip, pjsip)).toEqual(['198.51.100.0/28', '198.51.100.20', '2001:db8::5', '203.0.113.9', 'sip.carrier.example.net']);
    expect(trunkHosts(null, null)).toEqual([]);
  });
});

describe('jailFile', () => {
  it('writes each jail with bulwark\'s set action and the never-ban list, and says why a jail stays off', () => {
    const jails: JailPlan[] = [
      { name: 'sshd', enabled: true, port: '22,2222', backend: 'auto', logpath: '/var/log/auth.log', banaction: 'bulwark-ipset[type=multiport]', maxretry: 5, findtime: '10m', bantime: '1h' },
      { name: 'asterisk', enabled: false, port: '5060', backend: 'auto', banaction: 'bulwark-ipset[type=multiport]', maxretry: 10, findtime: '10m', bantime: '1h', off: 'no security log' },
    ];
    const text = jailFile(jails, ['127.0.0.1/8', '::1', '198.51.100.7']);
    expect(text).toContain('[sshd]\nenabled   = true\nport      = 22,2222\nbackend   = auto\nlogpath   = /var/log/auth.log\nbanaction = bulwark-ipset[type=multiport]');
    expect(text).toContain('[asterisk]\n# off: no security log\nenabled   = false');
    expect(text.match(/^ignoreip  = 127\.0\.0\.1\/8 ::1 198\.51\.100\.7$/gm)).toHaveLength(2);
  });
});

describe('AIDE', () => {
  it('configuration: database_in for AIDE 0.16 and later, database for the older AIDE of CentOS 5/6', () => {
    expect(aideConfig(AIDE_CONF_BESIDE, ['/etc'], false)).toContain('database_in=file:/var/lib/aide/bulwark.db\n');
    expect(aideConfig(AIDE_CONF_BESIDE, ['/etc'], true)).toMatch(/^database=file:\/var\/lib\/aide\/bulwark\.db$/m);
    expect(aideConfig(AIDE_CONF_BESIDE, ['/etc', '/var/www'], false)).toMatch(/^\/etc BULWARK\n\/var\/www BULWARK$/m);
    // Its own file is not watched (a new baseline rewrites it), wherever it is; SHA-256 is what Lynis looks for (FINT-4402)
    expect(aideConfig('/etc/aide/aide.conf', ['/etc'], false)).toMatch(/^!\/etc\/aide\/aide\.conf\$$/m);
    expect(aideConfig('/etc/aide/aide.conf', ['/etc'], false)).toMatch(/^BULWARK = .*sha256$/m);
  });

  it('configuration path: beside the distribution\'s own, at the distribution\'s path when there is none, and where an earlier run put it', () => {
    expect(distroAideConf('debian')).toBe('/etc/aide/aide.conf');
    expect(distroAideConf('rhel')).toBe('/etc/aide.conf');
    const debian = { family: 'debian', aideInstalled: true, distroText: null, besideExists: false };
    // Debian's aide alone: none there, so bulwark's takes the path audit tools (Lynis FINT-4315) and a bare aide look at
    expect(chooseAideConf(debian)).toBe('/etc/aide/aide.conf');
    // a second run finds its own there, and does not move it
    expect(chooseAideConf({ ...debian, distroText: aideConfig('/etc/aide/aide.conf', ['/etc'], false) })).toBe('/etc/aide/aide.conf');
    // Debian with aide-common, RHEL's aide package: never in place of theirs
    expect(chooseAideConf({ ...debian, distroText: '# AIDE conf\n@@x_include /etc/aide/aide.conf.d ^[a-zA-Z0-9_-]+$\n' })).toBe(AIDE_CONF_BESIDE);
    expect(chooseAideConf({ ...debian, family: 'rhel' })).toBe(AIDE_CONF_BESIDE);
    // aide still to be installed (its package may bring a file there), or a box set up beside before
    expect(chooseAideConf({ ...debian, aideInstalled: false })).toBe(AIDE_CONF_BESIDE);
    expect(chooseAideConf({ ...debian, besideExists: true })).toBe(AIDE_CONF_BESIDE);
  });

  it('parseCheck reads what the installed aide --check prints', () => {
    requireProgram('/usr/bin/aide', 'aide');
    const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-aide-'));
    try {
      const watched = path.join(dir, 'etc');
      execFileSync('mkdir', ['-p', watched]);
      writeFileSync(path.join(watched, 'one'), 'a\n');
      writeFileSync(path.join(watched, 'two'), 'b\n');
      const conf = path.join(dir, 'aide.conf');
      writeFileSync(conf, aideConfig(conf, [watched], false).replaceAll('/var/lib/aide/', `${dir}/`));
      // The directory's times an hour back: the changes below then always change them (within the
      // same second as the baseline they would not, and AIDE would report the directory or not).
      const past = new Date(Date.now() - 3_600_000);
      utimesSync(watched, past, past);
      execFileSync('aide', ['--init', '--config', conf]);
      execFileSync('mv', [path.join(dir, 'bulwark.db.new'), path.join(dir, 'bulwark.db')]);
      writeFileSync(path.join(watched, 'one'), 'changed\n');
      writeFileSync(path.join(watched, 'three'), 'new\n');
      rmSync(path.join(watched, 'two'));
      let output = '';
      try {
        execFileSync('aide', ['--check', '--config', conf], { encoding: 'utf8' });
      } catch (error) {
        output = (error as { stdout: string }).stdout;
      }
      expect(parseCheck(output)).toEqual({ added: [path.join(watched, 'three')], removed: [path.join(watched, 'two')], changed: [watched, path.join(watched, 'one')] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the daily AIDE check (cron.daily script)', () => {
  // The real script with its paths moved into a temporary directory, and logger and mail replaced
  // by stubs that note their arguments (the host's own syslog and root's mailbox stay untouched).
  function runScript(shell: readonly string[], change: boolean): { log: string; logger: string; mail: string } {
    requireProgram('/usr/bin/aide', 'aide');
    const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-aide-cron-'));
    try {
      const watched = path.join(dir, 'etc');
      const stubs = path.join(dir, 'bin');
      execFileSync('mkdir', ['-p', watched, stubs]);
      writeFileSync(path.join(watched, 'hosts'), '127.0.0.1 localhost\n');
      for (const stub of ['logger', 'mail']) {
        writeFileSync(path.join(stubs, stub), `#!/bin/sh\necho "$*" >> ${dir}/${stub}.called\ncat > /dev/null\n`);
        chmodSync(path.join(stubs, stub), 0o755);
      }
      const conf = path.join(dir, 'bulwark.conf');
      writeFileSync(conf, aideConfig(conf, [watched], false).replaceAll('/var/lib/aide/', `${dir}/`));
      const past = new Date(Date.now() - 3_600_000);
      utimesSync(watched, past, past);
      execFileSync('aide', ['--init', '--config', conf]);
      execFileSync('mv', [path.join(dir, 'bulwark.db.new'), path.join(dir, 'bulwark.db')]);
      if (change) writeFileSync(path.join(watched, 'hosts'), '10.1.2.3 intruder.example\n');
      const script = aideCronScript(conf).replace('LOG=/var/log/bulwark-aide.log', `LOG=${dir}/check.log`).replace('PATH=/usr/sbin:', `PATH=${stubs}:/usr/sbin:`);
      writeFileSync(path.join(dir, 'bulwark-aide'), script);
      // cron's environment: nothing but a minimal PATH and SHELL
      execFileSync(shell[0]!, [...shell.slice(1), path.join(dir, 'bulwark-aide')], { env: { PATH: '/usr/bin:/bin', SHELL: '/bin/sh' } });
      const read = (file: string) => { try { return readFileSync(path.join(dir, file), 'utf8'); } catch { return ''; } };
      return { log: read('check.log'), logger: read('logger.called'), mail: read('mail.called') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  for (const shell of [['dash'], ['busybox', 'ash'], ['bash', '--posix']]) {
    it(`under ${shell.join(' ')}: a changed file is logged for the audit, summarised to syslog (tag aide) and mailed to root`, () => {
      const { log, logger, mail } = runScript(shell, true);
      const result = parseScheduledLog(log);
      expect(result?.exitCode).toBeGreaterThan(0);
      expect(result?.report?.changed.some((p) => p.endsWith('/etc/hosts'))).toBe(true);
      expect(Math.abs(result!.started - Date.now() / 1000)).toBeLessThan(600);
      expect(logger).toMatch(/^-t aide -p authpriv\.notice bulwark baseline: files differ from the baseline \(exit [1-7]\)/);
      expect(mail).toMatch(/^-s AIDE on .*: files differ from the baseline .* root$/m);
    });
  }

  it('nothing changed: "no difference" logged, nobody mailed', () => {
    const { log, logger, mail } = runScript(['dash'], false);
    expect(parseScheduledLog(log)).toMatchObject({ exitCode: 0, report: { added: [], removed: [], changed: [] } });
    expect(logger).toContain('bulwark baseline: no file changed since the baseline');
    expect(mail).toBe('');
  });

  it('a failed check (exit above 7) is read as an error; a log of something else is not read', () => {
    expect(parseScheduledLog('# bulwark-aide started=1700000000 exit=17\nCouldn\'t open file /var/lib/aide/bulwark.db for reading\n')).toEqual({ started: 1700000000, exitCode: 17, report: null, error: 'Couldn\'t open file /var/lib/aide/bulwark.db for reading' });
    expect(parseScheduledLog('Start timestamp: 2024-01-01\n')).toBeNull();
    expect([age(30), age(600), age(5 * 3600), age(3 * 86_400)]).toEqual(['30 s', '10 min', '5 h', '3 days']);
  });

  it('is shellcheck clean as POSIX sh', () => {
    requireProgram('/usr/bin/shellcheck', 'shellcheck');
    execFileSync('shellcheck', ['-s', 'sh', '-'], { input: aideCronScript(AIDE_CONF_BESIDE) });
  });
});

describe('the ids plan on small roots', () => {
  async function factsFor(entries: Record<string, string>) {
    const { mkdir, mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const root = await mkdtemp(path.join(tmpdir(), 'bulwark-ids-'));
    for (const [file, content] of Object.entries(entries)) {
      await mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await writeFile(path.join(root, file), content);
    }
    const { Host } = await import('../../src/host.js');
    const { detectSystem } = await import('../../src/system.js');
    const { idsStep } = await import('../../steps/ids/index.js');
    const host = new Host(root);
    const facts = await idsStep.detect({ host, system: await detectSystem(host), stateDir: '/nonexistent' });
    await rm(root, { recursive: true, force: true });
    return { facts, idsStep };
  }
  const DEBIAN = { 'etc/debian_version': '12.8\n', 'etc/inittab': 'id:2:initdefault:\n', 'var/lib/dpkg/status': 'Package: openssh-server\nStatus: install ok installed\n', 'var/log/auth.log': '' };

  it('installs fail2ban and AIDE first when they are missing (live only), then starts fail2ban', async () => {
    const { facts, idsStep } = await factsFor(DEBIAN);
    expect(facts.installed).toBe(false);
    const live = { ...facts, live: true };
    const changes = idsStep.plan(live, idsStep.defaults(live));
    expect(changes.filter((c) => c.kind === 'package').map((c) => (c as { names: readonly string[] }).names)).toEqual([['fail2ban'], ['aide']]);
    expect(changes.at(-1)).toMatchObject({ kind: 'service', action: 'start', undo: 'stop' });
    expect(changes.filter((c) => c.kind === 'command').map((c) => (c as { command: { file: string } }).command.file)).toEqual(['aide', 'mv']);
    // Under --root nothing is installed and nothing runs
    expect(idsStep.plan(facts, idsStep.defaults(facts)).filter((c) => c.kind !== 'file')).toEqual([]);
  });

  it('audit: the daily check\'s last result and its age, read from its log; a stale check and a missing one are findings', async () => {
    const now = Math.floor(Date.now() / 1000);
    const report = 'Changed entries:\n---------------------------------------------------\n\nf   ...    .C... : /etc/hosts\n';
    const base = { ...DEBIAN, 'usr/bin/aide': '', 'var/lib/aide/bulwark.db': 'db', 'etc/cron.daily/bulwark-aide': aideCronScript('/etc/aide/aide.conf') };
    const recent = await factsFor({ ...base, 'var/log/bulwark-aide.log': `# bulwark-aide started=${now - 3 * 3600} exit=4\n${report}` });
    expect(recent.idsStep.findings(recent.facts)).toContainEqual(expect.objectContaining({ severity: 'high', title: 'The daily integrity check 3 h ago found 1 file(s) differing from the baseline: changed /etc/hosts' }));
    const stale = await factsFor({ ...base, 'var/log/bulwark-aide.log': `# bulwark-aide started=${now - 3 * 86_400} exit=0\n` });
    const staleTitles = stale.idsStep.findings(stale.facts).map((f) => f.title);
    expect(staleTitles).toContain('The daily integrity check last ran 3 days ago');
    expect(staleTitles).toContain('The daily integrity check 3 days ago found no change');
    const never = await factsFor(base);
    expect(never.idsStep.findings(never.facts).map((f) => f.title)).toContain('The daily integrity check has not run yet (no /var/log/bulwark-aide.log)');
    const { 'etc/cron.daily/bulwark-aide': _cron, ...unscheduled } = base;
    const none = await factsFor(unscheduled);
    expect(none.idsStep.findings(none.facts).map((f) => f.title)).toContain('Nothing checks the integrity baseline by itself');
  });

  it('leaves file integrity to OSSEC or Wazuh when it is installed', async () => {
    const { facts, idsStep } = await factsFor({ ...DEBIAN, 'var/ossec/bin/wazuh-control': '#!/bin/sh\n' });
    expect(facts.integrity.other).toBe('Wazuh');
    expect(idsStep.defaults(facts).integrity).toBe(false);
    expect(idsStep.plan(facts, idsStep.defaults(facts)).some((c) => c.kind === 'file' && c.path === '/etc/aide/bulwark.conf')).toBe(false);
    expect(idsStep.findings(facts).map((f) => f.title)).toContain('Wazuh is in charge of file integrity');
  });
});
