// The SSH side of remote mode: the system's OpenSSH client (so ~/.ssh/config, the agent, jump hosts
// and known_hosts work as the admin has them), one multiplexed master connection per run
// (ControlMaster in a private 0700 directory, closed at exit), BatchMode so ssh never asks for a
// password, and commands sent as argv quoted for the box's POSIX shell — never a shell string built
// from the admin's input.
import type { ChildProcess } from 'node:child_process';
import { childProcess } from '../builtins.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { shellQuote } from '../shell.js';
import { describeTarget, type RemoteTarget } from './target.js';

export interface ExecOptions {
  /** Written to the command's stdin (then closed). */
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
  /** Run as root through `sudo -n` when the login user is not root (default true). */
  readonly privileged?: boolean;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** What the first connection learnt about the box. */
export interface BoxSession {
  /** SSH_CONNECTION as the box sees this connection: the client address after any NAT. */
  readonly sshConnection: string;
  readonly uid: number;
  readonly sudo: boolean;
  /** The login user's name on the box. */
  readonly user: string;
}

export { shellQuote };

/** Below sshd's default MaxSessions (10), leaving room for the lock keeper and a fresh check. */
const MAX_SESSIONS = 8;

export class SshTransport {
  private readonly controlDir: string;
  private session: BoxSession | null = null;
  /** Connections made (each exec through the master is one round trip; the bench counts them). */
  roundTrips = 0;

  constructor(readonly target: RemoteTarget) {
    // mkdtemp makes the directory 0700: only this user can reach the control socket.
    this.controlDir = mkdtempSync(path.join(tmpdir(), 'bulwark-ssh-'));
  }

  /** ssh's arguments: through the master (multiplexed), or a connection of its own. */
  private baseArgs(how: { multiplexed: boolean; port?: number | null } = { multiplexed: true }): string[] {
    const args = how.multiplexed
      ? [
          '-o', 'ControlMaster=auto',
          '-o', `ControlPath=${path.join(this.controlDir, 'master')}`,
          // A master whose run died (SIGKILL) goes away by itself after five idle minutes.
          '-o', 'ControlPersist=300',
        ]
      : ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'];
    args.push('-o', 'BatchMode=yes', '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4', '-o', 'LogLevel=ERROR');
    for (const option of this.target.options) args.push('-o', option);
    const port = how.port === undefined ? this.target.port : how.port;
    if (port !== null) args.push('-p', String(port));
    if (this.target.user !== null) args.push('-l', this.target.user);
    return args;
  }

  /** Opens the master connection and learns who we are on the box. Throws a UserError the admin can act on. */
  async open(): Promise<BoxSession> {
    if (this.session) return this.session;
    const probe = 'printf "%s\\n" "${SSH_CONNECTION:-}"; id -u; if command -v sudo >/dev/null 2>&1; then echo sudo; else echo nosudo; fi; id -un';
    const result = await this.spawnSsh([...this.baseArgs(), '--', this.target.host, probe], {});
    if (result.code !== 0) throw connectionError(this.target, result.code, result.stderr);
    const [sshConnection = '', uid = '', sudo = '', user = ''] = result.stdout.toString('utf8').split('\n');
    this.session = { sshConnection: sshConnection.trim(), uid: Number(uid.trim()), sudo: sudo.trim() === 'sudo', user: user.trim() };
    if (this.session.uid !== 0) {
      const check = await this.spawnSsh([...this.baseArgs(), '--', this.target.host, 'sudo -n true'], {});
      if (!this.session.sudo || check.code !== 0) {
        throw new UserError(
          `${describeTarget(this.target)}: logged in as uid ${this.session.uid}, and sudo -n cannot make this user root (${check.stderr.trim().split('\n').pop() || 'sudo is not installed'}).`,
          'Log in as root (--host root@HOST), or allow this user sudo without a password for bulwark\'s commands.',
        );
      }
    }
    return this.session;
  }

  /** Runs argv on the box (as root: directly, or through sudo -n). */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const session = await this.open();
    const privileged = options.privileged !== false && session.uid !== 0;
    const command = [...(privileged ? ['sudo', '-n', '--'] : []), ...argv].map(shellQuote).join(' ');
    const result = await this.spawnSsh([...this.baseArgs(), '--', this.target.host, `exec ${command}`], options);
    // 255 is ssh's own failure (the connection), never the command's.
    if (result.code === 255 && /^(ssh|mux_client|Control socket|ssh_exchange|kex_exchange|Connection)/m.test(result.stderr)) throw connectionError(this.target, result.code, result.stderr);
    return result;
  }

