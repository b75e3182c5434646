import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isLoopbackBind, loadMyCnf, planBindAddress, type ConfReader } from '../../steps/exposure/mycnf.js';
import { lineDiff } from '../helpers/line-diff.js';

/** In-memory box: files by absolute path, plus symlinks (path -> target). */
function memReader(files: Record<string, string>, links: Record<string, string> = {}): ConfReader {
  const resolveSync = (path: string): string => {
    let p = path;
    for (let hops = 0; hops < 40 && links[p] !== undefined; hops++) p = links[p] ?? p;
    return p;
  };
  return {
    async readText(path) {
      return files[resolveSync(path)] ?? null;
    },
    async list(dir) {
      const prefix = dir.endsWith('/') ? dir : `${dir}/`;
      return Object.keys(files)
        .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
        .map((p) => p.slice(prefix.length))
        .sort();
    },
    async resolve(path) {
      return resolveSync(path);
    },
  };
}


const CENTOS5_MY_CNF = `[mysqld]
datadir=/var/lib/mysql
socket=/var/lib/mysql/mysql.sock
user=mysql
# Default to using old password format for compatibility with mysql 3.x
# clients (those using the mysql libraries from 4.0 and earlier).
old_passwords=1

# Disabling symbolic-links is recommended to prevent assorted security risks;
# to do so, uncomment this line:
# symbolic-links=0

[mysqld_safe]
log-error=/var/log/mysqld.log
pid-file=/var/run/mysqld/mysqld.pid
`;

const DEBIAN12_MARIADB_CNF = `# The MariaDB configuration file
#
# The MariaDB/MySQL tools read configuration files in the following order:
# 0. "/etc/mysql/my.cnf" symlinks to this file, reason why all the rest is read.
# 1. "/etc/mysql/mariadb.cnf" (this file) to set global defaults,
# 2. "/etc/mysql/conf.d/*.cnf" to set global options.
# 3. "/etc/mysql/mariadb.conf.d/*.cnf" to set MariaDB-only options.
# 4. "~/.my.cnf" to set user-specific options.
#
# If the same option is defined multiple times, the last one will apply.

#
# This group is read both by the client and the server
# use it for options that affect everything
#
[client-server]
# Port or socket location where to connect
# port = 3306
socket = /run/mysqld/mysqld.sock

# Import all .cnf files from configuration directory
!includedir /etc/mysql/conf.d/
!includedir /etc/mysql/mariadb.conf.d/
`;

const DEBIAN12_50_SERVER = (bind: string): string => `#
# These groups are read by MariaDB server.
# Use it for options that only the server (but not clients) should see

# this is read by the standalone daemon and embedded servers
[server]

# this is only for the mysqld standalone daemon
[mysqld]

#
# * Basic Settings
#

#user                    = mysql
pid-file                = /run/mysqld/mysqld.pid
basedir                 = /usr
#datadir                 = /var/lib/mysql
#tmpdir                  = /tmp

# Broken reverse DNS slows down connections considerably and name resolve is
# safe to skip if there are no "host by domain name" access grants
#skip-name-resolve

# Instead of skip-networking the default is now to listen only on
# localhost which is more compatible and is not less secure.
bind-address            = ${bind}

#
# * Character sets
#
character-set-server  = utf8mb4
collation-server      = utf8mb4_general_ci

# this is only for embedded server
[embedded]

# This group is only read by MariaDB servers, not by MySQL.
# If you use the same .cnf file for MySQL and MariaDB,
# you can put MariaDB-only options here
[mariadb]

# This group is only read by MariaDB-10.11 servers.
# If you use the same .cnf file for MariaDB of different versions,
# use this group for options that older servers don't understand
[mariadb-10.11]
`;

const DEBIAN12_60_GALERA = `#
# * Galera-related settings
#
# See the examples of server wsrep.cnf files in /usr/share/mariadb
# and read more at https://mariadb.com/kb/en/galera-cluster/

[galera]
# Mandatory settings
#wsrep_on                 = ON
#wsrep_cluster_name       = "MariaDB Galera Cluster"
#wsrep_cluster_address    = gcomm://
#binlog_format            = row
#default_storage_engine   = InnoDB
#innodb_autoinc_lock_mode = 2

# Allow server to accept connections on all interfaces.
#bind-address = 0.0.0.0

# Optional settings
#wsrep_slave_threads = 1
#innodb_flush_log_at_trx_commit = 0
`;

