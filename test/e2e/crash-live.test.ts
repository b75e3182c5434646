// A SIGKILL in the middle of a live change (issue 15), on a sandbox box with the real programs:
// bulwark kills itself at one of its failpoints (BULWARK_FAULT=kill@POINT, src/faults.ts) at the
// moments the box is half changed — Apache reloaded with the new configuration, fail2ban started,
// rules loaded into the kernel, kernel sets loaded, a rollback half done — and the next command that
// takes the lock must put everything back. What "back" means is read from the box, never from
// bulwark's word: the files byte for byte, `iptables-save` / `ip6tables-save`, `ipset list`, Apache's
// answer to curl, fail2ban's answer to ping, a new TCP connection.
// Each test builds its own box and destroys it afterwards: a crash leaves state behind by design,
// and no test may start from what another one left.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box, type RunResult } from '../helpers/sandbox.js';
import { atConsole, eventually, httpStatus, RULES_V4, RULES_V6, startApache, STATE_DIR, stopApache, tokenOf } from '../helpers/bulwark-in-box.js';

/** Exit status of a process killed by SIGKILL (128 + 9). */
const KILLED = 137;
const SETS_FILE = '/etc/iptables/ipsets';

function killAt(point: string): { env: Record<string, string> } {
  return { env: { BULWARK_FAULT: `kill@${point}` } };
}

