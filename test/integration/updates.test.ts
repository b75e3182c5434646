// The updates step on the fixture roots through the CLI: the end of support of each fixture's
// release in `audit`, answers refused for a box where they cannot apply (exit 2, nothing changed),
// and under --root the two apt files written and rolled back to the same tree.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';

const roots = fixtureRoots();

type AuditJson = { score: number; steps: { id: string; findings: { severity: string; title: string; why: string; fix: string }[]; plannedChanges: number }[] };

async function audit(name: FixtureName): Promise<AuditJson['steps'][number]> {
  const { root, state } = await roots.box(name);
  const result = await bulwark(['audit', '--step', 'updates', '--json', ...rootArgs(root, state)]);
  expect(result.code, cliOutput(result)).toBe(0);
  return (JSON.parse(result.stdout) as AuditJson).steps[0]!;
}

async function answers(value: unknown): Promise<string> {
  const file = path.join(await roots.temp('bulwark-updates-answers-'), 'answers.json');
  await fs.writeFile(file, JSON.stringify(value));
  return file;
}

describe('updates on the fixtures', () => {
  it.each([
    ['elastix-centos5', 'CentOS 5 has had no security updates since 2017-03-31'],
    ['issabel-centos7', 'CentOS 7 has had no security updates since 2024-06-30'],
  ] as const)('%s: audit says HIGH, no security updates exist, plan a migration', async (name, title) => {
    const step = await audit(name);
    expect(step.findings).toEqual([{ severity: 'high', title, why: expect.stringMatching(/^No security updates exist for this system/), fix: expect.stringMatching(/^Plan a migration to Rocky Linux or AlmaLinux 9\./) }]);
    expect(step.plannedChanges).toBe(0);
  });

  it('debian12-a2billing: supported until 2028-06-30, so no HIGH finding', async () => {
    const step = await audit('debian12-a2billing');
    expect(step.findings.filter((f) => f.severity === 'high')).toEqual([]);
  });

  it('refuses unattended-upgrades where the package is missing or the system is not Debian: exit 2, named field, nothing changed', async () => {
    const yes = await answers({ updates: { unattendedUpgrades: true } });
    for (const [name, message] of [
      ['debian12-a2billing', /updates\.unattendedUpgrades: unattended-upgrades is not installed; install it first with `apt-get install unattended-upgrades`/],
      ['issabel-centos7', /updates\.unattendedUpgrades: expected false on CentOS/],
    ] as const) {
      const { root, state } = await roots.box(name);
      const pristine = await snapshotTree(root);
      const apply = await bulwark(['apply', '--step', 'updates', '--yes', '--answers', yes, ...rootArgs(root, state)]);
      expect(apply.code, cliOutput(apply)).toBe(2);
      expect(cliOutput(apply)).toMatch(message);
      expect(await snapshotTree(root)).toEqual(pristine);
    }
    // a wrong type is the schema's message
    const { root, state } = await roots.box('debian12-a2billing');
    const typo = await bulwark(['plan', '--step', 'updates', '--answers', await answers({ updates: { unattendedUpgrades: 'yes' } }), ...rootArgs(root, state)]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('updates.unattendedUpgrades: expected true or false');
  });

  it('with the package installed: writes 20auto-upgrades and the security-only origins under --root, and rollback gives the tree back', async () => {
    const { root, state } = await roots.box('debian12-a2billing');
    // the package's files, as it installs them
    await fs.mkdir(path.join(root, 'usr/bin'), { recursive: true });
    await fs.writeFile(path.join(root, 'usr/bin/unattended-upgrade'), '#!/usr/bin/python3\n', { mode: 0o755 });
    await fs.mkdir(path.join(root, 'etc/apt/apt.conf.d'), { recursive: true });
    await fs.writeFile(path.join(root, 'etc/apt/apt.conf.d/50unattended-upgrades'), 'Unattended-Upgrade::Origins-Pattern {\n        "origin=Debian,codename=${distro_codename},label=Debian";\n};\n');
    const pristine = await snapshotTree(root);
    const g = [...rootArgs(root, state), '--answers', await answers({ updates: { unattendedUpgrades: true } })];

    const apply = await bulwark(['apply', '--step', 'updates', '--yes', ...g]);
    expect(apply.code, cliOutput(apply)).toBe(0);
    expect(await fs.readFile(path.join(root, 'etc/apt/apt.conf.d/20auto-upgrades'), 'utf8')).toBe('APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n');
    const origins = await fs.readFile(path.join(root, 'etc/apt/apt.conf.d/52bulwark-unattended-upgrades'), 'utf8');
    expect(origins).toContain('#clear Unattended-Upgrade::Origins-Pattern;');
    expect(origins).toContain('"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";');
    expect(apply.stdout).toMatch(/✔ \/etc\/apt\/apt\.conf\.d\/52bulwark-unattended-upgrades limits unattended-upgrades to the security archive/);
    const again = await bulwark(['plan', '--step', 'updates', ...g]);
    expect(again.code, cliOutput(again)).toBe(0);

    const rollback = await bulwark(['rollback', '--step', 'updates', '--yes', ...rootArgs(root, state)]);
    expect(rollback.code, cliOutput(rollback)).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});
