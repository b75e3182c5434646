// The wizard as an admin meets it: dist/bulwark.js in a real 80x24 terminal (tmux), driven one key
// at a time, against a copy of a fake box. Every test checks what ends up on disk, not only the screen.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULWARK, bulwark } from '../helpers/cli.js';
import { materializeFixture, removeFixture, snapshotTree, type FixtureName } from '../helpers/fixture.js';

const COLUMNS = 80;
const ROWS = 24;
/** Generous for a loaded 2-core CI machine; a screen that is right shows up in well under a second. */
const SCREEN_TIMEOUT_MS = 15_000;

/**
 * The wizard's environment. Ink renders nothing but the last frame when CI or CONTINUOUS_INTEGRATION is
 * set (is-in-ci), and CI runs this suite with CI=true: the admin's terminal never has it.
 */
function wizardEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  delete env.TMUX; // a developer running the suite inside tmux must not reach their own server
  return env;
}

/**
 * One tmux server of its own (its own socket), one window per run of the wizard. Every screen read
 * while waiting is kept, so a test can check all of them for width, tabs and secrets afterwards.
 */
class Terminal {
  readonly socket = `bulwark-test-${randomBytes(6).toString('hex')}`;
  readonly screens: string[] = [];
  private windows = 0;
  private target = '';

