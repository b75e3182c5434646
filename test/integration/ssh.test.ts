// The ssh step on fixture roots: bulwark's block goes first in sshd_config (sshd keeps the first
// value it reads), other Port lines are commented out when the port moves, passwords stay on when no
// key login can be seen (always so under --root), and a rollback gives back the file byte for byte.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';

const roots = fixtureRoots();
let root: string;
let state: string;
async function box(name: FixtureName): Promise<void> {
  ({ root, state } = await roots.box(name));
}
const g = () => rootArgs(root, state);
const output = cliOutput;
async function answers(ssh: unknown): Promise<string> {
  const file = path.join(state, `answers-${Math.random().toString(36).slice(2)}.json`);
  await fs.writeFile(file, JSON.stringify({ ssh }));
  return file;
}

describe('ssh on Elastix 2.x / CentOS 5', () => {
  beforeEach(() => box('elastix-centos5'));

  it('moves the port in bulwark\'s block at the top (without-password for the old OpenSSH), passwords stay on; rollback byte for byte', async () => {
    const pristine = await snapshotTree(root);
    const apply = await bulwark(['apply', '--step', 'ssh', '--yes', '--answers', await answers({ port: 2222 }), ...g()]);
    expect(apply.code, output(apply)).toBe(0);
    const config = await fs.readFile(path.join(root, 'etc/ssh/sshd_config'), 'utf8');
    expect(config.startsWith('# bulwark (step ssh): first in the file')).toBe(true);
    expect(config).toMatch(/^PermitRootLogin without-password\nPort 2222\n# end of bulwark's block$/m);
    expect(config).not.toMatch(/^PasswordAuthentication no$/m);
    expect(config.match(/^Port \d+$/gm)).toEqual(['Port 2222']);
    // OpenSSH 4.3: no KexAlgorithms (5.7) nor AllowAgentForwarding (5.2) keyword, AES-CTR, and HMAC-SHA1 (no SHA-2 MAC before 5.9)
    expect(config).toMatch(/^Ciphers aes256-ctr,aes192-ctr,aes128-ctr\nMACs hmac-sha1\nMaxAuthTries 3\nLoginGraceTime 30\nClientAliveInterval 300\nClientAliveCountMax 2\nTCPKeepAlive no\nLogLevel VERBOSE\nCompression no\nX11Forwarding no\nAllowTcpForwarding no\nPermitRootLogin/m);
    expect(config).not.toMatch(/^(KexAlgorithms|AllowAgentForwarding|HostKeyAlgorithms)\b/m);
    const again = await bulwark(['plan', '--step', 'ssh', '--answers', await answers({ port: 2222 }), ...g()]);
    expect(again.code, output(again)).toBe(0);
    expect((await bulwark(['rollback', '--step', 'ssh', '--yes', ...g()])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('refuses to turn passwords off when no key login can be seen, saying how to add a key (exit 1)', async () => {
    const pristine = await snapshotTree(root);
    const result = await bulwark(['apply', '--step', 'ssh', '--yes', '--answers', await answers({ passwordAuthentication: false }), ...g()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Passwords stay on: bulwark runs at the console/);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('a port inside the RTP range is bad input (exit 2, naming ssh.port)', async () => {
    const result = await bulwark(['plan', '--step', 'ssh', '--answers', await answers({ port: 10022 }), ...g()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ssh\.port: 10022 is inside Asterisk's RTP range 10000-20000/);
  });
});

describe('ssh algorithms on Issabel / CentOS 7 and Debian 12', () => {
  it('CentOS 7 (OpenSSH 7.4): curve25519 and groups 16/18 key exchange, AEAD and CTR ciphers, ETM MACs; tunnels allowed when asked', async () => {
    await box('issabel-centos7');
    const apply = await bulwark(['apply', '--step', 'ssh', '--yes', '--answers', await answers({ allowTcpForwarding: true }), ...g()]);
    expect(apply.code, output(apply)).toBe(0);
    const config = await fs.readFile(path.join(root, 'etc/ssh/sshd_config'), 'utf8');
    expect(config).toMatch(/^KexAlgorithms curve25519-sha256,curve25519-sha256@libssh\.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256$/m);
    expect(config).toMatch(/^Ciphers chacha20-poly1305@openssh\.com,aes256-gcm@openssh\.com,aes128-gcm@openssh\.com,aes256-ctr,aes192-ctr,aes128-ctr$/m);
    expect(config).toMatch(/^MACs hmac-sha2-512-etm@openssh\.com,hmac-sha2-256-etm@openssh\.com,umac-128-etm@openssh\.com$/m);
    expect(config).toMatch(/^AllowTcpForwarding yes\nAllowAgentForwarding no\nPermitRootLogin prohibit-password$/m);
  });

  it('Debian 12 (OpenSSH 9.2 from dpkg\'s status): sntrup761 first; the audit names the default algorithms before and not after', async () => {
    await box('debian12-a2billing');
    const before = await bulwark(['audit', '--step', 'ssh', ...g()]);
    expect(output(before)).toMatch(/OpenSSH 9\.2's default algorithms/);
    const apply = await bulwark(['apply', '--step', 'ssh', '--yes', '--answers', await answers({}), ...g()]);
    expect(apply.code, output(apply)).toBe(0);
    const config = await fs.readFile(path.join(root, 'etc/ssh/sshd_config'), 'utf8');
    expect(config).toMatch(/^KexAlgorithms sntrup761x25519-sha512@openssh\.com,curve25519-sha256,/m);
    expect(config).toMatch(/^AllowTcpForwarding no$/m);
    const after = await bulwark(['audit', '--step', 'ssh', ...g()]);
    expect(output(after)).not.toMatch(/default algorithms/);
  });

  it('allowTcpForwarding that is not a boolean is bad input (exit 2, naming the field)', async () => {
    await box('debian12-a2billing');
    const result = await bulwark(['plan', '--step', 'ssh', '--answers', await answers({ allowTcpForwarding: 'yes' }), ...g()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ssh\.allowTcpForwarding/);
  });
});
