// The dead-man switch's sh script, run by real shells (dash and busybox ash) on a temporary tree:
// it restores files, links, modes and created directories at the deadline, claims the decision
// exactly once, leaves at once when the change is confirmed, and says what it did where bulwark reads it.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firewallRestoreShell, parseOutcome, rollbackScript, type RollbackPlan } from '../../snapshots/rollback-script.js';
import { ownedInputPattern, restoreParts, restoreScript, type FilterOwnership } from '../../snapshots/netfilter.js';
import { parseSave } from '../../src/iptables-save.js';

const FIREWALL_OWNER: FilterOwnership = { chains: ['BULWARK-INPUT', 'BULWARK-SIPLIMIT'], comment: 'bulwark', policies: true };

const SHELLS = { dash: ['/usr/bin/dash'], 'busybox ash': ['/usr/bin/busybox', 'sh'], 'bash as sh (CentOS)': ['/bin/bash', '--posix'] } as const;
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A tree after an apply, a state dir with the snapshot's objects, and the plan to put it back. */
async function scene(deadlineInMs: number): Promise<{ root: string; state: string; plan: RollbackPlan }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-rollback-'));
  dirs.push(root);
  const state = path.join(root, 'state');
  await fs.mkdir(path.join(state, 'snapshots', 'objects'), { recursive: true });
  const objects = { original: "original content\nwith 'quotes' and $dollars\n" };
  await fs.writeFile(path.join(state, 'snapshots', 'objects', sha(objects.original)), objects.original);
  // After the apply: the file changed (and its mode), a new file and its new directory, a link retargeted
  await fs.mkdir(path.join(root, 'etc', 'new-dir'), { recursive: true });
  await fs.writeFile(path.join(root, 'etc', 'changed.conf'), 'written by the apply\n', { mode: 0o600 });
  await fs.writeFile(path.join(root, 'etc', 'new-dir', 'added.conf'), 'added\n');
  await fs.symlink('changed.conf', path.join(root, 'etc', 'link.conf'));
  await fs.chmod(path.join(root, 'etc'), 0o700);
  // Stand-ins for /proc/sys files, holding the values the apply set (the switch writes to the path).
  await fs.mkdir(path.join(root, 'proc', 'net', 'ipv4', 'conf', 'all'), { recursive: true });
  await fs.writeFile(path.join(root, 'proc', 'net', 'ipv4', 'conf', 'all', 'rp_filter'), '1\n');
  await fs.writeFile(path.join(root, 'proc', 'net', 'ipv4', 'tcp_syncookies'), '1\n');
  await fs.writeFile(path.join(state, 'guard.json'), JSON.stringify({ id: 'g1', status: 'armed' }, null, 2) + '\n');
  const uid = process.getuid!();
  const gid = process.getgid!();
  const plan: RollbackPlan = {
    stateDir: state,
    guardId: 'g1',
    snapshotId: 's1',
    step: 'firewall',
    deadlineMs: Date.now() + deadlineInMs,
    files: [
      { path: path.join(root, 'etc'), state: 'dir', mode: 0o755, uid, gid },
      { path: path.join(root, 'etc', 'changed.conf'), state: 'file', hash: sha(objects.original), mode: 0o644, uid, gid },
      { path: path.join(root, 'etc', 'new-dir', 'added.conf'), state: 'absent' },
      { path: path.join(root, 'etc', 'link.conf'), state: 'symlink', target: 'other.conf', uid, gid },
    ],
    createdDirs: [path.join(root, 'etc', 'new-dir')],
    firewall: [],
    ipset: null,
    kernelSettings: [
      { key: 'net.ipv4.conf.all.rp_filter', path: path.join(root, 'proc', 'net', 'ipv4', 'conf', 'all', 'rp_filter'), value: '0' },
      { key: 'net.ipv4.tcp_syncookies', path: path.join(root, 'proc', 'net', 'ipv4', 'tcp_syncookies'), value: '2' },
    ],
    services: [{ file: 'true', args: [] }],
  };
  return { root, state, plan };
}