function debian12(bind: string, extra: Record<string, string> = {}): ConfReader {
  return memReader(
    {
      '/etc/mysql/mariadb.cnf': DEBIAN12_MARIADB_CNF,
      '/etc/mysql/my.cnf.fallback': '[mysqld]\nbind-address = 10.9.9.9\n',
      '/etc/mysql/conf.d/mysql.cnf': '[mysql]\n',
      '/etc/mysql/conf.d/mysqldump.cnf': '[mysqldump]\nquick\nquote-names\nmax_allowed_packet\t= 16M\n',
      '/etc/mysql/mariadb.conf.d/50-client.cnf': '[client]\n# Default is Latin1\ndefault-character-set = utf8mb4\n',
      '/etc/mysql/mariadb.conf.d/50-mysqld_safe.cnf': '[mysqld_safe]\nsocket\t\t= /run/mysqld/mysqld.sock\nnice\t\t= 0\n',
      '/etc/mysql/mariadb.conf.d/50-server.cnf': DEBIAN12_50_SERVER(bind),
      '/etc/mysql/mariadb.conf.d/60-galera.cnf': DEBIAN12_60_GALERA,
      '/etc/mysql/mariadb.conf.d/README': '[mysqld]\nbind-address = 10.0.0.1\n',
      ...extra,
    },
    { '/etc/mysql/my.cnf': '/etc/alternatives/my.cnf', '/etc/alternatives/my.cnf': '/etc/mysql/mariadb.cnf' },
  );
}