  private tmux(args: readonly string[]): string {
    // -f /dev/null: no user configuration; -u: UTF-8 out whatever the locale says.
    return execFileSync('tmux', ['-u', '-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: wizardEnv() });
  }

  /** Starts bulwark in a new window of exactly 80x24 and makes it the one keys go to. */
  start(args: readonly string[]): void {
    this.windows += 1;
    const name = `run${this.windows}`;
    const command = [process.execPath, BULWARK, ...args];
    if (this.windows === 1) {
      // remain-on-exit keeps a window whose program ended, so its last words and exit status can be read.
      this.tmux(['new-session', '-d', '-s', 'bulwark', '-x', String(COLUMNS), '-y', String(ROWS), '-n', name, ...command, ';', 'set-option', '-g', 'remain-on-exit', 'on', ';', 'set-option', '-g', 'default-size', `${COLUMNS}x${ROWS}`]);
    } else {
      this.tmux(['new-window', '-d', '-t', 'bulwark', '-n', name, ...command]);
    }
    this.target = `bulwark:${name}`;
    const size = this.tmux(['display-message', '-p', '-t', this.target, '#{pane_width}x#{pane_height}']).trim();
    if (size !== `${COLUMNS}x${ROWS}`) throw new Error(`the test terminal is ${size}, not ${COLUMNS}x${ROWS}`);
  }

  /** The visible screen; -J joins wrapped lines, so a row drawn wider than the terminal shows up as one long line. */
  capture(): string {
    const screen = this.tmux(['capture-pane', '-p', '-J', '-t', this.target]);
    if (this.screens[this.screens.length - 1] !== screen) this.screens.push(screen);
    return screen;
  }

  /** Polls the screen until it shows the pattern; the error carries the last screen seen. */
  async waitFor(pattern: RegExp | string, timeoutMs = SCREEN_TIMEOUT_MS): Promise<string> {
    const matches = (screen: string) => (typeof pattern === 'string' ? screen.includes(pattern) : pattern.test(screen));
    const deadline = Date.now() + timeoutMs;
    let screen = this.capture();
    while (!matches(screen)) {
      if (Date.now() > deadline) throw new Error(`the screen did not show ${String(pattern)} within ${timeoutMs} ms. Last screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      screen = this.capture();
    }
    return screen;
  }

  /** One key per call: keys sent together reach the program as one chunk. */
  press(key: string): void {
    this.tmux(['send-keys', '-t', this.target, key]);
  }

  /** Types text as it is (tmux send-keys -l: no key names). */
  type(text: string): void {
    this.tmux(['send-keys', '-t', this.target, '-l', text]);
  }

  /** Presses a key, then waits for the screen it should lead to. */
  async step(key: string, expected: RegExp | string): Promise<string> {
    this.press(key);
    return this.waitFor(expected);
  }

  /** The exit status of the program in the current window, once it has ended. */
  async exitStatus(timeoutMs = SCREEN_TIMEOUT_MS): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const server = Number(this.tmux(['display-message', '-p', '#{pid}']).trim());
    for (;;) {
      // A tmux built with libutempter can miss the SIGCHLD of a pane's program, which then stays a
      // zombie and the pane never reads as dead (tmux/tmux#311, #4559). Nudging our own server makes
      // it reap; the signal is harmless when nothing is waiting.
      process.kill(server, 'SIGCHLD');
      // tmux can see the terminal close a moment before it has the exit status: wait for both.
      const [dead = '', status = '', signal = ''] = this.tmux(['display-message', '-p', '-t', this.target, '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}']).trim().split(':');
      if (dead === '1' && signal !== '') throw new Error(`bulwark was killed by signal ${signal}. Screen:\n${this.capture()}`);
      if (dead === '1' && status !== '') return Number(status);
      if (Date.now() > deadline) throw new Error(`bulwark was still running ${timeoutMs} ms after it was asked to quit. Screen:\n${this.capture()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
  }
}

/** The lines of one section of an INI-style file ([mysqld], [general]), without the header. */
function section(text: string, name: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === `[${name}]`);
  if (start === -1) return [];
  const end = lines.findIndex((line, index) => index > start && /^\s*\[/.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** Column count of a screen row (every character bulwark draws is one column wide). */
const columns = (line: string) => [...line].length;

// Secrets that are in the fixtures' files (AMI, FreePBX and A2Billing passwords), and must never reach the screen.
const ELASTIX_SECRETS = ['elastix456', 'amp111'];
const DEBIAN_SECRETS = ['mycode', 'Vq7tR2xLm9Kp'];

/**
 * Every screen fits the terminal and shows no password. (tmux keeps a tab as the blanks it moved over,
 * so the tab check here is a backstop; test/unit/ui-components.test.tsx proves the expansion itself.)
 */
function expectScreensFitAndHideSecrets(screens: readonly string[], secrets: readonly string[]): void {
  expect(screens.length).toBeGreaterThan(0);
  for (const screen of screens) {
    for (const line of screen.split('\n')) {
      expect(columns(line), `row wider than ${COLUMNS} columns:\n${line}`).toBeLessThanOrEqual(COLUMNS);
      expect(line, 'a tab on screen').not.toContain('\t');
    }
    for (const secret of secrets) expect(screen, `secret "${secret}" on screen`).not.toContain(secret);
  }
}

/** Without tmux every test fails with this (never skips): the suite would otherwise prove nothing about the wizard. */
function requireTmux(): void {
  const probe = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('tmux is not installed: these tests drive the wizard in a real terminal through it. Install it (apt-get install tmux); `npm test` does so itself as root on Debian.');
  }
}

describe('the wizard in an 80x24 terminal', () => {
  let terminal: Terminal;
  const temporary: string[] = [];
  const fixtures: string[] = [];

  /** A fresh copy of a fixture box, and a state directory outside it. */
  async function box(name: FixtureName): Promise<{ root: string; state: string }> {
    const root = await materializeFixture(name);
    fixtures.push(root);
    const state = await mkdtemp(path.join(tmpdir(), 'bulwark-e2e-state-'));
    temporary.push(state);
    return { root, state };
  }

  async function pristine(name: FixtureName): Promise<string> {
    const root = await materializeFixture(name);
    fixtures.push(root);
    return root;
  }

  beforeEach(() => {
    terminal = new Terminal();
    requireTmux();
  });

  afterEach(async () => {
    terminal.kill();
    for (const dir of fixtures.splice(0)) await removeFixture(dir);
    for (const dir of temporary.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** home → why → facts → the checklist, checking each screen on the way. */
  /** Moves the step list's cursor down to step `n` (the list starts on the first step still to do). */
  async function cursorTo(n: number): Promise<string> {
    let screen = await terminal.waitFor('Press Enter to start');
    for (let at = Number(/› . (\d)\./.exec(screen)?.[1] ?? n); at < n; at++) screen = await terminal.step('Down', new RegExp(`› . ${at + 1}\\.`));
    return screen;
  }

  async function walkToChecklist(): Promise<string> {
    await cursorTo(2);
    // Enter works once the box has been looked at: the footer then offers it.
    await terminal.step('Enter', /Why this matters[\s\S]*Enter continue/);
    const facts = await terminal.step('Enter', 'What bulwark found');
    expect(facts).toMatch(/MySQL.*tcp\/3306.*EXPOSED/);
    expect(facts).toMatch(/Asterisk manager \(AMI\) tcp\/5038.*EXPOSED/);
    return terminal.step('Enter', 'Which services should answer on loopback (127.0.0.1) only?');
  }

  /** Unticks Postfix, the second item of the checklist. */
  async function untickPostfix(): Promise<void> {
    await terminal.step('Down', /› \[x\] Postfix/);
    await terminal.step('Space', /› \[ \] Postfix/);
  }

  /** Pages through the whole diff on the review screen and returns every line it showed. */
  async function readWholeReview(): Promise<string> {
    let screen = await terminal.waitFor('The changes, exactly as they will be made');
    const pages = [screen];
    for (;;) {
      const position = /lines (\d+)-(\d+) of (\d+)/.exec(screen);
      if (!position || position[2] === position[3]) break;
      screen = await terminal.step('PageDown', new RegExp(`lines (?!${position[1]}-)\\d+-\\d+ of ${position[3]}`));
      pages.push(screen);
    }
    return pages.join('\n');
  }

  it('a first-time admin binds MySQL and AMI to loopback and leaves Postfix alone', async () => {
    // Given the Elastix box, whose files hold the AMI and FreePBX passwords
    const { root, state } = await box('elastix-centos5');
    const fixtureRoot = await pristine('elastix-centos5');
    const originalMyCnf = await readFile(path.join(root, 'etc/my.cnf'), 'utf8');
    const originalManager = await readFile(path.join(root, 'etc/asterisk/manager.conf'), 'utf8');
    const secretsOnDisk = (await readFile(path.join(root, 'etc/asterisk/manager.conf'), 'utf8')) + (await readFile(path.join(root, 'etc/amportal.conf'), 'utf8'));
    for (const secret of ELASTIX_SECRETS) expect(secretsOnDisk).toContain(secret);

    // When the admin walks to the checklist, unticks Postfix and accepts
    terminal.start(['--root', root, '--state-dir', state]);
    const home = await terminal.waitFor('Press Enter to start');
    // The list starts on step 1, the minimal installation; every step is built
    expect(home).toMatch(/› ○ 1\. Minimal installation\s+elastix-extras\s+pending/);
    expect(home).toMatch(/○ 2\. Minimal exposure\s+exposure\s+pending/);
    expect(home).toMatch(/3\. Toll-fraud hardening\s+voip\s+pending/);
    expect(home).toMatch(/9\. Certificates\s+ssl\s+pending/);
    expect(home).toMatch(/10\. Security updates\s+updates\s+pending/);
    // CentOS 5 is past its end of support: the first screen says so (from shipped dates, no yum)
    expect(home).toContain('CentOS 5 has had no security updates since 2017-03-31');
    expect(home).not.toContain('coming in a later version'); // every step is built
    const checklist = await walkToChecklist();
    expect(checklist).toMatch(/› \[x\] MySQL/);
    expect(checklist).toMatch(/\[x\] Postfix/);
    expect(checklist).toMatch(/\[x\] Asterisk manager/);
    await untickPostfix();
    terminal.press('Enter');

    // Then the review shows the two files, and nothing about Postfix
    const review = await readWholeReview();
    expect(review).toContain('+++ b/etc/my.cnf');
    expect(review).toContain('+++ b/etc/asterisk/manager.conf');
    expect(review).toContain('+bind-address = 127.0.0.1');
    expect(review).toContain('+bindaddr = 127.0.0.1');
    expect(review).not.toMatch(/postfix/i);

    // When they apply
    const result = await terminal.step('a', /Minimal exposure: applied and verified \(snapshot \S+\)/);
    expect(result).toContain('✔ MySQL / MariaDB: config binds 127.0.0.1');
    expect(result).toContain('✔ Asterisk manager (AMI): config binds 127.0.0.1');
    expect(result).not.toContain('✘');

    // Then on disk: one line added under [mysqld], one value changed under [general], main.cf untouched
    const myCnf = await readFile(path.join(root, 'etc/my.cnf'), 'utf8');
    expect(section(myCnf, 'mysqld')).toContain('bind-address = 127.0.0.1');
    expect(myCnf.replace('bind-address = 127.0.0.1\n', '')).toBe(originalMyCnf);
    const manager = await readFile(path.join(root, 'etc/asterisk/manager.conf'), 'utf8');
    expect(section(manager, 'general')).toContain('bindaddr = 127.0.0.1');
    expect(manager.replace('bindaddr = 127.0.0.1', 'bindaddr = 0.0.0.0')).toBe(originalManager);
    const mainCf = await readFile(path.join(root, 'etc/postfix/main.cf'));
    expect(mainCf.equals(await readFile(path.join(fixtureRoot, 'etc/postfix/main.cf')))).toBe(true);

    // And back home the step reads as applied
    const after = await terminal.step('Enter', /✔ 2\. Minimal exposure\s+exposure\s+applied/);
    expect(after).toMatch(/Next: Toll-fraud hardening\. Press Enter to start/);

    // And no screen on the way was wider than the terminal, held a tab, or showed a password
    expectScreensFitAndHideSecrets(terminal.screens, ELASTIX_SECRETS);
  });

  it('quitting on the review and starting again resumes with the earlier choices', async () => {
    // Given an admin who unticked Postfix, reached the review and pressed q
    const { root, state } = await box('elastix-centos5');
    const before = await snapshotTree(root);
    terminal.start(['--root', root, '--state-dir', state]);
    await walkToChecklist();
    await untickPostfix();
    await terminal.step('Enter', 'The changes, exactly as they will be made');
    terminal.press('q');

    // Then bulwark ends cleanly, says the progress is kept, and has changed nothing on the box
    expect(await terminal.exitStatus()).toBe(0);
    await terminal.waitFor('Progress is saved');
    expect(await snapshotTree(root)).toEqual(before);

    // When they start it again
    terminal.start(['--root', root, '--state-dir', state]);

    // Then they are welcomed back, and the checklist still has Postfix unticked
    const home = await terminal.waitFor('Welcome back');
    expect(home).toMatch(/› . 2\. Minimal exposure/);
    const checklist = await walkToChecklist();
    expect(checklist).toMatch(/› \[x\] MySQL/);
    expect(checklist).toMatch(/\[ \] Postfix/);
    expect(checklist).toMatch(/\[x\] Asterisk manager/);

    expectScreensFitAndHideSecrets(terminal.screens, ELASTIX_SECRETS);
  });

  it('undo from the step list puts the box back byte for byte', async () => {
    // Given the exposure step applied with the default choices
    const { root, state } = await box('elastix-centos5');
    const pristineTree = await snapshotTree(await pristine('elastix-centos5'));
    expect(await snapshotTree(root)).toEqual(pristineTree);
    terminal.start(['--root', root, '--state-dir', state]);
    await walkToChecklist();
    await terminal.step('Enter', 'The changes, exactly as they will be made');
    await terminal.step('a', 'applied and verified');
    // Back home the cursor offers the next step (toll-fraud hardening); the admin moves up to the applied one.
    await terminal.step('Enter', /› ○ 3\. Toll-fraud hardening/);
    await terminal.step('Up', /› ✔ 2\. Minimal exposure\s+exposure\s+applied/);
    expect(await snapshotTree(root)).not.toEqual(pristineTree);

    // When the admin presses u on the step and confirms
    const confirm = await terminal.step('u', 'Undo exposure?');
    expect(confirm).toContain('/etc/my.cnf');
    expect(confirm).toContain('/etc/asterisk/manager.conf');
    expect(confirm).toContain('/etc/postfix/main.cf');
    const result = await terminal.step('y', 'exposure: rolled back.');
    expect(result).not.toContain('FAILED');

    // Then every file is as it was: content, mode, owner and links
    expect(await snapshotTree(root)).toEqual(pristineTree);
    await terminal.step('Enter', /2\. Minimal exposure\s+exposure\s+rolled-back/);

    expectScreensFitAndHideSecrets(terminal.screens, ELASTIX_SECRETS);
  });

  it('after a crash in the middle of an apply, the wizard starts by putting the box back and says so', async () => {
    // Given an apply killed (SIGKILL) right after its first write: the box is half-changed
    const { root, state } = await box('elastix-centos5');
    const pristineTree = await snapshotTree(await pristine('elastix-centos5'));
    const crashed = await bulwark(['apply', '--step', 'exposure', '--yes', '--root', root, '--state-dir', state], { env: { BULWARK_FAULT: 'kill@after-write' } });
    expect(crashed.signal).toBe('SIGKILL');
    expect(await snapshotTree(root)).not.toEqual(pristineTree);

    // When the admin starts the wizard
    terminal.start(['--root', root, '--state-dir', state]);

    // Then it tells them what happened, the box is as before, and the step can be run again
    const home = await terminal.waitFor(/bulwark\s+was\s+interrupted\s+during\s+an\s+apply\s+of\s+exposure/);
    expect(home).toMatch(/nothing\s+is\s+left\s+half-done/);
    expect(home).toMatch(/2\. Minimal exposure\s+exposure\s+rolled-back/);
    expect(await snapshotTree(root)).toEqual(pristineTree);
    await walkToChecklist();

    expectScreensFitAndHideSecrets(terminal.screens, ELASTIX_SECRETS);
  });

  it('on Debian 12 it edits the MariaDB file the symlinks lead to, and keeps the symlinks', async () => {
    // Given the Debian box, where my.cnf is a chain of symlinks managed by update-alternatives
    const { root, state } = await box('debian12-a2billing');
    const fixtureRoot = await pristine('debian12-a2billing');
    const links = ['etc/mysql/my.cnf', 'etc/alternatives/my.cnf'];
    const targets = await Promise.all(links.map((link) => readlink(path.join(fixtureRoot, link))));
    const serverCnf = 'etc/mysql/mariadb.conf.d/50-server.cnf';
    const originalServer = await readFile(path.join(root, serverCnf), 'utf8');
    expect(originalServer).toContain('bind-address            = 0.0.0.0\n');
    const secretsOnDisk = (await readFile(path.join(root, 'etc/asterisk/manager.conf'), 'utf8')) + (await readFile(path.join(root, 'etc/a2billing.conf'), 'utf8'));
    for (const secret of DEBIAN_SECRETS) expect(secretsOnDisk).toContain(secret);

    // When the admin applies the step with the choices it suggests
    terminal.start(['--root', root, '--state-dir', state]);
    await walkToChecklist();
    const review = await terminal.step('Enter', 'The changes, exactly as they will be made');
    expect(review).toContain(`+++ b/${serverCnf}`);
    await terminal.step('a', 'applied and verified');

    // Then the one line changed, its alignment kept
    const server = await readFile(path.join(root, serverCnf), 'utf8');
    expect(section(server, 'mysqld')).toContain('bind-address            = 127.0.0.1');
    expect(server.replace('bind-address            = 127.0.0.1\n', 'bind-address            = 0.0.0.0\n')).toBe(originalServer);

    // And the symlinks are still symlinks, to the same targets
    for (const [index, link] of links.entries()) {
      const stat = await lstat(path.join(root, link));
      expect(stat.isSymbolicLink(), `${link} is still a symlink`).toBe(true);
      expect(await readlink(path.join(root, link))).toBe(targets[index]);
    }

    expectScreensFitAndHideSecrets(terminal.screens, DEBIAN_SECRETS);
  });

  it('toll-fraud hardening: explained for a first-time admin, asks about guests, writes only the file FreePBX leaves alone, and shows no secret', async () => {
    // Given the Elastix box (stock AMI secret, an extension whose secret is its number)
    const { root, state } = await box('elastix-centos5');
    terminal.start(['--root', root, '--state-dir', state]);
    await cursorTo(3);
    const why = await terminal.step('Enter', /Why this matters[\s\S]*Enter continue/);
    expect(why).toMatch(/Toll fraud/);
    const found = await terminal.step('Enter', 'What bulwark found');
    expect(found).toMatch(/chan_sip\s+\d+ peer\(s\)/);
    expect(found).toMatch(/Findings\s+\d+ high/);
    await terminal.step('Enter', /Must anyone call this PBX by its SIP address without an account/);
    const review = await terminal.step('Enter', 'The changes, exactly as they will be made');
    expect(review).toContain('sip_general_custom.conf');
    expect(review).not.toContain('sip_additional.conf');
    await terminal.step('a', 'applied and verified');
    expect(await readFile(path.join(root, 'etc/asterisk/sip_general_custom.conf'), 'utf8')).toMatch(/^useragent=PBX$/m);
    expectScreensFitAndHideSecrets(terminal.screens, [...ELASTIX_SECRETS, 'secret=100', 'k7Qv2mX9pL']);
  });

  it('a second login: the password is typed hidden, hashed into the file, and shown nowhere', async () => {
    // Given the Debian box, where A2Billing's admin pages are in the docroot
    const { root, state } = await box('debian12-a2billing');
    const password = 'Typed-In-The-Wizard-77';
    terminal.start(['--root', root, '--state-dir', state]);
    await cursorTo(7);
    await terminal.step('Enter', /Why this matters[\s\S]*Enter continue/);
    await terminal.step('Enter', 'What bulwark found');
    // The admin pages found are suggested
    const pages = await terminal.step('Enter', 'Which pages should ask for a second login?');
    expect(pages).toMatch(/\[x\] \/a2billing\/admin/);
    await terminal.step('Enter', 'User name for the second login');
    terminal.type('ops');
    await terminal.step('Enter', 'Its password');
    // When the admin types the password, the screen shows dots only
    terminal.type(password);
    const typed = await terminal.waitFor('•'.repeat(password.length));
    expect(typed).not.toContain(password);
    const review = await terminal.step('Enter', 'The changes, exactly as they will be made');
    expect(review).toContain('<redacted>');
    await terminal.step('a', 'applied and verified');

    // Then the file holds the bcrypt hash, and the password is in no screen and nowhere in the state dir
    expect(await readFile(path.join(root, 'etc/apache2/bulwark.htpasswd'), 'utf8')).toMatch(/^ops:\$2y\$12\$/);
    const stateFiles = spawnSync('grep', ['-r', '-l', password, state], { encoding: 'utf8' }).stdout.trim();
    expect(stateFiles).toBe('');
    expectScreensFitAndHideSecrets(terminal.screens, [password]);
  });
});
