// Step `ids`: intrusion detection that is proved to work. fail2ban reads the logs and bans, for a
// while, addresses that fail logins or probe; bulwark gives it its own jail file, bans in kernel
// sets, and proves each jail's filter on the box's real log before enabling it.
import * as path from 'node:path';
import type { Change, CommandChange, FileChange, PackageChange, ServiceChange } from '../../src/change.js';
import type { Jail } from '../../src/answers.js';
import type { Host } from '../../src/host.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { detectFirewall } from '../firewall/detect.js';
import { findDaemon } from '../elastix-extras/boot.js';
import { age, AIDE_CONF_BESIDE, AIDE_CRON, chooseAideConf, distroAideConf, AIDE_DB, AIDE_DB_NEW, AIDE_LOG, aideConfig, aideCronScript, parseCheck, parseScheduledLog, WATCHED, type IntegrityReport, type ScheduledCheck } from './aide.js';
import { ACTION_FILE, actionFile, ASTERISK_DATEPATTERN, JAIL_FILE, jailFile, parseRegexOutput, trunkHosts, type FilterProof, type JailPlan } from './fail2ban.js';
import { readAsteriskWithIncludes } from '../exposure/inventory.js';
import { thousands } from '../../src/output.js';

export interface IdsAnswers {
  jails: Jail[];
  ignoreIp?: string[];
  /** A file-integrity baseline with AIDE (default: yes, unless OSSEC or Wazuh is in charge). */
  integrity?: boolean;
}

export interface IntegrityFacts {
  /** The aide program (null: not installed). */
  readonly binary: string | null;
  /** AIDE before 0.16 spells database_in as database. */
  readonly legacy: boolean;
  /** OSSEC or Wazuh, when installed: they do file integrity already, bulwark leaves it to them. */
  readonly other: string | null;
  /** Where bulwark's configuration is (or goes): aide.ts chooseAideConf. */
  readonly confPath: string;
  readonly conf: string | null;
  readonly dbExists: boolean;
  /** The distribution's own AIDE database, installed but never initialised? */
  readonly distroUninitialised: boolean;
  readonly watched: readonly string[];
  /** bulwark's daily check (/etc/cron.daily/bulwark-aide) as it is on disk. */
  readonly cron: string | null;
  /** The daily check's last result, from its log (null: it never ran, or no log of bulwark's). */
  readonly scheduled: ScheduledCheck | null;
  /** `aide --check` against bulwark's baseline (audit only). */
  readonly check: IntegrityReport | { readonly error: string } | null;
}

interface LogSource {
  readonly jail: Jail;
  /** The log file it reads (null: the journal, or none found). */
  readonly logpath: string | null;
  readonly backend: 'auto' | 'systemd' | 'polling';
  /** Why it cannot run here, if it cannot. */
  readonly missing?: string;
}

export interface IdsFacts {
  readonly live: boolean;
  readonly installed: boolean;
  readonly running: boolean | null;
  readonly serviceName: string;
  readonly packageManager: 'apt' | 'yum' | 'dnf' | null;
  readonly sshPorts: readonly number[];
  readonly sipPorts: readonly string[];
  readonly admin: string | null;
  readonly trusted: readonly string[];
  readonly trunks: readonly string[];
  readonly sources: Record<Jail, LogSource>;
  readonly jailFile: string | null;
  readonly actionFile: string | null;
  readonly integrity: IntegrityFacts;
  /** This server's name when /etc/hosts does not list it (null when it does). */
  readonly hostname: string | null;
  /** fail2ban-regex on each chosen jail's real log (live only; filled by prepare). */
  proofs: Partial<Record<Jail, FilterProof | { error: string }>>;
}

const FILTERS: Record<Jail, string> = { sshd: 'sshd', asterisk: 'asterisk', 'apache-auth': 'apache-auth', recidive: 'recidive' };