function runScript(shell: readonly string[], script: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(shell[0]!, [...shell.slice(1), '-c', script], { stdio: 'ignore' });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

describe('the dead-man switch script', () => {
  it('passes shellcheck as POSIX sh, with firewall and set restores in it', async () => {
    const { plan } = await scene(1000);
    const script = rollbackScript({ ...plan, applier: { pid: process.pid, startTime: '12345' }, firewall: [{ family: 'ipv4', head: ['*filter', ':INPUT ACCEPT [0:0]'], tail: [':BULWARK-INPUT - [0:0]', '-X BULWARK-INPUT', 'COMMIT'], ownedInput: ownedInputPattern(FIREWALL_OWNER) }], ipset: { clear: ['bulwark-geo-v4-new'], restore: 'create bulwark-geo-v4 hash:net\n', destroy: ['bulwark-geo-v6'] } });
    const result = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: script, encoding: 'utf8' });
    if (result.error) throw new Error('shellcheck is not installed (Debian package shellcheck).');
    expect(result.stdout + result.stderr).toBe('');
    expect(script).toContain("iptables-save -t filter | grep -E -- '^-A INPUT .*--comment \"?bulwark(:[0-9a-f]+)?\"?( |$)' | sed 's/^-A INPUT /-D INPUT /'");
    expect(script).toContain("} | iptables-restore --noflush || failed 'firewall ipv4'");
    expect(script).toContain("ipset restore <<'BULWARK_END'");
  });

  for (const [name, shell] of Object.entries(SHELLS)) {
    it(`under ${name}: restores files, modes, links and created directories at the deadline, and records the outcome`, async () => {
      const { root, state, plan } = await scene(400);
      const started = Date.now();
      expect(await runScript(shell, rollbackScript(plan))).toBe(0);
      const finished = Date.now();
      // not before the deadline, and not long after it
      expect(finished).toBeGreaterThanOrEqual(plan.deadlineMs);
      expect(finished - plan.deadlineMs).toBeLessThan(1500);
      expect(finished - started).toBeGreaterThanOrEqual(350);
      expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toBe("original content\nwith 'quotes' and $dollars\n");
      expect((await fs.stat(path.join(root, 'etc', 'changed.conf'))).mode & 0o777).toBe(0o644);
      expect((await fs.stat(path.join(root, 'etc'))).mode & 0o777).toBe(0o755);
      await expect(fs.access(path.join(root, 'etc', 'new-dir'))).rejects.toThrow();
      expect(await fs.readlink(path.join(root, 'etc', 'link.conf'))).toBe('other.conf');
      expect(await fs.readFile(path.join(root, 'proc', 'net', 'ipv4', 'conf', 'all', 'rp_filter'), 'utf8')).toBe('0\n');
      expect(await fs.readFile(path.join(root, 'proc', 'net', 'ipv4', 'tcp_syncookies'), 'utf8')).toBe('2\n');
      expect((await fs.readdir(path.join(root, 'etc'))).filter((n) => n.includes('bulwark'))).toEqual([]);
      expect(await fs.readFile(path.join(state, 'guard-g1.decision'), 'utf8')).toBe('expired');
      const outcome = parseOutcome(await fs.readFile(path.join(state, 'guard-g1.outcome'), 'utf8'));
      expect(outcome?.status).toBe('rolled-back');
      expect(outcome?.failures).toEqual([]);
      expect(Date.parse(outcome!.at)).toBeGreaterThanOrEqual(Math.floor(plan.deadlineMs / 1000) * 1000);
      expect(await fs.readFile(path.join(state, 'watchdog.log'), 'utf8')).toMatch(/^\S+ \[\d+\] deadline passed: restored snapshot s1 \(rolled-back\)$/m);
    });

    it(`under ${name}: leaves at once, restoring nothing, when the change is confirmed first`, async () => {
      const { root, state, plan } = await scene(20_000);
      const running = runScript(shell, rollbackScript(plan));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await fs.writeFile(path.join(state, 'guard-g1.decision'), 'confirmed', { flag: 'wx' });
      const started = Date.now();
      expect(await running).toBe(0);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toBe('written by the apply\n');
      await expect(fs.access(path.join(state, 'guard-g1.outcome'))).rejects.toThrow();
      expect(await fs.readFile(path.join(state, 'watchdog.log'), 'utf8')).toMatch(/guard g1 decided: confirmed; leaving/);
    });
  }

  it('loses the race to a confirmation made in the same instant: the decision file is claimed once', async () => {
    const { root, state, plan } = await scene(-1);
    await fs.writeFile(path.join(state, 'guard-g1.decision'), 'confirmed', { flag: 'wx' });
    // even past the deadline, a decision already taken stands
    expect(await runScript(SHELLS.dash, rollbackScript(plan))).toBe(0);
    expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toBe('written by the apply\n');
    expect(await fs.readFile(path.join(state, 'guard-g1.decision'), 'utf8')).toBe('confirmed');
  });

  it('reports a file it could not put back, and goes on with the others', async () => {
    const { root, state, plan } = await scene(0);
    const broken: RollbackPlan = { ...plan, files: [{ path: path.join(root, 'etc', 'missing-object.conf'), state: 'file', hash: 'f'.repeat(64), mode: 0o644, uid: 0, gid: 0 }, ...plan.files] };
    expect(await runScript(SHELLS.dash, rollbackScript(broken))).toBe(0);
    const outcome = parseOutcome(await fs.readFile(path.join(state, 'guard-g1.outcome'), 'utf8'));
    expect(outcome?.status).toBe('failed');
    expect(outcome?.failures).toEqual([path.join(root, 'etc', 'missing-object.conf')]);
    expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toContain('original content');
  });

  it('reports a kernel setting it could not write back, and goes on with the others', async () => {
    const { root, state, plan } = await scene(0);
    const broken: RollbackPlan = { ...plan, kernelSettings: [{ key: 'net.ipv6.conf.all.accept_redirects', path: path.join(root, 'proc', 'no-ipv6', 'accept_redirects'), value: '1' }, ...plan.kernelSettings!] };
    expect(await runScript(SHELLS.dash, rollbackScript(broken))).toBe(0);
    const outcome = parseOutcome(await fs.readFile(path.join(state, 'guard-g1.outcome'), 'utf8'));
    expect(outcome?.status).toBe('failed');
    expect(outcome?.failures).toEqual(['kernel setting net.ipv6.conf.all.accept_redirects']);
    expect(await fs.readFile(path.join(root, 'proc', 'net', 'ipv4', 'conf', 'all', 'rp_filter'), 'utf8')).toBe('0\n');
  });

  it('while the change is being applied: waits as long as the applying process lives, past the deadline, restoring nothing', async () => {
    const { root, state, plan } = await scene(-1);
    await fs.writeFile(path.join(state, 'guard.json'), JSON.stringify({ id: 'g1', status: 'applying' }, null, 2) + '\n');
    const running = runScript(SHELLS.dash, rollbackScript({ ...plan, applier: { pid: process.pid, startTime: null } }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toBe('written by the apply\n');
    await expect(fs.access(path.join(state, 'guard-g1.decision'))).rejects.toThrow();
    // handed over: armed, with the deadline counted from now in the deadline file
    await fs.writeFile(path.join(state, 'guard-g1.deadline'), String(Date.now() + 600));
    await fs.writeFile(path.join(state, 'guard.json'), JSON.stringify({ id: 'g1', status: 'armed' }, null, 2) + '\n');
    const handedOver = Date.now();
    expect(await running).toBe(0);
    expect(Date.now() - handedOver).toBeGreaterThanOrEqual(550);
    expect(await fs.readFile(path.join(state, 'guard-g1.decision'), 'utf8')).toBe('expired');
    expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toContain('original content');
  });

  for (const [name, shell] of Object.entries(SHELLS)) {
    it(`under ${name}: when the applying process dies before handing over, restores at once and says why`, async () => {
      const { root, state, plan } = await scene(60_000);
      await fs.writeFile(path.join(state, 'guard.json'), JSON.stringify({ id: 'g1', status: 'applying' }, null, 2) + '\n');
      const applier = spawn('sleep', ['30'], { stdio: 'ignore' });
      const startTime = (await fs.readFile(`/proc/${applier.pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')[19]!;
      const running = runScript(shell, rollbackScript({ ...plan, applier: { pid: applier.pid!, startTime } }));
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toBe('written by the apply\n');
      applier.kill('SIGKILL');
      const killed = Date.now();
      expect(await running).toBe(0);
      expect(Date.now() - killed).toBeLessThan(2000); // at once, not at the deadline a minute away
      expect(await fs.readFile(path.join(state, 'guard-g1.decision'), 'utf8')).toBe('interrupted');
      expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toContain('original content');
      expect(parseOutcome(await fs.readFile(path.join(state, 'guard-g1.outcome'), 'utf8'))?.status).toBe('rolled-back');
      expect(await fs.readFile(path.join(state, 'watchdog.log'), 'utf8')).toMatch(/the apply ended before handing over: restored snapshot s1 \(rolled-back\)/);
    });
  }

  it('a reused pid is not the applying process: its start time differs', async () => {
    const { root, state, plan } = await scene(60_000);
    await fs.writeFile(path.join(state, 'guard.json'), JSON.stringify({ id: 'g1', status: 'applying' }, null, 2) + '\n');
    // this test process is alive, but it started at another time than the one recorded
    expect(await runScript(SHELLS.dash, rollbackScript({ ...plan, applier: { pid: process.pid, startTime: '1' } }))).toBe(0);
    expect(await fs.readFile(path.join(state, 'guard-g1.decision'), 'utf8')).toBe('interrupted');
    expect(await fs.readFile(path.join(root, 'etc', 'changed.conf'), 'utf8')).toContain('original content');
  });

  it('puts the firewall back with exactly the restore bulwark itself would run, whatever rules are loaded when it runs', async () => {
    const saved = parseSave('*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:BULWARK-INPUT - [0:0]\n-A INPUT -m comment --comment "bulwark:aaaa" -j BULWARK-INPUT\n-A INPUT -p tcp --dport 22 -j f2b-sshd\n-A INPUT -m comment --comment bulwark -j ACCEPT\n-A BULWARK-INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n').get('filter')!;
    const loaded = '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:BULWARK-INPUT - [0:0]\n:BULWARK-SIPLIMIT - [0:0]\n:f2b-sshd - [0:0]\n-A INPUT -m comment --comment "bulwark:bbbb" -j BULWARK-INPUT\n-A INPUT -p tcp --dport 22 -j f2b-sshd\n-A INPUT -m comment --comment bulwark-geo -j BULWARK-GEO\n-A INPUT -m comment --comment bulwark -j ACCEPT\n-A BULWARK-INPUT -j BULWARK-SIPLIMIT\nCOMMIT\n';
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-fw-'));
    dirs.push(dir);
    // iptables-save prints what is loaded now; iptables-restore keeps what it is given
    await fs.writeFile(path.join(dir, 'iptables-save'), `#!/bin/sh\ncat <<'EOF'\n${loaded}EOF\n`, { mode: 0o755 });
    await fs.writeFile(path.join(dir, 'iptables-restore'), `#!/bin/sh\ncat > ${dir}/restored\n`, { mode: 0o755 });
    const lines = firewallRestoreShell({ family: 'ipv4', ...restoreParts(saved, FIREWALL_OWNER), ownedInput: ownedInputPattern(FIREWALL_OWNER) });
    const result = spawnSync('/usr/bin/dash', ['-c', ['failed() { echo "FAILED $1"; }', ...lines].join('\n')], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(await fs.readFile(path.join(dir, 'restored'), 'utf8')).toBe(restoreScript(parseSave(loaded).get('filter')!, saved, FIREWALL_OWNER));
    // the rule of another owner (bulwark-geo) is not the firewall step's to delete
    expect(await fs.readFile(path.join(dir, 'restored'), 'utf8')).not.toContain('bulwark-geo');
  });
});