describe('loadMyCnf', () => {
  it('reads a CentOS 5 /etc/my.cnf with no bind-address as listening on all addresses', async () => {
    // Given the stock CentOS 5 my.cnf
    const reader = memReader({ '/etc/my.cnf': CENTOS5_MY_CNF });
    // When it is loaded
    const facts = await loadMyCnf(reader);
    // Then only [mysqld] is a server section and nothing restricts the server
    expect(facts).toEqual({
      files: ['/etc/my.cnf'],
      serverSections: [{ file: '/etc/my.cnf', name: 'mysqld', headerLine: 0, lastContentLine: 6 }],
      bindAddress: null,
      skipNetworking: false,
      port: 3306,
    });
  });

  it('follows the Debian 12 symlink chain and !includedir in order, reading only .cnf files', async () => {
    const facts = await loadMyCnf(debian12('0.0.0.0'));
    expect(facts.files).toEqual([
      '/etc/mysql/mariadb.cnf',
      '/etc/mysql/conf.d/mysql.cnf',
      '/etc/mysql/conf.d/mysqldump.cnf',
      '/etc/mysql/mariadb.conf.d/50-client.cnf',
      '/etc/mysql/mariadb.conf.d/50-mysqld_safe.cnf',
      '/etc/mysql/mariadb.conf.d/50-server.cnf',
      '/etc/mysql/mariadb.conf.d/60-galera.cnf',
    ]);
    expect(facts.serverSections.map((s) => `${s.file.split('/').pop()}:${s.name}`)).toEqual([
      'mariadb.cnf:client-server',
      '50-server.cnf:server',
      '50-server.cnf:mysqld',
      '50-server.cnf:mariadb',
      '50-server.cnf:mariadb-10.11',
      '60-galera.cnf:galera',
    ]);
    expect(facts.bindAddress).toEqual({
      file: '/etc/mysql/mariadb.conf.d/50-server.cnf',
      line: 26,
      section: 'mysqld',
      key: 'bind-address',
      value: '0.0.0.0',
    });
    expect(facts.skipNetworking).toBe(false);
    expect(facts.port).toBe(3306);
  });

  it('reads a file reached through both default paths once', async () => {
    const reader = memReader({ '/etc/mysql/real.cnf': '[mysqld]\nport = 3307\n' }, { '/etc/my.cnf': '/etc/mysql/real.cnf', '/etc/mysql/my.cnf': '/etc/mysql/real.cnf' });
    const facts = await loadMyCnf(reader);
    expect(facts.files).toEqual(['/etc/mysql/real.cnf']);
    expect(facts.port).toBe(3307);
  });

  it('lets a later file override an earlier bind-address', async () => {
    const facts = await loadMyCnf(
      debian12('127.0.0.1', { '/etc/mysql/mariadb.conf.d/99-pbx.cnf': '[mysqld]\nbind_address = 0.0.0.0   # FreePBX needs remote CDR access\n' }),
    );
    expect(facts.bindAddress).toEqual({ file: '/etc/mysql/mariadb.conf.d/99-pbx.cnf', line: 1, section: 'mysqld', key: 'bind_address', value: '0.0.0.0' });
  });

  it('processes an include at the point where it appears', async () => {
    // Given a setting before an !includedir that sets it again, and one after an !include
    const before = memReader({
      '/etc/my.cnf': '[mysqld]\nbind-address=0.0.0.0\n!includedir /etc/my.cnf.d\n',
      '/etc/my.cnf.d/server.cnf': '[mysqld]\nbind-address=127.0.0.1\n',
    });
    const after = memReader({
      '/etc/my.cnf': '[mysqld]\n!include /etc/my.cnf.d/server.cnf\nbind-address=0.0.0.0\n',
      '/etc/my.cnf.d/server.cnf': '[mysqld]\nbind-address=127.0.0.1\n',
    });
    // Then the included file wins in the first case, and the including file's later line (still in its [mysqld]) in the second
    expect((await loadMyCnf(before)).bindAddress?.value).toBe('127.0.0.1');
    expect((await loadMyCnf(after)).bindAddress).toMatchObject({ file: '/etc/my.cnf', line: 2, value: '0.0.0.0' });
  });

  it('resolves a relative !include against the including file', async () => {
    const reader = memReader({ '/etc/my.cnf': '[mysqld]\n!include my.cnf.d/net.cnf\n', '/etc/my.cnf.d/net.cnf': '[mysqld]\nport=3310\n' });
    expect((await loadMyCnf(reader)).port).toBe(3310);
  });

  it('stops at an include loop', async () => {
    const reader = memReader({
      '/etc/my.cnf': '[mysqld]\n!include /etc/my.cnf.d/a.cnf\nport = 3307\n',
      '/etc/my.cnf.d/a.cnf': '[mysqld]\n!include /etc/my.cnf\n!includedir /etc/my.cnf.d\nbind-address = 127.0.0.1\n',
    });
    const facts = await loadMyCnf(reader);
    expect(facts.files).toEqual(['/etc/my.cnf', '/etc/my.cnf.d/a.cnf']);
    expect(facts.port).toBe(3307);
    expect(facts.bindAddress?.value).toBe('127.0.0.1');
  });

  it('ignores a missing !includedir and a missing !include', async () => {
    const reader = memReader({ '/etc/my.cnf': '[mysqld]\n!includedir /etc/my.cnf.d\n!include /etc/nope.cnf\nbind-address = 0.0.0.0\n' });
    const facts = await loadMyCnf(reader);
    expect(facts.files).toEqual(['/etc/my.cnf']);
    expect(facts.bindAddress?.value).toBe('0.0.0.0');
  });

  it('reads skip-networking in all its spellings, the last one winning', async () => {
    const load = async (body: string): Promise<boolean> => (await loadMyCnf(memReader({ '/etc/my.cnf': body }))).skipNetworking;
    expect(await load('[mysqld]\nskip-networking\n')).toBe(true);
    expect(await load('[mysqld]\nskip_networking\n')).toBe(true);
    expect(await load('[mariadb]\nloose-skip-networking = 1\n')).toBe(true);
    expect(await load('[mysqld]\nskip-networking=ON\n')).toBe(true);
    expect(await load('[mysqld]\nskip-networking = true # no TCP\n')).toBe(true);
    expect(await load('[mysqld]\nskip-networking\n[server]\nskip_networking = OFF\n')).toBe(false);
    expect(await load('[mysqld]\nskip-networking=0\n')).toBe(false);
    expect(await load('[client]\nskip-networking\n')).toBe(false);
    expect(await load('#skip-networking\n[mysqld]\n# skip-networking\n')).toBe(false);
  });

  it('reads only server sections, with - and _ and loose- equivalent and quotes removed', async () => {
    const reader = memReader({
      '/etc/my.cnf': [
        'bind-address = 1.1.1.1',
        '[client]',
        'bind-address = 2.2.2.2',
        'port = 3399',
        '[mysqld-5.5]',
        'loose_bind_address = "10.0.0.5"',
        '[mysqld_safe]',
        'bind-address = 3.3.3.3',
      ].join('\n'),
    });
    const facts = await loadMyCnf(reader);
    expect(facts.bindAddress).toEqual({ file: '/etc/my.cnf', line: 5, section: 'mysqld-5.5', key: 'loose_bind_address', value: '10.0.0.5' });
    expect(facts.port).toBe(3306);
  });

  it('treats a bind-address in [galera] as read by the server', async () => {
    const reader = memReader({ '/etc/my.cnf': '[mysqld]\nbind-address=127.0.0.1\n[galera]\nwsrep_on=ON\nbind-address=0.0.0.0\n' });
    expect((await loadMyCnf(reader)).bindAddress).toMatchObject({ section: 'galera', line: 4, value: '0.0.0.0' });
  });

  it('keeps a # inside a value that is not preceded by whitespace', async () => {
    const reader = memReader({ '/etc/my.cnf': '[mysqld]\nbind-address=0.0.0.0#x   # note\n' });
    expect((await loadMyCnf(reader)).bindAddress?.value).toBe('0.0.0.0#x');
  });
});

