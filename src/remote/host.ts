// The Host contract over SSH (remote mode): the same methods as the local Host, so steps never know
// where they run. Every file operation is one call of the box-side helper (src/remote/helper.sh,
// POSIX sh: no Node, Python or Perl on the box); file contents travel as tar archives, which the
// box's own tar writes and reads (binary-safe, with mode, owner and link targets). Reads are cached
// until the next change to the box, so a plan reads each file once.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from '../change.js';
import { CommandError, UserError } from '../errors.js';
import { Host, readsOnly, resolveInRoot, type FileMeta, type RunOptions, type RunResult, type WriteOptions } from '../host.js';
import type { LockHolder } from '../lock.js';
import { HelperSession } from './session.js';
import type { ExecResult, SshTransport } from './ssh.js';

/** The helper's source, sent as the script of `sh -c` with every call (nothing is installed on the box). */
export function helperScript(): string {
  // Beside this module in the sources (src/remote/helper.sh), beside the bundle in dist/.
  for (const candidate of [new URL('./helper.sh', import.meta.url), new URL('./remote/helper.sh', import.meta.url)]) {
    try {
      return readFileSync(candidate, 'utf8');
    } catch {
      // try the next place
    }
  }
  throw new Error('bug: the box-side helper (helper.sh) is missing from this installation');
}

const PROGRAM_DIRS_NOTE = 'the usual directories (/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin)';

/** "drwxr-sr-x" → 0o2755; the first character is the type. */
export function parseLsMode(text: string): { type: FileMeta['type']; mode: number } {
  const type = text[0] === '-' ? 'file' : text[0] === 'l' ? 'symlink' : text[0] === 'd' ? 'dir' : 'other';
  let mode = 0;
  let special = 0;
  for (const [index, shift] of [[1, 6], [4, 3], [7, 0]] as const) {
    const triple = text.slice(index, index + 3);
    let bits = 0;
    if (triple[0] === 'r') bits |= 4;
    if (triple[1] === 'w') bits |= 2;
    if ('xst'.includes(triple[2] ?? '-') && triple[2] !== '-') bits |= 1;
    if (triple[2] === 's' || triple[2] === 'S') special |= shift === 6 ? 4 : 2;
    if (triple[2] === 't' || triple[2] === 'T') special |= 1;
    mode |= bits << shift;
  }
  return { type, mode: mode | (special << 9) };
}

function parseMetaLine(line: string): FileMeta | null {
  if (line.startsWith('- ') || line === '-' || line.trim() === '') return null;
  const [modeText = '', uid = '0', gid = '0', size = '0'] = line.trim().split(/\s+/);
  const { type, mode } = parseLsMode(modeText);
  return { type, mode, uid: Number(uid), gid: Number(gid), size: Number(size.replace(/,$/, '')) || 0 };
}

/** Inputs up to this size go over the helper session (read there a byte at a time by dd). */
const SESSION_INPUT_MAX = 256 * 1024;

/** What a plan of every step reads outside the mirrored trees, and the read-only commands it runs. */
const WARM_UP = {
  paths: [
    '/var/lib/dpkg/status', '/run/firewalld/firewalld.pid', '/var/run/firewalld.pid', '/usr/sbin/netfilter-persistent',
    '/usr/share/netfilter-persistent/plugins.d/10-ipset', '/var/ossec', '/var/ossec/bin/wazuh-control', '/usr/bin', '/usr/sbin',
    '/var/www', '/usr/share/a2billing', '/var/lib/asterisk/agi-bin', '/var/lib/aide/bulwark.db', '/var/lib/aide/aide.db',
    '/var/lib/aide/aide.db.gz', '/root/.ssh/authorized_keys', '/root/.ssh/authorized_keys2', '/var/www/html/admin', '/var/www/html/a2billing/admin',
  ],
  links: ['/run/systemd/system'],
  commands: [
    ['ss', '-H', '-tulpn'], ['sshd', '-T'], ['iptables', '--version'], ['iptables-save'], ['ip6tables-save'], ['ipset', 'list', '-n'],
    ['uname', '-n'], ['aide', '--version'], ['apache2ctl', '-v'], ['httpd', '-v'], ['fail2ban-client', 'ping'], ['ss', '-H', '-ltn'],
  ],
} as const;

