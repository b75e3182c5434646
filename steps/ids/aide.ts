// File integrity with AIDE, scoped to what matters on a PBX: a bulwark-owned configuration (next to
// the distribution's, never in place of it), a baseline made with `aide --init` and moved into
// place, and `aide --check` read back as lists of added, removed and changed files.

/** bulwark's configuration when the distribution has one of its own (RHEL's aide package, Debian's aide-common). */
export const AIDE_CONF_BESIDE = '/etc/aide/bulwark.conf';
export const AIDE_DB = '/var/lib/aide/bulwark.db';
export const AIDE_DB_NEW = '/var/lib/aide/bulwark.db.new';
/** The daily check: run-parts' naming (no dot), so Debian's, CentOS 5's and CentOS 7's cron all run it. */
export const AIDE_CRON = '/etc/cron.daily/bulwark-aide';
/** Where the daily check leaves its last result for `bulwark audit --step ids`. */
export const AIDE_LOG = '/var/log/bulwark-aide.log';

/** What a PBX's integrity check watches: the system's configuration and programs, the web apps,
 *  A2Billing and Asterisk's AGI scripts (where a web exploit drops its code). */
export const WATCHED = ['/etc', '/usr/bin', '/usr/sbin', '/var/www', '/usr/share/a2billing', '/var/lib/asterisk/agi-bin'] as const;

/** Where the distribution's AIDE looks for its configuration by default (and where audit tools such as Lynis look for one). */
export function distroAideConf(family: string): string {
  return family === 'rhel' ? '/etc/aide.conf' : '/etc/aide/aide.conf';
}

export const MANAGED_MARK = '# Managed by bulwark (step ids)';

/**
 * Where bulwark's configuration goes. Beside the distribution's when it has one (never in place of
 * it: Debian's covers the whole disk, too slow for a daily check on a PBX, and a package upgrade
 * owns it); RHEL's aide package always brings one. Where an installed aide has none (Debian's aide
 * without aide-common), at the distribution's path: a bare `aide --check` and audit tools (Lynis
 * FINT-4315) then find it. Not when aide is still to be installed: the package may bring its own
 * file there. A box bulwark set up beside keeps its file.
 */
export function chooseAideConf(input: { readonly family: string; readonly aideInstalled: boolean; readonly distroText: string | null; readonly besideExists: boolean }): string {
  if (input.besideExists || input.family === 'rhel' || !input.aideInstalled) return AIDE_CONF_BESIDE;
  if (input.distroText !== null && !input.distroText.startsWith(MANAGED_MARK)) return AIDE_CONF_BESIDE;
  return distroAideConf(input.family);
}

/** Paths under /etc that change on their own and would drown the report (and bulwark's own configuration). */
const QUIET = ['/etc/mtab', '/etc/adjtime', '/etc/ld.so.cache'];

/**
 * AIDE 0.16 renamed `database` to `database_in`; CentOS 5/6 ship 0.13/0.14. The rule group: permissions,
 * inode, links, owner, group, size, mtime, ctime and SHA-256 (what changes when a file is replaced).
 */
export function aideConfig(confPath: string, watched: readonly string[], legacy: boolean): string {
  return [
    `${MANAGED_MARK}: the file-integrity baseline of this PBX.`,
    `# Check by hand with: aide --check --config ${confPath}`,
    `${legacy ? 'database' : 'database_in'}=file:${AIDE_DB}`,
    `database_out=file:${AIDE_DB_NEW}`,
    'gzip_dbout=no',
    'report_url=stdout',
    'BULWARK = p+i+n+u+g+s+m+c+sha256',
    // AIDE's own regex syntax: ! excludes, $ anchors the end.
    ...[...QUIET, confPath].map((path) => '!' + path + '$'),
    '!/var/www/.*\\.log$',
    ...watched.map((path) => `${path} BULWARK`),
    '',
  ].join('\n');
}