/** What bulwark printed, for assertion messages. */
function output(result: RunResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** bulwark at the box's console, killed by its failpoint: it must really die there. */
async function killedAt(box: Box, point: string, args: readonly string[]): Promise<RunResult> {
  const result = await atConsole(box, args, killAt(point));
  expect(result.code, `bulwark ${args.join(' ')} with kill@${point}:\n${output(result)}`).toBe(KILLED);
  return result;
}

interface HistoryEntry {
  id: string;
  step: string | null;
  label: string;
  inEffect: boolean;
  interrupted: boolean;
  running: boolean;
  rolledBackAt: string | null;
}

async function history(box: Box): Promise<HistoryEntry[]> {
  const result = await atConsole(box, ['history', '--json']);
  expect(result.code, output(result)).toBe(0);
  return JSON.parse(result.stdout) as HistoryEntry[];
}

/** The one snapshot `history` shows as interrupted (status and history only read: they recover nothing). */
async function interruptedSnapshot(box: Box, step: string): Promise<string> {
  const entries = await history(box);
  const interrupted = entries.filter((e) => e.interrupted);
  expect(interrupted.map((e) => e.step), JSON.stringify(entries, null, 2)).toEqual([step]);
  return interrupted[0]!.id;
}

/**
 * A guarded apply killed before it handed over, undone by its dead-man switch: the first command
 * that reads the state (here `history`) records the switch's outcome — the snapshot restored, the
 * step rolled back and why — never "in effect", nor still "interrupted".
 */
async function undoneBySwitch(box: Box, step: string): Promise<string> {
  const entries = await history(box);
  const entry = entries.find((e) => e.step === step);
  expect(entry, JSON.stringify(entries, null, 2)).toMatchObject({ interrupted: false, inEffect: false, running: false });
  expect(entry!.rolledBackAt).not.toBeNull();
  const state = JSON.parse((await atConsole(box, ['status', '--json'])).stdout) as { interrupted: unknown; steps: { id: string; status: string; note?: string }[] };
  expect(state.interrupted).toBeNull();
  expect(state.steps.find((s) => s.id === step)).toMatchObject({ status: 'rolled-back', note: expect.stringContaining('the apply was interrupted before it finished: the dead-man switch on the box put the snapshot back at once') });
  return entry!.id;
}

/** `bulwark rollback SNAPSHOT --yes` of a snapshot already restored: nothing to do, exit 0. */
async function alreadyRestored(box: Box, id: string): Promise<void> {
  const next = await atConsole(box, ['rollback', id, '--yes']);
  expect(next.code, output(next)).toBe(0);
  expect(next.stdout, output(next)).toContain(`Snapshot ${id} is already restored`);
}

/**
 * The next command after the crash: `bulwark rollback SNAPSHOT --yes` for the interrupted snapshot.
 * Taking the lock, it finds the interrupted change and restores its snapshot; the rollback asked for
 * is then already done.
 */
async function rollbackAfterCrash(box: Box, kind: 'apply' | 'rollback', step: string, id: string): Promise<RunResult> {
  const next = await atConsole(box, ['rollback', id, '--yes']);
  expect(next.code, output(next)).toBe(0);
  const done = kind === 'apply' ? 'undone' : 'finished';
  expect(next.stderr, output(next)).toMatch(new RegExp(`^An interrupted ${kind} of ${step} \\(pid \\d+\\) was found and ${done}: snapshot ${id} restored; \\d+ restored, \\d+ removed\\.$`, 'm'));
  expect(next.stdout, output(next)).toContain(`Snapshot ${id} is already restored`);
  expect(next.stdout, output(next)).toContain('Nothing to do.');
  const entry = (await history(box)).find((e) => e.id === id);
  expect(entry, output(next)).toMatchObject({ interrupted: false, inEffect: false, running: false });
  expect(entry?.rolledBackAt, output(next)).not.toBeNull();
  return next;
}

/** Everything under a directory: each entry's type, mode, owner and link target, and each file's sha256. */
async function tree(box: Box, dir: string): Promise<string> {
  const script = 'cd "$1" && find . -printf "%p %y %m %U:%G %l\\n" | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2';
  return (await box.exec('sh', ['-c', script, 'sh', dir])).stdout;
}

/** Both families' rules as the kernel holds them: `iptables-save` without its comment lines and counters. */
async function kernelRules(box: Box): Promise<string> {
  const lines: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const saved = (await box.exec(tool, [])).stdout;
    lines.push(`## ${tool}`, ...saved.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1')));
  }
  return lines.join('\n') + '\n';
}

async function setNames(box: Box): Promise<string[]> {
  return (await box.exec('ipset', ['list', '-n'])).stdout.split('\n').filter(Boolean).sort();
}

async function exists(box: Box, file: string): Promise<boolean> {
  return (await box.exec('test', ['-e', file], { reject: false })).code === 0;
}

/** The files the firewall and geoblock steps save for boot (only once a change is confirmed): content, or null when absent. */
async function bootFiles(box: Box): Promise<Record<string, string | null>> {
  const files: Record<string, string | null> = {};
  for (const file of [RULES_V4, RULES_V6, SETS_FILE]) {
    const result = await box.exec('cat', ['--', file], { reject: false });
    files[file] = result.code === 0 ? result.stdout : null;
  }
  return files;
}

/**
 * Rules of the box's own in both families, as a real server has. Without them the box starts with no
 * filter table at all, and whatever touches it (a restore, fail2ban's stop) leaves an empty one with
 * ACCEPT policies: the same filtering, but not the same `iptables-save`, which these tests compare.
 */
async function ownRules(box: Box): Promise<void> {
  for (const tool of ['iptables', 'ip6tables']) {
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) await box.exec(tool, ['-P', chain, 'ACCEPT']);
    await box.exec(tool, ['-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
  }
}

describe('crash during a live change: htaccess and the Apache reload', () => {
  const PASSWORD = 'Correct-Horse-Battery-42';
  const APPLY = ['apply', '--step', 'htaccess', '--yes', '--answers', '/root/answers.json'];
  let box: Box | undefined;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/sbin/apache2': 'apache2', '/usr/bin/curl': 'curl', '/usr/bin/htpasswd': 'apache2-utils' });
    box = await createBox({ ssh: false });
    await box.writeFile('/var/www/html/a2billing/admin/index.html', '<html>A2Billing admin</html>\n');
    await box.writeFile('/root/ops.pw', `${PASSWORD}\n`, 0o600);
    await box.writeFile('/root/answers.json', JSON.stringify({ htaccess: { protect: ['/a2billing/admin'], users: [{ name: 'ops', passwordFile: '/root/ops.pw' }] } }), 0o600);
    await startApache(box);
  }, 60_000);

  afterEach(async () => {
    await stopApache(box);
    await box?.destroy();
    box = undefined;
  });

  /** Waits (Apache's reload is graceful) until the admin page answers `code`; returns what it answers then. */
  async function adminPage(b: Box, code: number, credentials?: string): Promise<number> {
    let seen = 0;
    await eventually(async () => (seen = await httpStatus(b, '/a2billing/admin/', credentials)) === code, 10_000);
    return seen;
  }

  it('killed right after Apache was reloaded with the protection: the next rollback reloads it with the old configuration, /etc/apache2 byte for byte as before', async () => {
    // Given Apache serving the admin page to anyone
    const b = box!;
    expect(await adminPage(b, 200)).toBe(200);
    const before = await tree(b, '/etc/apache2');

    // When the apply is killed just after `apache2 reload` (the last service action)
    await killedAt(b, 'after-service', APPLY);

    // Then the box is half changed: the running Apache already asks for the second login
    expect(await adminPage(b, 401)).toBe(401);
    expect(await tree(b, '/etc/apache2')).not.toBe(before);
    const id = await interruptedSnapshot(b, 'htaccess');

    // When the admin rolls that snapshot back
    await rollbackAfterCrash(b, 'apply', 'htaccess', id);

    // Then Apache runs the old configuration again: the page is open without credentials
    expect(await adminPage(b, 200)).toBe(200);
    // and every file, link, mode and owner under /etc/apache2 is as it was (bulwark's files gone)
    expect(await tree(b, '/etc/apache2')).toBe(before);
  }, 90_000);

  it('killed at the same moment: applying again undoes the interrupted apply first, then protects the page', async () => {
    // Given an apply killed after the Apache reload
    const b = box!;
    expect(await adminPage(b, 200)).toBe(200);
    await killedAt(b, 'after-service', APPLY);
    const id = await interruptedSnapshot(b, 'htaccess');

    // When the admin applies the step again
    const again = await atConsole(b, APPLY);

    // Then the interrupted apply is undone first, and the new one completes
    expect(again.code, output(again)).toBe(0);
    expect(again.stderr, output(again)).toMatch(new RegExp(`^An interrupted apply of htaccess \\(pid \\d+\\) was found and undone: snapshot ${id} restored;`, 'm'));
    // and Apache asks for the second login, and lets the right one in
    expect(await adminPage(b, 401)).toBe(401);
    expect(await adminPage(b, 401, 'ops:not-the-password')).toBe(401);
    expect(await adminPage(b, 200, `ops:${PASSWORD}`)).toBe(200);
    expect((await b.exec('htpasswd', ['-vb', '/etc/apache2/bulwark.htpasswd', 'ops', PASSWORD], { reject: false })).code).toBe(0);
    // and the history shows the interrupted snapshot restored and one change of htaccess in effect
    const entries = await history(b);
    expect(entries.find((e) => e.id === id)).toMatchObject({ inEffect: false, interrupted: false });
    expect(entries.filter((e) => e.step === 'htaccess' && e.inEffect).map((e) => e.id), JSON.stringify(entries, null, 2)).toHaveLength(1);
  }, 90_000);
});