/** The trees read whole in the first round trip: every step's configuration files live there. */
const PRELOAD_ROOTS = ['etc', 'lib/systemd/system', 'usr/lib/systemd/system'];

/** One line of `ls -lnd` / `ls -lnL` (LC_ALL=C): mode, uid, gid, size, then after the date the name. */
const LS_LINE = /^(\S+)\s+\d+\s+(\d+)\s+(\d+)\s+(\d+)(?:,\s*\d+)?\s+\S+\s+\d+\s+\S+\s(.*)$/;

interface MirrorEntry {
  readonly meta: FileMeta;
  readonly link?: string;
  content?: Buffer;
}

/**
 * What the first round trip brought back: every path under PRELOAD_ROOTS with its meta, link target
 * and (up to 1 MiB, secrets excepted) content, and the programs in the usual directories. A path it
 * covers is answered here without asking the box again; anything else goes to the box.
 */
export class Mirror {
  readonly entries = new Map<string, MirrorEntry>();
  readonly programs = new Map<string, Map<string, FileMeta>>();
  /** Paths whose state the mirror knows (present or absent): the roots' trees and their parents. */
  private readonly known = new Set<string>(['/']);

  constructor(private readonly roots: readonly string[]) {}

  static async parse(output: Buffer, roots: readonly string[]): Promise<Mirror> {
    const mirror = new Mirror(roots.map((r) => `/${r}`));
    const dot = output.indexOf('\n.\n');
    const text = output.subarray(0, dot < 0 ? output.length : dot + 1).toString('utf8');
    let section: 'programs' | 'meta' = 'programs';
    let dir = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('P ')) {
        dir = line.slice(2);
        mirror.programs.set(dir, new Map());
        continue;
      }
      if (line === 'M') {
        section = 'meta';
        continue;
      }
      const match = LS_LINE.exec(line);
      if (!match) continue;
      const { type, mode } = parseLsMode(match[1]!);
      const meta: FileMeta = { type, mode, uid: Number(match[2]), gid: Number(match[3]), size: Number(match[4]) };
      if (section === 'programs') {
        mirror.programs.get(dir)?.set(match[5]!, meta);
        continue;
      }
      let name = match[5]!;
      let link: string | undefined;
      if (type === 'symlink') {
        const arrow = name.indexOf(' -> ');
        link = name.slice(arrow + 4);
        name = name.slice(0, arrow);
      }
      const boxPath = `/${name}`;
      mirror.entries.set(boxPath, { meta, ...(link !== undefined ? { link } : {}) });
      mirror.known.add(boxPath);
    }
    if (dot >= 0 && output.length > dot + 3) {
      const { gunzipSync } = await import('node:zlib');
      const contents = await untar(gunzipSync(output.subarray(dot + 3)));
      for (const [name, content] of contents) {
        const entry = mirror.entries.get(`/${name}`);
        if (entry) entry.content = content;
      }
    }
    return mirror;
  }

  /** Does the mirror know this path (as present or as absent)? A root that is absent is known too. */
  covers(boxPath: string): boolean {
    if (this.known.has(boxPath)) return true;
    return this.roots.some((root) => (boxPath === root || boxPath.startsWith(`${root}/`)) && this.parentKnown(root));
  }

  /** A root's parent directory was listed: the root's own absence is then a fact, not a gap. */
  private parentKnown(root: string): boolean {
    const parent = path.posix.dirname(root);
    return this.known.has(root) || (this.known.has(parent) && this.entries.get(parent)?.meta.type === 'dir');
  }

  /** What bulwark itself just did at a path (null: removed), for a path the mirror covers. */
  learn(boxPath: string, entry: MirrorEntry | null): void {
    if (!this.covers(boxPath)) return;
    if (entry === null) this.entries.delete(boxPath);
    else {
      this.entries.set(boxPath, entry);
      this.known.add(boxPath);
    }
  }

  chmod(boxPath: string, mode: number): void {
    const entry = this.entries.get(boxPath);
    if (entry) this.entries.set(boxPath, { ...entry, meta: { ...entry.meta, mode } });
  }

  lstat(boxPath: string): FileMeta | null {
    if (boxPath === '/') return { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 };
    return this.entries.get(boxPath)?.meta ?? null;
  }

  /** Host.resolve on the mirror; null when a part of the way is not covered. */
  resolve(boxPath: string): Promise<string | null> {
    return resolveInRoot(boxPath, async (candidate) => {
      if (!this.covers(candidate)) return null;
      const entry = this.entries.get(candidate);
      if (!entry) return { kind: 'missing' };
      return entry.meta.type === 'symlink' ? { kind: 'link', target: entry.link! } : { kind: 'other' };
    });
  }

  list(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const names: string[] = [];
    for (const key of this.entries.keys()) if (key.length > prefix.length && key.startsWith(prefix) && !key.slice(prefix.length).includes('/')) names.push(key.slice(prefix.length));
    return names;
  }
}

