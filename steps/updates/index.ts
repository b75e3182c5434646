// Step `updates`: is this system still getting security updates, and are they installed? The end of
// support comes from data bulwark ships (eol.ts): no network, nothing slow, the same answer under
// --root. The count of pending security updates asks the package manager (seconds of work), so it
// is taken only by `bulwark audit` on a running box (live or remote), never for a plan or the
// wizard's first frame. On Debian the step can turn on unattended-upgrades for the security archive
// only: when the admin asks, and only if the package is already installed (bulwark never installs a
// package on its own: it gives the command instead).
import { CANDIDATE_PATH, type Change, type FileChange } from '../../src/change.js';
import type { Host } from '../../src/host.js';
import type { SystemFacts } from '../../src/system.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { supportStatus, todayUtc, type SupportStatus } from './eol.js';
import { countSecurityUpdates, type PendingUpdates } from './pending.js';

export interface UpdatesAnswers {
  /** Debian: install security updates automatically (unattended-upgrades, security origin only). */
  unattendedUpgrades: boolean;
}

export interface UpdatesFacts {
  readonly live: boolean;
  readonly distro: SystemFacts['distro'];
  readonly support: SupportStatus;
  readonly today: string;
  readonly pending: PendingUpdates;
  /** Debian only: unattended-upgrades and its two files; null elsewhere. */
  readonly unattended: {
    readonly installed: boolean;
    readonly periodic: string | null;
    readonly origins: string | null;
  } | null;
}

export const PERIODIC_FILE = '/etc/apt/apt.conf.d/20auto-upgrades';
/** After the package's 50unattended-upgrades: apt reads the parts in name order, and #clear in a
 *  later file empties the list the earlier one filled (a plain list would be appended to it). */
export const ORIGINS_FILE = '/etc/apt/apt.conf.d/52bulwark-unattended-upgrades';
const UNATTENDED_PROGRAM = '/usr/bin/unattended-upgrade';

/** The security archive, in both layouts: "bookworm-security" (Debian 11 on) and "buster" with
 *  the Debian-Security label (Debian 10 and older). Nothing from the main archive or point releases. */
export const SECURITY_PATTERNS = [
  'origin=Debian,codename=${distro_codename}-security,label=Debian-Security',
  'origin=Debian,codename=${distro_codename},label=Debian-Security',
] as const;

export function renderOrigins(): string {
  return [
    '// Managed by bulwark (step updates): unattended-upgrades installs security updates only.',
    '// Undo with: bulwark rollback --step updates',
    '#clear Unattended-Upgrade::Origins-Pattern;',
    'Unattended-Upgrade::Origins-Pattern {',
    ...SECURITY_PATTERNS.map((pattern) => `        "${pattern}";`),
    '};',
    '',
  ].join('\n');
}

const PERIODIC_SETTINGS = ['APT::Periodic::Update-Package-Lists', 'APT::Periodic::Unattended-Upgrade'] as const;

/** 20auto-upgrades with both periodic settings at "1", keeping any other line the admin has there. */
export function renderPeriodic(current: string | null): string {
  let text = current ?? '';
  for (const setting of PERIODIC_SETTINGS) {
    const line = new RegExp(`^\\s*${setting.replace(/:/g, '\\:')}\\s+"[^"]*"\\s*;.*$`, 'm');
    if (line.test(text)) text = text.replace(line, `${setting} "1";`);
    else text = `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${setting} "1";\n`;
  }
  return text;
}

/** Both periodic settings on ("1" or more days). */
export function periodicOn(text: string | null): boolean {
  if (text === null) return false;
  return PERIODIC_SETTINGS.every((setting) => {
    const values = [...text.matchAll(new RegExp(`^\\s*${setting.replace(/:/g, '\\:')}\\s+"([^"]*)"`, 'gm'))];
    const last = values.at(-1)?.[1];
    return last !== undefined && last !== '0' && last !== '';
  });
}