describe('crash during a live change: ids and the fail2ban start', () => {
  const APPLY = ['apply', '--step', 'ids', '--yes', '--answers', '/root/answers.json'];
  let box: Box | undefined;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/bin/fail2ban-server': 'fail2ban', '/usr/sbin/ipset': 'ipset' });
    box = await createBox({ attacker: true });
    await ownRules(box);
    // The sshd jail only (no AIDE baseline: its `aide --init` is not what this test is about).
    await box.writeFile('/root/answers.json', JSON.stringify({ ids: { jails: ['sshd'], integrity: false } }), 0o600);
  }, 60_000);

  afterEach(async () => {
    await box?.exec('fail2ban-client', ['stop'], { reject: false, timeoutMs: 15_000 });
    await box?.destroy();
    box = undefined;
  });

  const fail2banAnswers = async (b: Box) => (await b.exec('fail2ban-client', ['ping'], { reject: false })).code === 0;

  it('killed right after fail2ban was started: the next rollback stops it, and its bans, set and rule leave the kernel with it', async () => {
    // Given a box where fail2ban is installed but not running, and the attacker reaches SSH
    const b = box!;
    expect(await fail2banAnswers(b)).toBe(false);
    const before = { files: await tree(b, '/etc/fail2ban'), rules: await kernelRules(b), sets: await setNames(b) };
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);

    // When the apply is killed just after `fail2ban start` (its only service action)
    await killedAt(b, 'after-service', APPLY);

    // Then the box is half changed: fail2ban runs bulwark's sshd jail, and bans with it (a ban by
    // hand: the bans from failed logins are ids.test.ts's; here what matters is that a ban puts
    // fail2ban's set and rule into the kernel, which the recovery must take out again)
    expect(await fail2banAnswers(b)).toBe(true);
    expect((await b.exec('fail2ban-client', ['status'])).stdout).toMatch(/Jail list:\s*sshd\s*$/m);
    const ban = await b.exec('fail2ban-client', ['set', 'sshd', 'banip', b.attackerV4!], { reject: false });
    expect(ban.code, ban.stdout + ban.stderr).toBe(0);
    const banned = await eventually(async () => (await b.exec('ipset', ['test', 'f2b-sshd', b.attackerV4!], { reject: false })).code === 0, 10_000);
    expect(banned, (await b.exec('fail2ban-client', ['status', 'sshd'], { reject: false })).stdout).toBe(true);
    expect(await kernelRules(b)).toContain('--match-set f2b-sshd src -j REJECT');
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(false);
    const id = await interruptedSnapshot(b, 'ids');

    // When the admin rolls that snapshot back
    await rollbackAfterCrash(b, 'apply', 'ids', id);

    // Then fail2ban is stopped again, as it was before the apply
    expect(await eventually(async () => !(await fail2banAnswers(b)), 15_000), 'fail2ban still answers ping').toBe(true);
    // and its rule and set left the kernel with it: the rules and the sets are as before
    expect(await kernelRules(b)).toBe(before.rules);
    expect(await setNames(b)).toEqual(before.sets);
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    // and fail2ban's configuration is as it was (bulwark's jail and action gone)
    expect(await tree(b, '/etc/fail2ban')).toBe(before.files);
  }, 120_000);
});