export const idsStep: Step<IdsFacts, IdsAnswers> = {
  id: 'ids',
  title: 'Intrusion detection',
  why: [
    'Attackers try passwords over and over: on SSH, on SIP accounts, on the web pages. fail2ban reads the logs and, after a few failures from one address, bans that address for a while in the firewall. Each ban costs the attacker their whole list of guesses.',
    'A ban list can grow to thousands of addresses. bulwark keeps the bans in kernel sets, one per jail, so a ban costs nothing to check and the list never slows the firewall, and gives each set room for a million addresses.',
    'A jail whose filter does not understand the log (Asterisk writes dates its own way) bans nobody, silently. bulwark runs each filter on your real log first and shows what it found before enabling the jail. Your own address, your trusted networks and your SIP trunks are never banned.',
    'When logs grow faster than fail2ban can read them (a flood of SIP scans), it falls behind and bans late. The firewall step\'s rate limits cut that flood before it reaches the logs: the two steps work together.',
  ],

  async detect(ctx: StepContext): Promise<IdsFacts> {
    const { host, system } = ctx;
    const firewall = await detectFirewall(host, system, ctx.sshConnection);
    const installed = (await host.exists('/etc/fail2ban/jail.conf')) || (await host.findProgram('fail2ban-client')) !== null;
    const daemon = await findDaemon(host, system, ['fail2ban']);
    const running = host.live && installed ? (await host.run({ file: 'fail2ban-client', args: ['ping'] }, { reject: false })).exitCode === 0 : null;
    const journald = host.live ? system.init === 'systemd' && (await host.exists('/run/systemd/journal/socket')) : system.init === 'systemd';
    const authLog = (await firstExisting(host, ['/var/log/auth.log', '/var/log/secure'])) ?? (system.distro.family === 'rhel' ? '/var/log/secure' : '/var/log/auth.log');
    // Looked up together (over SSH: one round trip for all the logs).
    const [authLogExists, asterisk, apacheAuth, fail2banLogExists] = await Promise.all([
      host.exists(authLog),
      asteriskSource(host),
      fileSource(host, 'apache-auth', ['/var/log/apache2/error.log', '/var/log/httpd/error_log'], 'no Apache error log'),
      host.exists('/var/log/fail2ban.log'),
    ]);
    const sources: Record<Jail, LogSource> = {
      sshd: authLogExists ? { jail: 'sshd', logpath: authLog, backend: 'auto' } : journald ? { jail: 'sshd', logpath: null, backend: 'systemd' } : { jail: 'sshd', logpath: authLog, backend: 'auto', missing: `${authLog} does not exist and journald does not run: nothing logs SSH logins (install rsyslog)` },
      asterisk,
      'apache-auth': apacheAuth,
      // fail2ban refuses a jail whose log does not exist: recidive waits for fail2ban's own log.
      recidive: fail2banLogExists ? { jail: 'recidive', logpath: '/var/log/fail2ban.log', backend: 'auto' } : { jail: 'recidive', logpath: '/var/log/fail2ban.log', backend: 'auto', missing: 'fail2ban has not written its log yet (/var/log/fail2ban.log): choose recidive once it runs' },
    };
    // fail2ban looks this server's own name up for every failure (ignoreself): unresolvable
    // locally, each lookup waits on DNS and the bans come late, or not at all.
    // The running box's name (over SSH too: the box's, not the workstation's); under --root, the file's.
    const hostname = host.live ? (await host.run({ file: 'uname', args: ['-n'] }, { reject: false })).stdout.trim() : ((await host.readText('/etc/hostname')) ?? '').trim();
    const hosts = (await host.readText('/etc/hosts')) ?? '';
    const nameResolves = hostname === '' || hostname === 'localhost' || hosts.split('\n').some((line) => line.replace(/#.*$/, '').trim().split(/\s+/).slice(1).includes(hostname));
    const [sip, pjsip] = await Promise.all([readAsteriskWithIncludes(host, '/etc/asterisk/sip.conf'), readAsteriskWithIncludes(host, '/etc/asterisk/pjsip.conf')]);
    return {
      live: host.live,
      installed,
      running,
      serviceName: daemon?.name ?? 'fail2ban',
      packageManager: system.packageManager,
      sshPorts: firewall.sshPorts,
      sipPorts: [...new Set(firewall.sipPorts.map((p) => p.port))],
      admin: firewall.admin?.address ?? null,
      trusted: ctx.trustedSources ?? [],
      trunks: trunkHosts(sip, pjsip),
      sources,
      jailFile: await host.readText(JAIL_FILE),
      actionFile: await host.readText(ACTION_FILE),
      proofs: {},
      hostname: nameResolves ? null : hostname,
      integrity: await detectIntegrity(host, system.distro.family, Boolean(ctx.audit)),
    };
  },

  async prepare(facts: IdsFacts, answers: IdsAnswers, ctx: StepContext): Promise<void> {
    // Proving needs fail2ban-regex and the live logs (on the box: over SSH in remote mode); under
    // --root or before installing, it waits.
    if (!facts.live || !facts.installed) return;
    const host = ctx.host;
    // Every jail's proof at once: over SSH they share round trips; on the box they use the cores.
    await Promise.all(answers.jails.map(async (jail) => {
      const source = facts.sources[jail];
      if (source.missing || !source.logpath || !(await host.exists(source.logpath))) return;
      // With the jail's own settings: Asterisk's date pattern is bulwark's (see jailPlans).
      const args = [...(jail === 'asterisk' ? ['-d', ASTERISK_DATEPATTERN] : []), source.logpath, `/etc/fail2ban/filter.d/${FILTERS[jail]}.conf`];
      const result = await host.run({ file: 'fail2ban-regex', args }, { reject: false, timeoutMs: 600_000 });
      facts.proofs[jail] = parseRegexOutput(result.stdout) ?? { error: (result.stderr || result.stdout).trim().split('\n').pop() ?? `exit ${result.exitCode}` };
    }));
  },

  describe(facts: IdsFacts): FactRow[] {
    const rows: FactRow[] = [
      { label: 'fail2ban', value: facts.installed ? (facts.running === null ? 'installed' : facts.running ? 'installed, running' : 'installed, not running') : 'not installed: bulwark installs it', tone: facts.installed ? 'neutral' : 'bad' },
      { label: 'SSH ports', value: facts.sshPorts.join(', '), tone: 'neutral' },
      { label: 'Never banned', value: ignoreList(facts, { jails: [] }).join(' '), tone: 'good' },
    ];
    for (const source of Object.values(facts.sources)) {
      rows.push({ label: `Jail ${source.jail}`, value: source.missing ?? (source.logpath ? `reads ${source.logpath}` : 'reads the systemd journal'), tone: source.missing ? 'bad' : 'neutral' });
    }
    return rows;
  },

  defaults(facts: IdsFacts): IdsAnswers {
    return { jails: (['sshd', 'asterisk', 'apache-auth', 'recidive'] as const).filter((jail) => !facts.sources[jail].missing), integrity: facts.integrity.other === null };
  },

  questions(facts: IdsFacts): Question[] {
    return [
      {
        kind: 'multiselect',
        key: 'jails',
        prompt: 'Which jails should fail2ban run?',
        help: 'Each reads one log. recidive bans for a week the addresses that keep coming back after their bans.',
        choices: (['sshd', 'asterisk', 'apache-auth', 'recidive'] as const).map((jail) => ({ value: jail, label: jail, detail: facts.sources[jail].missing ?? (facts.sources[jail].logpath ?? 'the systemd journal') })),
      },
      {
        kind: 'boolean',
        key: 'integrity',
        prompt: facts.integrity.other ? `${facts.integrity.other} already checks file integrity. Add an AIDE baseline too?` : 'Record a file-integrity baseline (AIDE) of /etc, the programs and the web apps?',
        help: 'AIDE notes a checksum of every file; `bulwark audit --step ids` then lists what changed since. An attacker who gets in usually changes something: a config, a program, a PHP file in the web apps.',
      },
    ];
  },

  plan(facts: IdsFacts, answers: IdsAnswers): Change[] {
    const changes: Change[] = [];
    if (!facts.installed && facts.live && facts.packageManager && answers.jails.length > 0) {
      changes.push({ kind: 'package', step: 'ids', action: 'install', manager: facts.packageManager, names: ['fail2ban'], reason: 'fail2ban is not installed' } satisfies PackageChange);
    }
    const jails = jailPlans(facts, answers);
    const action = answers.jails.length === 0 ? null : actionFile();
    if (action !== facts.actionFile && !(action === null && facts.actionFile === null)) changes.push({ kind: 'file', step: 'ids', path: ACTION_FILE, before: facts.actionFile, after: action, mode: 0o644, reason: 'the ban action: fail2ban\'s ipset action with room for a million addresses per set' } satisfies FileChange);
    // No jail chosen: bulwark's files go (or are never written), fail2ban's own defaults stay.
    const jailText = answers.jails.length === 0 ? null : jailFile(jails, ignoreList(facts, answers));
    if (jailText !== facts.jailFile) {
      changes.push({
        kind: 'file',
        step: 'ids',
        path: JAIL_FILE,
        before: facts.jailFile,
        after: jailText,
        mode: 0o644,
        validators: jailText === null ? [] : [{ when: 'installed', command: { file: 'fail2ban-client', args: ['-t'] }, label: 'fail2ban configuration test (fail2ban-client -t)' }],
        reason: jailText === null ? 'no jail of bulwark\'s is wanted any more' : `jails ${jails.filter((j) => j.enabled).map((j) => j.name).join(', ') || '(none)'}`,
      } satisfies FileChange);
    }
    const fail2banFiles = changes.some((c) => c.kind === 'file');
    changes.push(...integrityChanges(facts, answers));
    if (fail2banFiles && facts.live) {
      if (facts.running) changes.push({ kind: 'service', step: 'ids', names: [facts.serviceName], action: 'reload', undo: 'reload', reason: 'fail2ban reads its jails again' } satisfies ServiceChange);
      else if (answers.jails.length > 0) changes.push({ kind: 'service', step: 'ids', names: [facts.serviceName], action: 'start', undo: 'stop', reason: 'fail2ban starts' } satisfies ServiceChange);
    }
    return changes;
  },

  planNotes(facts: IdsFacts, answers: IdsAnswers): string[] {
    const notes: string[] = [];
    for (const jail of jailPlans(facts, answers)) {
      const proof = facts.proofs[jail.name];
      if (jail.off) notes.push(`${jail.name}: stays off: ${jail.off}.`);
      else if (proof && 'lines' in proof) notes.push(`${jail.name}: its filter read ${jail.logpath}: ${thousands(proof.lines)} lines, ${thousands(proof.dateHits)} with a date it understands, ${thousands(proof.matched)} failures found, ${proof.seconds > 0 ? `${thousands(Math.round(proof.lines / proof.seconds))} lines/s` : 'in no time'}.`);
      else if (proof) notes.push(`${jail.name}: fail2ban-regex failed: ${proof.error}.`);
      else if (jail.enabled) notes.push(`${jail.name}: ${facts.live ? 'filter not proved (fail2ban is installed by this plan; prove it with `bulwark plan --step ids` afterwards)' : 'filter not proved: --root does not run fail2ban-regex'}.`);
    }
    const asterisk = facts.sources.asterisk;
    if (asterisk.missing && !answers.jails.includes('asterisk')) notes.push(`asterisk: not watched: ${asterisk.missing}.`);
    const integrity = facts.integrity;
    if (answers.integrity !== false && !(answers.integrity === undefined && integrity.other)) {
      if (!facts.live) notes.push(`integrity: only AIDE's configuration is written under --root; the baseline (aide --init) is recorded on the live system.`);
      else notes.push(`integrity: AIDE watches ${integrity.watched.join(', ')}; cron checks it daily (${AIDE_CRON}), \`bulwark audit --step ids\` shows that check's last result.`);
    } else if (integrity.other) notes.push(`integrity: ${integrity.other} is in charge; bulwark records no AIDE baseline.`);
    if (facts.hostname) notes.push(`/etc/hosts does not list this server's name (${facts.hostname}): fail2ban looks it up for every failure and waits on DNS. Add "127.0.1.1 ${facts.hostname}" to /etc/hosts.`);
    notes.push('The firewall step\'s rate limits keep floods of SIP and SSH attempts out of the logs, so fail2ban keeps up.');
    return notes;
  },

  findings(facts: IdsFacts): Finding[] {
    const findings: Finding[] = [];
    if (!facts.installed) findings.push({ severity: 'high', title: 'No intrusion detection: fail2ban is not installed', why: 'Password guessing on SSH, SIP and the web pages goes on for as long as the attacker likes.', fix: 'Install fail2ban with jails for SSH, Asterisk, Apache auth and repeat offenders, banning in kernel sets.' });
    else if (facts.jailFile === null) findings.push({ severity: 'medium', title: 'fail2ban runs with its default jails', why: 'The defaults ban with one firewall rule per address and leave Asterisk unwatched.', fix: 'Give fail2ban bulwark\'s jails, proved on your logs, banning in kernel sets.' });
    const integrity = facts.integrity;
    if (integrity.other) findings.push({ severity: 'info', title: `${integrity.other} is in charge of file integrity`, why: 'It checks files already; bulwark leaves it to it.', fix: 'Nothing to do.' });
    else if (!integrity.dbExists && integrity.distroUninitialised) findings.push({ severity: 'medium', title: 'AIDE is installed but its database was never initialised', why: 'Without a baseline AIDE has nothing to compare with: it checks nothing.', fix: `Record bulwark's baseline (aide --init --config ${integrity.confPath}).` });
    else if (!integrity.dbExists) findings.push({ severity: 'medium', title: 'No file-integrity baseline', why: 'Without checksums of the system files, a changed program or configuration goes unnoticed.', fix: `Record a baseline with AIDE (${WATCHED.join(', ')}).` });
    findings.push(...scheduledFindings(integrity));
    if (integrity.check && 'error' in integrity.check) findings.push({ severity: 'medium', title: 'The integrity check could not run', why: integrity.check.error, fix: `Run aide --check --config ${integrity.confPath} by hand.` });
    else if (integrity.check) {
      const { added, removed, changed } = integrity.check;
      const total = added.length + removed.length + changed.length;
      if (total > 0) {
        const list = [...changed.map((p) => `changed ${p}`), ...added.map((p) => `added ${p}`), ...removed.map((p) => `removed ${p}`)];
        findings.push({ severity: 'high', title: `${total} file(s) differ from the integrity baseline: ${list.slice(0, 20).join(', ')}${list.length > 20 ? `, and ${list.length - 20} more` : ''}`, why: 'Files changed since the baseline. After your own updates and edits that is expected; otherwise someone else changed them.', fix: `Look at each one. When the changes are yours, record a new baseline: aide --init --config ${integrity.confPath} and move ${AIDE_DB_NEW} to ${AIDE_DB}.` });
      } else findings.push({ severity: 'info', title: 'No file changed since the integrity baseline', why: 'AIDE compared every watched file with its checksum.', fix: 'Nothing to do.' });
    }
    if (facts.hostname) findings.push({ severity: 'low', title: `This server's name (${facts.hostname}) is not in /etc/hosts`, why: 'fail2ban looks the name up for every failure it sees; without a local answer it waits on DNS, and bans come late or not at all.', fix: `Add "127.0.1.1 ${facts.hostname}" to /etc/hosts.` });
    if (facts.sources.asterisk.missing) findings.push({ severity: 'medium', title: 'Asterisk\'s failed SIP logins cannot be watched', why: facts.sources.asterisk.missing, fix: 'Add "security => security" under [logfiles] and "dateformat=%F %T" under [general] in /etc/asterisk/logger.conf, then `asterisk -rx "logger reload"`.' });
    return findings;
  },

  async verify(ctx: StepContext, answers: IdsAnswers, changes: readonly Change[] = []): Promise<VerifyCheck[]> {
    const checks: VerifyCheck[] = [];
    const facts = await idsStep.detect(ctx);
    const expected = answers.jails.length === 0 ? null : jailFile(jailPlans(facts, answers), ignoreList(facts, answers));
    if (changes.some((c) => c.kind === 'file' && c.path === JAIL_FILE)) checks.push({ label: expected === null ? 'no jail file of bulwark\'s' : 'bulwark\'s jail file is in place', ok: facts.jailFile === expected });
    if (changes.some((c) => c.kind === 'command')) checks.push({ label: `the integrity baseline is in place (${AIDE_DB})`, ok: facts.integrity.dbExists });
    if (changes.some((c) => c.kind === 'file' && c.path === AIDE_CRON)) checks.push({ label: `the daily integrity check is in place (${AIDE_CRON})`, ok: facts.integrity.cron === aideCronScript(facts.integrity.confPath) });
    if (ctx.host.live && answers.jails.length > 0) {
      const status = await ctx.host.run({ file: 'fail2ban-client', args: ['status'] }, { reject: false });
      const active = /Jail list:\s*(.*)$/m.exec(status.stdout)?.[1]?.split(/,\s*/).filter(Boolean) ?? [];
      for (const jail of jailPlans(facts, answers).filter((j) => j.enabled)) checks.push({ label: `jail ${jail.name} runs`, ok: active.includes(jail.name), detail: active.includes(jail.name) ? undefined : `fail2ban runs: ${active.join(', ') || 'no jail'}` });
    }
    return checks;
  },
};

/** The daily check's last result and its age, as cron left it. */
function scheduledFindings(integrity: IntegrityFacts, now = Date.now() / 1000): Finding[] {
  if (integrity.other || !integrity.dbExists) return [];
  const scheduled = integrity.scheduled;
  if (integrity.cron === null) return [{ severity: 'medium', title: 'Nothing checks the integrity baseline by itself', why: 'A baseline is only useful when something compares the files with it; without a daily check, a change is seen only when someone runs `bulwark audit`.', fix: `Apply the ids step: it adds the daily check ${AIDE_CRON}.` }];
  if (scheduled === null) return [{ severity: 'info', title: `The daily integrity check has not run yet (no ${AIDE_LOG})`, why: 'cron runs it once a day.', fix: `Wait for cron, or run ${AIDE_CRON} by hand.` }];
  const ago = age(now - scheduled.started);
  const findings: Finding[] = [];
  if (now - scheduled.started > 2 * 86_400) findings.push({ severity: 'medium', title: `The daily integrity check last ran ${ago} ago`, why: 'It should run every day: cron (or anacron) is not running it.', fix: `Check that cron runs (/etc/init.d/cron or crond status) and that ${AIDE_CRON} is executable.` });
  if (!scheduled.report) findings.push({ severity: 'medium', title: `The daily integrity check ${ago} ago failed (exit ${scheduled.exitCode})`, why: scheduled.error ?? '', fix: `Read ${AIDE_LOG}.` });
  else {
    const { added, removed, changed } = scheduled.report;
    const list = [...changed.map((p) => `changed ${p}`), ...added.map((p) => `added ${p}`), ...removed.map((p) => `removed ${p}`)];
    if (list.length === 0) findings.push({ severity: 'info', title: `The daily integrity check ${ago} ago found no change`, why: 'cron compared every watched file with the baseline.', fix: 'Nothing to do.' });
    else findings.push({ severity: 'high', title: `The daily integrity check ${ago} ago found ${list.length} file(s) differing from the baseline: ${list.slice(0, 20).join(', ')}${list.length > 20 ? `, and ${list.length - 20} more` : ''}`, why: 'Files changed since the baseline. After your own updates and edits that is expected; otherwise someone else changed them.', fix: `Read ${AIDE_LOG}. When the changes are yours, record a new baseline: aide --init --config ${integrity.confPath} and move ${AIDE_DB_NEW} to ${AIDE_DB}.` });
  }
  return findings;
}

function ignoreList(facts: IdsFacts, answers: IdsAnswers): string[] {
  return [...new Set(['127.0.0.1/8', '::1', ...(facts.admin ? [facts.admin] : []), ...facts.trusted, ...facts.trunks, ...(answers.ignoreIp ?? [])])];
}

function jailPlans(facts: IdsFacts, answers: IdsAnswers): JailPlan[] {
  const chosen = new Set(answers.jails);
  const common = { banaction: 'bulwark-ipset[type=multiport]', maxretry: 5, findtime: '10m', bantime: '1h' };
  const plans: JailPlan[] = [];
  for (const jail of ['sshd', 'asterisk', 'apache-auth', 'recidive'] as const) {
    if (!chosen.has(jail)) continue;
    const source = facts.sources[jail];
    const proof = facts.proofs[jail];
    // A log with lines but not one date the filter can read: the jail would never ban.
    const unreadable = proof && 'lines' in proof && proof.lines > 0 && proof.dateHits === 0 ? `its filter reads no date in ${source.logpath} (${proof.lines} lines)` : undefined;
    const off = source.missing ?? unreadable;
    const base = { name: jail, enabled: !off, backend: source.backend, ...(source.logpath && source.backend !== 'systemd' ? { logpath: source.logpath } : {}), ...(off ? { off } : {}) };
    if (jail === 'sshd') plans.push({ ...common, ...base, port: facts.sshPorts.join(','), ...(source.backend === 'systemd' ? { journalmatch: '_SYSTEMD_UNIT=ssh.service + _SYSTEMD_UNIT=sshd.service + _COMM=sshd' } : {}) });
    if (jail === 'asterisk') plans.push({ ...common, ...base, port: (facts.sipPorts.length > 0 ? facts.sipPorts : ['5060', '5061']).join(','), maxretry: 10, datepattern: ASTERISK_DATEPATTERN });
    if (jail === 'apache-auth') plans.push({ ...common, ...base, port: 'http,https' });
    if (jail === 'recidive') plans.push({ ...common, ...base, banaction: 'bulwark-ipset[type=allports]', maxretry: 5, findtime: '1d', bantime: '1w' });
  }
  return plans;
}

async function firstExisting(host: Host, paths: readonly string[]): Promise<string | null> {
  for (const candidate of paths) if (await host.exists(candidate)) return candidate;
  return null;
}

async function fileSource(host: Host, jail: Jail, paths: readonly string[], missing: string): Promise<LogSource> {
  const found = await firstExisting(host, paths);
  return found ? { jail, logpath: found, backend: 'auto' } : { jail, logpath: null, backend: 'auto', missing };
}

/** Asterisk's security log: a [logfiles] channel with the `security` level, and dates as %F %T. */
async function asteriskSource(host: Host): Promise<LogSource> {
  const logger = await host.readText('/etc/asterisk/logger.conf');
  if (logger === null) return { jail: 'asterisk', logpath: null, backend: 'auto', missing: 'Asterisk is not installed (no /etc/asterisk/logger.conf)' };
  const missing: string[] = [];
  let logfiles = '';
  let general = '';
  let section = '';
  for (const raw of logger.split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) section = header[1]!.toLowerCase();
    else if (section === 'logfiles') logfiles += line + '\n';
    else if (section === 'general') general += line + '\n';
  }
  const channel = /^([^=\s]+)\s*=>\s*(.*)$/m.exec(logfiles.split('\n').filter((l) => /=>.*\bsecurity\b/.test(l)).join('\n'));
  if (!channel) missing.push('no security log: add "security => security" under [logfiles] in /etc/asterisk/logger.conf');
  if (!/^dateformat\s*=\s*%F %T\s*$/m.test(general)) missing.push('dates as fail2ban reads them: add "dateformat=%F %T" under [general] in /etc/asterisk/logger.conf');
  const astlog = /^\s*astlogdir\s*=>?\s*(\S+)/m.exec((await host.readText('/etc/asterisk/asterisk.conf')) ?? '')?.[1] ?? '/var/log/asterisk';
  const logpath = channel ? (channel[1]!.startsWith('/') ? channel[1]! : path.posix.join(astlog, channel[1]!)) : null;
  return { jail: 'asterisk', logpath, backend: 'auto', ...(missing.length > 0 ? { missing: `Asterisk logs no failed SIP logins fail2ban can read: ${missing.join('; ')}` } : {}) };
}

/** AIDE: bulwark's configuration, then the baseline made and moved into place (when either is missing or stale). */
function integrityChanges(facts: IdsFacts, answers: IdsAnswers): Change[] {
  const integrity = facts.integrity;
  if (answers.integrity === false || (answers.integrity === undefined && integrity.other)) return [];
  const changes: Change[] = [];
  if (!integrity.binary && facts.live && facts.packageManager) {
    changes.push({ kind: 'package', step: 'ids', action: 'install', manager: facts.packageManager, names: ['aide'], reason: 'AIDE is not installed' } satisfies PackageChange);
  }
  const conf = aideConfig(integrity.confPath, integrity.watched, integrity.legacy);
  if (conf !== integrity.conf) changes.push({ kind: 'file', step: 'ids', path: integrity.confPath, before: integrity.conf, after: conf, mode: 0o600, reason: `what AIDE watches: ${integrity.watched.join(', ')}` } satisfies FileChange);
  // A baseline nobody compares with catches nothing: cron checks it every day.
  const cron = aideCronScript(integrity.confPath);
  if (cron !== integrity.cron) changes.push({ kind: 'file', step: 'ids', path: AIDE_CRON, before: integrity.cron, after: cron, mode: 0o755, reason: `cron compares the files with the baseline every day: result in ${AIDE_LOG}, syslog (tag aide), mail to root when something differs` } satisfies FileChange);
  // The baseline is made on the live system only (under --root nothing runs).
  if (facts.live && (conf !== integrity.conf || !integrity.dbExists)) {
    changes.push({ kind: 'command', step: 'ids', command: { file: 'aide', args: ['--init', '--config', integrity.confPath] }, creates: [AIDE_DB_NEW], progress: `recording the integrity baseline: aide --init reads every file of ${integrity.watched.join(', ')} (a minute or more on a large system)`, timeoutMs: 3_600_000, reason: 'the baseline: a checksum of every watched file' } satisfies CommandChange);
    changes.push({ kind: 'command', step: 'ids', command: { file: 'mv', args: ['-f', AIDE_DB_NEW, AIDE_DB] }, creates: [AIDE_DB], progress: `moving the new baseline into place (${AIDE_DB})`, reason: 'AIDE compares with this file' } satisfies CommandChange);
  }
  return changes;
}

async function detectIntegrity(host: Host, family: string, audit: boolean): Promise<IntegrityFacts> {
  const binary = host.live ? await host.findProgram('aide') : (await firstExisting(host, ['/usr/bin/aide', '/usr/sbin/aide']));
  let legacy = false;
  if (binary && host.live) {
    const version = /AIDE,? (?:version )?v?(\d+)\.(\d+)/i.exec((await host.run({ file: 'aide', args: ['--version'] }, { reject: false })).stdout + '');
    legacy = version !== null && Number(version[1]) === 0 && Number(version[2]) < 16;
  } else if (binary) {
    legacy = /release [56]\./.test((await host.readText('/etc/redhat-release')) ?? '');
  }
  const other = (await host.exists('/var/ossec/bin/wazuh-control')) ? 'Wazuh' : (await host.exists('/var/ossec')) ? 'OSSEC' : null;
  const watched: string[] = [];
  for (const dir of WATCHED) if (await host.exists(dir)) watched.push(dir);
  const confPath = chooseAideConf({ family, aideInstalled: binary !== null, distroText: await host.readText(distroAideConf(family)), besideExists: await host.exists(AIDE_CONF_BESIDE) });
  const dbExists = await host.exists(AIDE_DB);
  const distroUninitialised = binary !== null && !(await host.exists('/var/lib/aide/aide.db')) && !(await host.exists('/var/lib/aide/aide.db.gz'));
  let check: IntegrityFacts['check'] = null;
  if (audit && binary && dbExists && host.live) {
    const result = await host.run({ file: 'aide', args: ['--check', '--config', confPath] }, { reject: false, timeoutMs: 3_600_000 });
    // Exit codes 0-7 are "no difference" and the added/removed/changed bits; above that, an error.
    check = result.exitCode !== null && result.exitCode >= 0 && result.exitCode <= 7 ? parseCheck(result.stdout) : { error: (result.stderr || result.stdout).trim().split('\n').pop() ?? `exit ${result.exitCode}` };
  }
  const log = await host.readText(AIDE_LOG);
  return { binary, legacy, other, confPath, conf: await host.readText(confPath), dbExists, distroUninitialised, watched, cron: await host.readText(AIDE_CRON), scheduled: log === null ? null : parseScheduledLog(log), check };
}
