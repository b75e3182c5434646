// Step `elastix-extras`: the minimal installation. An Elastix / Issabel / FreePBX install brings a
// CRM, webmail, an IM server, fax, mailing lists, Webmin... each one more thing to patch and to
// attack. The admin keeps A2Billing, Asterisk and one management UI; every other web app is denied
// in a bulwark-owned Apache file, every other daemon stopped and taken out of the boot the way the
// box does it. Package removal is offered, never the default.
import * as path from 'node:path';
import type { Change, FileChange, LinkChange, PackageChange, ServiceChange } from '../../src/change.js';
import type { ElastixApp } from '../../src/answers.js';
import type { Host } from '../../src/host.js';
import type { ApacheFacts, SystemFacts } from '../../src/system.js';
import { apacheTest, confSlot, type ConfSlot } from '../apache.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { findDaemon, type Daemon } from './boot.js';
import { EXTRAS, type Extra } from './catalog.js';

export interface ExtrasAnswers {
  keep: ElastixApp[];
  removePackages?: boolean;
}

export type Flavour = 'elastix' | 'issabel' | 'freepbx' | 'plain';

export interface FoundExtra {
  readonly extra: Extra;
  /** URL paths it is served under, found on this box. */
  readonly webPaths: readonly string[];
  readonly daemons: readonly Daemon[];
  readonly xinetd: { readonly path: string; readonly text: string; readonly enabled: boolean } | null;
  /** Its packages that are installed (live, or Debian's dpkg status under --root). */
  readonly packages: readonly string[];
  /** What showed it is there, for the facts table. */
  readonly evidence: readonly string[];
}

export interface ExtrasFacts {
  readonly live: boolean;
  readonly system: SystemFacts;
  readonly flavour: Flavour;
  readonly flavourLabel: string;
  readonly docroot: string;
  readonly apacheRunning: boolean | null;
  readonly found: readonly FoundExtra[];
  /** bulwark's Apache file and, on Debian, its conf-enabled link. */
  readonly conf: ConfSlot | null;
  readonly xinetdRunning: boolean | null;
}

const CONF_NAME = 'zz-bulwark-extras.conf';
const FLAVOUR_NAMES: Record<Flavour, string> = { elastix: 'Elastix', issabel: 'Issabel', freepbx: 'FreePBX distro', plain: 'Asterisk without a bundled distribution' };