describe('crash during a live change: the firewall rules in the kernel', () => {
  let box: Box | undefined;

  beforeEach(async () => {
    requireSandboxTools();
    box = await createBox();
    await ownRules(box);
  }, 60_000);

  afterEach(async () => {
    await box?.destroy();
    box = undefined;
  });

  it('killed right after the rules were loaded: the dead-man switch, armed before the first write, puts the rules back by itself at once; the next command records it', async () => {
    // Given a box with rules of its own, the admin reaching SSH
    const b = box!;
    const before = await kernelRules(b);
    const files = await bootFiles(b);
    expect(await b.canConnect(22)).toBe(true);

    // When the apply is killed just after iptables-restore loaded bulwark's rules
    await killedAt(b, 'after-firewall', ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60']);

    // Then, with no bulwark running (the new rules might have locked the admin out), the switch on
    // the box sees the apply gone before it handed over, and puts both families' rules back
    expect(await eventually(async () => (await kernelRules(b)) === before, 10_000)).toBe(true);
    // (the switch says so once it has put back everything, the rules being the first)
    const said = /the apply ended before handing over: restored snapshot \S+ \(rolled-back\)/;
    expect(await eventually(async () => said.test(await b.readFile(`${STATE_DIR}/watchdog.log`)), 10_000)).toBe(true);
    expect(await b.readFile(`${STATE_DIR}/guard-${JSON.parse(await b.readFile(`${STATE_DIR}/guard.json`)).id}.decision`)).toBe('interrupted');
    const id = await undoneBySwitch(b, 'firewall');

    // When the admin rolls that snapshot back
    await alreadyRestored(b, id);

    // Then both families' rules are exactly as before (the box's own rule kept, bulwark's gone)
    expect(await kernelRules(b)).toBe(before);
    // and nothing was saved for boot, and the admin still opens new SSH connections
    expect(await bootFiles(b)).toEqual(files);
    expect(await b.canConnect(22)).toBe(true);
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
  }, 60_000);

  it('a failure once the rules are loaded: bulwark puts them back itself, and the switch that watched the apply leaves without a second restore', async () => {
    const b = box!;
    const before = await kernelRules(b);
    const failed = await atConsole(b, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60'], { env: { BULWARK_FAULT: 'fail@after-firewall' } });
    expect(failed.code, output(failed)).toBe(1);
    expect(failed.stderr).toContain('firewall: injected fault at after-firewall#1 (BULWARK_FAULT)');
    expect(await kernelRules(b)).toBe(before);
    // the switch's record says why it has nothing to do, and the switch leaves on its own
    const guard = JSON.parse(await b.readFile(`${STATE_DIR}/guard.json`)) as { id: string; status: string; decidedBy: string };
    expect(guard).toMatchObject({ status: 'rolled-back', decidedBy: 'the apply failed and bulwark put the snapshot back' });
    expect(await eventually(async () => /is no longer armed; leaving/.test(await b.readFile(`${STATE_DIR}/watchdog.log`)), 5000)).toBe(true);
    expect(await exists(b, `${STATE_DIR}/guard-${guard.id}.decision`)).toBe(false);
    expect(await exists(b, `${STATE_DIR}/guard-${guard.id}.outcome`)).toBe(false);
  }, 60_000);

  it.each([
    ['during-restore#1', 'one boot file put back, the kernel still holding bulwark\'s rules', 1, false],
    // (three boot files: the rules for IPv4 and IPv6, and the network kernel settings)
    ['during-restore#4', 'the boot files and the kernel\'s rules put back, the bookkeeping not done', 0, true],
  ])('killed during the rollback of a confirmed change (%s: %s): the next command finishes the rollback', async (point, _moment, bootFilesLeft, rulesBackAlready) => {
    // Given the firewall applied at the console and confirmed there, saved for boot
    const b = box!;
    const before = await kernelRules(b);
    const files = await bootFiles(b);
    expect(files[RULES_V4]).toBeNull();
    const applied = await atConsole(b, ['apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60']);
    expect(applied.code, output(applied)).toBe(0);
    const confirmed = await atConsole(b, ['confirm', tokenOf(applied)]);
    expect(confirmed.code, output(confirmed)).toBe(0);
    expect(await exists(b, RULES_V4)).toBe(true);
    const changed = await kernelRules(b);
    expect(changed).toMatch(/^:INPUT DROP$/m);

    // When its rollback is killed part way
    await killedAt(b, point, ['rollback', '--step', 'firewall', '--yes']);

    // Then the box is half rolled back
    const half = await bootFiles(b);
    expect([RULES_V4, RULES_V6].filter((file) => half[file] !== null), JSON.stringify(half)).toHaveLength(bootFilesLeft);
    expect(await kernelRules(b)).toBe(rulesBackAlready ? before : changed);
    const id = await interruptedSnapshot(b, 'firewall');

    // When the admin asks for that rollback again
    await rollbackAfterCrash(b, 'rollback', 'firewall', id);

    // Then the kernel's rules are as before the apply, the files saved for boot are gone again
    expect(await kernelRules(b)).toBe(before);
    expect(await bootFiles(b)).toEqual(files);
    // and the admin opens new SSH connections
    expect(await b.canConnect(22)).toBe(true);
    expect((await b.ssh(['true'], { reject: false })).code).toBe(0);
  }, 60_000);
});

describe('crash during a live change: geoblock\'s kernel sets and rules', () => {
  let box: Box | undefined;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/sbin/ipset': 'ipset' });
    box = await createBox({ attacker: true });
    await ownRules(box);
    // and a set of someone else's, used by a rule of theirs: a rollback must leave both alone
    await box.exec('ipset', ['create', 'other-set', 'hash:ip']);
    await box.exec('ipset', ['add', 'other-set', '198.51.100.7']);
    await box.exec('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '9998', '-m', 'set', '--match-set', 'other-set', 'src', '-j', 'ACCEPT']);
    await box.writeFile('/root/geo.json', JSON.stringify({ geoblock: { mode: 'allow', countries: ['GB', 'IE'], ports: [{ port: 22, proto: 'tcp' }, { port: 5060, proto: 'udp' }] } }), 0o600);
  }, 60_000);

  afterEach(async () => {
    await box?.destroy();
    box = undefined;
  });

  it.each([
    ['after-ipset', 'the sets loaded, the rules not yet'],
    ['after-firewall', 'the sets and the rules that use them loaded'],
  ])('killed at %s (%s): the next rollback takes bulwark\'s sets and rules out of the kernel', async (point) => {
    // Given the box's own set and rules, and an attacker (TEST-NET, in no allowed country) reaching SSH
    const b = box!;
    const before = { rules: await kernelRules(b), sets: await setNames(b), otherSet: (await b.exec('ipset', ['save', 'other-set'])).stdout, files: await bootFiles(b) };
    expect(before.sets).toEqual(['other-set']);
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);

    // When the apply is killed at that moment
    await killedAt(b, point, ['apply', '--step', 'geoblock', '--yes', '--answers', '/root/geo.json', '--confirm-timeout', '60']);

    // Then the dead-man switch, armed before the first write, puts the box back by itself at once:
    // bulwark's sets out of the kernel, the rules as before (nobody has to run bulwark again)
    expect(await eventually(async () => JSON.stringify(await setNames(b)) === JSON.stringify(before.sets) && (await kernelRules(b)) === before.rules, 10_000)).toBe(true);
    // (said once everything is back: the kernel's part comes first)
    expect(await eventually(async () => /the apply ended before handing over: restored snapshot \S+ \(rolled-back\)/.test(await b.readFile(`${STATE_DIR}/watchdog.log`)), 10_000)).toBe(true);
    const id = await undoneBySwitch(b, 'geoblock');

    // When the admin rolls that snapshot back
    await alreadyRestored(b, id);

    // Then bulwark's sets are gone and the other set is untouched
    expect(await setNames(b)).toEqual(before.sets);
    expect((await b.exec('ipset', ['save', 'other-set'])).stdout).toBe(before.otherSet);
    // and the rules are exactly as before: the attacker reaches SSH again
    expect(await kernelRules(b)).toBe(before.rules);
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    // and the files loaded at boot are as they were (nothing is saved before a confirmation)
    expect(await bootFiles(b)).toEqual(before.files);
  }, 60_000);
  it('killed during the rollback of a change still waiting for confirmation, between the rules and the sets: rolling back again finishes it', async () => {
    // Given geoblock applied at the console, its dead-man switch armed
    const b = box!;
    const before = { rules: await kernelRules(b), sets: await setNames(b), files: await bootFiles(b) };
    const applied = await atConsole(b, ['apply', '--step', 'geoblock', '--yes', '--answers', '/root/geo.json', '--confirm-timeout', '60']);
    expect(applied.code, output(applied)).toBe(0);
    tokenOf(applied);
    const id = (await history(b)).find((e) => e.step === 'geoblock')!.id;

    // When the admin's rollback is killed once the rules are put back (the first part restored:
    // an armed change's rollback has no file to put back, the files wait for the confirmation)
    await killedAt(b, 'during-restore#1', ['rollback', '--step', 'geoblock', '--yes']);

    // Then the rules are back but bulwark's sets are still in the kernel. (This rollback went through
    // the guard: claimed "expired", so the switch leaves; there is no in-flight record of the journal's.)
    expect(await kernelRules(b)).toBe(before.rules);
    expect(await setNames(b)).toEqual(['bulwark-geo4', 'bulwark-geo6', 'other-set']);

    // When the admin rolls that snapshot back again
    const again = await atConsole(b, ['rollback', id, '--yes']);

    // Then the sets are gone, the rules and boot files as before, the attacker reaches SSH again
    expect(again.code, output(again)).toBe(0);
    expect(await setNames(b)).toEqual(before.sets);
    expect(await kernelRules(b)).toBe(before.rules);
    expect(await bootFiles(b)).toEqual(before.files);
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    // and the change is recorded as rolled back, nothing waits for confirmation any more
    const entry = (await history(b)).find((e) => e.id === id);
    expect(entry?.rolledBackAt, output(again)).not.toBeNull();
    const state = JSON.parse((await atConsole(b, ['status', '--json'])).stdout) as { awaitingConfirmation: unknown; lastGuardedChange: { status: string } | null };
    expect(state.awaitingConfirmation).toBeNull();
    expect(state.lastGuardedChange?.status).toBe('rolled-back');
  }, 60_000);
});
