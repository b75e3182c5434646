// The Host contract of remote mode, proved against the box-side helper (src/remote/helper.sh) run by
// real shells: dash (Debian's /bin/sh) and busybox ash, each with only its own tools — no Node,
// Python or Perl on the box side. The transport is replaced by one that runs the same command line
// on this machine, in a temporary tree, so these tests need no SSH (the e2e tests add that).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helperScript, parseLsMode, RemoteHost } from '../../src/remote/host.js';
import type { ExecOptions, ExecResult, SshTransport } from '../../src/remote/ssh.js';
import { RemoteStateFs } from '../../src/remote/state-fs.js';
import { shellQuote } from '../../src/remote/ssh.js';

const SHELLS = {
  dash: { file: '/usr/bin/dash', args: [] as string[], pkg: 'dash' },
  'busybox ash': { file: '/usr/bin/busybox', args: ['sh'], pkg: 'busybox' },
};

/**
 * Runs each command as sshd would hand it to the box's shell, here: the login shell gets
 * `exec /bin/sh -c HELPER ...`; the box's /bin/sh is the shell under test. For busybox, its applets
 * come first in PATH, so the helper runs on busybox's ls, tar, cp, mv...
 */
function localTransport(shell: { file: string; args: string[] }, bin: string): SshTransport {
  const exec = (argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> => {
    // As sshd does: the login shell (here the shell under test) gets one command line, quoted by
    // shellQuote exactly as SshTransport sends it.
    const boxArgv = argv[0] === '/bin/sh' ? [shell.file, ...shell.args, ...argv.slice(1)] : argv;
    const [file, ...args] = [shell.file, ...shell.args, '-c', `exec ${boxArgv.map(shellQuote).join(' ')}`];
    return new Promise((resolve, reject) => {
      const child = spawn(file!, args, { env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    });
  };
  // The long-lived helper session: the same command line, its stdin and stdout left open.
  const spawnExec = (argv: readonly string[]) => {
    const boxArgv = argv[0] === '/bin/sh' ? [shell.file, ...shell.args, ...argv.slice(1)] : argv;
    return spawn(shell.file, [...shell.args, '-c', `exec ${boxArgv.map(shellQuote).join(' ')}`], { env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
  };
  return { exec, spawnExec, roundTrips: 0 } as unknown as SshTransport;
}

describe('the box-side helper', () => {
  it('passes shellcheck as POSIX sh', () => {
    const result = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: helperScript(), encoding: 'utf8' });
    if (result.error) throw new Error('shellcheck is not installed (Debian package shellcheck); `npm test` installs it as root on Debian.');
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('reads ls permission strings as chmod modes, special bits included', () => {
    expect(parseLsMode('-rw-r--r--')).toEqual({ type: 'file', mode: 0o644 });
    expect(parseLsMode('drwxr-sr-x')).toEqual({ type: 'dir', mode: 0o2755 });
    expect(parseLsMode('-rwsr-xr-x')).toEqual({ type: 'file', mode: 0o4755 });
    expect(parseLsMode('drwxrwxrwt')).toEqual({ type: 'dir', mode: 0o1777 });
    expect(parseLsMode('-rwSr--r-T')).toEqual({ type: 'file', mode: 0o5644 });
    expect(parseLsMode('lrwxrwxrwx')).toEqual({ type: 'symlink', mode: 0o777 });
    expect(parseLsMode('crw-rw-rw-')).toEqual({ type: 'other', mode: 0o666 });
  });
});

for (const [name, shell] of Object.entries(SHELLS)) {
  describe(`RemoteHost through the helper under ${name}`, () => {
    let dir: string;
    let bin: string;
    let host: RemoteHost;

    beforeAll(async () => {
      await fs.access(shell.file).catch(() => {
        throw new Error(`${shell.file} is not installed (Debian package ${shell.pkg}); \`npm test\` installs it as root on Debian.`);
      });
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-remote-'));
      bin = path.join(dir, 'bin');
      await fs.mkdir(bin);
      // busybox: its applets win over coreutils in PATH, so the helper uses busybox's tools.
      if (name === 'busybox ash') {
        for (const applet of ['ls', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'chmod', 'chown', 'readlink', 'tar', 'sync', 'mktemp', 'dirname', 'basename', 'cut', 'id', 'ln']) await fs.symlink(shell.file, path.join(bin, applet));
      }
      host = new RemoteHost(localTransport(shell, bin));
      await fs.mkdir(path.join(dir, 'etc', 'conf.d'), { recursive: true });
      await fs.writeFile(path.join(dir, 'etc', 'plain.conf'), 'a = 1\n');
      await fs.writeFile(path.join(dir, 'etc', 'with space.conf'), "it's here\n");
      await fs.writeFile(path.join(dir, 'etc', 'binary.bin'), Buffer.from([0, 1, 2, 255, 10, 13, 0]));
      await fs.chmod(path.join(dir, 'etc', 'binary.bin'), 0o640);
      await fs.symlink('plain.conf', path.join(dir, 'etc', 'relative-link'));
      await fs.symlink(path.join(dir, 'etc'), path.join(dir, 'etc-link'));
      await fs.symlink('loop-b', path.join(dir, 'loop-a'));
      await fs.symlink('loop-a', path.join(dir, 'loop-b'));
    });

    afterAll(async () => {
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it('reads files byte for byte (binary, spaces, quotes), and meta of files, links, directories and absent paths', async () => {
      expect(await host.readText(`${dir}/etc/plain.conf`)).toBe('a = 1\n');
      expect(await host.readText(`${dir}/etc/with space.conf`)).toBe("it's here\n");
      expect(await host.readBytes(`${dir}/etc/binary.bin`)).toEqual(Buffer.from([0, 1, 2, 255, 10, 13, 0]));
      expect(await host.readText(`${dir}/etc/absent.conf`)).toBeNull();
      expect(await host.readText(`${dir}/etc/conf.d`)).toBeNull(); // a directory reads as absent, as locally
      expect(await host.lstat(`${dir}/etc/binary.bin`)).toMatchObject({ type: 'file', mode: 0o640, uid: process.getuid!(), size: 7 });
      expect(await host.lstat(`${dir}/etc/relative-link`)).toMatchObject({ type: 'symlink' });
      expect(await host.stat(`${dir}/etc/relative-link`)).toMatchObject({ type: 'file', size: 6 });
      expect(await host.lstat(`${dir}/etc/conf.d`)).toMatchObject({ type: 'dir' });
      expect(await host.lstat(`${dir}/nothing`)).toBeNull();
      expect(await host.readlink(`${dir}/etc/relative-link`)).toBe('plain.conf');
      expect(await host.exists(`${dir}/etc/plain.conf`)).toBe(true);
    });

    it('resolves links as the local Host does: relative, absolute, through directories, a missing last part kept, loops refused', async () => {
      expect(await host.resolve(`${dir}/etc/relative-link`)).toBe(`${dir}/etc/plain.conf`);
      expect(await host.resolve(`${dir}/etc-link/plain.conf`)).toBe(`${dir}/etc/plain.conf`);
      expect(await host.resolve(`${dir}/etc-link/new/file.conf`)).toBe(`${dir}/etc/new/file.conf`);
      expect(await host.resolve(`${dir}/etc/../etc/./plain.conf`)).toBe(`${dir}/etc/plain.conf`);
      await expect(host.resolve(`${dir}/loop-a`)).rejects.toThrow(/Too many levels of symbolic links/);
      expect(await host.readText(`${dir}/etc-link/relative-link`)).toBe('a = 1\n');
    });

    it('lists a directory (through a link), sorted; an absent one is empty', async () => {
      expect(await host.list(`${dir}/etc-link`)).toEqual(['binary.bin', 'conf.d', 'plain.conf', 'relative-link', 'with space.conf']);
      expect(await host.list(`${dir}/absent`)).toEqual([]);
    });

    it('writes atomically: a new file with the mode asked and its parents reported, an existing one keeps its mode, a linked path is written at its target', async () => {
      const created = await host.writeAtomic(`${dir}/new/deeper/file.conf`, 'new\n', { mode: 0o600 });
      expect(created).toEqual([`${dir}/new`, `${dir}/new/deeper`]);
      expect(await fs.readFile(`${dir}/new/deeper/file.conf`, 'utf8')).toBe('new\n');
      expect((await fs.stat(`${dir}/new/deeper/file.conf`)).mode & 0o7777).toBe(0o600);
      // an existing file keeps its own mode
      await host.writeAtomic(`${dir}/etc/binary.bin`, Buffer.from([9, 9]), { mode: 0o644 });
      expect((await fs.stat(`${dir}/etc/binary.bin`)).mode & 0o7777).toBe(0o640);
      expect(await fs.readFile(`${dir}/etc/binary.bin`)).toEqual(Buffer.from([9, 9]));
      // unless told to force it (a snapshot restore)
      await host.writeAtomic(`${dir}/etc/binary.bin`, Buffer.from([0, 1, 2, 255, 10, 13, 0]), { mode: 0o600, forceMeta: true });
      expect((await fs.stat(`${dir}/etc/binary.bin`)).mode & 0o7777).toBe(0o600);
      // through a link: the target changes, the link stays
      await host.writeAtomic(`${dir}/etc/relative-link`, 'b = 2\n');
      expect((await fs.lstat(`${dir}/etc/relative-link`)).isSymbolicLink()).toBe(true);
      expect(await fs.readFile(`${dir}/etc/plain.conf`, 'utf8')).toBe('b = 2\n');
      // and what was read before is read again after a change, not from the cache
      expect(await host.readText(`${dir}/etc/plain.conf`)).toBe('b = 2\n');
      // no temporary file is left behind
      expect((await fs.readdir(`${dir}/etc`)).filter((n) => n.includes('.bulwark-'))).toEqual([]);
    });

    it('replaces a link itself with noFollow, makes links, removes paths and empty directories only', async () => {
      await fs.symlink('plain.conf', `${dir}/etc/to-replace`);
      await host.writeAtomic(`${dir}/etc/to-replace`, 'own\n', { noFollow: true, mode: 0o644, forceMeta: true });
      expect((await fs.lstat(`${dir}/etc/to-replace`)).isFile()).toBe(true);
      expect(await fs.readFile(`${dir}/etc/plain.conf`, 'utf8')).toBe('b = 2\n');
      await host.symlink(`${dir}/links/a.conf`, '../etc/plain.conf');
      expect(await fs.readlink(`${dir}/links/a.conf`)).toBe('../etc/plain.conf');
      await host.symlink(`${dir}/links/a.conf`, '../etc/binary.bin');
      expect(await fs.readlink(`${dir}/links/a.conf`)).toBe('../etc/binary.bin');
      expect(await host.removeEmptyDir(`${dir}/links`)).toBe(false);
      await host.remove(`${dir}/links/a.conf`);
      expect(await fs.readFile(`${dir}/etc/binary.bin`)).toEqual(Buffer.from([0, 1, 2, 255, 10, 13, 0]));
      expect(await host.removeEmptyDir(`${dir}/links`)).toBe(true);
      expect(await host.ensureDir(`${dir}/made/here`)).toEqual([`${dir}/made`, `${dir}/made/here`]);
      await host.chmod(`${dir}/made/here`, 0o700);
      expect((await fs.stat(`${dir}/made/here`)).mode & 0o777).toBe(0o700);
    });

    it('runs a program with stdin and reports its exit code; finds programs in the usual directories', async () => {
      const result = await host.run({ file: 'cat', args: [] }, { input: 'to stdin' });
      expect(result).toEqual({ exitCode: 0, stdout: 'to stdin', stderr: '' });
      const failed = await host.run({ file: 'sh', args: ['-c', 'echo no >&2; exit 3'] }, { reject: false });
      expect(failed.exitCode).toBe(3);
      expect(failed.stderr).toBe('no\n');
      await expect(host.run({ file: 'false', args: [] })).rejects.toThrow(/false failed \(exit 1\)/);
      expect(await host.findProgram('sh')).toMatch(/^\/(usr\/)?bin\/sh$/);
      expect(await host.findProgram('no-such-program-here')).toBeNull();
    });

    it('keeps bulwark\'s state as the local side does: durable writes, O_EXCL creation, a private directory, process liveness', async () => {
      const state = new RemoteStateFs(host);
      await state.ensurePrivateDir(`${dir}/state/sub`);
      expect((await fs.stat(`${dir}/state/sub`)).mode & 0o777).toBe(0o700);
      await fs.chmod(`${dir}/state/sub`, 0o755);
      await state.ensurePrivateDir(`${dir}/state/sub`); // tightened again
      expect((await fs.stat(`${dir}/state/sub`)).mode & 0o777).toBe(0o700);
      await state.checkWritable(`${dir}/state/sub`);
      await expect(state.checkWritable(`${dir}/state/absent`)).rejects.toThrow(/is not writable/);

      await state.writeDurable(`${dir}/state/sub/session.json`, '{"a":1}\n');
      expect(await fs.readFile(`${dir}/state/sub/session.json`, 'utf8')).toBe('{"a":1}\n');
      expect((await fs.stat(`${dir}/state/sub/session.json`)).mode & 0o777).toBe(0o600);
      await state.writeDurable(`${dir}/state/sub/session.json`, Buffer.from([0, 255, 10]));
      expect(await state.readFile(`${dir}/state/sub/session.json`)).toEqual(Buffer.from([0, 255, 10]));
      expect(await state.readFile(`${dir}/state/sub/absent.json`)).toBeNull();
      expect(await state.list(`${dir}/state/sub`)).toEqual(['session.json']);

      // exactly one of two claims wins, and the loser does not overwrite the winner
      const claims = await Promise.all([state.createExclusive(`${dir}/state/sub/decision`, 'confirmed'), state.createExclusive(`${dir}/state/sub/decision`, 'expired')]);
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(['confirmed', 'expired']).toContain(await fs.readFile(`${dir}/state/sub/decision`, 'utf8'));
      expect(await state.exists(`${dir}/state/sub/decision`)).toBe(true);
      const age = await state.ageMs(`${dir}/state/sub/decision`);
      expect(age).not.toBeNull();
      expect(age!).toBeLessThan(60_000);
      expect(await state.ageMs(`${dir}/state/sub/nothing`)).toBeNull();
      await state.remove(`${dir}/state/sub/decision`);
      expect(await state.exists(`${dir}/state/sub/decision`)).toBe(false);

      // liveness and start time, as /proc tells them (the start time tells a reused pid apart)
      const me = await state.process(process.pid);
      expect(me.alive).toBe(true);
      expect(me.startTime).toBe((await fs.readFile(`/proc/${process.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19]);
      expect((await state.process(2 ** 22 + 7)).alive).toBe(false);
    });

    it('over one long-lived helper session: pipelined reads, small writes and commands with input, answered in order', async () => {
      const transport = localTransport(shell, bin);
      const persistent = new RemoteHost(transport, undefined, true);
      try {
        await fs.writeFile(`${dir}/session-a.conf`, 'A\n');
        await fs.writeFile(`${dir}/session-b.bin`, Buffer.from([0, 10, 255]));
        // asked together: they ride one round trip of the session
        const before = transport.roundTrips;
        const [a, b, absent] = await Promise.all([persistent.readText(`${dir}/session-a.conf`), persistent.readBytes(`${dir}/session-b.bin`), persistent.readText(`${dir}/session-none`)]);
        expect([a, b, absent]).toEqual(['A\n', Buffer.from([0, 10, 255]), null]);
        expect(transport.roundTrips - before).toBeLessThanOrEqual(2); // the mirror of /etc, then the batch
        await persistent.writeAtomic(`${dir}/session-new/c.conf`, Buffer.from([1, 2, 3, 10, 0]), { mode: 0o640 });
        expect(await fs.readFile(`${dir}/session-new/c.conf`)).toEqual(Buffer.from([1, 2, 3, 10, 0]));
        expect((await persistent.run({ file: 'cat', args: [] }, { input: "line 1\nit's line 2\n" })).stdout).toBe("line 1\nit's line 2\n");
        expect((await persistent.run({ file: 'sh', args: ['-c', 'exit 5'] }, { reject: false })).exitCode).toBe(5);
        // a request after those still gets its own answer (the framing held)
        expect(await persistent.readText(`${dir}/session-a.conf`)).toBe('A\n');
      } finally {
        persistent.close();
      }
    });

    it('over the session, read-only programs sent together run side by side, and what follows sees them done', async () => {
      // Two read-only programs (by name) that each wait for the other: one after the other, the first
      // would give up alone after 5 s; side by side, both meet.
      const rendezvous = (me: string, other: string) =>
        `#!/bin/sh\n: >"${dir}/${me}-here"\ni=0\nwhile [ ! -e "${dir}/${other}-here" ]; do i=$((i + 1)); [ "$i" -gt 100 ] && { echo alone; exit 1; }; sleep 0.05; done\necho together >"${dir}/${me}-done"\necho together\n`;
      await fs.writeFile(path.join(bin, 'ss'), rendezvous('ss', 'uname'), { mode: 0o755 });
      await fs.writeFile(path.join(bin, 'uname'), rendezvous('uname', 'ss'), { mode: 0o755 });
      const persistent = new RemoteHost(localTransport(shell, bin), undefined, true);
      try {
        const [ss, uname, after] = await Promise.all([
          persistent.run({ file: 'ss', args: ['-H'] }, { reject: false }),
          persistent.run({ file: 'uname', args: ['-n'] }, { reject: false }),
          persistent.readText(`${dir}/ss-done`),
        ]);
        expect([ss.stdout, uname.stdout]).toEqual(['together\n', 'together\n']);
        expect(after).toBe('together\n'); // sent after them: answered once they finished
      } finally {
        persistent.close();
        await fs.rm(path.join(bin, 'ss'));
        await fs.rm(path.join(bin, 'uname'));
      }
    });

    it('the helper session owns the lock: the file goes when the run lets it go, or when the session ends', async () => {
      for (const ending of ['disown', 'session ends'] as const) {
        const persistent = new RemoteHost(localTransport(shell, bin), undefined, true);
        const lockFile = `${dir}/lock-${ending.replace(' ', '-')}`;
        const owner = await persistent.sessionLockOwner(lockFile);
        expect(owner?.pid).toBeGreaterThan(0);
        expect(owner?.startTime).toBe((await fs.readFile(`/proc/${owner!.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[19]);
        // as acquireLock writes it
        expect(await persistent.helper(['excl', lockFile], Buffer.from(JSON.stringify({ pid: owner!.pid, startTime: owner!.startTime, command: 'apply', since: 'now' })))).toEqual(Buffer.from('created\n'));
        if (ending === 'disown') {
          owner!.release?.(lockFile);
          await persistent.readText(`${dir}/plain.conf`).catch(() => null); // after the disown, in order
          await expect(fs.access(lockFile)).rejects.toThrow();
          persistent.close();
        } else {
          persistent.close();
          for (let i = 0; i < 100 && (await fs.access(lockFile).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
          await expect(fs.access(lockFile)).rejects.toThrow();
        }
      }
    });

    it('quotes arguments so the box\'s shell passes them on unchanged', async () => {
      const tricky = ["it's", '$(touch /tmp/pwned)', 'a b', '*', '', '`id`', '"q"', 'new\nline'];
      const result = await host.run({ file: 'printf', args: ['%s|', ...tricky] });
      expect(result.stdout).toBe(tricky.map((t) => `${t}|`).join(''));
      expect(shellQuote("it's")).toBe("'it'\\''s'");
    });
  });
}