export const extrasStep: Step<ExtrasFacts, ExtrasAnswers> = {
  id: 'elastix-extras',
  title: 'Minimal installation',
  why: [
    'Every program that answers on the network is one more thing that can have a hole. An Elastix-style install brings a CRM, webmail, an instant-messaging server, fax, mailing lists and Webmin, most of which a VoIP operator never opens, but all of which wait for visitors and must be kept patched.',
    'A PBX needs Asterisk, A2Billing if you bill calls, and one web interface to manage Asterisk. bulwark turns the rest off: web apps are refused by Apache (in a file of bulwark\'s own, in the syntax of your Apache version), daemons are stopped and no longer started at boot. Nothing is deleted, so everything comes back with a rollback.',
    'Removing the packages too is offered, not done by default: it is the one change a rollback cannot put back byte for byte.',
  ],

  async detect(ctx: StepContext): Promise<ExtrasFacts> {
    const { host, system } = ctx;
    const flavour = await detectFlavour(host);
    const docroot = await documentRoot(host, system.apache);
    const installed = await installedPackages(host, system);
    const confDir = system.apache?.flavour === 'apache2' ? '/etc/apache2/conf-enabled' : '/etc/httpd/conf.d';
    // Asked all at once: over SSH (remote mode) these dozens of checks are then one round trip.
    const markers = EXTRAS.flatMap((extra) => [...(extra.web?.markers ?? []).map((m) => `${docroot}/${m}`), ...(extra.web?.confMarkers ?? []).map((m) => `${confDir}/${m}`)]);
    const exists = await Promise.all(markers.map((marker) => host.exists(marker)));
    const present = new Set<string>(markers.filter((_, i) => exists[i]));
    const found: FoundExtra[] = [];
    for (const extra of EXTRAS) {
      if (extra.id === 'elastix-gui' && flavour !== 'elastix') continue;
      if (extra.id === 'issabel-gui' && flavour !== 'issabel') continue;
      const evidence: string[] = [];
      const webPaths: string[] = [];
      if (extra.web && system.apache) {
        const { paths, markers, confMarkers = [] } = extra.web;
        // Markers that match the paths one to one (Roundcube at /mail or /roundcube) say which paths are there.
        const paired = markers.length === paths.length;
        markers.forEach((marker, i) => {
          if (!present.has(`${docroot}/${marker}`)) return;
          evidence.push(`${docroot}/${marker}`);
          webPaths.push(...(paired ? [paths[i]!] : paths));
        });
        for (const marker of confMarkers) {
          if (!present.has(`${confDir}/${marker}`)) continue;
          evidence.push(`${confDir}/${marker}`);
          webPaths.push(...paths);
        }
      }
      const daemons: Daemon[] = [];
      for (const names of extra.daemons ?? []) {
        const daemon = await findDaemon(host, system, names);
        if (daemon) {
          daemons.push(daemon);
          evidence.push(`service ${daemon.name}`);
        }
      }
      let xinetd: FoundExtra['xinetd'] = null;
      if (extra.xinetd) {
        const file = `/etc/xinetd.d/${extra.xinetd}`;
        const text = await host.readText(file);
        if (text !== null) {
          xinetd = { path: file, text, enabled: !/^\s*disable\s*=\s*yes\s*$/m.test(text) };
          evidence.push(file);
        }
      }
      const packages = (extra.packages ?? []).filter((name) => installed?.has(name));
      if (evidence.length === 0 && packages.length === 0) continue;
      found.push({ extra, webPaths: [...new Set(webPaths)], daemons, xinetd, packages, evidence: [...evidence, ...packages.map((p) => `package ${p}`)] });
    }
    const apache = system.apache;
    const conf = await confSlot(host, apache, CONF_NAME);
    const apacheDaemon = apache ? await findDaemon(host, system, [apache.flavour]) : null;
    const xinetdDaemon = found.some((f) => f.xinetd) ? await findDaemon(host, system, ['xinetd']) : null;
    return {
      live: host.live,
      system,
      flavour,
      flavourLabel: `${FLAVOUR_NAMES[flavour]} on ${system.distro.name}${apache ? ` (Apache ${apache.version}` : ' (no Apache'}, ${system.init === 'systemd' ? 'systemd' : 'SysV init'})`,
      docroot,
      apacheRunning: apacheDaemon?.running ?? null,
      found,
      conf,
      xinetdRunning: xinetdDaemon?.running ?? null,
    };
  },

  describe(facts: ExtrasFacts): FactRow[] {
    const rows: FactRow[] = [{ label: 'This box', value: facts.flavourLabel, tone: 'neutral' }];
    if (facts.found.length === 0 || facts.found.every((f) => f.extra.id === 'a2billing')) {
      rows.push({ label: 'Extras', value: 'none found: this box runs only what a PBX needs, and this step has nothing to do', tone: 'good' });
    }
    for (const found of facts.found) {
      const state = stateOf(facts, found);
      rows.push({ label: found.extra.label, value: `${found.evidence.join(', ')}${found.extra.ports ? `; listens on ${found.extra.ports}` : ''}${state.off ? ' (already off)' : ''}`, tone: state.off || found.extra.id === 'a2billing' ? 'good' : 'bad' });
    }
    return rows;
  },

  defaults(facts: ExtrasFacts): ExtrasAnswers {
    return { keep: defaultKeep(facts), removePackages: false };
  },

  questions(facts: ExtrasFacts): Question[] {
    const choices = facts.found.map((found) => ({
      value: found.extra.id,
      label: `${found.extra.label}${found.extra.managementUi ? ' (management UI)' : ''}`,
      detail: `${found.extra.what}${found.extra.ports ? `; ports ${found.extra.ports}` : ''}${found.extra.caution ? `. ${found.extra.caution}` : ''}`,
    }));
    const questions: Question[] = [];
    if (choices.length > 0) {
      questions.push({
        kind: 'multiselect',
        key: 'keep',
        prompt: 'What do you use and want to keep? Everything else is turned off.',
        help: 'Keep A2Billing if you bill calls, and one web interface to manage Asterisk. On Elastix and Issabel the GUI shows FreePBX\'s pages from /admin, so keep FreePBX with it.',
        choices,
      });
    }
    if (facts.live && facts.found.some((f) => f.packages.length > 0)) {
      questions.push({
        kind: 'boolean',
        key: 'removePackages',
        prompt: 'Also remove the packages of what you turn off?',
        help: 'Turning off is enough to close the door, and a rollback undoes it exactly. Removing packages frees the disk and ends the updates, but it is the one change a rollback cannot undo byte for byte: you would reinstall them by hand (the list before is kept in the snapshot).',
      });
    }
    return questions;
  },

  plan(facts: ExtrasFacts, answers: ExtrasAnswers): Change[] {
    const keep = new Set<string>(answers.keep);
    const off = facts.found.filter((found) => !keep.has(found.extra.id));
    const changes: Change[] = [];
    const services: ServiceChange[] = [];

    // Web apps: one Location per path, in bulwark's own file.
    const apache = facts.system.apache;
    if (apache && facts.conf) {
      const denied = off.filter((found) => found.webPaths.length > 0);
      const content = denied.length > 0 ? renderDenyConf(apache, denied) : null;
      if (content !== facts.conf.current) {
        changes.push({
          kind: 'file',
          step: 'elastix-extras',
          path: facts.conf.path,
          before: facts.conf.current,
          after: content,
          mode: 0o644,
          validators: [apacheTest(apache)],
          reason: content === null ? 'no web app is denied any more' : `Apache refuses ${denied.map((f) => f.extra.label).join(', ')}`,
        } satisfies FileChange);
      }
      const link = facts.conf.link;
      if (link) {
        const wanted = content === null ? null : link.target;
        if (link.current !== wanted) changes.push({ kind: 'link', step: 'elastix-extras', path: link.path, before: link.current, after: wanted, reason: 'enables bulwark\'s Apache file (as a2enconf does)' } satisfies LinkChange);
      }
      if ((content !== facts.conf.current || (link && link.current !== (content === null ? null : link.target))) && facts.live && facts.apacheRunning) {
        services.push({ kind: 'service', step: 'elastix-extras', names: [apache.flavour], action: 'reload', undo: 'reload', reason: 'Apache reads its configuration again (graceful: open connections finish)' });
      }
    }

    // Daemons: out of the boot the box's way, and stopped.
    for (const found of off) {
      for (const daemon of found.daemons) {
        for (const edit of daemon.disable) {
          changes.push({ kind: 'link', step: 'elastix-extras', path: edit.path, before: edit.before, after: edit.after, ...(daemon.byTool ? { madeBy: { service: daemon.name, action: 'disable' as const } } : {}), reason: `${found.extra.label} no longer starts at boot` } satisfies LinkChange);
        }
        if (facts.live && daemon.byTool && daemon.disable.length > 0) services.push({ kind: 'service', step: 'elastix-extras', names: [daemon.name], action: 'disable', reason: `${found.extra.label} no longer starts at boot (${daemon.tool === 'systemd' ? 'systemctl disable' : daemon.tool === 'chkconfig' ? 'chkconfig off' : 'update-rc.d disable'})` });
        if (facts.live && daemon.running) services.push({ kind: 'service', step: 'elastix-extras', names: [daemon.name], action: 'stop', undo: 'start', reason: `${found.extra.label} stops now` });
      }
      if (found.xinetd?.enabled) {
        changes.push({ kind: 'file', step: 'elastix-extras', path: found.xinetd.path, before: found.xinetd.text, after: disableXinetd(found.xinetd.text), reason: `${found.extra.label}: xinetd no longer offers it` } satisfies FileChange);
        if (facts.live && facts.xinetdRunning) services.push({ kind: 'service', step: 'elastix-extras', names: ['xinetd'], action: 'reload', undo: 'reload', reason: 'xinetd reads its services again' });
      }
    }
    changes.push(...dedupeServices(services));

    if (answers.removePackages && facts.live && facts.system.packageManager) {
      const names = [...new Set(off.flatMap((found) => found.packages))];
      if (names.length > 0) changes.push({ kind: 'package', step: 'elastix-extras', action: 'remove', manager: facts.system.packageManager, names, reason: 'you chose to remove the packages of what you turned off' } satisfies PackageChange);
    }
    return changes;
  },

  planNotes(facts: ExtrasFacts, answers: ExtrasAnswers): string[] {
    if (facts.found.length === 0) return ['No extras found on this box: nothing to turn off.'];
    const keep = new Set<string>(answers.keep);
    const kept = facts.found.filter((f) => keep.has(f.extra.id)).map((f) => f.extra.label);
    const notes = [`${facts.flavourLabel}.`, `Kept: ${kept.length > 0 ? kept.join(', ') : 'nothing but Asterisk'}.`];
    for (const found of facts.found.filter((f) => !keep.has(f.extra.id))) {
      for (const daemon of found.daemons) if (!daemon.byTool && daemon.disable.length > 0) notes.push(`${found.extra.label}: ${daemon.name} has no chkconfig header; bulwark changes its rc links itself, as chkconfig would.`);
      if (found.extra.caution) notes.push(`${found.extra.label}: ${found.extra.caution}`);
    }
    if (!facts.live) notes.push('Under --root, services are not stopped; their boot links are changed on the files, as `systemctl --root` would.');
    return notes;
  },

  findings(facts: ExtrasFacts): Finding[] {
    const findings: Finding[] = [];
    const keep = new Set<string>(defaultKeep(facts));
    for (const found of facts.found) {
      if (keep.has(found.extra.id) || stateOf(facts, found).off) continue;
      const severity = ['webmin', 'vtigercrm', 'phpmyadmin', 'openfire'].includes(found.extra.id) ? 'high' : found.extra.id === 'tftp' ? 'medium' : 'medium';
      findings.push({
        severity,
        title: `${found.extra.label} is on${found.extra.ports ? ` (${found.extra.ports})` : found.webPaths.length > 0 ? ` (${found.webPaths.join(', ')})` : ''}`,
        why: `It is ${found.extra.what}. Unless you use it, it is only attack surface that needs patching.`,
        fix: `Turn it off: ${[found.webPaths.length > 0 ? 'Apache refuses its pages' : '', found.daemons.length > 0 ? `stop ${found.daemons.map((d) => d.name).join(', ')} and take it out of the boot` : '', found.xinetd ? 'disable it in xinetd' : ''].filter(Boolean).join('; ')}.`,
      });
    }
    if (findings.length === 0) {
      findings.push({ severity: 'info', title: facts.found.length === 0 ? 'No Elastix-style extras found' : 'No extras left on', why: 'This box runs only what a PBX needs: Asterisk, and what you chose to keep.', fix: 'Nothing to do.' });
    }
    return findings;
  },

  async verify(ctx: StepContext, answers: ExtrasAnswers, changes: readonly Change[] = []): Promise<VerifyCheck[]> {
    const checks: VerifyCheck[] = [];
    for (const change of changes) {
      if (change.kind === 'link') {
        const dir = await ctx.host.resolve(path.posix.dirname(change.path));
        const linkPath = `${dir}/${path.posix.basename(change.path)}`;
        const meta = await ctx.host.lstat(linkPath);
        const now = meta?.type === 'symlink' ? await ctx.host.readlink(linkPath) : null;
        checks.push({ label: change.after === null ? `no link ${change.path}` : `link ${change.path} -> ${change.after}`, ok: now === change.after, detail: now === change.after ? undefined : now === null ? 'absent' : `-> ${now}` });
      }
      if (change.kind === 'service' && change.action === 'stop' && ctx.host.live) {
        const daemon = await findDaemon(ctx.host, ctx.system, change.names);
        checks.push({ label: `${change.names[0]} is stopped`, ok: daemon?.running === false });
      }
    }
    // Planning again finds nothing left to do.
    const facts = await extrasStep.detect(ctx);
    const left = extrasStep.plan(facts, answers).filter((c) => c.kind !== 'service' || c.action === 'stop');
    checks.push({ label: 'nothing left to turn off', ok: left.length === 0, detail: left.length === 0 ? undefined : left.map((c) => ('path' in c ? c.path : c.kind)).join(', ') });
    return checks;
  },
};

/** Keeps A2Billing and one management UI: the distribution's own GUI (with the FreePBX pages it shows), else FreePBX. */
function defaultKeep(facts: ExtrasFacts): ElastixApp[] {
  const keep: ElastixApp[] = ['a2billing'];
  if (facts.flavour === 'elastix') keep.push('elastix-gui', 'freepbx');
  else if (facts.flavour === 'issabel') keep.push('issabel-gui', 'freepbx');
  else if (facts.found.some((f) => f.extra.id === 'freepbx')) keep.push('freepbx');
  return keep;
}

/** Is it off already (denied by bulwark's file, daemons out of the boot and stopped, xinetd disabled)? */
function stateOf(facts: ExtrasFacts, found: FoundExtra): { off: boolean } {
  const webOff = found.webPaths.length === 0 || found.webPaths.every((p) => facts.conf?.current?.includes(`"${p}"`) || (found.extra.webPattern && facts.conf?.current?.includes(found.extra.webPattern)));
  const daemonsOff = found.daemons.every((d) => d.disable.length === 0 && d.running !== true);
  const xinetdOff = !found.xinetd || !found.xinetd.enabled;
  return { off: Boolean(webOff && daemonsOff && xinetdOff) };
}

/**
 * bulwark's Apache file: a Location per path (a LocationMatch for the GUI at the site root), in
 * the syntax of the Apache that reads it. Location sections are merged after Directory sections
 * and .htaccess files, so an app's own `Allow from all` or `AllowOverride All` cannot reopen it;
 * the file is named zz-... so that it also comes after other files' Location sections.
 */
export function renderDenyConf(apache: ApacheFacts, denied: readonly FoundExtra[]): string {
  const deny = apache.version === '2.4' ? ['    Require all denied'] : ['    Order allow,deny', '    Deny from all', '    Satisfy All'];
  const lines = [
    '# Managed by bulwark (step elastix-extras): the web apps you chose not to keep.',
    `# Apache ${apache.version} syntax. Undo with: bulwark rollback --step elastix-extras`,
    '',
  ];
  for (const found of denied) {
    lines.push(`# ${found.extra.label}: ${found.extra.what}`);
    if (found.extra.webPattern) {
      lines.push(`<LocationMatch "${found.extra.webPattern}">`, ...deny, '</LocationMatch>');
      for (const extraPath of found.webPaths.filter((p) => p !== '/' && !new RegExp(found.extra.webPattern!).test(p))) lines.push(`<Location "${extraPath}">`, ...deny, '</Location>');
    } else {
      for (const webPath of found.webPaths) lines.push(`<Location "${webPath}">`, ...deny, '</Location>');
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** `disable = no` becomes `disable = yes` (the line is added when the service has none). */
export function disableXinetd(text: string): string {
  if (/^(\s*disable\s*=\s*)\S+/m.test(text)) return text.replace(/^(\s*disable\s*=\s*)\S+/m, '$1yes');
  return text.replace(/^([ \t]*)}[ \t]*$/m, '\tdisable\t\t\t= yes\n$1}');
}

function dedupeServices(services: ServiceChange[]): ServiceChange[] {
  const seen = new Set<string>();
  return services.filter((s) => {
    const key = `${s.action}:${s.names.join('/')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function detectFlavour(host: Host): Promise<Flavour> {
  if (await host.exists('/etc/issabel.conf')) return 'issabel';
  if (await host.exists('/etc/elastix.conf')) return 'elastix';
  if ((await host.exists('/etc/schmooze')) || (await host.exists('/etc/sangoma/pbx')) || (await host.exists('/etc/freepbx.conf'))) return 'freepbx';
  return 'plain';
}

async function documentRoot(host: Host, apache: ApacheFacts | null): Promise<string> {
  const candidates = apache ? [apache.mainConfig, '/etc/apache2/sites-enabled/000-default.conf'] : [];
  for (const file of candidates) {
    const match = /^\s*DocumentRoot\s+"?([^"\s]+)"?/m.exec((await host.readText(file)) ?? '');
    if (match) return match[1]!.replace(/\/$/, '');
  }
  return '/var/www/html';
}

/** Installed package names: dpkg's status file (readable under --root too), or rpm on the live box. */
async function installedPackages(host: Host, system: SystemFacts): Promise<Set<string> | null> {
  if (system.packageManager === 'apt') {
    const status = (await host.readText('/var/lib/dpkg/status')) ?? '';
    const names = new Set<string>();
    for (const block of status.split(/\n\n+/)) {
      const name = /^Package:\s*(\S+)/m.exec(block)?.[1];
      if (name && /^Status:.*\binstalled$/m.test(block)) names.add(name);
    }
    return names;
  }
  if (host.live && (await host.findProgram('rpm'))) {
    const result = await host.run({ file: 'rpm', args: ['-qa', '--qf', '%{NAME}\\n'] }, { reject: false });
    return result.exitCode === 0 ? new Set(result.stdout.split('\n').filter(Boolean)) : null;
  }
  return null;
}
