// The htaccess step through the real CLI on fixture roots: Apache 2.2 on Elastix (Order/Satisfy
// syntax, APR-MD5, the file owned by the group Apache runs as: asterisk), Apache 2.4 on Debian
// (bcrypt, conf-available + conf-enabled link). Passwords never reach the output or the state dir.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';

const roots = fixtureRoots();
let root: string;
let state: string;
let work: string;
const PASSWORD = 'Tr0ub4dor&3-second-login';

async function box(name: FixtureName): Promise<void> {
  ({ root, state } = await roots.box(name));
  work = await roots.temp('bulwark-pw-');
  await fs.writeFile(path.join(work, 'ops.pw'), `${PASSWORD}\n`, { mode: 0o600 });
}

async function answers(content: unknown): Promise<string> {
  const file = path.join(work, 'answers.json');
  await fs.writeFile(file, JSON.stringify(content));
  return file;
}

const g = () => rootArgs(root, state);
const output = cliOutput;

async function grepTree(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await fs.readFile(file)).includes(needle)) hits.push(file);
  }
  return hits;
}


describe('htaccess on Elastix 2.x (Apache 2.2)', () => {
  beforeEach(() => box('elastix-centos5'));

  it('writes 2.2 syntax and an APR-MD5 password file owned root:asterisk 0640; rollback gives back the tree', async () => {
    const pristine = await snapshotTree(root);
    const file = await answers({ htaccess: { protect: ['/a2billing/admin', '/admin'], users: [{ name: 'ops', passwordFile: path.join(work, 'ops.pw') }] } });
    const plan = await bulwark(['plan', '--step', 'htaccess', '--answers', file, ...g()]);
    expect(plan.code, output(plan)).toBe(2);
    expect(plan.stdout).toContain('@@ secret content new file: <redacted> @@');
    expect(plan.stdout).not.toContain('$apr1$');

    const apply = await bulwark(['apply', '--step', 'htaccess', '--yes', '--answers', file, ...g()]);
    expect(apply.code, output(apply)).toBe(0);
    const conf = await fs.readFile(path.join(root, 'etc/httpd/conf.d/bulwark-htaccess.conf'), 'utf8');
    expect(conf).toContain('<Location "/a2billing/admin">\n    AuthType Basic\n    AuthName "Second login (bulwark)"\n    AuthUserFile "/etc/httpd/bulwark.htpasswd"\n    Require valid-user\n    Satisfy All\n</Location>');
    expect(conf).not.toContain('AuthBasicProvider'); // 2.4 only
    const htpasswd = path.join(root, 'etc/httpd/bulwark.htpasswd');
    const line = await fs.readFile(htpasswd, 'utf8');
    expect(line).toMatch(/^ops:\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}\n$/);
    // htpasswd itself accepts the hash
    expect(() => execFileSync('htpasswd', ['-vb', htpasswd, 'ops', PASSWORD], { stdio: 'pipe' })).not.toThrow();
    const st = await fs.stat(htpasswd);
    expect(st.mode & 0o777).toBe(0o640);
    const asteriskGid = Number(/^asterisk:[^:]*:(\d+):/m.exec(await fs.readFile(path.join(root, 'etc/group'), 'utf8'))![1]);
    if (process.getuid?.() === 0) expect([st.uid, st.gid]).toEqual([0, asteriskGid]);
    // The password: not in the output, not in the state dir
    expect(output(plan) + output(apply)).not.toContain(PASSWORD);
    expect(await grepTree(state, PASSWORD)).toEqual([]);

    const again = await bulwark(['plan', '--step', 'htaccess', '--answers', file, ...g()]);
    expect(again.code, output(again)).toBe(0);
    const rollback = await bulwark(['rollback', '--step', 'htaccess', '--yes', ...g()]);
    expect(rollback.code, output(rollback)).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('a new password for the same user rewrites its line; the old password no longer matches', async () => {
    const file = await answers({ htaccess: { protect: ['/admin'], users: [{ name: 'ops', passwordFile: path.join(work, 'ops.pw') }] } });
    expect((await bulwark(['apply', '--step', 'htaccess', '--yes', '--answers', file, ...g()])).code).toBe(0);
    await fs.writeFile(path.join(work, 'ops.pw'), 'a-brand-new-password-7\n');
    const plan = await bulwark(['plan', '--step', 'htaccess', '--answers', file, ...g()]);
    expect(plan.code, output(plan)).toBe(2);
    expect((await bulwark(['apply', '--step', 'htaccess', '--yes', '--answers', file, ...g()])).code).toBe(0);
    const htpasswd = path.join(root, 'etc/httpd/bulwark.htpasswd');
    expect(() => execFileSync('htpasswd', ['-vb', htpasswd, 'ops', 'a-brand-new-password-7'], { stdio: 'pipe' })).not.toThrow();
    expect(() => execFileSync('htpasswd', ['-vb', htpasswd, 'ops', PASSWORD], { stdio: 'pipe' })).toThrow();
  });

  it('bad input: no user, a short password, a path without "/" — exit 2 naming the field, nothing changed', async () => {
    const pristine = await snapshotTree(root);
    await fs.writeFile(path.join(work, 'short.pw'), 'short\n');
    const cases: [unknown, RegExp][] = [
      [{ protect: ['/admin'], users: [] }, /htaccess\.users: expected at least one user/],
      [{ protect: ['/admin'], users: [{ name: 'ops', passwordFile: path.join(work, 'short.pw') }] }, /htaccess\.users\[0\]\.passwordFile: expected one line holding a password of at least 10 characters/],
      [{ protect: ['admin'], users: [{ name: 'ops', passwordFile: path.join(work, 'ops.pw') }] }, /htaccess\.protect\[0\]: expected a URL path starting with \//],
      [{ protect: ['/admin'], users: [{ name: 'ops' }] }, /htaccess\.users\[0\]\.passwordFile: expected the absolute path of a file/],
    ];
    for (const [section, message] of cases) {
      const result = await bulwark(['apply', '--step', 'htaccess', '--yes', '--answers', await answers({ htaccess: section }), ...g()]);
      expect(result.code, output(result)).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

describe('htaccess on Debian 12 (Apache 2.4)', () => {
  beforeEach(() => box('debian12-a2billing'));

  it('writes 2.4 syntax, enables it as a2enconf does, and a bcrypt password file owned root:www-data', async () => {
    const file = await answers({ htaccess: { protect: ['/a2billing/admin'], users: [{ name: 'ops', passwordFile: path.join(work, 'ops.pw') }] } });
    const apply = await bulwark(['apply', '--step', 'htaccess', '--yes', '--answers', file, ...g()]);
    expect(apply.code, output(apply)).toBe(0);
    const conf = await fs.readFile(path.join(root, 'etc/apache2/conf-available/bulwark-htaccess.conf'), 'utf8');
    expect(conf).toContain('    AuthBasicProvider file\n    AuthUserFile "/etc/apache2/bulwark.htpasswd"\n    Require valid-user\n</Location>');
    expect(await fs.readlink(path.join(root, 'etc/apache2/conf-enabled/bulwark-htaccess.conf'))).toBe('../conf-available/bulwark-htaccess.conf');
    const htpasswd = path.join(root, 'etc/apache2/bulwark.htpasswd');
    expect(await fs.readFile(htpasswd, 'utf8')).toMatch(/^ops:\$2y\$12\$/);
    expect(() => execFileSync('htpasswd', ['-vb', htpasswd, 'ops', PASSWORD], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('htaccess in a plan of every step', () => {
  beforeEach(() => box('elastix-centos5'));

  it('without answers protects nothing (no user named yet), and the audit points at the admin pages', async () => {
    const plan = await bulwark(['plan', '--step', 'htaccess', ...g()]);
    expect(plan.code, output(plan)).toBe(0);
    const audit = JSON.parse((await bulwark(['audit', '--step', 'htaccess', '--json', ...g()])).stdout) as { steps: { findings: { title: string }[] }[] };
    expect(audit.steps[0]!.findings.map((f) => f.title)).toEqual(["Admin pages with only the application's own login: /a2billing/admin, /admin, /recordings"]);
  });
});
