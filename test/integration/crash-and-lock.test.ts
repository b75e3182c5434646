// A crash in the middle of an apply, and two bulwarks at once — with real processes.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULWARK, bulwark } from '../helpers/cli.js';
import { materializeFixture, removeFixture, snapshotTree } from '../helpers/fixture.js';

let root: string;
let state: string;
let wizard: ChildProcess | null = null;

beforeEach(async () => {
  root = await materializeFixture('elastix-centos5');
  state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-'));
});

afterEach(async () => {
  if (wizard?.pid && wizard.exitCode === null) {
    process.kill(wizard.pid, 'SIGKILL');
    await new Promise((resolve) => wizard!.once('exit', resolve));
  }
  wizard = null;
  await removeFixture(root);
  await removeFixture(state);
});

const g = () => ['--root', root, '--state-dir', state];

describe('a crash in the middle of an apply', () => {
  it('history shows the interrupted change as such, never in effect; a rollback to its snapshot recovers and says it is done (exit 0)', async () => {
    const pristine = await snapshotTree(root);
    const crashed = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()], { env: { BULWARK_FAULT: 'kill@after-write' } });
    expect(crashed.signal).toBe('SIGKILL');
    const history = JSON.parse((await bulwark(['history', '--json', ...g()])).stdout) as { id: string; inEffect: boolean; interrupted: boolean }[];
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ inEffect: false, interrupted: true });
    const text = await bulwark(['history', '--no-color', ...g()]);
    expect(text.stdout).toMatch(/interrupted \(apply by pid \d+\): the next `bulwark apply`, `rollback` or the wizard restores it/);
    expect(text.stdout).not.toContain('in effect');

    // The admin asks for exactly the state before that apply
    const rollback = await bulwark(['rollback', history[0]!.id, '--yes', '--no-color', ...g()]);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(rollback.stderr).toMatch(/An interrupted apply of exposure \(pid \d+\) was found and undone/);
    expect(rollback.stdout).toContain(`Snapshot ${history[0]!.id} is already restored`);
    expect(await snapshotTree(root)).toEqual(pristine);
    // and asking again is just as fine
    const again = await bulwark(['rollback', history[0]!.id, '--yes', '--no-color', ...g()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do.');
    const after = JSON.parse((await bulwark(['history', '--json', ...g()])).stdout) as { interrupted: boolean; rolledBackAt: string | null }[];
    expect(after[0]).toMatchObject({ interrupted: false });
    expect(after[0]!.rolledBackAt).not.toBeNull();
  });

  it('is recovered on the next start: the tree is as before, and the journal says what happened', async () => {
    const pristine = await snapshotTree(root);

    // When bulwark is killed (SIGKILL: no handler runs) right after its first write...
    const crashed = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()], { env: { BULWARK_FAULT: 'kill@after-write' } });
    expect(crashed.signal).toBe('SIGKILL');
    // ...the box is half-changed: exactly one of the three files was written.
    expect(await snapshotTree(root)).not.toEqual(pristine);

    // status (read-only) sees the interrupted apply and says it will be recovered.
    const status = await bulwark(['status', ...g()]);
    expect(status.stdout).toMatch(/An apply of exposure was interrupted \(pid \d+\)/);
    expect(await snapshotTree(root)).not.toEqual(pristine);

    // The next start that may write recovers first: here an apply that has nothing to do.
    const answers = path.join(state, 'answers.json');
    await fs.writeFile(answers, JSON.stringify({ exposure: { loopbackOnly: [] } }));
    const next = await bulwark(['apply', '--step', 'exposure', '--yes', '--answers', answers, ...g()]);
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/An interrupted apply of exposure \(pid \d+\) was found and undone/);
    expect(await snapshotTree(root)).toEqual(pristine);

    const after = JSON.parse((await bulwark(['status', '--json', ...g()])).stdout);
    expect(after.interrupted).toBeNull();
    expect(after.steps.find((s: { id: string }) => s.id === 'exposure')).toMatchObject({ status: 'rolled-back' });

    // And a normal apply then works from the clean state. (The journal now remembers the empty
    // choice made above, so this run names its choice again.)
    await fs.writeFile(answers, JSON.stringify({ exposure: { loopbackOnly: ['mysql', 'postfix', 'asterisk-ami'] } }));
    expect((await bulwark(['apply', '--step', 'exposure', '--yes', '--answers', answers, ...g()])).code).toBe(0);
    expect(await fs.readFile(path.join(root, 'etc/postfix/main.cf'), 'utf8')).toContain('inet_interfaces = loopback-only');
  });
});

