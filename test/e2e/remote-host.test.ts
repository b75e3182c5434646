// Remote mode's transport and Host over a real SSH connection to an "old box": a sandbox box whose
// node and python3 fail (a failing program bind-mounted over them) and whose /bin/sh is dash. The
// test's own process plays the admin's workstation: its `ssh` runs in the admin namespace (a wrapper
// first in PATH), with the admin's key passed as --ssh-option would pass it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { RemoteHost } from '../../src/remote/host.js';
import { SshTransport } from '../../src/remote/ssh.js';
import { parseTarget } from '../../src/remote/target.js';
import { createBox, requireSandboxTools, type Box } from '../helpers/sandbox.js';

describe('remote mode over SSH to a box without Node or Python', () => {
  let box: Box;
  let wrapperDir: string;
  let savedPath: string | undefined;
  const transports: SshTransport[] = [];

  const options = (key: string) => [`IdentityFile=${key}`, 'IdentitiesOnly=yes', 'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'GlobalKnownHostsFile=/dev/null'];
  const transport = (spec: string, sshOptions = options(box.adminKey)) => {
    const made = new SshTransport(parseTarget(spec, sshOptions));
    transports.push(made);
    return made;
  };
  const logins = async () => ((await box.readFile('/var/log/auth.log')).match(/Accepted publickey for root/g) ?? []).length;

  beforeAll(async () => {
    requireSandboxTools();
    box = await createBox();
    const hidden = await box.hideInterpreters();
    expect(hidden.length).toBeGreaterThan(0);
    expect((await box.exec(process.execPath, ['-e', 'console.log(1)'], { reject: false })).code).toBe(127);
    expect((await box.exec('readlink', ['-f', '/bin/sh'])).stdout.trim()).toBe('/usr/bin/dash');
    // The workstation's ssh, in the admin namespace.
    wrapperDir = mkdtempSync(path.join(tmpdir(), 'bulwark-ssh-wrapper-'));
    writeFileSync(path.join(wrapperDir, 'ssh'), `#!/bin/sh\nexec ip netns exec ${box.namespaces.admin} /usr/bin/ssh "$@"\n`);
    chmodSync(path.join(wrapperDir, 'ssh'), 0o755);
    savedPath = process.env.PATH;
    process.env.PATH = `${wrapperDir}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  }, 60_000);

  afterAll(async () => {
    for (const t of transports) await t.close();
    if (savedPath !== undefined) process.env.PATH = savedPath;
    if (wrapperDir) rmSync(wrapperDir, { recursive: true, force: true });
    await box?.destroy();
  });

  it('opens one master connection, learns the address the box sees, and does every operation through it', async () => {
    const before = await logins();
    const ssh = transport(`root@${box.boxV4}`);
    const host = new RemoteHost(ssh);
    const session = await ssh.open();
    expect(session.sshConnection.split(' ')[0]).toBe(box.adminV4);
    expect(session.uid).toBe(0);

    // Reads: the first brings /etc whole (one round trip); files there cost nothing more, byte for
    // byte as the box has them, absent ones included
    let trips = ssh.roundTrips;
    expect(await host.readText('/etc/ssh/sshd_config')).toBe(await box.readFile('/etc/ssh/sshd_config'));
    expect(await host.readText('/etc/passwd')).toBe(await box.readFile('/etc/passwd'));
    expect(await host.readText('/etc/no-such-file')).toBeNull();
    expect(await host.list('/etc/ssh')).toEqual((await box.exec('ls', ['-A', '/etc/ssh'])).stdout.split('\n').filter(Boolean).sort());
    expect(ssh.roundTrips - trips).toBe(1);
    // secrets never come along: the host keys are listed, their content is not sent
    expect(await host.lstat('/etc/ssh/ssh_host_ed25519_key')).toMatchObject({ type: 'file' });
    // paths elsewhere, asked for together, are one more round trip
    trips = ssh.roundTrips;
    const [authLog, missing] = await Promise.all([host.readText('/var/log/auth.log'), host.readText('/var/nothing/here')]);
    expect(authLog).toBe(await box.readFile('/var/log/auth.log'));
    expect(missing).toBeNull();
    expect(ssh.roundTrips - trips).toBe(1);

    // Writes keep mode and owner, atomically, and create parents
    const created = await host.writeAtomic('/etc/bulwark-remote/sub/test.conf', 'written over ssh\n', { mode: 0o640, uid: 0, gid: 4 });
    expect(created).toEqual(['/etc/bulwark-remote', '/etc/bulwark-remote/sub']);
    expect((await box.exec('stat', ['-c', '%a %u %g', '/etc/bulwark-remote/sub/test.conf'])).stdout.trim()).toBe('640 0 4');
    expect(await box.readFile('/etc/bulwark-remote/sub/test.conf')).toBe('written over ssh\n');
    await host.symlink('/etc/bulwark-remote/link.conf', 'sub/test.conf');
    expect(await host.readText('/etc/bulwark-remote/link.conf')).toBe('written over ssh\n');

    // Programs run with stdin, as root, their exit codes kept
    const rules = await host.run({ file: 'iptables-restore', args: ['--test'] }, { input: '*filter\n-A INPUT -s 192.0.2.1/32 -j DROP\nCOMMIT\n' });
    expect(rules.exitCode).toBe(0);
    expect((await host.run({ file: 'sh', args: ['-c', 'exit 4'] }, { reject: false })).exitCode).toBe(4);
    expect(await host.findProgram('sshd')).toBe('/usr/sbin/sshd');

    // All of that was ONE login on the box: the master connection, multiplexed
    expect((await logins()) - before).toBe(1);

    // A fresh connection (the proof of access of a guarded change) is a login of its own
    const fresh = await ssh.freshExec(['printenv', 'SSH_CONNECTION']);
    expect(fresh.code).toBe(0);
    expect((await logins()) - before).toBe(2);

    await ssh.close();
    expect(spawnSync('ls', [path.join(tmpdir())]).stdout.toString()).not.toContain(path.basename((ssh as unknown as { controlDir: string }).controlDir));
  }, 60_000);

  it('says clearly why it cannot get in, changing nothing: a refused key, a closed port, a changed host key', async () => {
    const wrongKey = path.join(wrapperDir, 'wrong_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
    const refused = await transport(`root@${box.boxV4}`, options(wrongKey)).open().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserError);
    expect((refused as UserError).message).toMatch(/the box refused the login/);
    expect((refused as UserError).exitCode).toBe(2);

    const closed = await transport(`root@${box.boxV4}:2`).open().catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(UserError);
    expect((closed as UserError).message).toMatch(/cannot connect \(.*(refused|Connection)/);

    const knownHosts = path.join(wrapperDir, 'known_hosts');
    const otherKey = spawnSync('sh', ['-c', `ssh-keygen -q -t ed25519 -N '' -f ${wrapperDir}/fake_host && cat ${wrapperDir}/fake_host.pub`]).stdout.toString().trim();
    writeFileSync(knownHosts, `${box.boxV4} ${otherKey.split(' ').slice(0, 2).join(' ')}\n`);
    const changed = await transport(`root@${box.boxV4}`, [`IdentityFile=${box.adminKey}`, 'IdentitiesOnly=yes', 'StrictHostKeyChecking=yes', `UserKnownHostsFile=${knownHosts}`, 'GlobalKnownHostsFile=/dev/null']).open().catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(UserError);
    expect((changed as UserError).message).toMatch(/host key is not the one known_hosts expects/);
  }, 60_000);

  it('refuses a user that is not root and cannot sudo, with one message', async () => {
    await box.exec('useradd', ['-m', '-s', '/bin/sh', 'ops']);
    await box.exec('sh', ['-c', 'mkdir -p /home/ops/.ssh && cp /root/.ssh/authorized_keys /home/ops/.ssh/ && chown -R ops /home/ops/.ssh']);
    const error = await transport(`ops@${box.boxV4}`).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/logged in as uid \d+, and sudo -n cannot make this user root/);
  }, 60_000);
});
