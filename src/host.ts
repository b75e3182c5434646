// Host: the only place that touches the machine (DESIGN.md). A rooted filesystem (--root) with
// chroot-like symlink resolution, atomic writes that keep mode, owner and links, and external
// commands as {file, args} (node:child_process, never a shell).
import { randomBytes } from 'node:crypto';
import { constants as fsc, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from './change.js';
import { CommandError, UserError } from './errors.js';
import { withPath } from './state-fs.js';
import { failpoint } from './faults.js';

export interface FileMeta {
  readonly type: 'file' | 'symlink' | 'dir' | 'other';
  /** Permission bits only (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** When false, a non-zero exit is returned instead of thrown. */
  readonly reject?: boolean;
}

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface WriteOptions {
  /** Used for a new file; an existing file keeps its own mode. */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Replace the path itself even when it is a symlink (restore of a snapshot); default follows links. */
  readonly noFollow?: boolean;
  /** Force this mode/owner even on an existing file (restore of a snapshot). */
  readonly forceMeta?: boolean;
}

const MAX_LINK_HOPS = 40;
/** Files larger than this are read again when asked again, not kept (logs, databases). */
const MAX_KEPT_BYTES = 1024 * 1024;
const PROGRAM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export class Host {
  /** Absolute path of the filesystem root on this machine ("/" for the live system). */
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** True when acting on the running system: only then may steps probe it (ss, sshd -T, ...). */
  get live(): boolean {
    return this.root === '/';
  }

  /** Are requests sent together answered in the order sent? (Remote mode's helper session: yes.) */
  get pipelined(): boolean {
    return false;
  }

  /** Where a box path lives on this machine. Box paths are absolute ("/etc/my.cnf"). */
  hostPath(boxPath: string): string {
    if (!path.isAbsolute(boxPath)) throw new Error(`box path must be absolute: ${boxPath}`);
    const normal = path.posix.normalize(boxPath);
    return this.root === '/' ? normal : path.join(this.root, normal);
  }

  /**
   * Resolves every symlink in a box path the way a chroot would: absolute targets start again at
   * the root and ".." stops at the root, so a link can never lead out of --root. A missing final
   * component is allowed (the path of a file to create); the result is the real box path.
   */
  async resolve(boxPath: string): Promise<string> {
    let known = this.resolved.get(boxPath);
    if (!known) {
      known = this.resolveWalk(boxPath);
      this.resolved.set(boxPath, known);
      known.catch(() => this.resolved.delete(boxPath));
    }
    return known;
  }

  private async resolveWalk(boxPath: string): Promise<string> {
    const resolved = await resolveInRoot(boxPath, (candidate) => {
      let kind = this.components.get(candidate);
      if (!kind) {
        kind = this.lookComponent(candidate);
        this.components.set(candidate, kind);
        kind.catch(() => this.components.delete(candidate));
      }
      return kind;
    });
    return resolved!;
  }

  /**
   * What this run has seen of the box, by real path: what each path component is (a link and its
   * target, or not a link: every path walks its directories again, /etc some 300 times in a plan of
   * every step), files read (small ones) and directory listings. Valid until this process changes
   * something — every write, every command that is not a read — and forgotten whenever the engine
   * looks at the box again (forget).
   */
  private readonly components = new Map<string, Promise<PathKind>>();
  /** Whole paths resolved (the walk above, once per path as asked for). */
  private readonly resolved = new Map<string, Promise<string>>();
  private readonly contents = new Map<string, Promise<Buffer | null>>();
  private readonly metas = new Map<string, Promise<FileMeta | null>>();
  private readonly listings = new Map<string, Promise<string[]>>();

  /** Forgets what was seen of the box (the engine calls it before it looks at the box again). */
  forget(): void {
    this.components.clear();
    this.resolved.clear();
    this.contents.clear();
    this.listings.clear();
    this.metas.clear();
  }

  // Looking at the box's files (lstat, readlink, readdir, small files) is done synchronously: each
  // takes microseconds from the page cache, while the same call through libuv's thread pool costs a
  // hand-over each way and a turn of the event loop (a plan of every step makes ~500 of them, and
  // waited a third of its time for them). Writes, and big or special files, stay asynchronous.

  /** What a path component is, from its lstat (kept: the same call the file's own lstat makes). */
  private async lookComponent(candidate: string): Promise<PathKind> {
    const meta = await this.lstat(candidate);
    if (meta === null) return { kind: 'missing' };
    return meta.type === 'symlink' ? { kind: 'link', target: readlinkSync(this.hostPath(candidate)) } : { kind: 'other' };
  }

  /** lstat of the path itself (a symlink is reported as a symlink). */
  async lstat(boxPath: string): Promise<FileMeta | null> {
    const key = path.posix.normalize(boxPath);
    let meta = this.metas.get(key);
    if (!meta) {
      try {
        meta = Promise.resolve(toMeta(lstatSync(this.hostPath(key))));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        meta = Promise.resolve(null);
      }
      this.metas.set(key, meta);
    }
    return meta;
  }

  /** stat after following links inside the root. */
  async stat(boxPath: string): Promise<FileMeta | null> {
    return this.lstat(await this.resolve(boxPath));
  }

  async exists(boxPath: string): Promise<boolean> {
    return (await this.stat(boxPath)) !== null;
  }

  async readlink(boxPath: string): Promise<string> {
    return fs.readlink(this.hostPath(boxPath));
  }

  /** Text of a file, following links inside the root; null when absent. */
  async readText(boxPath: string): Promise<string | null> {
    const buffer = await this.readBytes(boxPath);
    return buffer === null ? null : buffer.toString('utf8');
  }

  async readBytes(boxPath: string, options: { noFollow?: boolean } = {}): Promise<Buffer | null> {
    const real = options.noFollow ? path.posix.normalize(boxPath) : await this.resolve(boxPath);
    // Several steps read the same files (sip.conf and its includes a dozen times in a plan).
    let read = this.contents.get(real);
    if (!read) {
      read = this.readFromDisk(real);
      this.contents.set(real, read);
      read.then((bytes) => bytes !== null && bytes.length > MAX_KEPT_BYTES && this.contents.delete(real), () => this.contents.delete(real));
    }
    return read;
  }

  private async readFromDisk(real: string): Promise<Buffer | null> {
    try {
      const meta = await this.lstat(real);
      if (meta === null) return null;
      if (meta.type === 'dir') return null;
      // A regular file that is kept anyway (small), at once; a log of megabytes, a FIFO or a device
      // through the thread pool, as before, not holding up everything else meanwhile.
      if (meta.type === 'file' && meta.size <= MAX_KEPT_BYTES) return readFileSync(this.hostPath(real));
      return await fs.readFile(this.hostPath(real));
    } catch (error) {
      if (isNotFound(error) || isCode(error, 'EISDIR')) return null;
      throw error;
    }
  }

  /** Entries of a directory (names, sorted as C locale would), following links; [] when absent. */
  async list(boxDir: string): Promise<string[]> {
    const real = await this.resolve(boxDir);
    let names = this.listings.get(real);
    if (!names) {
      names = this.listFresh(real);
      this.listings.set(real, names);
      names.catch(() => this.listings.delete(real));
    }
    return [...(await names)];
  }

  private async listFresh(real: string): Promise<string[]> {
    try {
      const names = readdirSync(this.hostPath(real));
      return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch (error) {
      if (isNotFound(error) || isCode(error, 'ENOTDIR')) return [];
      throw error;
    }
  }

  /**
   * Writes a file atomically: a temporary file in the same directory, fsync, rename, fsync of the
   * directory. A symlinked path is written at its real target so the links stay; an existing file
   * keeps its mode and owner. Returns the directories it had to create (for rollback).
   */
  async writeAtomic(boxPath: string, content: string | Buffer, options: WriteOptions = {}): Promise<string[]> {
    this.forget();
    const real = options.noFollow ? path.posix.normalize(boxPath) : await this.resolve(boxPath);
    const dir = path.posix.dirname(real);
    const created = await this.mkdirp(dir);
    const existing = await this.lstat(real);
    const keep = existing && existing.type === 'file' && !options.forceMeta;
    const mode = keep ? existing.mode : (options.mode ?? 0o644);
    const uid = keep ? existing.uid : (options.uid ?? 0);
    const gid = keep ? existing.gid : (options.gid ?? 0);
    const temp = this.hostPath(path.posix.join(dir, `.${path.posix.basename(real)}.bulwark-${randomBytes(4).toString('hex')}`));
    const handle = await fs.open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      await handle.writeFile(content);
      await handle.chmod(mode);
      await chownIfPermitted(handle, uid, gid);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await fs.rm(temp, { force: true });
      throw withPath(error, temp);
    }
    await handle.close();
    // The new content is whole beside the target, not yet in its place (a kill here leaves it).
    await failpoint('during-write');
    try {
      if (existing?.type === 'symlink' && options.noFollow) await fs.rm(this.hostPath(real));
      await fs.rename(temp, this.hostPath(real));
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await this.syncDir(dir);
    // (and again: a read made while this write was under way may have kept the old state)
    this.forget();
    return created;
  }

  /** Creates a symlink (replacing what is at the path itself, never following it). */
  async symlink(boxPath: string, target: string, owner?: { uid: number; gid: number }): Promise<string[]> {
    this.forget();
    const dir = path.posix.dirname(boxPath);
    const created = await this.mkdirp(dir);
    const temp = this.hostPath(path.posix.join(dir, `.${path.posix.basename(boxPath)}.bulwark-${randomBytes(4).toString('hex')}`));
    await fs.symlink(target, temp);
    if (owner) await fs.lchown(temp, owner.uid, owner.gid).catch(ignorePermission);
    await fs.rename(temp, this.hostPath(boxPath));
    await this.syncDir(dir);
    this.forget();
    return created;
  }

  /** Makes a directory and its missing parents; returns those it created (for rollback). */
  async ensureDir(boxDir: string): Promise<string[]> {
    this.forget();
    const created = await this.mkdirp(boxDir);
    this.forget();
    return created;
  }

  /** Removes the path itself (a link is removed, not its target). Absent is fine. */
  async remove(boxPath: string): Promise<void> {
    this.forget();
    await fs.rm(this.hostPath(boxPath), { force: true });
    this.forget();
    await this.syncDir(path.posix.dirname(boxPath)).catch(() => undefined);
  }

  /** Removes an empty directory; a directory that is not empty stays (someone put a file there). */
  async removeEmptyDir(boxDir: string): Promise<boolean> {
    this.forget();
    try {
      await fs.rmdir(this.hostPath(boxDir));
      this.forget();
      return true;
    } catch {
      return false;
    }
  }

  async chmod(boxPath: string, mode: number): Promise<void> {
    this.forget();
    await fs.chmod(this.hostPath(boxPath), mode);
    this.forget();
  }

  /** Finds a program the way a shell would on the box, by looking in the usual directories. */
  async findProgram(name: string): Promise<string | null> {
    for (const dir of PROGRAM_DIRS) {
      const candidate = `${dir}/${name}`;
      const meta = await this.stat(candidate);
      if (meta?.type === 'file' && (meta.mode & 0o111) !== 0) return candidate;
    }
    return null;
  }

  /** User and group ids from the box's own /etc/passwd and /etc/group. */
  async lookupOwner(user: string, group: string): Promise<{ uid: number; gid: number }> {
    const uid = await this.lookupId('/etc/passwd', user);
    const gid = await this.lookupId('/etc/group', group);
    if (uid === undefined) throw new UserError(`User ${user} does not exist on this box (${this.hostPath('/etc/passwd')}).`);
    if (gid === undefined) throw new UserError(`Group ${group} does not exist on this box (${this.hostPath('/etc/group')}).`);
    return { uid, gid };
  }

  private async lookupId(database: string, name: string): Promise<number | undefined> {
    if (/^\d+$/.test(name)) return Number(name);
    const text = (await this.readText(database)) ?? '';
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      if (fields[0] === name && fields[2] !== undefined) return Number(fields[2]);
    }
    if (name === 'root') return 0;
    return undefined;
  }

  /** Runs a program. Never through a shell. Throws CommandError on failure unless reject is false. */
  async run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    // A command may change files (a2enmod makes links, a package install puts files in place).
    const changes = !readsOnly(command);
    if (changes) this.forget();
    try {
      const timeoutMs = options.timeoutMs ?? 120_000;
      const result = await runProgram(command, { input: options.input, env: options.env, timeoutMs });
      if (result.timedOut) throw new CommandError(command, undefined, `timed out after ${timeoutMs} ms`);
      if (result.startError !== undefined) {
        if (options.reject !== false) throw new CommandError(command, undefined, `could not start (${result.startError})`);
        return { exitCode: 1, stdout: '', stderr: result.startError };
      }
      // Ended by a signal: a failure like any other (no exit status of its own).
      const exitCode = result.exitCode ?? 1;
      if (exitCode !== 0 && options.reject !== false) throw new CommandError(command, exitCode, result.stderr);
      return { exitCode, stdout: result.stdout, stderr: result.stderr };
    } catch (error) {
      if (error instanceof CommandError) throw error;
      throw new CommandError(command, undefined, error instanceof Error ? error.message : String(error));
    } finally {
      if (changes) this.forget();
    }
  }

  /**
   * Starts a program on the box detached: its own session, no terminal, stdin/stdout/stderr on
   * /dev/null, so neither a hang-up nor the end of this process reaches it. Returns its pid.
   */
  async spawnDetached(argv: readonly string[]): Promise<number> {
    const { spawn } = await import('node:child_process');
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', cwd: '/' });
    child.unref();
    if (child.pid === undefined) throw new CommandError({ file: argv[0]!, args: argv.slice(1) }, undefined, 'could not start');
    return child.pid;
  }

  private async mkdirp(boxDir: string): Promise<string[]> {
    const created: string[] = [];
    let current = boxDir;
    const missing: string[] = [];
    while (current !== '/' && (await this.lstat(current)) === null) {
      missing.unshift(current);
      current = path.posix.dirname(current);
    }
    for (const dir of missing) {
      try {
        await fs.mkdir(this.hostPath(dir), { mode: 0o755 });
        created.push(dir);
      } catch (error) {
        // Made meanwhile by a write running beside this one: it is that one's to report.
        if ((error as { code?: string }).code !== 'EEXIST' || (await this.lstat(dir))?.type !== 'dir') throw error;
      }
    }
    return created;
  }

  private async syncDir(boxDir: string): Promise<void> {
    const handle = await fs.open(this.hostPath(boxDir), fsc.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** One part of a path, as the resolution needs it; null: not known here (the caller asks the box). */
export type PathKind = { readonly kind: 'missing' } | { readonly kind: 'link'; readonly target: string } | { readonly kind: 'other' };

/**
 * Resolves every symlink in a box path as a chroot at the box's root would: absolute targets start
 * again at the root, ".." stops there, a missing part ends the walk with the rest kept as written.
 * Shared by the local Host and remote mode's mirror of the box; null when `look` does not know a part.
 */
export async function resolveInRoot(boxPath: string, look: (candidate: string) => Promise<PathKind | null>): Promise<string | null> {
  const parts = path.posix.normalize(boxPath).split('/').filter(Boolean);
  let resolved: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = '/' + [...resolved, part].join('/');
    const found = await look(candidate);
    if (found === null) return null;
    if (found.kind === 'missing') return '/' + [...resolved, part, ...parts.filter((p) => p !== '.')].join('/');
    if (found.kind === 'link') {
      if (++hops > MAX_LINK_HOPS) throw new UserError(`Too many levels of symbolic links at ${boxPath}.`);
      if (path.posix.isAbsolute(found.target)) resolved = [];
      parts.unshift(...found.target.split('/').filter(Boolean));
    } else {
      resolved.push(part);
    }
  }
  return '/' + resolved.join('/');
}

/**
 * A program run with node:child_process itself, its output gathered. (execa did this before: its
 * layers cost about 3 ms of CPU and 4 ms of waiting per program started, measured side by side, and
 * an apply starts some twenty: a tenth of a second that was not the work.) Its stdin is the input
 * given, or an empty pipe closed at once; the environment is this process's with `env` over it;
 * at the timeout it gets SIGTERM, and SIGKILL 5 s later if still there.
 */
async function runProgram(command: Command, options: { input?: string; env?: Record<string, string>; timeoutMs: number }): Promise<{ exitCode: number | null; stdout: string; stderr: string; timedOut: boolean; startError?: string }> {
  // Loaded on first use: most runs (plan under --root, the wizard's first frame) start no program.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(command.file, [...command.args], { env: options.env ? { ...process.env, ...options.env } : process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    let startError: string | undefined;
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A program that exits without reading all its input: not an error of ours.
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      startError = error.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ exitCode: code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), timedOut, startError });
    });
    child.stdin.end(options.input ?? '');
  });
}

