// `bulwark --host` end to end: the CLI runs in the admin's namespace (the workstation) and acts on an
// "old box" over SSH — a sandbox box whose node and python3 fail, with dash as /bin/sh. What is
// checked is what the box has afterwards: its files byte for byte, its state directory, its rules.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../helpers/bulwark-in-box.js';
import { BULWARK } from '../helpers/cli.js';
import { createBox, requireSandboxTools, type Box, type RunResult } from '../helpers/sandbox.js';

describe('bulwark --host: a box with nothing but /bin/sh, driven from the workstation', () => {
  let box: Box;
  let hidden: string[] = [];
  let answers: string;
  let consolePlan: RunResult;

  const ssh = () => ['--host', `root@${box.boxV4}`, '--ssh-option', `IdentityFile=${box.adminKey}`, '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'UserKnownHostsFile=/dev/null'];
  const remote = (args: readonly string[]) => box.admin(process.execPath, [BULWARK, ...ssh(), ...args, '--no-color'], { reject: false, timeoutMs: 120_000 });
  /** Every path under /etc/apache2 with its type, mode, owner and content hash (or link target), as the box has it. */
  const apacheTree = async () => {
    const listing = (await box.exec('find', ['/etc/apache2', '-printf', '%p %y %m %U:%G %l\\n'])).stdout.split('\n').filter(Boolean).sort();
    const sums = (await box.exec('sh', ['-c', 'find /etc/apache2 -type f -exec sha256sum {} + | sort'])).stdout;
    return `${listing.join('\n')}\n${sums}`;
  };

  beforeAll(async () => {
    requireSandboxTools();
    box = await createBox();
    // The admin's password file lies on the workstation (/tmp is shared with the box here, so the
    // console run below can read the same answers).
    writeFileSync(`${box.tmp}/ops.pw`, 'correct horse battery staple\n', { mode: 0o600 });
    answers = `${box.tmp}/answers.json`;
    writeFileSync(answers, JSON.stringify({ htaccess: { protect: ['/admin'], users: [{ name: 'ops', passwordFile: `${box.tmp}/ops.pw` }] } }));
    // The plan as bulwark makes it on the box itself, while the box still has Node.
    consolePlan = await box.exec(process.execPath, [BULWARK, 'plan', '--step', 'htaccess', '--answers', answers, '--no-color'], { reject: false, timeoutMs: 60_000 });
    hidden = await box.hideInterpreters();
  }, 120_000);

  afterAll(async () => {
    await box?.destroy();
  });

  it('plans over SSH exactly what bulwark plans on the box itself, with no Node or Python there', async () => {
    expect(hidden.length).toBeGreaterThan(0);
    expect((await box.exec('sh', ['-c', `${process.execPath} -e 1; echo $?`])).stdout.trim()).toBe('127');
    expect(consolePlan.code, consolePlan.stderr).toBe(2);
    const planned = await remote(['plan', '--step', 'htaccess', '--answers', answers]);
    expect(planned.code, planned.stderr).toBe(2);
    expect(planned.stdout).toBe(consolePlan.stdout);
    expect(planned.stdout).toContain('+++ b/etc/apache2/conf-available/bulwark-htaccess.conf');
    expect(planned.stdout).not.toContain('correct horse');
  }, 120_000);

  it('applies and rolls back a file step byte for byte, keeping its state on the box', async () => {
    const before = await apacheTree();
    const applied = await remote(['apply', '--step', 'htaccess', '--yes', '--answers', answers]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    // the box has the files, with the mode and owner the step asks for
    expect((await box.exec('stat', ['-c', '%a %U:%G', '/etc/apache2/bulwark.htpasswd'])).stdout.trim()).toBe('640 root:www-data');
    expect(await box.readFile('/etc/apache2/conf-available/bulwark-htaccess.conf')).toContain('<Location "/admin">');
    expect((await box.exec('readlink', ['/etc/apache2/conf-enabled/bulwark-htaccess.conf'])).stdout.trim()).toBe('../conf-available/bulwark-htaccess.conf');
    // the password read on the workstation is the one the box now checks (and appears nowhere in clear)
    expect((await box.exec('htpasswd', ['-vb', '/etc/apache2/bulwark.htpasswd', 'ops', 'correct horse battery staple'], { reject: false })).code).toBe(0);
    expect((await box.exec('grep', ['-r', 'correct horse', '/var/lib/bulwark'], { reject: false })).code).toBe(1);

    // the state directory is on the box, in the usual format; the workstation keeps none of it
    const session = JSON.parse(await box.readFile('/var/lib/bulwark/session.json')) as { steps: Record<string, { status: string; snapshotId: string }> };
    expect(session.steps.htaccess?.status).toBe('applied');
    const snapshotId = session.steps.htaccess!.snapshotId;
    expect(await box.readFile(`/var/lib/bulwark/snapshots/${snapshotId}.json`)).toContain('/etc/apache2/bulwark.htpasswd');
    expect(existsSync(`/var/lib/bulwark/snapshots/${snapshotId}.json`)).toBe(false);
    expect((await box.exec('stat', ['-c', '%a', '/var/lib/bulwark'])).stdout.trim()).toBe('700');
    // and the lock was let go when the run ended
    expect((await box.exec('test', ['-e', '/var/lib/bulwark/lock'], { reject: false })).code).not.toBe(0);

    const status = await remote(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { steps: { id: string; status: string }[] }).steps.find((s) => s.id === 'htaccess')?.status).toBe('applied');

    const rolledBack = await remote(['rollback', '--step', 'htaccess', '--yes']);
    expect(rolledBack.code, rolledBack.stdout + rolledBack.stderr).toBe(0);
    expect(await apacheTree()).toBe(before);
    const history = await remote(['history']);
    expect(history.stdout).toContain(snapshotId);
  }, 180_000);

  it('the session moves between the workstation and the box\'s console: the console sees what --host did', async () => {
    for (const path of hidden) await box.exec('umount', [path]);
    try {
      const atConsole = await box.exec(process.execPath, [BULWARK, 'status', '--json'], { reject: false, timeoutMs: 60_000 });
      expect(atConsole.code, atConsole.stderr).toBe(0);
      expect((JSON.parse(atConsole.stdout) as { steps: { id: string; status: string }[] }).steps.find((s) => s.id === 'htaccess')?.status).toBe('rolled-back');
    } finally {
      hidden = await box.hideInterpreters();
    }
  }, 60_000);

  it('one bulwark at a time across machines, and a workstation killed in the middle of an apply leaves nothing half-done', async () => {
    const before = await apacheTree();
    // Two workstations apply at once: the box's lock lets one through and names the other's owner
    const [first, second] = await Promise.all([remote(['apply', '--step', 'htaccess', '--yes', '--answers', answers]), remote(['apply', '--step', 'htaccess', '--yes', '--answers', answers])]);
    const codes = [first.code, second.code].sort();
    expect(codes, first.stderr + second.stderr).toEqual([0, 1]);
    expect(first.stderr + second.stderr).toMatch(/Another bulwark is running \(pid \d+, `bulwark apply`/);
    expect((await remote(['rollback', '--step', 'htaccess', '--yes'])).code).toBe(0);
    expect(await apacheTree()).toBe(before);

    // The workstation's bulwark is killed (SIGKILL) while it applies: the lock goes with its connection
    // (its private control directory, which a SIGKILL leaves behind, goes under the box's temp dir)
    const child = spawn('ip', ['netns', 'exec', box.namespaces.admin, 'env', `TMPDIR=${box.tmp}`, process.execPath, BULWARK, ...ssh(), 'apply', '--step', 'htaccess', '--yes', '--answers', answers, '--no-color'], { stdio: 'ignore' });
    const inflight = async () => (await box.exec('sh', ['-c', 'grep -q \'"inflight": {\' /var/lib/bulwark/session.json'], { reject: false })).code === 0;
    expect(await eventually(inflight, 30_000, 20)).toBe(true);
    child.kill('SIGKILL');
    expect(await eventually(async () => (await box.exec('test', ['-e', '/var/lib/bulwark/lock'], { reject: false })).code !== 0, 15_000)).toBe(true);
    // and the next command over --host finishes the interrupted apply by restoring its snapshot
    const next = await remote(['status']);
    expect(next.code, next.stderr).toBe(0);
    const recovered = await remote(['apply', '--step', 'exposure', '--yes']);
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stderr).toMatch(/An interrupted apply of htaccess \(pid \d+\) was found and undone: snapshot \S+ restored/);
    expect(await apacheTree()).toBe(before);
  }, 180_000);

  it('the SSH connection alone dies in the middle of an apply: the run stops with one message, and the next --host command restores', async () => {
    const before = await apacheTree();
    // The workstation's bulwark keeps its control socket in a directory of ours, and pauses four
    // seconds after the first file it writes (BULWARK_FAULT): the moment to cut its connection.
    const tmp = `${box.tmp}/workstation-tmp`;
    mkdirSync(tmp, { recursive: true });
    const child = spawn('ip', ['netns', 'exec', box.namespaces.admin, 'env', `TMPDIR=${tmp}`, 'BULWARK_FAULT=pause@after-write', process.execPath, BULWARK, ...ssh(), 'apply', '--step', 'htaccess', '--yes', '--answers', answers, '--no-color'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    expect(await eventually(async () => /^ {2}write {4}\//m.test(out), 60_000, 20), out + err).toBe(true);

    // When the master connection (its pid from `ssh -O check`) is killed, and only it
    const control = readdirSync(tmp).find((name) => name.startsWith('bulwark-ssh-'));
    expect(control, `no control directory in ${tmp}`).toBeDefined();
    const check = await box.admin('ssh', ['-o', `ControlPath=${tmp}/${control}/master`, '-O', 'check', 'box'], { reject: false });
    const master = Number(/pid=(\d+)/.exec(check.stderr)?.[1]);
    expect(master, check.stderr).toBeGreaterThan(0);
    process.kill(master, 'SIGKILL');

    // Then the run stops with one clear message (no reconnection behind the admin's back, no trace)
    const code = await exited;
    expect(code, out + err).toBe(1);
    expect(err).toMatch(/The connection to the box was lost in the middle of the run/);
    expect(err).toMatch(/the next `bulwark --host \.\.\.` command \(from any machine\) restores its snapshot/);
    expect(err).not.toMatch(/at .*\.js:\d+/);
    // the box kept the record of the apply in flight; its lock went with the connection
    expect((await box.exec('sh', ['-c', 'grep -q \'"inflight": {\' /var/lib/bulwark/session.json'], { reject: false })).code).toBe(0);
    expect(await eventually(async () => (await box.exec('test', ['-e', '/var/lib/bulwark/lock'], { reject: false })).code !== 0, 15_000)).toBe(true);
    // and the next command over --host restores the snapshot: the tree as before, byte for byte
    const next = await remote(['apply', '--step', 'exposure', '--yes']);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stderr).toMatch(/An interrupted apply of htaccess \(pid \d+\) was found and undone: snapshot \S+ restored/);
    expect(await apacheTree()).toBe(before);
  }, 180_000);

  it('the connection dies once a guarded change is loaded: the dead-man switch on the box puts it back at once, with no bulwark anywhere', async () => {
    const rules = async () => (await box.exec('sh', ['-c', 'iptables-save | grep -v "^#" | sed "s/\\[[0-9]*:[0-9]*\\]//"; ip6tables-save | grep -v "^#" | sed "s/\\[[0-9]*:[0-9]*\\]//"'])).stdout;
    // A rule of the box's own in each family: with none, the kernel has no filter table to print
    // before, and an empty one (the same filtering) after anything touched it.
    for (const tool of ['iptables', 'ip6tables']) await box.exec(tool, ['-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    const before = await rules();
    const tmp = `${box.tmp}/workstation-tmp-guarded`;
    mkdirSync(tmp, { recursive: true });
    // The workstation's bulwark pauses four seconds once the rules are loaded (before the step's
    // checks and the hand-over to the switch): the moment to cut its connection.
    const child = spawn('ip', ['netns', 'exec', box.namespaces.admin, 'env', `TMPDIR=${tmp}`, 'BULWARK_FAULT=pause@after-firewall', process.execPath, BULWARK, ...ssh(), 'apply', '--step', 'firewall', '--yes', '--confirm-timeout', '300', '--no-color'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    expect(await eventually(async () => /IPv6 firewall rules \(one atomic iptables-restore\)/.test(out), 60_000, 20), out + err).toBe(true);
    expect(await eventually(async () => (await rules()) !== before, 10_000, 50)).toBe(true);

    // When the master connection dies
    const control = readdirSync(tmp).find((name) => name.startsWith('bulwark-ssh-'));
    const check = await box.admin('ssh', ['-o', `ControlPath=${tmp}/${control}/master`, '-O', 'check', 'box'], { reject: false });
    process.kill(Number(/pid=(\d+)/.exec(check.stderr)?.[1]), 'SIGKILL');
    expect(await exited, out + err).toBe(1);

    // Then the switch on the box saw the apply's session end before the hand-over and put the rules
    // back by itself, long before the five-minute deadline: nobody had to log in again
    expect(await eventually(async () => (await rules()) === before, 10_000, 100)).toBe(true);
    // (said once everything is back: the kernel's part comes first)
    expect(await eventually(async () => /the apply ended before handing over: restored snapshot \S+ \(rolled-back\)/.test(await box.readFile('/var/lib/bulwark/watchdog.log')), 10_000, 100)).toBe(true);
    // and the next command records it: rolled back, why, nothing in effect or waiting
    const state = JSON.parse((await remote(['status', '--json'])).stdout) as { interrupted: unknown; awaitingConfirmation: unknown; steps: { id: string; status: string; note?: string }[] };
    expect(state.interrupted).toBeNull();
    expect(state.awaitingConfirmation).toBeNull();
    expect(state.steps.find((step) => step.id === 'firewall')).toMatchObject({ status: 'rolled-back', note: expect.stringContaining('the dead-man switch on the box put the snapshot back at once') });
    for (const tool of ['iptables', 'ip6tables']) await box.exec(tool, ['-D', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
  }, 180_000);

  it('applies the firewall from the workstation and confirms it itself through a NEW connection; persisted only then', async () => {
    const applied = await remote(['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60']);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toContain('applied under the dead-man switch');
    expect(applied.stdout).toMatch(/prove +a new SSH connection from here/);
    expect(applied.stdout).toMatch(/Confirmed: the firewall change stays \(confirmed from a new SSH connection from 10\.\d+\.0\.2\)/);
    // the rules are in the box's kernel and saved for its boot
    expect((await box.exec('iptables', ['-S', 'INPUT'])).stdout).toMatch(/^-P INPUT DROP$/m);
    expect(await box.readFile('/etc/iptables/rules.v4')).toContain(':BULWARK-INPUT - [0:0]');
    const guard = JSON.parse(await box.readFile('/var/lib/bulwark/guard.json')) as { status: string; watchdogPid: number };
    expect(guard.status).toBe('confirmed');
    // the box's sh watchdog saw the confirmation and left
    expect(await eventually(async () => (await box.exec('kill', ['-0', String(guard.watchdogPid)], { reject: false })).code !== 0, 5000)).toBe(true);
    expect(await box.readFile('/var/lib/bulwark/watchdog.log')).toMatch(/decided: confirmed; leaving/);
    // back to no firewall for the next test
    expect((await remote(['rollback', '--step', 'firewall', '--yes'])).code).toBe(0);
    expect((await box.exec('iptables-save', [])).stdout).not.toContain('BULWARK');
  }, 120_000);

  it('a lock-out with the workstation killed: the box\'s sh switch restores the rules at the deadline, with no Node there', async () => {
    // A ruleset that lets SSH in, but the admin's NEW connections are cut (in the admin's own
    // namespace) once the change is armed: the workstation can never prove access.
    writeFileSync(answers.replace('answers.json', 'fw.json'), JSON.stringify({ firewall: { allow: [{ port: 22, proto: 'tcp' }] } }));
    // The workstation's bulwark pauses four seconds once the change is armed, before it proves access
    // through a new connection: without the pause, a fast box lets that proof in (and confirms)
    // before the admin's new connections are cut below.
    const child = spawn('ip', ['netns', 'exec', box.namespaces.admin, 'env', `TMPDIR=${box.tmp}`, 'BULWARK_FAULT=pause@after-commit', process.execPath, BULWARK, ...ssh(), 'apply', '--step', 'firewall', '--yes', '--confirm-timeout', '10', '--answers', answers.replace('answers.json', 'fw.json'), '--no-color'], { stdio: 'ignore' });
    // armed, and the switch started on the box (its pid recorded)
    const armed = async () => (await box.exec('sh', ['-c', 'grep -q \'"status": "armed"\' /var/lib/bulwark/guard.json && grep -q \'"watchdogPid"\' /var/lib/bulwark/guard.json'], { reject: false })).code === 0;
    expect(await eventually(armed, 60_000, 50)).toBe(true);
    // From now on the admin gets no NEW connection to the box (the master one stays, as conntrack keeps it)
    await box.admin('iptables', ['-I', 'OUTPUT', '-p', 'tcp', '--dport', '22', '--syn', '-j', 'DROP']);
    // Let the admin in again whatever happens below: the tests after this one connect anew.
    onTestFinished(async () => {
      await box.admin('iptables', ['-D', 'OUTPUT', '-p', 'tcp', '--dport', '22', '--syn', '-j', 'DROP'], { reject: false });
    });
    child.kill('SIGKILL');
    const guard = JSON.parse(await box.readFile('/var/lib/bulwark/guard.json')) as { id: string; deadline: string; watchdogPid: number };
    const deadline = Date.parse(guard.deadline);
    expect((await box.exec('iptables', ['-S', 'INPUT'])).stdout).toMatch(/^-P INPUT DROP$/m);
    // the switch on the box is a sh process: no Node can run there
    expect((await box.exec('cat', [`/proc/${guard.watchdogPid}/cmdline`])).stdout.split('\0')[0]).toBe('/bin/sh');
    // Then, by the deadline and a little after, the rules are back, with nobody connected
    const restored = await eventually(async () => !(await box.exec('iptables-save', [])).stdout.includes('BULWARK'), deadline + 8000 - Date.now(), 100);
    const seenAt = Date.now();
    const explain = async () => `watchdog.log:\n${await box.readFile('/var/lib/bulwark/watchdog.log')}\nprocesses:\n${(await box.exec('ps', ['-eo', 'pid,stat,args'], { reject: false })).stdout}`;
    expect(restored, await explain()).toBe(true);
    expect((await box.exec('iptables', ['-S', 'INPUT'])).stdout).toMatch(/^-P INPUT ACCEPT$/m);
    // The switch logs its verdict last, after its outcome file and a sync (seconds on a busy disk):
    // the rules can be back before the line is written.
    const verdict = new RegExp(`^(\\S+) \\[${guard.watchdogPid}\\] deadline passed: restored snapshot \\S+ \\(rolled-back\\)$`, 'm');
    let log = '';
    await eventually(async () => verdict.test((log = await box.readFile('/var/lib/bulwark/watchdog.log'))), 15_000, 100);
    const line = verdict.exec(log);
    expect(line, log).not.toBeNull();
    const latency = Date.parse(line![1]!) - deadline;
    console.log(`remote lock-out: the box's sh switch restored ${latency} ms after the deadline (seen from outside ${seenAt - deadline} ms after)`);
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(2000);
    expect(await box.exec('test', ['-e', '/etc/iptables/rules.v4'], { reject: false }).then((r) => r.code)).not.toBe(0);
    // and the admin, back in, hears it from status
    await box.admin('iptables', ['-D', 'OUTPUT', '-p', 'tcp', '--dport', '22', '--syn', '-j', 'DROP'], { reject: false });
    const status = await remote(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const state = JSON.parse(status.stdout) as { lastGuardedChange: { status: string; decidedBy: string } | null; steps: { id: string; status: string }[] };
    expect(state.lastGuardedChange?.status).toBe('rolled-back');
    expect(state.lastGuardedChange?.decidedBy).toContain('not confirmed before the deadline');
    expect(state.steps.find((s) => s.id === 'firewall')?.status).toBe('rolled-back');
  }, 120_000);

  it('the wizard over --host proves access itself with a new connection and confirms, while the countdown shows', async () => {
    // Given the wizard on the workstation (tmux in the admin's namespace, its socket in our own
    // directory), driving the box over SSH
    const socket = `${box.tmp}/wizard-tmux.sock`;
    const tmux = (args: readonly string[]) => box.admin('tmux', ['-S', socket, ...args], { env: { TERM: 'xterm' }, reject: false });
    const screen = async () => (await tmux(['capture-pane', '-p', '-t', 'wiz'])).stdout;
    const waitFor = async (pattern: RegExp, ms = 30_000) => {
      let last = '';
      const ok = await eventually(async () => pattern.test((last = await screen())), ms, 100);
      if (!ok) throw new Error(`the wizard did not show ${String(pattern)}; last screen:\n${last}`);
      return last;
    };
    const press = async (key: string, then: RegExp) => {
      await tmux(['send-keys', '-t', 'wiz', key]);
      return waitFor(then);
    };
    await tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'wiz', '-x', '80', '-y', '24', process.execPath, BULWARK, ...ssh(), '--confirm-timeout', '60', '--no-color']);
    try {
      let home = await waitFor(/Default-deny firewall/);
      for (let i = 0; i < 12 && !/› \S 4\. Default-deny firewall/.test(home); i++) {
        await tmux(['send-keys', '-t', 'wiz', /› \S [123]\./.test(home) ? 'Down' : 'Up']);
        await new Promise((resolve) => setTimeout(resolve, 150));
        home = await screen();
      }
      // When the admin opens the firewall step, keeps the suggested ports and applies
      await press('Enter', /Why this matters[\s\S]*Enter continue/);
      await press('Enter', /What bulwark found/);
      await press('Enter', /Which ports should be open/);
      await press('Enter', /Rate-limit new SSH connections and SIP requests/);
      await press('Enter', /Also harden the network stack/);
      await press('Enter', /The changes, exactly as they will be made/);
      await tmux(['send-keys', '-t', 'wiz', 'a']);
      // Then bulwark proves access from this machine and confirms, with no command to type
      const done = await waitFor(/Confirmed: the change stays\./, 60_000);
      expect(done).not.toMatch(/bulwark confirm [a-z0-9]{4}-/); // nothing asked of the admin
      const status = await remote(['status', '--json']);
      const state = JSON.parse(status.stdout) as { lastGuardedChange: { status: string; decidedBy: string } | null; steps: { id: string; status: string }[] };
      expect(state.lastGuardedChange?.status).toBe('confirmed');
      expect(state.lastGuardedChange?.decidedBy).toMatch(/confirmed from a new SSH connection from 10\.\d+\.0\.2/);
      expect(state.steps.find((s) => s.id === 'firewall')?.status).toBe('confirmed');
      expect(await box.readFile('/etc/iptables/rules.v4')).toContain(':BULWARK-INPUT - [0:0]');
    } finally {
      await tmux(['kill-server']);
    }
    expect((await remote(['rollback', '--step', 'firewall', '--yes'])).code).toBe(0);
  }, 180_000);

  it('says in one line what is wrong with --host, --root with --host, and an unreachable box', async () => {
    const bad = await box.admin(process.execPath, [BULWARK, '--host', 'root@bad host', 'status'], { reject: false });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^bulwark: --host: "root@bad host": .* is not a host name or address; expected \[USER@\]HOST\[:PORT\]/);
    const both = await box.admin(process.execPath, [BULWARK, '--root', '/tmp', ...ssh(), 'status'], { reject: false });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--root and --host cannot be used together');
    const option = await box.admin(process.execPath, [BULWARK, ...ssh(), '--ssh-option', 'ControlMaster=no', 'status'], { reject: false });
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('--ssh-option: ControlMaster is set by bulwark itself');
    const unreachable = await box.admin(process.execPath, [BULWARK, '--host', `root@${box.boxV4}:2`, '--ssh-option', `IdentityFile=${box.adminKey}`, 'status'], { reject: false, timeoutMs: 60_000 });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot connect/);
    expect(unreachable.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  }, 120_000);
});
