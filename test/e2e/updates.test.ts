// The updates step end to end in a sandbox box: the Debian host's unattended-upgrades seen from
// inside the box (its /etc is an overlay, so the box's apt configuration is its own). Automatic
// security updates are turned on through the answers, apt itself (`apt-config dump`) is asked what
// it will do, and rollback puts both files back byte for byte. No apt-get update: the box has no
// way to a mirror, and the count is the parser's business (unit tests).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole } from '../helpers/bulwark-in-box.js';

const PERIODIC = '/etc/apt/apt.conf.d/20auto-upgrades';
const ORIGINS = '/etc/apt/apt.conf.d/52bulwark-unattended-upgrades';
/** The admin's own file before bulwark: automatic upgrades off, and a line of theirs. */
const PERIODIC_OFF = '// set by the admin\nAPT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "0";\nAPT::Periodic::AutocleanInterval "7";\n';

describe('updates: unattended-upgrades for the security archive only, in a box', () => {
  let box: Box;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/bin/unattended-upgrade': 'unattended-upgrades', '/usr/bin/apt-config': 'apt' });
    box = await createBox({ ssh: false, syslog: false });
    await box.writeFile(PERIODIC, PERIODIC_OFF, 0o644);
  }, 60_000);

  afterEach(async () => {
    await box?.destroy();
  });

  async function aptConfig(): Promise<{ periodic: Record<string, string>; origins: string[] }> {
    const dump = (await box.exec('apt-config', ['dump'])).stdout;
    const periodic = Object.fromEntries([...dump.matchAll(/^APT::Periodic::(\S+) "(.*)";$/gm)].map((m) => [m[1]!, m[2]!]));
    const origins = [...dump.matchAll(/^Unattended-Upgrade::Origins-Pattern:: "(.*)";$/gm)].map((m) => m[1]!);
    return { periodic, origins };
  }

  it('audit reports updates not automatic; apply turns them on for Debian-Security only (apt-config dump); rollback restores the files', async () => {
    // Given the package's own list, which also takes the main archive's point releases
    const before = await aptConfig();
    expect(before.periodic['Unattended-Upgrade']).toBe('0');
    expect(before.origins.some((o) => !o.includes('label=Debian-Security'))).toBe(true);

    // audit: a supported Debian 12, automatic updates off
    const audit = await atConsole(box, ['audit', '--step', 'updates', '--json']);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    const titles = (JSON.parse(audit.stdout) as { steps: { findings: { severity: string; title: string }[] }[] }).steps[0]!.findings.map((f) => `${f.severity}: ${f.title}`);
    expect(titles).toContain('low: Security updates are not installed automatically');
    expect(titles.filter((t) => t.startsWith('high:'))).toEqual([]);
    // the pending count is apt's simulation on the box's own lists, counted here the plain way
    const simulation = (await box.exec('apt-get', ['-s', '-o', 'Debug::NoLocking=1', 'dist-upgrade'], { env: { LC_ALL: 'C' }, timeoutMs: 60_000 })).stdout;
    const security = new Set(simulation.split('\n').filter((l) => l.startsWith('Inst ') && /-security[ ,\]]/.test(l)).map((l) => l.split(' ')[1]));
    console.log(`security updates pending in the box: ${security.size}`);
    const pending = titles.find((t) => / security updates? waiting to be installed/.test(t));
    if (security.size === 0) expect(pending).toBeUndefined();
    else expect(pending).toMatch(new RegExp(`^medium: ${security.size} security updates? waiting`));

    // When the admin answers yes
    await box.writeFile('/root/answers.json', JSON.stringify({ updates: { unattendedUpgrades: true } }), 0o600);
    const apply = await atConsole(box, ['apply', '--step', 'updates', '--yes', '--answers', '/root/answers.json']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/✔ unattended-upgrades takes the security archive only \(apt-config dump\)/);

    // Then apt runs it daily, from the security archive only, and the admin's other line stays
    const after = await aptConfig();
    expect(after.periodic['Update-Package-Lists']).toBe('1');
    expect(after.periodic['Unattended-Upgrade']).toBe('1');
    expect(after.periodic['AutocleanInterval']).toBe('7');
    expect(after.origins.length).toBeGreaterThan(0);
    expect(after.origins.every((o) => o.includes('label=Debian-Security'))).toBe(true);
    // and a second plan has nothing to do
    const again = await atConsole(box, ['plan', '--step', 'updates', '--answers', '/root/answers.json']);
    expect(again.code, again.stdout + again.stderr).toBe(0);

    // When it is rolled back
    const rollback = await atConsole(box, ['rollback', '--step', 'updates', '--yes']);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);

    // Then the admin's file is back byte for byte, bulwark's is gone, and apt sees what it saw before
    expect(await box.readFile(PERIODIC)).toBe(PERIODIC_OFF);
    expect((await box.exec('test', ['-e', ORIGINS], { reject: false })).code).toBe(1);
    expect(await aptConfig()).toEqual(before);
  }, 120_000);
});
