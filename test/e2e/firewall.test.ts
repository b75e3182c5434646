// The firewall step end to end, as an admin meets it: dist/bulwark.js run over SSH (or at the box's
// console) against a sandbox box with a real sshd and the kernel's own iptables (nf_tables), reached
// from the admin's namespace over a veth link. Every test checks what the kernel does (a new TCP or SSH
// connection gets through or not, `iptables -S`) and what is on disk, never only what bulwark says.
// Each test builds its own box and destroys it afterwards, whatever happened.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULWARK } from '../helpers/cli.js';
import { createBox, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole, eventually, overSsh, RULES_V4, RULES_V6, STATE_DIR, status, stepStatus, tokenOf, TOKEN_LINE, type Family } from '../helpers/bulwark-in-box.js';

// The box's own tmux server: its socket in the box's private /run, never the host's /tmp/tmux-0,
// where a server of the machine's (or of another test) could answer instead.
const BOX_TMUX = '/run/bulwark-test-tmux.sock';

/** The address block of the admin's link is 10.x: this allow list leaves the admin out. */
const ELSEWHERE = '198.51.100.0/24';

/** `iptables -S` (all chains of the filter table) inside the box. */
async function listRules(box: Box, family: Family, chain?: string): Promise<string> {
  return (await box.exec(family === 4 ? 'iptables' : 'ip6tables', ['-S', ...(chain ? [chain] : [])])).stdout;
}

async function saveRules(box: Box, family: Family): Promise<string> {
  return (await box.exec(family === 4 ? 'iptables-save' : 'ip6tables-save', [])).stdout;
}

async function exists(box: Box, file: string): Promise<boolean> {
  return (await box.exec('test', ['-e', file], { reject: false })).code === 0;
}

function sleepUntil(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
}