  /**
   * Starts argv on the box through the master and returns at once: its stdin stays open until the
   * caller ends it (the lock keeper lives exactly that long). open() must have run.
   */
  spawnExec(argv: readonly string[]): ChildProcess {
    if (!this.session) throw new Error('bug: spawnExec before open()');
    const privileged = this.session.uid !== 0;
    const command = [...(privileged ? ['sudo', '-n', '--'] : []), ...argv].map(shellQuote).join(' ');
    this.roundTrips++;
    return childProcess().spawn('ssh', [...this.baseArgs(), '--', this.target.host, `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /**
   * A NEW connection, not through the master (a fresh TCP connection and login), as the proof of
   * access a guarded change asks for; `port` is the one the change expects.
   */
  async freshExec(argv: readonly string[], options: ExecOptions & { port?: number } = {}): Promise<ExecResult> {
    const command = argv.map(shellQuote).join(' ');
    return this.spawnSsh([...this.baseArgs({ multiplexed: false, port: options.port }), '--', this.target.host, `exec ${command}`], options);
  }

  /** Closes the master connection and removes the private directory. */
  async close(): Promise<void> {
    if (this.session) await this.spawnSsh([...this.baseArgs(), '-O', 'exit', '--', this.target.host], { timeoutMs: 10_000 }).catch(() => undefined);
    this.session = null;
    rmSync(this.controlDir, { recursive: true, force: true });
  }

  /**
   * sshd opens at most 10 sessions on one connection (MaxSessions): steps detect concurrently, so
   * commands through the master wait for a free one beyond that.
   */
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  private async spawnSsh(args: readonly string[], options: ExecOptions): Promise<ExecResult> {
    while (this.running >= MAX_SESSIONS) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await this.spawnSshNow(args, options);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private spawnSshNow(args: readonly string[], options: ExecOptions): Promise<ExecResult> {
    this.roundTrips++;
    // BULWARK_TRACE_SSH=1: one line per round trip on stderr (the benchmark counts them).
    const t0 = Date.now();
    const trace = process.env.BULWARK_TRACE_SSH ? (code: number) => process.stderr.write(`bulwark-ssh #${this.roundTrips} @${Math.round(performance.now())} ${Date.now() - t0} ms exit ${code}: ${describeRemote(args.at(-1) ?? '')}\n`) : null;
    return new Promise((resolve, reject) => {
      const child = childProcess().spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : null;
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdin.on('error', () => undefined); // a command that does not read its input
      child.stdin.end(options.input ?? '');
      child.on('error', (error) => {
        if (timer) clearTimeout(timer);
        reject((error as { code?: string }).code === 'ENOENT' ? new UserError('ssh (the OpenSSH client) is not installed on this machine.', 'Install it (apt-get install openssh-client) to use --host.') : error);
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        trace?.(code ?? -1);
        resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') });
      });
    });
  }
}

/** A remote command line in one short line: the helper's script is replaced by its operation. */
function describeRemote(command: string): string {
  const helper = /bulwark-helper (.*)$/s.exec(command);
  return (helper ? `helper ${helper[1]}` : command).replace(/\s+/g, ' ').slice(0, 120);
}

/** One clear message for each way a connection fails; nothing was changed on the box. */
export function connectionError(target: RemoteTarget, code: number, stderr: string): UserError {
  const box = describeTarget(target);
  const last = stderr.trim().split('\n').filter(Boolean).pop() ?? `ssh exited ${code}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i.test(stderr)) {
    return new UserError(`${box}: the box's host key is not the one known_hosts expects (${last}).`, 'If the box was reinstalled, check its new key out of band, then update known_hosts (ssh-keygen -R HOST). Nothing was changed.', 2);
  }
  if (/Permission denied|Too many authentication failures/i.test(stderr)) {
    return new UserError(`${box}: the box refused the login (${last}).`, 'bulwark logs in with your SSH key or agent and never asks for a password: check the key (--ssh-option IdentityFile=...) and the user. Nothing was changed.', 2);
  }
  if (/Could not resolve hostname|Name or service not known/i.test(stderr)) {
    return new UserError(`${box}: the host name does not resolve (${last}).`, 'Check the name, or give the address. Nothing was changed.', 2);
  }
  return new UserError(`${box}: cannot connect (${last}).`, 'Check that the box is up and that its SSH port is reachable from here. Nothing was changed.', 1);
}