export const updatesStep: Step<UpdatesFacts, UpdatesAnswers> = {
  id: 'updates',
  title: 'Security updates',
  why: [
    'Every distribution release gets security fixes for a fixed number of years. After that date nobody fixes the holes found in it any more: each new one stays open for good, whatever else is hardened. bulwark knows these dates for CentOS, RHEL, Rocky, AlmaLinux, Debian and Ubuntu.',
    'Fixes that exist but are not installed protect nothing. bulwark counts the security updates waiting on this box (`bulwark audit`), and on Debian it can have them installed automatically every day, from the security archive only, so that nothing else changes behind your back.',
  ],

  async detect(ctx: StepContext): Promise<UpdatesFacts> {
    const { host, system } = ctx;
    const today = todayUtc();
    const debian = system.distro.id === 'debian';
    const [pending, unattended] = await Promise.all([
      pendingFor(ctx),
      debian ? detectUnattended(host) : Promise.resolve(null),
    ]);
    return { live: host.live, distro: system.distro, support: supportStatus(system.distro, today), today, pending, unattended };
  },

  describe(facts: UpdatesFacts): FactRow[] {
    const rows: FactRow[] = [{ label: 'System', value: facts.distro.name, tone: 'neutral' }];
    const { entry, past } = facts.support;
    rows.push(entry
      ? { label: 'Security updates until', value: `${entry.endOfSupport}${past ? ' (over: none any more)' : ''}`, tone: past ? 'bad' : 'good' }
      : { label: 'Security updates until', value: 'bulwark has no date for this release', tone: 'neutral' });
    rows.push({ label: 'Pending security updates', value: pendingText(facts.pending), tone: facts.pending.count === null ? 'neutral' : facts.pending.count > 0 ? 'bad' : 'good' });
    if (facts.unattended) {
      const on = facts.unattended.installed && periodicOn(facts.unattended.periodic);
      rows.push({ label: 'Automatic security updates', value: !facts.unattended.installed ? 'unattended-upgrades is not installed' : on ? (facts.unattended.origins === renderOrigins() ? 'on, security archive only (bulwark)' : 'on') : 'off', tone: on ? 'good' : 'bad' });
    }
    return rows;
  },

  // Automatic updates change packages on their own: only when the admin says so.
  defaults(): UpdatesAnswers {
    return { unattendedUpgrades: false };
  },

  questions(facts: UpdatesFacts): Question[] {
    if (!facts.unattended?.installed) return [];
    return [{ kind: 'boolean', key: 'unattendedUpgrades', prompt: 'Install security updates automatically every day (security archive only)?', help: 'unattended-upgrades installs them at night; packages from the main archive are left for you. Undo with u.' }];
  },

  checkAnswers(facts: UpdatesFacts, answers: UpdatesAnswers): string[] {
    if (!answers.unattendedUpgrades) return [];
    if (!facts.unattended) return [`updates.unattendedUpgrades: expected false on ${facts.distro.name} (automatic security updates are set up on Debian only)`];
    if (!facts.unattended.installed) return ['updates.unattendedUpgrades: unattended-upgrades is not installed; install it first with `apt-get install unattended-upgrades` (bulwark does not install packages), or answer false'];
    return [];
  },

  plan(facts: UpdatesFacts, answers: UpdatesAnswers): Change[] {
    const unattended = facts.unattended;
    if (!unattended?.installed) return [];
    const changes: Change[] = [];
    const wanted = answers.unattendedUpgrades ? renderOrigins() : null;
    if (answers.unattendedUpgrades) {
      const periodic = renderPeriodic(unattended.periodic);
      if (periodic !== unattended.periodic) changes.push({ kind: 'file', step: 'updates', path: PERIODIC_FILE, before: unattended.periodic, after: periodic, mode: 0o644, validators: [aptConfigCheck()], reason: 'apt refreshes its lists and runs unattended-upgrades every day' } satisfies FileChange);
    }
    // Answered no: bulwark's own file goes; 20auto-upgrades is the admin's (rollback restores it).
    if (wanted !== unattended.origins) changes.push({ kind: 'file', step: 'updates', path: ORIGINS_FILE, before: unattended.origins, after: wanted, mode: 0o644, validators: wanted === null ? [] : [aptConfigCheck()], reason: wanted === null ? 'unattended-upgrades no longer limited by bulwark' : 'unattended-upgrades takes packages from the security archive only' } satisfies FileChange);
    return changes;
  },

  planNotes(facts: UpdatesFacts): string[] {
    const notes: string[] = [];
    if (facts.support.entry && facts.support.past) notes.push(`${facts.support.entry.release} gets no security updates since ${facts.support.entry.endOfSupport}: plan a migration to ${facts.support.entry.successor}. bulwark cannot fix this.`);
    if (facts.unattended && !facts.unattended.installed) notes.push('unattended-upgrades is not installed: bulwark does not install packages. To have security updates installed automatically, run `apt-get install unattended-upgrades` and come back to this step.');
    if (!facts.unattended) notes.push(`Automatic security updates are set up on Debian only; on ${facts.distro.name} use the distribution's own tool (dnf-automatic, yum-cron).`);
    return notes;
  },

  findings(facts: UpdatesFacts): Finding[] {
    const findings: Finding[] = [];
    const { entry, past } = facts.support;
    if (entry && past) findings.push({ severity: 'high', title: `${entry.release} has had no security updates since ${entry.endOfSupport}`, why: 'No security updates exist for this system: every hole found from now on stays open, whatever else is hardened.', fix: `Plan a migration to ${entry.successor}. bulwark cannot fix this.` });
    if (!entry) findings.push({ severity: 'info', title: `No end-of-support date known for ${facts.distro.name}`, why: 'bulwark ships the dates of CentOS, RHEL, Rocky, AlmaLinux, Debian and Ubuntu LTS releases.', fix: 'Check the distribution\'s own support page.' });
    const count = facts.pending.count;
    if (count !== null && count > 0) findings.push({ severity: 'medium', title: `${count} security update${count === 1 ? '' : 's'} waiting to be installed${facts.pending.packages.length > 0 ? ` (${facts.pending.packages.slice(0, 5).join(', ')}${count > 5 ? ', ...' : ''})` : ''}`, why: 'Installed packages have known holes whose fixes are already published (Lynis: PKGS-7392).', fix: facts.distro.family === 'debian' ? 'Install them: apt-get update && apt-get upgrade (and turn on automatic security updates in this step).' : 'Install them: yum update --security.' });
    if (facts.unattended?.installed && !periodicOn(facts.unattended.periodic)) findings.push({ severity: 'low', title: 'Security updates are not installed automatically', why: 'A fix published tonight waits until someone logs in and installs it.', fix: 'Turn on unattended-upgrades for the security archive in this step.' });
    return findings;
  },

  async verify(ctx: StepContext, answers: UpdatesAnswers): Promise<VerifyCheck[]> {
    if (!answers.unattendedUpgrades) return [];
    const facts = await updatesStep.detect(ctx);
    const checks: VerifyCheck[] = [{ label: 'apt runs unattended-upgrades every day', ok: periodicOn(facts.unattended?.periodic ?? null) }];
    if (ctx.host.live) {
      // apt's own reading of every file in apt.conf.d, not ours.
      const dump = await ctx.host.run({ file: 'apt-config', args: ['dump'] }, { reject: false });
      const patterns = originPatterns(dump.stdout);
      checks.push({ label: 'unattended-upgrades takes the security archive only (apt-config dump)', ok: dump.exitCode === 0 && patterns.length > 0 && patterns.every((p) => /label=Debian-Security/.test(p)), detail: patterns.join('; ') });
    } else checks.push({ label: `${ORIGINS_FILE} limits unattended-upgrades to the security archive`, ok: facts.unattended?.origins === renderOrigins() });
    return checks;
  },
};