describe('isLoopbackBind', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['127.0.0.1,::1', true],
    ['127.0.0.1, localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['*', false],
    ['10.0.0.5', false],
    ['127.0.0.1,0.0.0.0', false],
    ['', false],
    ['128.0.0.1', false],
  ])('%j is loopback: %s', (value, expected) => {
    expect(isLoopbackBind(value)).toBe(expected);
  });
});

describe('planBindAddress', () => {
  it('inserts bind-address after the last content line of CentOS 5 [mysqld]', async () => {
    // Given the stock CentOS 5 my.cnf
    const reader = memReader({ '/etc/my.cnf': CENTOS5_MY_CNF });
    const facts = await loadMyCnf(reader);
    // When the bind address is planned
    const edit = await planBindAddress(reader, facts, '127.0.0.1');
    // Then one line is added right after old_passwords=1, before the blank line and the comments
    expect(edit).toEqual({
      path: '/etc/my.cnf',
      before: CENTOS5_MY_CNF,
      after: CENTOS5_MY_CNF.replace('old_passwords=1\n', 'old_passwords=1\nbind-address = 127.0.0.1\n'),
    });
  });

  it('replaces only the value of the Debian 12 bind-address, keeping the alignment', async () => {
    const reader = debian12('0.0.0.0');
    const edit = await planBindAddress(reader, await loadMyCnf(reader), '127.0.0.1');
    expect(edit?.path).toBe('/etc/mysql/mariadb.conf.d/50-server.cnf');
    expect(edit?.before).toBe(DEBIAN12_50_SERVER('0.0.0.0'));
    expect(edit?.after).toBe(DEBIAN12_50_SERVER('127.0.0.1'));
    expect(lineDiff(edit?.before ?? '', edit?.after ?? '')).toEqual({
      at: 26,
      removed: ['bind-address            = 0.0.0.0'],
      added: ['bind-address            = 127.0.0.1'],
    });
  });

  it('returns null when the effective bind-address already is the value', async () => {
    const reader = debian12('127.0.0.1');
    const facts = await loadMyCnf(reader);
    expect(isLoopbackBind(facts.bindAddress?.value ?? '')).toBe(true);
    expect(await planBindAddress(reader, facts, '127.0.0.1')).toBeNull();
  });

  it('edits the later overriding file, keeping its key spelling and comment', async () => {
    const reader = debian12('127.0.0.1', { '/etc/mysql/mariadb.conf.d/99-pbx.cnf': '[mysqld]\nbind_address = 0.0.0.0   # FreePBX needs remote CDR access\n' });
    const edit = await planBindAddress(reader, await loadMyCnf(reader), '127.0.0.1');
    expect(edit).toEqual({
      path: '/etc/mysql/mariadb.conf.d/99-pbx.cnf',
      before: '[mysqld]\nbind_address = 0.0.0.0   # FreePBX needs remote CDR access\n',
      after: '[mysqld]\nbind_address = 127.0.0.1   # FreePBX needs remote CDR access\n',
    });
  });

  it('keeps quotes, CRLF line ends and a missing final newline', async () => {
    const before = '[mysqld]\r\nloose-bind-address="0.0.0.0"\r\nport=3306';
    const reader = memReader({ '/etc/my.cnf': before });
    const edit = await planBindAddress(reader, await loadMyCnf(reader), '127.0.0.1');
    expect(edit?.after).toBe('[mysqld]\r\nloose-bind-address="127.0.0.1"\r\nport=3306');
  });

  it('inserts after a commented-out #bind-address in the target section', async () => {
    const before = '[mysqld]\ndatadir=/var/lib/mysql\n#bind-address = 127.0.0.1\n\nsocket=/var/lib/mysql/mysql.sock\n\n[client]\n#bind-address = x\n';
    const reader = memReader({ '/etc/my.cnf': before });
    const edit = await planBindAddress(reader, await loadMyCnf(reader), '127.0.0.1');
    expect(edit?.after).toBe(
      '[mysqld]\ndatadir=/var/lib/mysql\n#bind-address = 127.0.0.1\nbind-address = 127.0.0.1\n\nsocket=/var/lib/mysql/mysql.sock\n\n[client]\n#bind-address = x\n',
    );
  });

  it('inserts into the last [mysqld]/[mariadb] section read when none sets it', async () => {
    // Given Debian 12 with the bind-address line deleted: [mariadb] in 50-server.cnf is the last target
    const reader = debian12('0.0.0.0', {
      '/etc/mysql/mariadb.conf.d/50-server.cnf': DEBIAN12_50_SERVER('0.0.0.0').replace('bind-address            = 0.0.0.0\n', ''),
    });
    const facts = await loadMyCnf(reader);
    expect(facts.bindAddress).toBeNull();
    const edit = await planBindAddress(reader, facts, '127.0.0.1');
    expect(edit?.path).toBe('/etc/mysql/mariadb.conf.d/50-server.cnf');
    expect(lineDiff(edit?.before ?? '', edit?.after ?? '')).toEqual({ at: 40, removed: [], added: ['bind-address = 127.0.0.1'] });
    expect(edit?.after).toContain('[mariadb]\nbind-address = 127.0.0.1\n\n# This group is only read by MariaDB-10.11');
  });

  it('appends to the end of a last line that has no newline', async () => {
    const reader = memReader({ '/etc/my.cnf': '[mysqld]\n  user=mysql' });
    const edit = await planBindAddress(reader, await loadMyCnf(reader), '127.0.0.1');
    expect(edit?.after).toBe('[mysqld]\n  user=mysql\n  bind-address = 127.0.0.1');
  });

  it('appends a [mysqld] section to the first file when no section is a target', async () => {
    const reader = memReader(
      { '/etc/mysql/mariadb.cnf': DEBIAN12_MARIADB_CNF, '/etc/mysql/conf.d/client.cnf': '[client]\nport=3306\n' },
      { '/etc/mysql/my.cnf': '/etc/mysql/mariadb.cnf' },
    );
    const edit = await planBindAddress(reader, await loadMyCnf(reader), '127.0.0.1');
    expect(edit).toEqual({
      path: '/etc/mysql/mariadb.cnf',
      before: DEBIAN12_MARIADB_CNF,
      after: `${DEBIAN12_MARIADB_CNF}\n[mysqld]\nbind-address = 127.0.0.1\n`,
    });
  });

  it('creates /etc/my.cnf when no option file exists', async () => {
    const reader = memReader({});
    const edit = await planBindAddress(reader, await loadMyCnf(reader), '127.0.0.1');
    expect(edit).toEqual({ path: '/etc/my.cnf', before: '', after: '[mysqld]\nbind-address = 127.0.0.1\n' });
  });

  it('refuses to edit a file that changed since it was read', async () => {
    const files: Record<string, string> = { '/etc/my.cnf': '[mysqld]\nbind-address = 0.0.0.0\n' };
    const reader = memReader(files);
    const facts = await loadMyCnf(reader);
    files['/etc/my.cnf'] = '[mysqld]\n# moved\nbind-address = 0.0.0.0\n';
    await expect(planBindAddress(reader, facts, '127.0.0.1')).rejects.toThrow(/changed since it was read/);
  });
});