export interface IntegrityReport {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/** The three lists of `aide --check` (0.15 and later: "<flags>: <path>" under each heading). */
export function parseCheck(text: string): IntegrityReport {
  const report: IntegrityReport = { added: [], removed: [], changed: [] };
  let list: string[] | null = null;
  for (const line of text.split('\n')) {
    if (/^Added entries:/.test(line)) list = report.added;
    else if (/^Removed entries:/.test(line)) list = report.removed;
    else if (/^Changed entries:/.test(line)) list = report.changed;
    else if (/^Detailed information|^The attributes of the/.test(line)) list = null;
    else if (list) {
      const match = /^[^:/]*: (\/.*)$/.exec(line);
      if (match) list.push(match[1]!);
    }
  }
  return report;
}

/**
 * The daily check, POSIX sh (dash, CentOS 5's bash as sh). cron runs it with PATH=/usr/bin:/bin and
 * aide is in /usr/sbin on RHEL, so the script sets its own PATH. `--check --config FILE` is spelled
 * the same from AIDE 0.13 (CentOS 5) to 0.18 (Debian 12). The last result goes to AIDE_LOG with a
 * header line the audit reads (start time, exit code); a one-line summary to syslog (tag aide); the
 * whole report mailed to root when something differs and a mailer exists.
 */
export function aideCronScript(confPath: string): string {
  return `#!/bin/sh
# Managed by bulwark (step ids): the daily check of the file-integrity baseline.
# Removed by \`bulwark rollback --step ids\`. The last result: ${AIDE_LOG}.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
CONF=${confPath}
LOG=${AIDE_LOG}
[ -f "$CONF" ] || exit 0
command -v aide >/dev/null 2>&1 || exit 0
umask 077
started=$(date +%s)
aide --check --config "$CONF" > "$LOG.tmp" 2>&1
status=$?
{ printf '# bulwark-aide started=%s exit=%s\\n' "$started" "$status"; cat "$LOG.tmp"; } > "$LOG"
rm -f "$LOG.tmp"
# AIDE's exit code: 0 no difference; 1 added, 2 removed, 4 changed (added up); above 7 an error.
if [ "$status" -eq 0 ]; then summary="no file changed since the baseline"
elif [ "$status" -le 7 ]; then summary="files differ from the baseline (exit $status): see $LOG"
else summary="the check failed (exit $status): see $LOG"
fi
command -v logger >/dev/null 2>&1 && logger -t aide -p authpriv.notice "bulwark baseline: $summary"
if [ "$status" -ne 0 ]; then
  subject="AIDE on $(uname -n): $summary"
  if command -v mail >/dev/null 2>&1; then mail -s "$subject" root < "$LOG"
  elif command -v sendmail >/dev/null 2>&1; then { printf 'To: root\\nSubject: %s\\n\\n' "$subject"; cat "$LOG"; } | sendmail root
  fi
fi
exit 0
`;
}

export interface ScheduledCheck {
  /** When the check started (Unix seconds). */
  readonly started: number;
  readonly exitCode: number;
  /** The three lists (null: aide failed, exit above 7). */
  readonly report: IntegrityReport | null;
  /** AIDE's last line when it failed. */
  readonly error?: string;
}

/** The daily check's log (null: not a log of bulwark's daily check). */
export function parseScheduledLog(text: string): ScheduledCheck | null {
  const header = /^# bulwark-aide started=(\d+) exit=(\d+)\n/.exec(text);
  if (!header) return null;
  const exitCode = Number(header[2]);
  const body = text.slice(header[0].length);
  if (exitCode > 7) return { started: Number(header[1]), exitCode, report: null, error: body.trim().split('\n').pop() ?? `exit ${exitCode}` };
  return { started: Number(header[1]), exitCode, report: parseCheck(body) };
}

/** "3 h", "2 days": how long ago. */
export function age(seconds: number): string {
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
