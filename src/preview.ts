// Renders Change[] for people: unified diffs for files, one line per service action. The data stays
// in change.ts; this is only drawing. Secrets never reach the screen: a change marked secret shows as
// <redacted>, and in any diff the values of password-like keys are masked.
import { createTwoFilesPatch } from 'diff';
import type { Change, FileChange, FirewallChange, LinkChange } from './change.js';
import { thousands } from './output.js';

export const REDACTED = '<redacted>';

// Keys whose values are credentials in the files bulwark touches (Asterisk `secret`, MySQL
// `password`, A2Billing `dbpass`, Elastix `mysqlrootpwd`, FreePBX `AMPMGRPASS`, ...).
const SECRET_LINE = /^([ \t]*[;#]?[ \t]*[\w.-]*(?:secret|passw(?:or)?d|pass|pwd|token|apikey)[ \t]*(?:=>?|:)[ \t]*)(\S.*)$/i;

/** Masks the value on lines that assign a password-like key. */
export function redactLine(line: string): string {
  const match = SECRET_LINE.exec(line);
  return match ? `${match[1]}${REDACTED}` : line;
}

export function redactText(text: string): string {
  return text.split('\n').map(redactLine).join('\n');
}

/** A unified diff of one file change, with tabs expanded (tabs break Ink's layout). */
export function fileDiff(change: FileChange): string {
  const label = change.path.replace(/^\//, '');
  if (change.secret) {
    const what = change.before === null ? 'new file' : change.after === null ? 'removed' : 'changed';
    return `--- a/${label}\n+++ b/${label}\n@@ secret content ${what}: ${REDACTED} @@\n`;
  }
  if (change.summary) {
    return `--- ${change.before === null ? '/dev/null' : `a/${label}`}\n+++ b/${label}\n@@ ${change.summary} @@\n`;
  }
  const before = change.before === null ? '' : redactText(change.before);
  const after = change.after === null ? '' : redactText(change.after);
  const patch = createTwoFilesPatch(
    change.before === null ? '/dev/null' : `a/${label}`,
    change.after === null ? '/dev/null' : `b/${label}`,
    before,
    after,
    undefined,
    undefined,
    { context: 3 },
  );
  // Drop the "====" banner createTwoFilesPatch starts with; keep the ---/+++ headers.
  return expandTabs(patch.split('\n').filter((line) => !/^={10,}$/.test(line)).join('\n'));
}

export function describeChange(change: Change): string {
  if (change.kind === 'file') {
    const verb = change.before === null ? 'create' : change.after === null ? 'remove' : 'edit';
    return `${verb} ${change.path}${change.afterConfirm ? ' (after you confirm)' : ''}`;
  }
  if (change.kind === 'firewall') return `load ${change.family === 'ipv4' ? 'IPv4' : 'IPv6'} firewall rules`;
  if (change.kind === 'ipset') return `load set ${change.name}: ${thousands(change.entries)} networks (hash:net, limit ${thousands(change.maxelem)})`;
  if (change.kind === 'link') return linkLine(change);
  if (change.kind === 'sysctl') return `set ${change.settings.length} kernel setting(s) now (the old values are kept for a rollback)`;
  if (change.kind === 'command') return `run ${[change.command.file, ...change.command.args].join(' ')}`;
  if (change.kind === 'package') {
    const tool = change.manager === 'apt' ? 'apt-get' : change.manager;
    return change.action === 'install' ? `${tool} install ${change.names.join(' ')}` : `${tool} remove ${change.names.join(' ')} (cannot be undone byte for byte: a rollback tells you what to reinstall)`;
  }
  return `${change.action} ${change.command ? [change.command.file, ...change.command.args].join(' ') : change.names[0]}`;
}

/** One line per link, as `ls -l` would show the difference. */
export function linkLine(change: LinkChange): string {
  const by = change.madeBy ? ` (by ${change.madeBy.action} ${change.madeBy.service})` : '';
  if (change.after === null) return `remove link ${change.path} -> ${change.before}${by}`;
  if (change.before === null) return `create link ${change.path} -> ${change.after}${by}`;
  return `change link ${change.path} -> ${change.after} (was -> ${change.before})${by}`;
}

/** The running firewall's filter table before and after, as a diff in iptables-save form. */
export function firewallDiff(change: FirewallChange): string {
  const label = change.family === 'ipv4' ? 'iptables (IPv4)' : 'ip6tables (IPv6)';
  const patch = createTwoFilesPatch(`running ${label}`, `new ${label}`, change.before, change.after, undefined, undefined, { context: 3 });
  return expandTabs(patch.split('\n').filter((line) => !/^={10,}$/.test(line)).join('\n'));
}

/** The whole plan as text: the firewall, each file's diff, then the service actions, each with its reason. */
export function renderPlan(changes: readonly Change[]): string {
  const parts: string[] = [];
  const sets = changes.filter((c) => c.kind === 'ipset');
  if (sets.length > 0) parts.push(['# kernel sets, filled aside and swapped in (the networks themselves are not listed):', ...sets.map((s) => `  ${describeChange(s)}  (${s.reason})`)].join('\n') + '\n');
  for (const change of changes) {
    if (change.kind === 'firewall') parts.push(`# ${change.reason}\n${firewallDiff(change)}`);
  }
  for (const change of changes) {
    if (change.kind === 'file') parts.push(`# ${change.reason}${change.afterConfirm ? ' (written only after you confirm)' : ''}\n${fileDiff(change)}`);
  }
  for (const change of changes) {
    if (change.kind === 'sysctl') parts.push([`# ${change.reason}`, ...change.settings.map((s) => `  ${s.key}: ${s.before ?? '(absent)'} -> ${s.after}`)].join('\n') + '\n');
  }
  const links = changes.filter((c) => c.kind === 'link');
  if (links.length > 0) parts.push(['# links (what starts at boot, what Apache reads):', ...links.map((l) => `  ${describeChange(l)}`)].join('\n') + '\n');
  const services = changes.filter((c) => c.kind === 'service' || c.kind === 'package' || c.kind === 'command');
  if (services.length > 0) {
    parts.push(['# then:', ...services.map((s) => `  ${describeChange(s)}  (${s.reason})`)].join('\n') + '\n');
  }
  return parts.join('\n');
}

/** The plan as data for --json: paths, actions and the redacted diff; never raw secret content. */
export function planToJson(changes: readonly Change[]): unknown[] {
  return changes.map((change) => {
    switch (change.kind) {
      case 'file':
        return { kind: 'file', step: change.step, path: change.path, action: change.before === null ? 'create' : change.after === null ? 'remove' : 'edit', afterConfirm: Boolean(change.afterConfirm), reason: change.reason, diff: fileDiff(change) };
      case 'firewall':
        return { kind: 'firewall', step: change.step, family: change.family, reason: change.reason, diff: firewallDiff(change), script: change.script };
      case 'service':
        return { kind: 'service', step: change.step, service: change.names[0], action: change.action, reason: change.reason };
      case 'ipset':
        return { kind: 'ipset', step: change.step, family: change.family, name: change.name, entries: change.entries, maxelem: change.maxelem, reason: change.reason };
      case 'link':
        return { kind: 'link', step: change.step, path: change.path, before: change.before, after: change.after, madeBy: change.madeBy ?? null, reason: change.reason };
      case 'command':
        return { kind: 'command', step: change.step, command: [change.command.file, ...change.command.args], creates: change.creates, reason: change.reason };
      case 'sysctl':
        return { kind: 'sysctl', step: change.step, settings: change.settings, command: [change.apply.file, ...change.apply.args], reason: change.reason };
      case 'package':
        return { kind: 'package', step: change.step, action: change.action, manager: change.manager, packages: change.names, reason: change.reason };
    }
  });
}

export function expandTabs(text: string, width = 8): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.includes('\t')) return line;
      let out = '';
      for (const char of line) {
        if (char === '\t') out += ' '.repeat(width - (out.length % width));
        else out += char;
      }
      return out;
    })
    .join('\n');
}
