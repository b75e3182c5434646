// The SSH port move from the workstation (`--host`), on a box with no Node or Python: bulwark proves
// access itself with a NEW connection on the NEW port, confirms through it, and the old port closes.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/bulwark-in-box.js';
import { BULWARK } from '../helpers/cli.js';
import { createBox, requireSandboxTools, type Box } from '../helpers/sandbox.js';

describe('bulwark --host: moving SSH to another port, confirmed on the new port from the workstation', () => {
  let box: Box;
  const ssh = (port = 22) => ['--host', `root@${box.boxV4}:${port}`, '--ssh-option', `IdentityFile=${box.adminKey}`, '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'UserKnownHostsFile=/dev/null'];
  const remote = (args: readonly string[], port = 22) => box.admin(process.execPath, [BULWARK, ...ssh(port), ...args, '--no-color'], { reject: false, timeoutMs: 180_000 });
  const listening = async (port: number) => (await box.exec('sh', ['-c', `ss -H -ltn 'sport = :${port}' | grep -c LISTEN`], { reject: false })).stdout.trim() !== '0';

  beforeAll(async () => {
    requireSandboxTools();
    box = await createBox();
    await box.hideInterpreters();
  }, 60_000);

  afterAll(async () => {
    await box?.destroy();
  });

  it('geo-blocking from the workstation: the sets are compiled here, loaded on the box, confirmed, and rolled back', async () => {
    // all but GB denied on 22: about 93,000 IPv4 and 82,000 IPv6 networks, streamed to the box's ipset
    writeFileSync(`${box.tmp}/geo.json`, JSON.stringify({ geoblock: { mode: 'allow', countries: ['GB'], ports: [{ port: 22, proto: 'tcp' }] } }));
    const applied = await remote(['apply', '--step', 'geoblock', '--yes', '--answers', `${box.tmp}/geo.json`, '--confirm-timeout', '90']);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Confirmed: the geoblock change stays');
    const inSet = async (set: string, address: string) => (await box.exec('ipset', ['test', set, address], { reject: false })).code === 0;
    expect(await inSet('bulwark-geo4', '81.2.69.160')).toBe(true); // GB
    expect(await inSet('bulwark-geo4', '203.0.113.66')).toBe(false);
    const entries = Number(/Number of entries: (\d+)/.exec((await box.exec('ipset', ['list', '-t', 'bulwark-geo4'])).stdout)?.[1]);
    expect(entries).toBeGreaterThan(1000);
    expect((await box.exec('iptables', ['-S', 'BULWARK-GEO'])).stdout).toContain('--match-set bulwark-geo4 src');
    // the admin (10.x) still gets in with a new connection
    expect((await box.ssh(['true'], { reject: false })).code).toBe(0);
    const rolledBack = await remote(['rollback', '--step', 'geoblock', '--yes']);
    expect(rolledBack.code, rolledBack.stdout + rolledBack.stderr).toBe(0);
    expect((await box.exec('ipset', ['list', '-n'])).stdout).not.toContain('bulwark-geo');
    expect((await box.exec('iptables-save', [])).stdout).not.toContain('BULWARK-GEO');
  }, 240_000);

  it('applies the firewall, then moves SSH to 2222 with passwords off: proved on 2222, 22 closed afterwards', async () => {
    const firewall = await remote(['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60']);
    expect(firewall.code, firewall.stdout + firewall.stderr).toBe(0);
    expect(firewall.stdout).toContain('Confirmed: the firewall change stays');

    writeFileSync(`${box.tmp}/ssh.json`, JSON.stringify({ ssh: { port: 2222, passwordAuthentication: false } }));
    const moved = await remote(['apply', '--step', 'ssh', '--yes', '--answers', `${box.tmp}/ssh.json`, '--confirm-timeout', '60']);
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
    // the proof came on the new port
    expect(moved.stdout).toMatch(/prove +a new SSH connection from here on port 2222/);
    expect(moved.stdout).toMatch(/Confirmed: the ssh change stays \(confirmed from a new SSH connection from 10\.\d+\.0\.2\)/);
    const guard = JSON.parse(await box.readFile('/var/lib/bulwark/guard.json')) as { status: string; confirmPort: number };
    expect(guard).toMatchObject({ status: 'confirmed', confirmPort: 2222 });
    // sshd and the firewall: 2222 open, 22 closed once confirmed
    expect(await eventually(async () => !(await listening(22)), 15_000)).toBe(true);
    expect(await listening(2222)).toBe(true);
    expect(await box.canConnect(22, { timeoutMs: 1000 })).toBe(false);
    expect((await box.exec('sshd', ['-T'])).stdout).toMatch(/^passwordauthentication no$/m);
    // and the workstation reaches the box on the new port from now on
    const status = await remote(['status', '--json'], 2222);
    expect(status.code, status.stderr).toBe(0);
    const state = JSON.parse(status.stdout) as { lastGuardedChange: { step: string; status: string } | null; steps: { id: string; status: string }[] };
    expect(state.lastGuardedChange).toMatchObject({ step: 'ssh', status: 'confirmed' });
    // (the second phase, closing 22, is applied once the move is confirmed)
    expect(state.steps.find((s) => s.id === 'ssh')?.status).toBe('applied');
  }, 240_000);
});