interface ReadEntry {
  readonly real: string;
  readonly meta: FileMeta | null;
  readonly link?: string;
  content?: Buffer;
}

export class RemoteHost extends Host {
  private readonly cache = new Map<string, Promise<ReadEntry>>();

  constructor(
    readonly ssh: SshTransport,
    private readonly script = helperScript(),
    /** Keep one helper session open for the run (remote mode); off: one command a request. */
    private readonly persistent = false,
  ) {
    super('/');
  }

  override get live(): boolean {
    return true;
  }

  override hostPath(boxPath: string): string {
    if (!path.posix.isAbsolute(boxPath)) throw new Error(`box path must be absolute: ${boxPath}`);
    return path.posix.normalize(boxPath);
  }


  /** The helper as a process that keeps running (its stdin open) until this run lets it go. */
  spawnHelper(args: readonly string[]): import('node:child_process').ChildProcess {
    return this.ssh.spawnExec(['/bin/sh', '-c', this.script, 'bulwark-helper', ...args]);
  }

  /** A file's bytes as they are now, bypassing the cache (state files other processes write). */
  async readFresh(boxPath: string): Promise<Buffer | null> {
    const [entry] = await this.readMany([path.posix.normalize(boxPath)], true);
    if (entry?.meta?.type !== 'file') return null;
    return entry.content ?? null;
  }

  /** One call of the box-side helper; a failure of the helper itself is a CommandError. */
  async helper(args: readonly string[], input?: Buffer): Promise<Buffer> {
    // Small inputs (state files, a config file) ride the session too; big ones (a snapshot of a large
    // file, a set of 100,000 networks) get a command of their own, where the box reads them at speed.
    const viaSession = input === undefined || input.length <= SESSION_INPUT_MAX;
    this.refuseIfLost();
    const result = (viaSession ? await this.throughSession('helper', args, input) : null) ?? (await this.ssh.exec(['/bin/sh', '-c', this.script, 'bulwark-helper', ...args], { input, timeoutMs: 300_000 }));
    if (result.code !== 0) throw new CommandError({ file: 'bulwark-helper', args: [args[0] ?? ''] }, result.code, result.stderr);
    return result.stdout;
  }

  private session: HelperSession | null = null;

  /**
   * A request without input over the long-lived helper session (one round trip); null when it must
   * go as a command of its own: no session in this run, an argument with a newline, or the session
   * died (a dropped connection) — then every later request goes the slow, sure way.
   */
  private async throughSession(kind: 'helper' | 'run' | 'par', argv: readonly string[], input?: Buffer): Promise<ExecResult | null> {
    this.refuseIfLost();
    if (!this.persistent || argv.some((arg) => arg.includes('\n'))) return null;
    if (this.session === null) this.session = new HelperSession(this.ssh, this.script);
    if (!this.session.alive) return null; // it never started: one command a request
    try {
      return await this.session.request(kind, argv, input);
    } catch (error) {
      this.refuseIfLost();
      if (!this.session.wasReady) return null;
      throw error;
    }
  }

  /**
   * The run's helper session died (the connection dropped, or the box's side was killed): with it
   * went the lock this run held on the box, so nothing more is done from here — no reconnection
   * behind the admin's back. A change in flight is finished by the next bulwark, which restores its
   * snapshot from the journal.
   */
  private refuseIfLost(): void {
    if (this.session === null || this.session.alive || !this.session.wasReady) return;
    throw new UserError(
      `The connection to the box was lost in the middle of the run (${this.session.deathReason}).`,
      'Nothing is left half-done: the box kept the journal of what was in flight, and the next `bulwark --host ...` command (from any machine) restores its snapshot. Check the connection, then run bulwark again.',
      1,
    );
  }

