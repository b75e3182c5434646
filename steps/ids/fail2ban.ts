// fail2ban as bulwark sets it up: its own jail file and ban action, kernel sets for the bans, and
// each jail's filter proved on the box's real log before the jail is enabled. Pure text and parsing
// here; the step (index.ts) reads the box and plans.
import type { Jail } from '../../src/answers.js';
import { sipTrunks } from '../firewall/trunks.js';
import { thousands } from '../../src/output.js';

export const JAIL_FILE = '/etc/fail2ban/jail.d/bulwark.local';
export const ACTION_FILE = '/etc/fail2ban/action.d/bulwark-ipset.conf';
/** Far beyond ipset's default of 65,536: a botnet can fill that in an afternoon. */
export const SET_LIMIT = 1_048_576;
/** Asterisk's log lines with dateformat=%F %T start "[2026-11-25 07:00:00]". */
export const ASTERISK_DATEPATTERN = '^\\[%Y-%m-%d %H:%M:%S\\]';

export interface JailPlan {
  readonly name: Jail;
  readonly enabled: boolean;
  readonly port?: string;
  /** Log file(s); none with the systemd backend. */
  readonly logpath?: string;
  readonly backend: 'auto' | 'systemd' | 'polling';
  readonly journalmatch?: string;
  /** A date pattern fixed to the log's own format (Asterisk with dateformat=%F %T): fail2ban then
   *  tries one date template per line instead of its whole list. Written with %% (the jail file is
   *  read with interpolation). */
  readonly datepattern?: string;
  readonly banaction: string;
  readonly maxretry: number;
  readonly findtime: string;
  readonly bantime: string;
  /** Why a chosen jail stays off (its log is missing, its filter does not read the log's dates). */
  readonly off?: string;
}

/**
 * The ban action: fail2ban's own iptables-ipset, with the set's size raised (its actionstart
 * creates the set with ipset's default maxelem of 65,536; once full, new bans fail silently).
 * One set per jail and family (f2b-NAME, f2b-NAME6); one iptables rule per jail refers to it.
 */
export function actionFile(): string {
  return [
    '# Managed by bulwark (step ids). Undo with: bulwark rollback --step ids',
    '# fail2ban\'s iptables-ipset action, with room for ' + thousands(SET_LIMIT) + ' banned addresses per set',
    '# (ipset\'s default of 65,536 is reached by a botnet, and then new bans fail).',
    '',
    '[INCLUDES]',
    'before = iptables-ipset.conf',
    '',
    '[Definition]',
    'actionstart = ipset -exist create <ipmset> hash:ip timeout <default-ipsettime> maxelem <maxelem> <familyopt>',
    '              <_ipt_add_rules>',
    '',
    '[Init]',
    `maxelem = ${SET_LIMIT}`,
    '',
  ].join('\n');
}

export function jailFile(jails: readonly JailPlan[], ignoreIp: readonly string[]): string {
  const lines = [
    '# Managed by bulwark (step ids). Undo with: bulwark rollback --step ids',
    '# Bans go into kernel sets (action bulwark-ipset): one iptables rule per jail, never one per address.',
    '# Never banned: loopback, the address bulwark was run from, the firewall\'s trusted sources and the SIP trunks.',
  ];
  for (const jail of jails) {
    lines.push('', `[${jail.name}]`);
    if (jail.off) lines.push(`# off: ${jail.off}`);
    lines.push(`enabled   = ${jail.enabled ? 'true' : 'false'}`);
    if (jail.port) lines.push(`port      = ${jail.port}`);
    lines.push(`backend   = ${jail.backend}`);
    if (jail.logpath) lines.push(`logpath   = ${jail.logpath}`);
    if (jail.journalmatch) lines.push(`journalmatch = ${jail.journalmatch}`);
    if (jail.datepattern) lines.push(`datepattern = ${jail.datepattern.replaceAll('%', '%%')}`);
    lines.push(`banaction = ${jail.banaction}`, `banaction_allports = bulwark-ipset[type=allports]`, `maxretry  = ${jail.maxretry}`, `findtime  = ${jail.findtime}`, `bantime   = ${jail.bantime}`, `ignoreip  = ${ignoreIp.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/** What fail2ban-regex found in a log: lines read, matched, lines whose date it could read, speed. */
export interface FilterProof {
  readonly lines: number;
  readonly matched: number;
  readonly dateHits: number;
  readonly seconds: number;
}

/** Parses `fail2ban-regex LOG FILTER` output (fail2ban 0.9 to 1.x). Null when it is not that output. */
export function parseRegexOutput(text: string): FilterProof | null {
  const lines = /^Lines:\s+(\d+) lines?, (\d+) ignored, (\d+) matched, (\d+) missed/m.exec(text);
  if (!lines) return null;
  const seconds = Number(/\[processed in ([\d.]+) sec\]/.exec(text)?.[1] ?? NaN);
  // "Date template hits:" then lines such as "|- [1234] {^LN-BEG}ExYear(?P<_sep>[-/.])Month..."
  const block = /Date template hits:\n([\s\S]*?)(?:\n\n|\nLines:)/.exec(text)?.[1] ?? '';
  const dateHits = [...block.matchAll(/\[(\d+)\]/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { lines: Number(lines[1]), matched: Number(lines[3]), dateHits, seconds: Number.isFinite(seconds) ? seconds : 0 };
}

/** Hosts of the SIP trunks (as written: fail2ban looks names up itself), each once. */
export function trunkHosts(sipConf: string | null, pjsipConf: string | null): string[] {
  return [...new Set(sipTrunks(sipConf, pjsipConf).map((trunk) => trunk.host))].sort();
}
