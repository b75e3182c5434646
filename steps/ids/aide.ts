// File integrity with AIDE, scoped to what matters on a PBX: a bulwark-owned configuration next to
// the distribution's (never in place of it), a baseline made with `aide --init` and moved into
// place, and `aide --check` read back as lists of added, removed and changed files.

export const AIDE_CONF = '/etc/aide/bulwark.conf';
export const AIDE_DB = '/var/lib/aide/bulwark.db';
export const AIDE_DB_NEW = '/var/lib/aide/bulwark.db.new';

/** What a PBX's integrity check watches: the system's configuration and programs, the web apps,
 *  A2Billing and Asterisk's AGI scripts (where a web exploit drops its code). */
export const WATCHED = ['/etc', '/usr/bin', '/usr/sbin', '/var/www', '/usr/share/a2billing', '/var/lib/asterisk/agi-bin'] as const;

/** Paths under /etc that change on their own and would drown the report. */
const QUIET = ['/etc/mtab', '/etc/adjtime', '/etc/ld.so.cache', '/etc/aide/bulwark.conf'];

/**
 * AIDE 0.16 renamed `database` to `database_in`; CentOS 5/6 ship 0.13/0.14. The rule group: permissions,
 * inode, links, owner, group, size, mtime, ctime and SHA-256 (what changes when a file is replaced).
 */
export function aideConfig(watched: readonly string[], legacy: boolean): string {
  return [
    '# Managed by bulwark (step ids): the file-integrity baseline of this PBX.',
    `# Check by hand with: aide --check --config ${AIDE_CONF}`,
    `${legacy ? 'database' : 'database_in'}=file:${AIDE_DB}`,
    `database_out=file:${AIDE_DB_NEW}`,
    'gzip_dbout=no',
    'report_url=stdout',
    'BULWARK = p+i+n+u+g+s+m+c+sha256',
    // AIDE's own regex syntax: ! excludes, $ anchors the end.
    ...QUIET.map((path) => '!' + path + '$'),
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