/** The Origins-Pattern values in `apt-config dump` output. */
export function originPatterns(dump: string): string[] {
  return [...dump.matchAll(/^Unattended-Upgrade::Origins-Pattern:: "(.*)";$/gm)].map((m) => m[1]!);
}

function aptConfigCheck() {
  return { when: 'candidate' as const, command: { file: 'apt-config', args: ['-c', CANDIDATE_PATH, 'dump'] }, label: 'apt reads the file (apt-config)' };
}

async function detectUnattended(host: Host): Promise<UpdatesFacts['unattended']> {
  const [installed, periodic, origins] = await Promise.all([host.exists(UNATTENDED_PROGRAM), host.readText(PERIODIC_FILE), host.readText(ORIGINS_FILE)]);
  return { installed, periodic, origins };
}

async function pendingFor(ctx: StepContext): Promise<PendingUpdates> {
  if (!ctx.host.live) return { count: null, packages: [], note: 'not counted under --root (it needs the running system)' };
  if (!ctx.audit) return { count: null, packages: [], note: 'counted by `bulwark audit --step updates` (it takes the package manager a few seconds)' };
  return countSecurityUpdates(ctx.host, ctx.system);
}

function pendingText(pending: PendingUpdates): string {
  if (pending.count === null) return pending.note;
  return pending.count === 0 ? 'none' : `${pending.count}${pending.packages.length > 0 ? ` (${pending.packages.slice(0, 6).join(', ')}${pending.count > 6 ? ', ...' : ''})` : ''}`;
}