/** A TCP server on `port` (IPv4 and IPv6) inside the box, that nothing in bulwark's defaults opens. */
async function startListener(box: Box, port: number): Promise<void> {
  await box.spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.end()).listen(${port}, '::')`]);
  if (!(await eventually(() => box.canConnect(port), 5000))) throw new Error(`the test listener on ${port} did not come up`);
}

async function answers(box: Box, file: string, firewall: unknown): Promise<void> {
  await box.writeFile(file, JSON.stringify({ firewall }, null, 2) + '\n', 0o600);
}

describe('the firewall step on a live box (real sshd, real iptables)', () => {
  let box: Box | undefined;

  beforeEach(() => {
    // Missing tools FAIL here, they never skip.
    requireSandboxTools();
  });

  afterEach(async () => {
    // Destroying the box also ends the watchdog, the tmux server and the listener: they run in it.
    await box?.destroy();
    box = undefined;
  });

  async function newBox(): Promise<Box> {
    box = await createBox();
    return box;
  }

  it('refuses, changing nothing, rules that would drop the admin\'s next SSH connection', async () => {
    // Given a box with a rule of its own in each family, and the admin coming in over SSH from 10.x
    const b = await newBox();
    await b.exec('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    await b.exec('ip6tables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    const before = { v4: await listRules(b, 4), v6: await listRules(b, 6) };
    await answers(b, '/root/elsewhere.json', { allow: [{ port: 22, proto: 'tcp', from: [ELSEWHERE] }] });
    await answers(b, '/root/no-ssh.json', { allow: [{ port: 80, proto: 'tcp' }] });

    // When the admin applies answers that allow SSH only from another network, over IPv4 and over IPv6
    const v4 = await overSsh(b, ['apply', '--step', 'firewall', '--yes', '--answers', '/root/elsewhere.json']);
    const v6 = await overSsh(b, ['apply', '--step', 'firewall', '--yes', '--answers', '/root/elsewhere.json'], 6);

    // Then both are refused, naming the admin's own address and what would happen to a new connection
    expect(v4.code, v4.stderr).toBe(1);
    expect(v4.stderr).toMatch(/^bulwark: Refused:/m);
    expect(v4.stderr).toContain(`You are connected from ${b.adminV4} to port 22`);
    expect(v4.stderr).toContain('a new connection from there would be dropped');
    expect(v4.stderr).toContain('Nothing was changed');
    expect(v4.stdout).not.toMatch(TOKEN_LINE);
    expect(v6.code, v6.stderr).toBe(1);
    expect(v6.stderr).toContain(`You are connected from ${b.adminV6} to port 22`);

    // When the answers do not open the SSH port at all
    const noSsh = await overSsh(b, ['apply', '--step', 'firewall', '--yes', '--answers', '/root/no-ssh.json']);
    // Then that is refused too, naming the port
    expect(noSsh.code, noSsh.stderr).toBe(1);
    expect(noSsh.stderr).toMatch(/^bulwark: Refused:/m);
    expect(noSsh.stderr).toContain('SSH listens on port 22, but tcp/22 is not in the allow list');

    // And nothing changed: the kernel's rules, no bulwark chain, no file, no dead-man switch armed
    expect(await listRules(b, 4)).toBe(before.v4);
    expect(await listRules(b, 6)).toBe(before.v6);
    expect(before.v4).toContain('-A INPUT -p tcp -m tcp --dport 9999 -j ACCEPT');
    expect(await saveRules(b, 4)).not.toContain('BULWARK');
    expect(await saveRules(b, 6)).not.toContain('BULWARK');
    expect(await exists(b, RULES_V4)).toBe(false);
    expect(await exists(b, RULES_V6)).toBe(false);
    expect(await exists(b, `${STATE_DIR}/guard.json`)).toBe(false);
    const state = await status(b);
    expect(state.awaitingConfirmation).toBeNull();
    expect(state.lastGuardedChange).toBeNull();
    expect(stepStatus(state, 'firewall')).toBe('pending');
    // and the admin still gets in
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
  });

  it('keeps a ruleset confirmed from a new SSH connection, and persists it only then', async () => {
    const TIMEOUT_S = 15;
    // Given a box where something listens on a port nobody needs from outside, reachable now
    const b = await newBox();
    await startListener(b, 8080);
    expect(await b.canConnect(8080, { family: 6 })).toBe(true);
    // and a helper that applies and then tries to confirm from that SAME ssh connection
    await b.writeFile(
      '/root/apply-then-confirm.sh',
      [
        '#!/bin/sh',
        'node=$1; bulwark=$2; shift 2',
        'out=$("$node" "$bulwark" "$@")',
        'code=$?',
        'printf \'%s\\n\' "$out"',
        'echo "apply exit $code"',
        'token=$(printf \'%s\\n\' "$out" | sed -n \'s/.*bulwark confirm \\([a-z0-9]\\{4\\}-[a-z0-9]\\{4\\}\\).*/\\1/p\')',
        '"$node" "$bulwark" confirm "$token" --no-color',
        'echo "same connection confirm exit $?"',
        '',
      ].join('\n'),
      0o700,
    );

    // When the admin applies the defaults over SSH (bulwark prefills SSH; 8080 is not ticked)
    const started = Date.now();
    const applied = await b.ssh(['/root/apply-then-confirm.sh', process.execPath, BULWARK, 'apply', '--step', 'firewall', '--yes', '--confirm-timeout', String(TIMEOUT_S), '--no-color'], { reject: false, timeoutMs: 30_000 });

    // Then it returns at once with a token to confirm, which the same connection cannot use
    expect(applied.stdout, applied.stderr).toContain('apply exit 0');
    const token = tokenOf(applied);
    expect(applied.stdout).toContain('same connection confirm exit 1');
    expect(applied.stderr).toContain('This is the SSH connection the change was made from');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_S * 1000 / 2);
    const armed = await status(b);
    expect(armed.awaitingConfirmation?.status).toBe('armed');
    expect(armed.awaitingConfirmation?.token).toBe(token);
    expect(stepStatus(armed, 'firewall')).toBe('awaiting-confirmation');
    const deadline = Date.parse(armed.awaitingConfirmation?.deadline ?? '');
    expect(deadline).toBeGreaterThan(Date.now());

    // and the rules are in the kernel, but not yet saved for boot
    expect(await listRules(b, 4, 'INPUT')).toMatch(/^-P INPUT DROP$/m);
    expect(await exists(b, RULES_V4)).toBe(false);
    expect(await exists(b, RULES_V6)).toBe(false);
    // and a NEW ssh connection still works, over IPv4 and IPv6
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
    expect((await b.ssh(['true'], { family: 6, reject: false })).code).toBe(0);
    // while the port nobody ticked is closed, for both families
    expect(await b.canConnect(8080)).toBe(false);
    expect(await b.canConnect(8080, { family: 6 })).toBe(false);

    // When someone at the console (not SSH) tries to confirm a change made over SSH
    const fromConsole = await atConsole(b, ['confirm', token]);
    // Then it is refused: the console proves nothing about SSH
    expect(fromConsole.code, fromConsole.stderr).toBe(1);
    expect(fromConsole.stderr).toContain('not an SSH connection');
    // and a wrong token is a usage error
    const wrong = await overSsh(b, ['confirm', 'aaaa-bbbb']);
    expect(wrong.code, wrong.stderr).toBe(2);
    expect((await status(b)).awaitingConfirmation?.status).toBe('armed');
    expect(await exists(b, RULES_V4)).toBe(false);

    // When the admin confirms from a NEW ssh connection
    const confirmed = await overSsh(b, ['confirm', token]);

    // Then the change stays and is saved for boot, with bulwark's chain in both files
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toContain('Confirmed');
    const v4File = await b.readFile(RULES_V4);
    const v6File = await b.readFile(RULES_V6);
    expect(v4File).toContain(':INPUT DROP');
    expect(v4File).toContain('-A BULWARK-INPUT -p tcp -m tcp --dport 22 -j RETURN');
    expect(v6File).toContain(':INPUT DROP');
    expect(v6File).toContain('-A BULWARK-INPUT -p tcp -m tcp --dport 22 -j RETURN');
    expect((await b.exec('stat', ['-c', '%a', RULES_V4, RULES_V6])).stdout).toBe('600\n600\n');
    const decided = await status(b);
    expect(decided.awaitingConfirmation).toBeNull();
    expect(decided.lastGuardedChange?.status).toBe('confirmed');
    expect(decided.lastGuardedChange?.decidedBy).toContain(`a new SSH connection from ${b.adminV4}`);
    expect(stepStatus(decided, 'firewall')).toBe('confirmed');

    // When the original deadline has passed
    await sleepUntil(deadline + 2000);

    // Then the watchdog did not roll anything back: rules, files and status are as confirmed
    const v4 = await listRules(b, 4);
    expect(v4).toMatch(/^-P INPUT DROP$/m);
    expect(v4).toMatch(/^-A INPUT -m comment --comment "bulwark:[0-9a-f]{12}" -j BULWARK-INPUT$/m);
    expect(await listRules(b, 6)).toMatch(/^-P INPUT DROP$/m);
    expect(await b.canConnect(8080)).toBe(false);
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
    expect(await b.readFile(RULES_V4)).toBe(v4File);
    expect(await b.readFile(RULES_V6)).toBe(v6File);
    const later = await status(b);
    expect(later.lastGuardedChange?.status).toBe('confirmed');
    expect(stepStatus(later, 'firewall')).toBe('confirmed');
    const log = await b.readFile(`${STATE_DIR}/watchdog.log`);
    // (the watchdog saw the confirmation and ended; it never reached the deadline)
    expect(log).toMatch(/(is no longer armed \(confirmed\)|decided: confirmed); leaving/);
    expect(log).not.toMatch(/deadline passed/);
    const watchdogPid = Number(JSON.parse(await b.readFile(`${STATE_DIR}/guard.json`)).watchdogPid);
    expect(watchdogPid).toBeGreaterThan(0);
    expect((await b.exec('kill', ['-0', String(watchdogPid)], { reject: false })).code).not.toBe(0);
  }, 75_000);

  it('rolls back an unconfirmed lock-out made at the console by itself, even after the terminal hung up', async () => {
    const TIMEOUT_S = 10; // the shortest --confirm-timeout bulwark accepts
    // Given a box that starts with an empty ruleset, and the admin able to reach SSH
    const b = await newBox();
    for (const family of [4, 6] as const) {
      const saved = await saveRules(b, family);
      expect(saved).not.toMatch(/DROP/);
      expect(saved).not.toContain('BULWARK');
    }
    expect(await b.canConnect(22)).toBe(true);
    await answers(b, '/root/lockout.json', { allow: [{ port: 22, proto: 'tcp', from: [ELSEWHERE] }] });

    // When someone at the console (no SSH_CONNECTION: the lint cannot know who would be locked out)
    // applies those answers in a terminal (tmux inside the box, with the box's own devpts)
    const apply = [process.execPath, BULWARK, 'apply', '--step', 'firewall', '--yes', '--answers', '/root/lockout.json', '--confirm-timeout', String(TIMEOUT_S), '--no-color'];
    // The shell stays in the terminal after bulwark returns, like an admin's login shell would.
    const shell = '"$@"; echo "bulwark exited $?"; exec sleep 600';
    await b.exec('tmux', ['-S', BOX_TMUX, '-f', '/dev/null', 'new-session', '-d', '-s', 'w', '-x', '200', '-y', '50', 'sh', '-c', shell, 'sh', ...apply], { env: { TERM: 'xterm' } });
    const pane = async () => (await b.exec('tmux', ['-S', BOX_TMUX, 'capture-pane', '-p', '-J', '-t', 'w'], { reject: false })).stdout;
    const finished = await eventually(async () => /bulwark exited \d+/.test(await pane()), 20_000);
    const screen = await pane();
    expect(finished, screen).toBe(true);
    expect(screen).toContain('bulwark exited 0');
    expect(screen).toMatch(TOKEN_LINE);
    const armed = await status(b);
    expect(armed.awaitingConfirmation?.status).toBe('armed');
    const deadline = Date.parse(armed.awaitingConfirmation?.deadline ?? '');

    // Then the admin is locked out: a new connection to SSH is dropped
    expect(await b.canConnect(22, { timeoutMs: 1000 })).toBe(false);
    expect(await b.canConnect(22, { family: 6, timeoutMs: 1000 })).toBe(false);

    // When the terminal hangs up (the tmux server is killed: SIGHUP to everything in it)
    const inTerminal = (await b.exec('tmux', ['-S', BOX_TMUX, 'list-panes', '-t', 'w', '-F', '#{pane_pid}'])).stdout.trim();
    const watchdogPid = Number(JSON.parse(await b.readFile(`${STATE_DIR}/guard.json`)).watchdogPid);
    await b.exec('tmux', ['-S', BOX_TMUX, 'kill-server']);
    expect(await eventually(async () => (await b.exec('kill', ['-0', inTerminal], { reject: false })).code !== 0, 5000)).toBe(true);
    expect(Date.now()).toBeLessThan(deadline); // the hang-up came while the change was still waiting
    // the watchdog (its own session, no terminal) is not reached by it
    expect((await b.exec('kill', ['-0', String(watchdogPid)], { reject: false })).code).toBe(0);

    // Then, by the deadline and a little after, the old rules are back and the admin gets in again
    const back = await eventually(async () => (await status(b)).lastGuardedChange?.status === 'rolled-back', deadline + 3000 - Date.now(), 200);
    expect(back, await b.readFile(`${STATE_DIR}/watchdog.log`)).toBe(true);
    const seenAt = Date.now();
    expect(await eventually(() => b.canConnect(22, { timeoutMs: 1000 }), 3000, 200)).toBe(true);
    expect(await b.canConnect(22, { family: 6 })).toBe(true);
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
    // leaving no DROP behind on a box that started empty, nor any chain of bulwark's
    for (const family of [4, 6] as const) {
      const saved = await saveRules(b, family);
      expect(saved).not.toMatch(/DROP/);
      expect(saved).not.toContain('BULWARK');
      expect(saved).not.toContain('bulwark');
    }
    expect(await exists(b, RULES_V4)).toBe(false);
    expect(await exists(b, RULES_V6)).toBe(false);
    const after = await status(b);
    expect(after.awaitingConfirmation).toBeNull();
    expect(after.lastGuardedChange?.status).toBe('rolled-back');
    expect(after.lastGuardedChange?.decidedBy).toContain('not confirmed before the deadline');
    expect(stepStatus(after, 'firewall')).toBe('rolled-back');
    // and too late to confirm now
    const late = await atConsole(b, ['confirm', tokenOf({ code: 0, stdout: screen, stderr: '', timedOut: false })]);
    expect(late.code, late.stderr).toBe(3);

    // How long after the deadline: by the watchdog's own log line and by the recorded decision
    const log = await b.readFile(`${STATE_DIR}/watchdog.log`);
    const restoredLine = /^(\S+) \[\d+\] deadline passed: restored snapshot/m.exec(log);
    expect(restoredLine?.[1], log).toBeDefined();
    const loggedLatency = Date.parse(restoredLine?.[1] ?? '') - deadline;
    const decidedLatency = Date.parse(after.lastGuardedChange?.decidedAt ?? '') - deadline;
    console.log(`firewall rollback latency after the deadline: ${decidedLatency} ms (decidedAt), ${loggedLatency} ms (watchdog.log); the test saw it ${seenAt - deadline} ms after`);
    expect(decidedLatency).toBeGreaterThanOrEqual(0);
    expect(decidedLatency).toBeLessThan(3000);
    expect(loggedLatency).toBeGreaterThanOrEqual(0);
    expect(loggedLatency).toBeLessThan(3000);
  }, 60_000);

  it('leaves fail2ban\'s chains, bans and jumps alone, does not persist them, and rolls back around them', async () => {
    // Given fail2ban's chain for sshd with a ban, jumped to from INPUT, in both families
    const b = await newBox();
    const bans = { 4: '203.0.113.5/32', 6: '2001:db8:bad::5/128' } as const;
    const reject = { 4: 'icmp-port-unreachable', 6: 'icmp6-port-unreachable' } as const;
    for (const family of [4, 6] as const) {
      const tool = family === 4 ? 'iptables' : 'ip6tables';
      await b.exec(tool, ['-N', 'f2b-sshd']);
      await b.exec(tool, ['-A', 'f2b-sshd', '-s', bans[family], '-j', 'REJECT', '--reject-with', reject[family]]);
      await b.exec(tool, ['-A', 'f2b-sshd', '-j', 'RETURN']);
      await b.exec(tool, ['-I', 'INPUT', '-p', 'tcp', '-m', 'multiport', '--dports', '22', '-j', 'f2b-sshd']);
    }
    const f2bJump = /^-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd$/m;
    const f2bBefore = { 4: await listRules(b, 4, 'f2b-sshd'), 6: await listRules(b, 6, 'f2b-sshd') };
    expect(f2bBefore[4]).toContain(`-A f2b-sshd -s ${bans[4]} -j REJECT --reject-with icmp-port-unreachable`);
    expect(f2bBefore[6]).toContain(`-A f2b-sshd -s ${bans[6]} -j REJECT --reject-with icmp6-port-unreachable`);

    // When the admin applies the defaults over SSH and confirms from a new connection
    const applied = await overSsh(b, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60']);
    expect(applied.code, applied.stderr).toBe(0);
    const confirmed = await overSsh(b, ['confirm', tokenOf(applied)]);
    expect(confirmed.code, confirmed.stderr).toBe(0);

    // Then fail2ban's chain, its ban and its jump are all still in the kernel, next to bulwark's
    for (const family of [4, 6] as const) {
      const all = await listRules(b, family);
      expect(await listRules(b, family, 'f2b-sshd')).toBe(f2bBefore[family]);
      expect(all).toMatch(f2bJump);
      expect(all).toMatch(/^-P INPUT DROP$/m);
      // bulwark's jump comes first: fail2ban only sees what bulwark lets through
      expect((await listRules(b, family, 'INPUT')).split('\n')[1]).toMatch(/--comment "bulwark:[0-9a-f]{12}" -j BULWARK-INPUT$/);
    }
    // and the files loaded at boot hold bulwark's rules but not fail2ban's (it makes them itself at start)
    for (const file of [RULES_V4, RULES_V6]) {
      const saved = await b.readFile(file);
      expect(saved).toContain(':BULWARK-INPUT -');
      expect(saved).not.toContain('f2b-sshd');
    }

    // When the admin rolls the step back
    const rolledBack = await overSsh(b, ['rollback', '--step', 'firewall', '--yes']);

    // Then bulwark's part is gone, the INPUT policy accepts again, and fail2ban's part is untouched
    expect(rolledBack.code, `${rolledBack.stdout}\n${rolledBack.stderr}`).toBe(0);
    for (const family of [4, 6] as const) {
      const all = await listRules(b, family);
      expect(all).not.toContain('BULWARK');
      expect(all).not.toContain('bulwark');
      expect(all).toMatch(/^-P INPUT ACCEPT$/m);
      expect(all).toMatch(f2bJump);
      expect(await listRules(b, family, 'f2b-sshd')).toBe(f2bBefore[family]);
    }
    // and the files that did not exist before are gone again
    expect(await exists(b, RULES_V4)).toBe(false);
    expect(await exists(b, RULES_V6)).toBe(false);
    expect(stepStatus(await status(b), 'firewall')).toBe('rolled-back');
  }, 60_000);

  it('gives IPv6 the same default-deny policy, with neighbour discovery let through', async () => {
    // Given a box with a listener on a port nobody ticks
    const b = await newBox();
    await startListener(b, 8080);

    // When the admin applies the defaults over an IPv6 SSH connection
    const applied = await overSsh(b, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60'], 6);
    expect(applied.code, applied.stderr).toBe(0);
    tokenOf(applied);

    // Then ip6tables drops by default and bulwark's chain lets neighbour solicitations and adverts in
    const v6 = await listRules(b, 6);
    expect(v6).toMatch(/^-P INPUT DROP$/m);
    expect(v6).toMatch(/^-A INPUT -m comment --comment "bulwark:[0-9a-f]{12}" -j BULWARK-INPUT$/m);
    expect(v6).toMatch(/^-A BULWARK-INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j RETURN$/m);
    expect(v6).toMatch(/^-A BULWARK-INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j RETURN$/m);
    expect(v6).toMatch(/^-A BULWARK-INPUT -p tcp -m tcp --dport 22 -j RETURN$/m);
    expect(v6).toMatch(/^-A BULWARK-INPUT -j DROP$/m);

    // and with both neighbour caches emptied, so that the next connection needs neighbour discovery
    // to get through the DROP policy first, the admin still reaches SSH over IPv6 on a NEW connection
    await b.exec('ip', ['-6', 'neigh', 'flush', 'all']);
    await b.admin('ip', ['-6', 'neigh', 'flush', 'all']);
    const again = await b.ssh(['printenv', 'SSH_CONNECTION'], { family: 6, reject: false });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim().split(' ')[0]).toBe(b.adminV6);
    // while the unticked port is closed over IPv6 as over IPv4
    expect(await b.canConnect(8080, { family: 6 })).toBe(false);
    expect(await b.canConnect(8080)).toBe(false);
  }, 60_000);

  it('in the wizard at the console: a live countdown with the token and the command, and confirmation in place', async () => {
    // Given the wizard on the box's console (its own tmux, socket in the box's /run), 80x24
    const b = await newBox();
    const tmux = (args: readonly string[]) => b.exec('tmux', ['-S', BOX_TMUX, ...args], { env: { TERM: 'xterm' } });
    const screen = async () => (await tmux(['capture-pane', '-p', '-t', 'wiz'])).stdout;
    const waitFor = async (pattern: RegExp) => {
      let last = '';
      const ok = await eventually(async () => pattern.test((last = await screen())), 15_000, 100);
      if (!ok) throw new Error(`the wizard did not show ${String(pattern)}; last screen:\n${last}`);
      return last;
    };
    const press = async (key: string, then: RegExp) => {
      await tmux(['send-keys', '-t', 'wiz', key]);
      return waitFor(then);
    };
    await tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'wiz', '-x', '80', '-y', '24', process.execPath, BULWARK, '--confirm-timeout', '60', '--no-color']);
    await waitFor(/Press Enter to start/);

    // When the admin opens the firewall step, keeps the suggested ports and applies
    await press('Down', /› ○ 2\. Minimal exposure/);
    await press('Down', /› ○ 3\. Toll-fraud hardening/);
    await press('Down', /› ○ 4\. Default-deny firewall/);
    await press('Enter', /Why this matters[\s\S]*Enter continue/);
    await press('Enter', /What bulwark found/);
    await press('Enter', /Which ports should be open/);
    await press('Enter', /Rate-limit new SSH connections and SIP requests/);
    await press('Enter', /Also harden the network stack/);
    await press('Enter', /The changes, exactly as they will be made/);
    const guard = await press('a', /Prove you can still get in: \d+ s left/);

    // Then the screen shows the token, the exact command, and (at the console) confirmation in place
    const token = /sudo bulwark confirm ([a-z0-9]{4}-[a-z0-9]{4})/.exec(guard)?.[1];
    expect(token, guard).toBeDefined();
    expect(guard).toMatch(/You are at the console \(no SSH connection\)\. Press c to confirm here\./);
    expect((await status(b)).awaitingConfirmation?.token).toBe(token);
    // the countdown is live: the seconds go down while the admin reads
    const secondsLeft = (text: string) => Number(/(\d+) s left/.exec(text)?.[1] ?? NaN);
    const first = secondsLeft(guard);
    let later = guard;
    expect(await eventually(async () => secondsLeft((later = await screen())) < first, 5000, 100), later).toBe(true);
    expect(await exists(b, RULES_V4)).toBe(false);

    // When they press c
    await press('c', /Confirmed: the change stays\./);

    // Then the change is confirmed and saved for the boot
    const after = await status(b);
    expect(after.lastGuardedChange?.status).toBe('confirmed');
    expect(after.lastGuardedChange?.decidedBy).toContain('the console');
    expect(stepStatus(after, 'firewall')).toBe('confirmed');
    expect(await b.readFile(RULES_V4)).toContain(':BULWARK-INPUT - [0:0]');
    await tmux(['kill-server']);
  }, 60_000);
});
