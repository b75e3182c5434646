import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';

let root: string;
let outside: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-host-'));
  outside = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-outside-'));
  // Debian's chain: /etc/mysql/my.cnf -> /etc/alternatives/my.cnf -> /etc/mysql/mariadb.cnf
  await fs.mkdir(path.join(root, 'etc/mysql'), { recursive: true });
  await fs.mkdir(path.join(root, 'etc/alternatives'), { recursive: true });
  await fs.writeFile(path.join(root, 'etc/mysql/mariadb.cnf'), '[mysqld]\n', { mode: 0o640 });
  await fs.chmod(path.join(root, 'etc/mysql/mariadb.cnf'), 0o640);
  await fs.symlink('/etc/alternatives/my.cnf', path.join(root, 'etc/mysql/my.cnf'));
  await fs.symlink('/etc/mysql/mariadb.cnf', path.join(root, 'etc/alternatives/my.cnf'));
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
  await fs.rm(outside, { recursive: true, force: true });
});

describe('Host.resolve', () => {
  it('follows absolute links inside the root, as a chroot would', async () => {
    const host = new Host(root);
    expect(await host.resolve('/etc/mysql/my.cnf')).toBe('/etc/mysql/mariadb.cnf');
  });

  it('never follows a link out of the root: absolute targets and ".." stay inside', async () => {
    await fs.writeFile(path.join(outside, 'secret'), 'outside\n');
    await fs.symlink(path.join(outside, 'secret'), path.join(root, 'etc/escape-abs'));
    await fs.symlink('../../../../../../../../' + outside.slice(1) + '/secret', path.join(root, 'etc/escape-rel'));
    const host = new Host(root);
    // The absolute target is re-rooted: it names <root><outside>/secret, which does not exist.
    expect(await host.readText('/etc/escape-abs')).toBeNull();
    expect(await host.readText('/etc/escape-rel')).toBeNull();
    expect(await host.resolve('/etc/escape-rel')).toBe(outside + '/secret');
    // Writing through the link creates the file inside the root, never outside.
    await host.writeAtomic('/etc/escape-abs', 'written\n');
    expect(await fs.readFile(path.join(outside, 'secret'), 'utf8')).toBe('outside\n');
    expect(await fs.readFile(path.join(root, outside, 'secret'), 'utf8')).toBe('written\n');
  });

  it('reports a link loop instead of hanging', async () => {
    await fs.symlink('/etc/loop-b', path.join(root, 'etc/loop-a'));
    await fs.symlink('/etc/loop-a', path.join(root, 'etc/loop-b'));
    await expect(new Host(root).resolve('/etc/loop-a')).rejects.toThrow(/Too many levels of symbolic links/);
  });
});

describe('Host.writeAtomic', () => {
  it('edits a symlinked config at its real target and keeps both links', async () => {
    const host = new Host(root);
    await host.writeAtomic('/etc/mysql/my.cnf', '[mysqld]\nbind-address = 127.0.0.1\n');
    expect(await fs.readlink(path.join(root, 'etc/mysql/my.cnf'))).toBe('/etc/alternatives/my.cnf');
    expect(await fs.readlink(path.join(root, 'etc/alternatives/my.cnf'))).toBe('/etc/mysql/mariadb.cnf');
    expect(await fs.readFile(path.join(root, 'etc/mysql/mariadb.cnf'), 'utf8')).toBe('[mysqld]\nbind-address = 127.0.0.1\n');
  });

  it('keeps the mode and owner of the file it replaces', async () => {
    const file = path.join(root, 'etc/mysql/mariadb.cnf');
    const isRoot = process.getuid?.() === 0;
    if (isRoot) await fs.chown(file, 123, 456);
    await new Host(root).writeAtomic('/etc/mysql/mariadb.cnf', 'new\n');
    const stat = await fs.stat(file);
    expect(stat.mode & 0o7777).toBe(0o640);
    if (isRoot) expect([stat.uid, stat.gid]).toEqual([123, 456]);
  });

  it('creates a new file with the requested mode and reports the directories it made', async () => {
    const created = await new Host(root).writeAtomic('/etc/bulwark/sub/new.conf', 'x\n', { mode: 0o600 });
    expect(created).toEqual(['/etc/bulwark', '/etc/bulwark/sub']);
    expect((await fs.stat(path.join(root, 'etc/bulwark/sub/new.conf'))).mode & 0o777).toBe(0o600);
  });

  it('leaves no temporary file behind', async () => {
    await new Host(root).writeAtomic('/etc/mysql/mariadb.cnf', 'new\n');
    expect((await fs.readdir(path.join(root, 'etc/mysql'))).sort()).toEqual(['mariadb.cnf', 'my.cnf']);
  });
});