  /**
   * Sends, at once and without waiting, what a plan of every step reads outside /etc and the
   * read-only commands it runs: they queue behind the first round trip on the helper session, so
   * their answers arrive together instead of one round trip each. A path or command no step asks
   * for costs only a few milliseconds on the box; one that is not here is simply asked later.
   */
  warmUp(): void {
    if (!this.persistent) return;
    void this.getMirror();
    void this.prefetch(WARM_UP.paths, true);
    void this.prefetch(WARM_UP.links, false);
    for (const [file, ...args] of WARM_UP.commands) void this.run({ file: file!, args }, { reject: false }).catch(() => undefined);
  }

  /** Requests sent together are answered in the order sent (one live helper session carries them). */
  override get pipelined(): boolean {
    return this.persistent && (this.session === null || this.session.alive);
  }

  /**
   * The helper session as the owner of bulwark's lock on the box: its pid goes into the lock file,
   * and it removes that file when the run lets the lock go or ends (its connection dies included).
   * Null without a live session (the caller starts a keeper of its own instead).
   */
  async sessionLockOwner(lockFile: string): Promise<LockHolder | null> {
    if (!this.persistent) return null;
    if (this.session === null) this.session = new HelperSession(this.ssh, this.script);
    const session = this.session;
    try {
      await session.started();
    } catch {
      return null;
    }
    if (!session.alive || !session.owner) return null;
    // Sent before the caller's O_EXCL create: the session answers in order.
    void session.request('own', [lockFile]).catch(() => undefined);
    return { ...session.owner, release: () => void session.request('disown', []).catch(() => undefined) };
  }

  /** Ends the helper session (its temporary directory on the box goes with it). */
  close(): void {
    this.session?.close();
  }

  private changed(): void {
    this.cache.clear();
    this.runs.clear();
    this.mirror = null;
  }

  private mirror: Promise<Mirror> | null = null;

  /** The first round trip: the configuration trees and the program directories, whole. */
  private getMirror(): Promise<Mirror> {
    if (!this.mirror) {
      this.mirror = this.helper(['preload', ...PRELOAD_ROOTS]).then((output) => Mirror.parse(output, PRELOAD_ROOTS));
      this.mirror.catch(() => undefined);
    }
    return this.mirror;
  }

  /** What the mirror knows of a path; null when the box must be asked. */
  private async fromMirror(boxPath: string, follow: boolean): Promise<ReadEntry | null> {
    const mirror = await this.getMirror();
    const normal = path.posix.normalize(boxPath);
    const real = follow ? await mirror.resolve(normal) : mirror.covers(normal) ? normal : null;
    if (real === null || !mirror.covers(real)) return null;
    const entry = mirror.entries.get(real);
    if (entry?.meta.type === 'file' && entry.content === undefined) return null; // large, or a secret: ask
    return { real, meta: mirror.lstat(real), ...(entry?.link !== undefined ? { link: entry.link } : {}), ...(entry?.content !== undefined ? { content: entry.content } : {}) };
  }

  /** Reads (and caches) paths in one round trip: meta, link target, content of regular files. */
  async prefetch(boxPaths: readonly string[], follow = true): Promise<void> {
    const wanted = [...new Set(boxPaths.map((p) => path.posix.normalize(p)))].filter((p) => !this.cache.has(`${follow ? 'f' : 'n'}:${p}`));
    if (wanted.length === 0) return;
    const pending = this.readMany(wanted, follow);
    wanted.forEach((p, i) => {
      const one = pending.then((entries) => entries[i]!);
      one.catch(() => undefined); // awaited by whoever asks for it; never an unhandled rejection
      this.cache.set(`${follow ? 'f' : 'n'}:${p}`, one);
    });
    await pending.catch(() => undefined);
  }

  /**
   * Reads asked for in the same turn of the event loop go to the box together: the steps read
   * their files concurrently (Promise.all), and this makes those reads one round trip, not dozens.
   */
  private queued: { follow: Map<string, true>; nofollow: Map<string, true> } | null = null;
  private flushing: Promise<void> | null = null;

  private async entry(boxPath: string, follow: boolean): Promise<ReadEntry> {
    return (await this.fromMirror(boxPath, follow)) ?? this.fromBox(boxPath, follow);
  }