function toMeta(stat: import('node:fs').Stats): FileMeta {
  return {
    type: stat.isSymbolicLink() ? 'symlink' : stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : 'other',
    mode: stat.mode & 0o7777,
    uid: stat.uid,
    gid: stat.gid,
    size: stat.size,
  };
}

async function chownIfPermitted(handle: fs.FileHandle, uid: number, gid: number): Promise<void> {
  await handle.chown(uid, gid).catch(ignorePermission);
}

// Without root (tests on a fixture copy as a normal user) chown to another user is refused;
// the content and mode are still right, and a live apply always runs as root.
function ignorePermission(error: unknown): void {
  if (!isCode(error, 'EPERM')) throw error;
}

export function isNotFound(error: unknown): boolean {
  return isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR');
}

export function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === code;
}

/** Commands that read the box and change nothing: what was read of its files stays valid after them. */
export function readsOnly(command: Command): boolean {
  const [first = '', second = ''] = command.args;
  switch (command.file.split('/').pop()) {
    case 'iptables-restore':
    case 'ip6tables-restore':
      return command.args.includes('--test') || command.args.includes('-t');
    case 'iptables-save':
    case 'ip6tables-save':
    case 'ss':
    case 'getent':
    case 'uname':
    case 'id':
    case 'dpkg-query':
    case 'fail2ban-regex':
    case 'grep':
      return true;
    case 'aide':
      return first === '--version' || first === '-v';
    case 'fail2ban-client':
      return ['ping', 'status', '-t', '--test', '-V', '--version'].includes(first);
    case 'iptables':
    case 'ip6tables':
      return ['--version', '-S', '-L', '-V'].includes(first) || (first === '-t' && ['-S', '-L'].includes(command.args[2] ?? ''));
    case 'ipset':
      return ['list', 'save', '-L', '-S', '-n', 'test', '--version', '-v'].includes(first);
    case 'sshd':
      return ['-T', '-t', '-V'].includes(first);
    case 'service':
      return second === 'status';
    case 'systemctl':
      return ['is-active', 'is-enabled', 'show', 'status', 'list-unit-files'].includes(first);
    case 'rpm':
      return first.startsWith('-q');
    case 'apachectl':
    case 'apache2ctl':
    case 'httpd':
    case 'apache2':
      return ['-t', '-v', '-V', '-M', '-S', 'configtest', '-D'].includes(first);
    default:
      return false;
  }
}
