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