describe('planBindAddress properties', () => {
  const otherLine = fc.constantFrom(
    '',
    '# a comment',
    '; another comment',
    '#bind-address = 127.0.0.1',
    '# bind_address=0.0.0.0',
    'datadir=/var/lib/mysql',
    'port = 3306',
    'skip-name-resolve',
    '  max_allowed_packet = 16M   # indented',
    'character-set-server  = utf8mb4',
    'bind-address-extra-not-an-option = x',
    '!include /etc/absent.cnf',
    '!includedir /etc/absent.d',
  );
  const bindLine = fc.constantFrom(
    'bind-address = 0.0.0.0',
    'bind-address=10.0.0.5',
    'bind_address            = 0.0.0.0',
    'loose-bind-address = "0.0.0.0"',
    "bind-address = '192.168.1.10' # LAN",
    '  bind-address = ::',
    'bind-address = 127.0.0.1',
  );
  const header = fc.constantFrom('[mysqld]', '[client]', '[mysqld_safe]', '[server]', '[mariadb]', '[client-server]', '[embedded]', '[MYSQLD]');
  const line = fc.oneof({ weight: 6, arbitrary: otherLine }, { weight: 2, arbitrary: bindLine }, { weight: 2, arbitrary: header });
  const file = fc.record({
    lines: fc.array(line, { maxLength: 25 }),
    crlf: fc.boolean(),
    finalNewline: fc.boolean(),
  });
  const value = fc.constantFrom('127.0.0.1', '::1', '127.0.0.1,::1', '10.1.2.3', '0.0.0.0');

  it('changes one line or inserts one line (or appends a section), reads back the value, and is idempotent', async () => {
    await fc.assert(
      fc.asyncProperty(file, value, async (f, v) => {
        const eol = f.crlf ? '\r\n' : '\n';
        const before = f.lines.join(eol) + (f.finalNewline && f.lines.length > 0 ? eol : '');
        const files: Record<string, string> = { '/etc/my.cnf': before };
        const reader = memReader(files);
        const facts = await loadMyCnf(reader);
        const edit = await planBindAddress(reader, facts, v);
        if (edit === null) {
          expect(facts.bindAddress?.value).toBe(v);
          return;
        }
        expect(edit.path).toBe('/etc/my.cnf');
        expect(edit.before).toBe(before);
        const diff = lineDiff(before, edit.after);
        const hasTarget = facts.serverSections.some((s) => s.name === 'mysqld' || s.name === 'mariadb');
        if (facts.bindAddress !== null) {
          expect(diff.at).toBe(facts.bindAddress.line);
          expect(diff.removed).toHaveLength(1);
          expect(diff.added).toHaveLength(1);
        } else if (hasTarget) {
          expect(diff.removed).toEqual([]);
          expect(diff.added.map((l) => l.trim())).toEqual([`bind-address = ${v}`]);
        } else {
          // a [mysqld] section is appended to the file, after a blank line unless the file is empty
          const eol = before.includes('\r\n') ? '\r\n' : '\n';
          const block = `[mysqld]${eol}bind-address = ${v}`;
          expect(edit.after).toBe(
            before === '' ? `${block}\n` : before.endsWith('\n') ? `${before}${eol}${block}${eol}` : `${before}${eol}${eol}${block}`,
          );
        }
        // line ends and the final newline are kept
        if (before.includes('\r\n')) expect(edit.after.replace(/\r\n/g, '').includes('\n')).toBe(false);
        else expect(edit.after.includes('\r')).toBe(false);
        if (before !== '') expect(edit.after.endsWith('\n')).toBe(before.endsWith('\n'));
        // parse(set(x)) yields v, and a second plan changes nothing
        files['/etc/my.cnf'] = edit.after;
        const again = await loadMyCnf(reader);
        expect(again.bindAddress?.value).toBe(v);
        expect(await planBindAddress(reader, again, v)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