describe('one bulwark at a time', () => {
  it('a second bulwark gets a clear message while the wizard runs, and goes ahead once it has left', async () => {
    // The wizard needs a terminal: give it a pty with script(1).
    const command = [process.execPath, BULWARK, ...g()].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
    wizard = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', COLUMNS: '80', LINES: '24' } });
    let screen = '';
    wizard.stdout!.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const deadline = Date.now() + 20_000;
    while (!screen.includes('Minimal exposure') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(screen).toContain('Minimal exposure');

    const pristine = await snapshotTree(root);
    const second = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/Another bulwark is running \(pid \d+, `bulwark wizard`, since .*\)\./);
    expect(second.stderr).toMatch(/If it is stuck, stop it with `kill \d+`/);
    expect(await snapshotTree(root)).toEqual(pristine);

    // Read-only commands still work and say who holds the lock.
    const status = await bulwark(['status', ...g()]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/A bulwark is running now: pid \d+ \(`bulwark wizard`\)/);

    // The admin leaves the wizard with q; then the second one may go.
    wizard.stdin!.write('q');
    await new Promise((resolve) => wizard!.once('exit', resolve));
    expect((await bulwark(['apply', '--step', 'exposure', '--yes', ...g()])).code).toBe(0);
  });

  it('a lock left by a killed bulwark is taken over', async () => {
    const crashed = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()], { env: { BULWARK_FAULT: 'kill@after-write' } });
    expect(crashed.signal).toBe('SIGKILL');
    await expect(fs.access(path.join(state, 'lock'))).resolves.toBeUndefined(); // SIGKILL left it behind
    const next = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()]);
    expect(next.code).toBe(0);
    await expect(fs.access(path.join(state, 'lock'))).rejects.toThrow();
  });
});

describe('signals during an apply', () => {
  it.each(['SIGHUP', 'SIGTERM', 'SIGINT'] as const)('%s mid-transaction is held until the change is complete', async (signal) => {
    // Given an apply that is between its first and second write...
    const child = spawn(process.execPath, [BULWARK, 'apply', '--step', 'exposure', '--yes', ...g()], { env: { ...process.env, BULWARK_FAULT: 'pause@after-write', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 20_000;
    // (the first write's line: the apply then pauses four seconds after that write, BULWARK_FAULT)
    while (!/^ {2}write\s+\//m.test(output) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(output).toMatch(/^ {2}write\s+\//m);

    // ...when the terminal hangs up, or the process is asked to stop...
    child.kill(signal);
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })));

    // ...then it stops only after finishing: every file written and verified, the journal committed,
    // and it ends as a process stopped by that signal would (128 + the signal's number).
    expect(ended.code, `signal ${String(ended.signal)}; stdout:\n${output}\nstderr:\n${stderr}`).toBe(128 + os.constants.signals[signal]);
    expect(stderr).toContain(`stopped by ${signal} after finishing the change in progress`);
    expect(output).toContain('exposure: applied');
    expect(await fs.readFile(path.join(root, 'etc/my.cnf'), 'utf8')).toContain('bind-address = 127.0.0.1');
    expect(await fs.readFile(path.join(root, 'etc/postfix/main.cf'), 'utf8')).toContain('inet_interfaces = loopback-only');
    const status = JSON.parse((await bulwark(['status', '--json', ...g()])).stdout);
    expect(status.interrupted).toBeNull();
    expect(status.steps.find((s: { id: string }) => s.id === 'exposure').status).toBe('applied');
  });
});

describe('a failure at any phase of an apply', () => {
  it('is rolled back at once: exit 1, the cause named, the tree as before, the step marked failed', async () => {
    const pristine = await snapshotTree(root);
    const trace = path.join(state, 'trace');
    const clean = await bulwark(['apply', '--step', 'exposure', '--yes', '--root', root, '--state-dir', path.join(state, 'traced')], { env: { BULWARK_FAULT_TRACE: trace } });
    expect(clean.code).toBe(0);
    const moments = (await fs.readFile(trace, 'utf8')).split('\n').filter((m) => m !== '' && !m.startsWith('after-commit'));
    expect(moments).toEqual(expect.arrayContaining(['after-snapshot#1', 'after-write#3', 'after-validate#1', 'after-service#1', 'during-verify#1']));
    // the traced run changed its root: start each try from a fresh copy of the fixture
    await removeFixture(root);
    for (const moment of moments) {
      root = await materializeFixture('elastix-centos5');
      const failed = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()], { env: { BULWARK_FAULT: `fail@${moment}` } });
      expect(failed.code, `${moment}: ${failed.stdout}\n${failed.stderr}`).toBe(1);
      expect(failed.stderr).toContain(`exposure: injected fault at ${moment} (BULWARK_FAULT)`);
      expect(failed.stderr).toMatch(/exposure: rolled back to snapshot \S+/);
      expect(await snapshotTree(root), moment).toEqual(pristine);
      const status = JSON.parse((await bulwark(['status', '--json', ...g()])).stdout);
      expect(status.interrupted, moment).toBeNull();
      expect(status.steps.find((s: { id: string }) => s.id === 'exposure').status, moment).toBe('failed');
      await removeFixture(root);
    }
    root = await materializeFixture('elastix-centos5');
  });
});