  private fromBox(boxPath: string, follow: boolean): Promise<ReadEntry> {
    const normal = path.posix.normalize(boxPath);
    const key = `${follow ? 'f' : 'n'}:${normal}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    if (!this.queued) {
      const batch = { follow: new Map<string, true>(), nofollow: new Map<string, true>() };
      this.queued = batch;
      this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.queued = null;
        await Promise.all([this.prefetch([...batch.follow.keys()], true), this.prefetch([...batch.nofollow.keys()], false)]);
      });
    }
    (follow ? this.queued.follow : this.queued.nofollow).set(normal, true);
    return this.flushing!.then(() => this.cache.get(key) ?? this.fromBox(boxPath, follow));
  }

  private async readMany(paths: readonly string[], follow: boolean): Promise<ReadEntry[]> {
    const output = await this.helper(['read', follow ? '1' : '0', ...paths]);
    // Header lines up to a line ".", then the tar archive.
    const entries: ReadEntry[] = [];
    let offset = 0;
    const nextLine = () => {
      const end = output.indexOf(0x0a, offset);
      if (end < 0) throw new Error('bug: the helper\'s answer ended early');
      const line = output.subarray(offset, end).toString('utf8');
      offset = end + 1;
      return line;
    };
    for (let i = 0; i < paths.length; i++) {
      const header = nextLine();
      const space = header.indexOf(' ');
      if (Number(header.slice(0, space)) !== i) throw new Error(`bug: the helper answered "${header}" for path ${i}`);
      const real = header.slice(space + 1);
      const meta = parseMetaLine(nextLine());
      const link = meta?.type === 'symlink' ? nextLine() : undefined;
      entries.push({ real, meta, ...(link !== undefined ? { link } : {}) });
    }
    if (nextLine() !== '.') throw new Error('bug: the helper\'s header did not end with "."');
    const archive = output.subarray(offset);
    if (archive.length > 0) {
      const contents = await untar(archive);
      for (const entry of entries) {
        const content = contents.get(entry.real.replace(/^\/+/, ''));
        if (content !== undefined) entry.content = content;
      }
    }
    return entries;
  }

  override async resolve(boxPath: string): Promise<string> {
    const real = (await this.entry(boxPath, true)).real;
    if (real === '!') throw new UserError(`Too many levels of symbolic links at ${boxPath}.`);
    return real;
  }

  override async lstat(boxPath: string): Promise<FileMeta | null> {
    return (await this.entry(boxPath, false)).meta;
  }

  override async stat(boxPath: string): Promise<FileMeta | null> {
    return (await this.entry(boxPath, true)).meta;
  }

  override async readlink(boxPath: string): Promise<string> {
    const entry = await this.entry(boxPath, false);
    if (entry.link === undefined) throw Object.assign(new Error(`EINVAL: not a symbolic link, readlink '${boxPath}'`), { code: 'EINVAL' });
    return entry.link;
  }

  override async readBytes(boxPath: string, options: { noFollow?: boolean } = {}): Promise<Buffer | null> {
    const entry = await this.entry(boxPath, !options.noFollow);
    if (entry.meta?.type !== 'file') return null;
    if (entry.content === undefined) throw new UserError(`${boxPath} on the box could not be read.`);
    return entry.content;
  }

  override async list(boxDir: string): Promise<string[]> {
    const mirror = await this.getMirror();
    const real = await mirror.resolve(path.posix.normalize(boxDir)).catch(() => null);
    if (real !== null && mirror.covers(real)) {
      return mirror.lstat(real)?.type === 'dir' ? mirror.list(real).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : [];
    }
    const names = (await this.helper(['list', boxDir])).toString('utf8').split('\n').filter((n) => n !== '');
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  override async writeAtomic(boxPath: string, content: string | Buffer, options: WriteOptions = {}): Promise<string[]> {
    const spec = ['0', (options.mode ?? 0o644).toString(8), String(options.uid ?? 0), String(options.gid ?? 0), options.noFollow ? '1' : '0', options.forceMeta ? '1' : '0', path.posix.normalize(boxPath)].join(' ');
    const archive = await tar([
      { name: '0', content: Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8') },
      { name: 'specs', content: Buffer.from(spec + '\n', 'utf8') },
    ]);
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const output = await this.editing(async () => (await this.helper(['write'], archive)).toString('utf8'), (mirror, out) => {
      for (const line of out.split('\n')) {
        const written = /^F ([0-7]+) (\d+) (\d+) (\/.*)$/.exec(line);
        if (written) mirror.learn(written[4]!, { meta: { type: 'file', mode: parseInt(written[1]!, 8), uid: Number(written[2]), gid: Number(written[3]), size: bytes.length }, content: bytes });
      }
    });
    return createdDirs(output);
  }

  override async symlink(boxPath: string, target: string, owner?: { uid: number; gid: number }): Promise<string[]> {
    const output = await this.editing(async () => (await this.helper(['symlink', boxPath, target, ...(owner ? [String(owner.uid), String(owner.gid)] : [])])).toString('utf8'), (mirror) => {
      mirror.learn(path.posix.normalize(boxPath), { meta: { type: 'symlink', mode: 0o777, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, size: target.length }, link: target });
    });
    return createdDirs(output);
  }

  override async ensureDir(boxDir: string): Promise<string[]> {
    return createdDirs(await this.editing(async () => (await this.helper(['mkdir', path.posix.normalize(boxDir)])).toString('utf8'), () => undefined));
  }

  override async remove(boxPath: string): Promise<void> {
    await this.editing(() => this.helper(['remove', boxPath]), (mirror) => mirror.learn(path.posix.normalize(boxPath), null));
  }

  override async removeEmptyDir(boxDir: string): Promise<boolean> {
    const output = await this.editing(async () => (await this.helper(['rmdir', boxDir])).toString('utf8').trim(), (mirror, out) => {
      if (out === 'removed') mirror.learn(path.posix.normalize(boxDir), null);
    });
    return output === 'removed';
  }

  override async chmod(boxPath: string, mode: number): Promise<void> {
    await this.editing(() => this.helper(['chmod', mode.toString(8), boxPath]), (mirror) => mirror.chmod(path.posix.normalize(boxPath), mode));
  }

  /**
   * A change bulwark makes itself: the mirror is kept and told what changed (reading /etc again after
   * every write would cost a round trip and a megabyte each); what else was read or run is forgotten
   * (a command's answer may depend on the file just written: `sshd -T` after sshd_config).
   */
  private async editing<T>(work: () => Promise<T>, update: (mirror: Mirror, result: T) => void): Promise<T> {
    this.cache.clear();
    this.runs.clear();
    let result: T;
    try {
      result = await work();
    } catch (error) {
      this.mirror = null; // unsure what happened on the box: read it again
      throw error;
    }
    const mirror = await this.mirror?.catch(() => null);
    if (mirror) {
      update(mirror, result);
      for (const dir of createdDirs(typeof result === 'string' ? result : '')) mirror.learn(dir, { meta: { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 } });
    } else this.mirror = null;
    return result;
  }

  override async findProgram(name: string): Promise<string | null> {
    const mirror = await this.getMirror();
    if (mirror.programs.size > 0) {
      for (const [dir, programs] of mirror.programs) {
        const meta = programs.get(name);
        if (meta?.type === 'file' && (meta.mode & 0o111) !== 0) return `${dir}/${name}`;
      }
      return null;
    }
    const line = (await this.helper(['programs', name])).toString('utf8').split('\n')[0] ?? '';
    return line.startsWith(`${name} `) ? line.slice(name.length + 1) : null;
  }

  override async spawnDetached(argv: readonly string[]): Promise<number> {
    // setsid where the box has it (util-linux, busybox), else nohup: either way the program outlives
    // this SSH session and the workstation.
    const script = 'if command -v setsid >/dev/null 2>&1; then setsid "$@" </dev/null >/dev/null 2>&1 & else nohup "$@" </dev/null >/dev/null 2>&1 & fi; echo $!';
    const spawnArgv = ['/bin/sh', '-c', script, 'bulwark-spawn', ...argv];
    // Over the helper session when there is one (it rides the round trip of the writes before it).
    const result = (await this.throughSession('run', spawnArgv)) ?? (await this.ssh.exec(spawnArgv));
    const pid = Number(result.stdout.toString('utf8').trim());
    if (result.code !== 0 || !Number.isInteger(pid) || pid <= 0) throw new CommandError({ file: argv[0]!, args: argv.slice(1) }, result.code, result.stderr || 'could not start');
    return pid;
  }

  /** Results of read-only commands (no input), kept until something changes on the box. */
  private readonly runs = new Map<string, Promise<RunResult>>();

  override async run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    if (readsOnly(command) && options.input === undefined && options.env === undefined) {
      const key = JSON.stringify([command.file, ...command.args]);
      let pending = this.runs.get(key);
      if (!pending) {
        pending = this.runNow(command, { ...options, reject: false });
        pending.catch(() => this.runs.delete(key));
        this.runs.set(key, pending);
      }
      const result = await pending;
      if (result.exitCode !== 0 && options.reject !== false) throw result.exitCode === 127 ? new CommandError(command, undefined, `not found on the box in ${PROGRAM_DIRS_NOTE} or PATH`) : new CommandError(command, result.exitCode, result.stderr);
      return result;
    }
    return this.runNow(command, options);
  }

  private async runNow(command: Command, options: RunOptions): Promise<RunResult> {
    // A program may change the box (a reload, a package install): forget what was read — unless it
    // only reads, as every command a plan runs does. One that changes only the kernel's tables
    // leaves the files as they were: only the answers of commands are forgotten.
    if (changesKernelOnly(command)) this.runs.clear();
    else if (!readsOnly(command)) this.changed();
    const env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
    const argv = env.length > 0 ? ['env', ...env, command.file, ...command.args] : [command.file, ...command.args];
    const input = options.input === undefined ? undefined : Buffer.from(options.input, 'utf8');
    const viaSession = input === undefined || input.length <= SESSION_INPUT_MAX;
    // Read-only programs run side by side on the box (the requests sent with them wait for them all).
    const kind = readsOnly(command) ? 'par' : 'run';
    this.refuseIfLost();
    const result = (viaSession ? await this.throughSession(kind, argv, input) : null) ?? (await this.ssh.exec(argv, { input: options.input, timeoutMs: options.timeoutMs ?? 120_000 }));
    const output = { exitCode: result.code, stdout: result.stdout.toString('utf8'), stderr: result.stderr };
    // A shell's "not found" (127) is what a missing program looks like over SSH.
    if (result.code === 127 && options.reject !== false) throw new CommandError(command, undefined, `not found on the box in ${PROGRAM_DIRS_NOTE} or PATH`);
    if (result.code !== 0 && options.reject !== false) throw new CommandError(command, result.code, output.stderr);
    return output;
  }
}

/** Commands that change netfilter's tables or sets and no file: the mirror of the files stays valid. */
export function changesKernelOnly(command: Command): boolean {
  return ['iptables', 'ip6tables', 'iptables-restore', 'ip6tables-restore', 'ipset'].includes(command.file.split('/').pop() ?? '') && !readsOnly(command);
}


function createdDirs(output: string): string[] {
  return output.split('\n').filter((line) => line.startsWith('D ')).map((line) => line.slice(2));
}

/** tar-stream, loaded when first needed. A CommonJS package: imported from a chunk of the bundle, its
 *  exports arrive as the namespace's default. */
async function tarStream(): Promise<typeof import('tar-stream')> {
  const loaded = (await import('tar-stream')) as typeof import('tar-stream') & { default?: typeof import('tar-stream') };
  return typeof loaded.extract === 'function' ? loaded : loaded.default!;
}

async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const { extract } = await tarStream();
  const files = new Map<string, Buffer>();
  const extractor = extract();
  await new Promise<void>((resolve, reject) => {
    extractor.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        const name = header.name.replace(/^\.\//, '');
        if (header.type === 'file') files.set(name, Buffer.concat(chunks));
        // tar stores a second name of the same file (lib/... and usr/lib/... on a merged /usr) as a hard link
        else if (header.type === 'link' && header.linkname) {
          const first = files.get(header.linkname.replace(/^\.\//, ''));
          if (first !== undefined) files.set(name, first);
        }
        next();
      });
      stream.resume();
    });
    extractor.on('finish', resolve);
    extractor.on('error', reject);
    Readable.from([archive]).pipe(extractor);
  });
  return files;
}

async function tar(entries: readonly { name: string; content: Buffer }[]): Promise<Buffer> {
  const { pack } = await tarStream();
  const packer = pack();
  const chunks: Buffer[] = [];
  packer.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    packer.on('end', resolve);
    packer.on('error', reject);
  });
  for (const entry of entries) packer.entry({ name: entry.name, size: entry.content.length, mode: 0o600 }, entry.content);
  packer.finalize();
  await done;
  return Buffer.concat(chunks);
}