describe('Host.lookupOwner', () => {
  it('reads ids from the box\'s own passwd and group files', async () => {
    await fs.writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nasterisk:x:100:101::/var/lib/asterisk:/sbin/nologin\n');
    await fs.writeFile(path.join(root, 'etc/group'), 'root:x:0:\nasterisk:x:101:\n');
    expect(await new Host(root).lookupOwner('asterisk', 'asterisk')).toEqual({ uid: 100, gid: 101 });
    await expect(new Host(root).lookupOwner('nobody-here', 'root')).rejects.toThrow(/does not exist on this box/);
  });
});

describe('Host.run', () => {
  it('runs argument arrays without a shell', async () => {
    const result = await new Host(root).run({ file: 'printf', args: ['%s', '$(echo not-expanded) ; true'] });
    expect(result.stdout).toBe('$(echo not-expanded) ; true');
  });

  it('turns a failure into a CommandError naming the command and its stderr', async () => {
    await expect(new Host(root).run({ file: 'ls', args: ['/definitely/not/here'] })).rejects.toThrow(/ls \/definitely\/not\/here failed \(exit 2\)/);
  });

  it('feeds the input, keeps stdout and stderr apart and whole (UTF-8 across chunks), and returns a failure when asked not to throw', async () => {
    const text = `${'é'.repeat(200_000)}\nend\n`;
    const result = await new Host(root).run({ file: 'sh', args: ['-c', 'cat; echo oops >&2; exit 3'] }, { input: text, reject: false });
    expect(result).toEqual({ exitCode: 3, stdout: text, stderr: 'oops\n' });
  });

  it('gives a program that reads its stdin an empty one, and passes the environment with additions', async () => {
    const result = await new Host(root).run({ file: 'sh', args: ['-c', 'cat; printf "%s %s" "$BULWARK_TEST_ADDED" "${HOME:+home}"'] }, { env: { BULWARK_TEST_ADDED: 'added' } });
    expect(result.stdout).toBe('added home');
  });

  it('stops a program at its timeout, and says so', async () => {
    const started = Date.now();
    await expect(new Host(root).run({ file: 'sleep', args: ['30'] }, { timeoutMs: 200, reject: false })).rejects.toThrow(/sleep 30 failed: timed out after 200 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('names a program that cannot be started', async () => {
    const host = new Host(root);
    await expect(host.run({ file: 'no-such-program-bulwark', args: [] })).rejects.toThrow(/no-such-program-bulwark failed: could not start \(.*ENOENT/);
    expect((await host.run({ file: 'no-such-program-bulwark', args: [] }, { reject: false })).exitCode).not.toBe(0);
  });
});

describe('what a run has seen of the box', () => {
  it('is read once, and forgotten by a write, a command that changes things, and a new look', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-seen-'));
    try {
      const host = new Host(root);
      await fs.mkdir(path.join(root, 'etc'));
      await fs.writeFile(path.join(root, 'etc/a.conf'), 'one\n');
      expect(await host.readText('/etc/a.conf')).toBe('one\n');
      // changed behind the host's back: the same look still sees what it saw
      await fs.writeFile(path.join(root, 'etc/a.conf'), 'two\n');
      expect(await host.readText('/etc/a.conf')).toBe('one\n');
      host.forget();
      expect(await host.readText('/etc/a.conf')).toBe('two\n');
      // its own write: seen at once, and so are the links and listings it changes
      await host.writeAtomic('/etc/a.conf', 'three\n');
      expect(await host.readText('/etc/a.conf')).toBe('three\n');
      expect(await host.list('/etc')).toEqual(['a.conf']);
      await host.symlink('/etc/b.conf', 'a.conf');
      expect(await host.list('/etc')).toEqual(['a.conf', 'b.conf']);
      expect(await host.readText('/etc/b.conf')).toBe('three\n');
      await host.remove('/etc/b.conf');
      expect(await host.lstat('/etc/b.conf')).toBeNull();
      // a command that may change the box: forgotten (one that only reads: kept)
      expect(await host.readText('/etc/a.conf')).toBe('three\n');
      await fs.writeFile(path.join(root, 'etc/a.conf'), 'four\n');
      await host.run({ file: 'uname', args: [] });
      expect(await host.readText('/etc/a.conf')).toBe('three\n');
      await host.run({ file: 'true', args: [] });
      expect(await host.readText('/etc/a.conf')).toBe('four\n');
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
