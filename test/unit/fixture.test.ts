import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { materializeFixture, removeFixture, snapshotTree, type FixtureName } from '../helpers/fixture.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const made: string[] = [];

async function make(name: FixtureName, dest?: string): Promise<string> {
  const dir = await materializeFixture(name, dest === undefined ? {} : { dest });
  made.push(dir);
  return dir;
}

afterEach(async () => {
  while (made.length > 0) await removeFixture(made.pop()!);
});

async function idOf(file: string, name: string): Promise<number> {
  const text = await fs.readFile(file, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`${name} not in ${file}`);
  return Number(line.split(':')[2]);
}

describe('fixture roots', () => {
  it('materializes both fixtures into fresh temp dirs', async () => {
    for (const name of ['elastix-centos5', 'debian12-a2billing'] as const) {
      const dir = await make(name);
      expect(path.isAbsolute(dir)).toBe(true);
      expect(path.basename(dir)).toMatch(/^bulwark-fixture-/);
      expect(dir.startsWith(path.resolve(os.tmpdir()))).toBe(true);
      expect((await fs.stat(path.join(dir, 'etc/passwd'))).isFile()).toBe(true);
    }
  });

  it('debian: my.cnf is two absolute symlinks ending at etc/mysql/mariadb.cnf', async () => {
    const root = await make('debian12-a2billing');
    const first = path.join(root, 'etc/mysql/my.cnf');
    expect((await fs.lstat(first)).isSymbolicLink()).toBe(true);
    expect(await fs.readlink(first)).toBe('/etc/alternatives/my.cnf');

    const second = path.join(root, 'etc/alternatives/my.cnf');
    expect((await fs.lstat(second)).isSymbolicLink()).toBe(true);
    expect(await fs.readlink(second)).toBe('/etc/mysql/mariadb.cnf');

    const end = path.join(root, 'etc/mysql/mariadb.cnf');
    const st = await fs.lstat(end);
    expect(st.isFile()).toBe(true);
    expect(await fs.readFile(end, 'utf8')).toContain('!includedir /etc/mysql/mariadb.conf.d/');

    const server = await fs.readFile(path.join(root, 'etc/mysql/mariadb.conf.d/50-server.cnf'), 'utf8');
    expect(server).toMatch(/^bind-address\s+= 0\.0\.0\.0$/m);
  });

  it('a2billing web dirs are absolute symlinks into /usr/share/a2billing (both fixtures)', async () => {
    for (const name of ['elastix-centos5', 'debian12-a2billing'] as const) {
      const root = await make(name);
      const webDir = path.join(root, 'var/www/html/a2billing');
      expect((await fs.lstat(webDir)).isDirectory()).toBe(true);
      for (const part of ['admin', 'agent', 'customer']) {
        const link = path.join(webDir, part);
        expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
        expect(await fs.readlink(link)).toBe(`/usr/share/a2billing/${part}`);
        // the target exists inside the fixture root
        expect((await fs.stat(path.join(root, 'usr/share/a2billing', part, 'index.php'))).isFile()).toBe(true);
      }
    }
  });

  it('elastix: SysV layout with relative links, no systemd, no os-release', async () => {
    const root = await make('elastix-centos5');
    expect(await fs.readlink(path.join(root, 'etc/init.d'))).toBe('rc.d/init.d');
    expect(await fs.readlink(path.join(root, 'etc/rc3.d'))).toBe('rc.d/rc3.d');
    expect(await fs.readlink(path.join(root, 'etc/rc.d/rc3.d/S64mysqld'))).toBe('../init.d/mysqld');
    const initd = await fs.readFile(path.join(root, 'etc/rc.d/init.d/mysqld'), 'utf8');
    expect(initd).toMatch(/^# chkconfig: /m);
    expect((await fs.stat(path.join(root, 'etc/rc.d/init.d/httpd'))).mode & 0o777).toBe(0o755);
    await expect(fs.lstat(path.join(root, 'etc/os-release'))).rejects.toThrow();
    await expect(fs.lstat(path.join(root, 'lib/systemd'))).rejects.toThrow();
    expect((await fs.stat(path.join(root, 'tftpboot'))).mode & 0o7777).toBe(0o777);
  });

  it('applies the .perms file: modes always, owners from the fixture passwd/group when root', async () => {
    const root = await make('debian12-a2billing');
    const debianCnf = await fs.lstat(path.join(root, 'etc/mysql/debian.cnf'));
    expect(debianCnf.mode & 0o7777).toBe(0o600);
    const manager = await fs.lstat(path.join(root, 'etc/asterisk/manager.conf'));
    expect(manager.mode & 0o7777).toBe(0o640);
    const a2b = await fs.lstat(path.join(root, 'etc/a2billing.conf'));
    expect(a2b.mode & 0o7777).toBe(0o640);

    if (isRoot) {
      const passwd = path.join(root, 'etc/passwd');
      const group = path.join(root, 'etc/group');
      expect(debianCnf.uid).toBe(0);
      expect(debianCnf.gid).toBe(0);
      expect(manager.uid).toBe(await idOf(passwd, 'asterisk'));
      expect(manager.gid).toBe(await idOf(group, 'asterisk'));
      expect(a2b.uid).toBe(await idOf(passwd, 'asterisk'));
      expect(a2b.gid).toBe(await idOf(group, 'www-data'));

      const elastix = await make('elastix-centos5');
      const amportal = await fs.lstat(path.join(elastix, 'etc/amportal.conf'));
      expect(amportal.uid).toBe(await idOf(path.join(elastix, 'etc/passwd'), 'asterisk'));
      expect(amportal.gid).toBe(await idOf(path.join(elastix, 'etc/group'), 'asterisk'));
    }
  });

  it('never follows symlinks when copying (absolute links stay verbatim, even dangling ones)', async () => {
    const root = await make('debian12-a2billing');
    // /etc/alternatives/my.cnf does not exist on most hosts; the link is copied as a link regardless
    expect(await fs.readlink(path.join(root, 'etc/alternatives/my.cnf'))).toBe('/etc/mysql/mariadb.cnf');
    expect(await fs.readlink(path.join(root, 'sbin/init'))).toBe('/lib/systemd/systemd');
    expect(await fs.readlink(path.join(root, 'etc/os-release'))).toBe('../usr/lib/os-release');
  });

  it('accepts an explicit empty dest and rejects a non-empty one', async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-fixture-'));
    made.push(base);
    const dest = path.join(base, 'root');
    const dir = await materializeFixture('elastix-centos5', { dest });
    expect(dir).toBe(dest);
    expect((await fs.stat(path.join(dest, 'etc/redhat-release'))).isFile()).toBe(true);
    await expect(materializeFixture('elastix-centos5', { dest })).rejects.toThrow(/not empty/);
  });

  it('snapshotTree: equal for two copies, differs after one chmod, honours exclude', async () => {
    for (const name of ['elastix-centos5', 'debian12-a2billing'] as const) {
      const a = await make(name);
      const b = await make(name);
      const snapA = await snapshotTree(a);
      const snapB = await snapshotTree(b);
      expect(snapA.length).toBeGreaterThan(50);
      expect(snapB).toEqual(snapA);

      const target = name === 'debian12-a2billing' ? 'etc/mysql/debian.cnf' : 'etc/my.cnf';
      await fs.chmod(path.join(b, target), 0o640);
      const changed = await snapshotTree(b);
      expect(changed).not.toEqual(snapA);
      const diff = changed.filter((l) => !snapA.includes(l));
      expect(diff).toHaveLength(1);
      expect(diff[0]!.startsWith(`${target}\t`)).toBe(true);

      // excluding the changed file makes the trees comparable again
      expect(await snapshotTree(b, { exclude: [target] })).toEqual(await snapshotTree(a, { exclude: [target] }));

      // content changes are seen too
      await fs.writeFile(path.join(a, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      expect(await snapshotTree(a, { exclude: [target] })).not.toEqual(await snapshotTree(b, { exclude: [target] }));
    }
  });

  it('snapshotTree: symlink entries hash the link target, not the file it points at', async () => {
    const root = await make('debian12-a2billing');
    const before = await snapshotTree(root);
    const line = before.find((l) => l.startsWith('etc/mysql/my.cnf\t'));
    expect(line).toMatch(/^etc\/mysql\/my\.cnf\tsymlink\t/);
    // retargeting the link changes its entry
    await fs.unlink(path.join(root, 'etc/mysql/my.cnf'));
    await fs.symlink('/etc/mysql/my.cnf.fallback', path.join(root, 'etc/mysql/my.cnf'));
    const after = await snapshotTree(root);
    expect(after.find((l) => l.startsWith('etc/mysql/my.cnf\t'))).not.toBe(line);
  });
});
