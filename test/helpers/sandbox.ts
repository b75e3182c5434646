// A throw-away "box" for end-to-end tests that drive real programs (sshd, iptables, rsyslog, ...)
// without touching the real machine. A box is:
//
// - three network namespaces: bw-<id>-box, bw-<id>-admin and optionally bw-<id>-attacker, joined by
//   veth pairs created inside the box namespace (no interface ever exists on the host):
//     box adm0 10.<n>.0.1/24, 2001:db8:<n>::1/64      <->  admin eth0 10.<n>.0.2/24, 2001:db8:<n>::2/64
//   A box made with { workstation: other } has no admin namespace of its own: its link ends in the
//   other box's (as eth-<id>, on a subnet no other box there uses), so one workstation reaches a fleet.
//     box att0 203.0.113.1/24, 2001:db8:<n>:66::1/64  <->  attacker eth0 203.0.113.66/24, 2001:db8:<n>:66::66/64
// - an "init" process (`sleep infinity`) in the box netns and in mount, UTS and IPC namespaces of its
//   own, where overlayfs lies over /etc, /var, /root and /home (upper dirs in the box's temp dir, lower = the
//   real dirs) and tmpfs over /run and /dev (a private /dev with a few device nodes and a new
//   devpts instance). /tmp stays the host's: the project (and so dist/bulwark.js) may be checked out
//   there, as CI does. Every later command enters it with `nsenter --target <init> --mount --net ...`.
// - rsyslogd and sshd (started with /etc/init.d/ssh) inside the box, and an admin ed25519 key whose
//   public half is in the box's /root/.ssh/authorized_keys.
//
// Only 10.x, TEST-NET and 2001:db8::/32 addresses are used, and only inside these namespaces.
// destroy() (and, failing that, a process 'exit' hook, and failing that the next createBox() in any
// later run) kills every process in the box's namespaces by pid and deletes the namespaces.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, openSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface RunOptions {
  /** Added to a clean environment (PATH, HOME, LANG, USER, LOGNAME): the host's environment is not passed on. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed (stdin is empty when absent). */
  input?: string;
  /** The whole process group is killed after this long (default 30 s); the result then has timedOut. */
  timeoutMs?: number;
  /** Throw when the command exits non-zero or times out (default true). */
  reject?: boolean;
}

export interface RunResult {
  /** Exit status; 128 + signal number when killed by a signal; 124 on timeout. */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface SshOptions {
  family?: 4 | 6;
  port?: number;
  timeoutMs?: number;
  /** Set for the remote command (prefixed as `env K=V ...`); sshd's own variables (SSH_CONNECTION, ...) stay. */
  env?: Record<string, string>;
  input?: string;
  reject?: boolean;
  /** Default root. */
  user?: string;
  /** Log in with this password (password / keyboard-interactive only, no key) instead of the admin key. */
  password?: string;
  /** Which namespace the client runs in (default admin). */
  from?: 'admin' | 'attacker';
}

export interface ConnectOptions {
  family?: 4 | 6;
  from?: 'admin' | 'attacker';
  /** Default 1500 ms: a dropped SYN shows as false after this long. */
  timeoutMs?: number;
}

export interface Box {
  readonly id: string;
  readonly boxV4: string;
  readonly adminV4: string;
  readonly boxV6: string;
  readonly adminV6: string;
  /** The box's address on the attacker link, and the attacker's (only with { attacker: true }). */
  readonly boxAttackerV4?: string;
  readonly boxAttackerV6?: string;
  readonly attackerV4?: string;
  readonly attackerV6?: string;
  /** Network namespace names (`ip netns exec` works with them). */
  readonly namespaces: { readonly box: string; readonly admin: string; readonly attacker?: string };
  /** The test's temp dir (overlay upper dirs live below it, the admin key in tmp/admin). */
  readonly tmp: string;
  /** The admin's private key (ed25519, no passphrase). */
  readonly adminKey: string;
  /** Host pid of the box's init process (its mount namespace is the box's filesystem). */
  readonly initPid: number;
  /** Runs a command inside the box (its netns + mount ns) as root; never through a shell unless file is 'sh'. */
  exec(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Same, in the admin namespace (the real filesystem, admin netns; HOME is a dir in tmp). */
  admin(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Same, in the attacker namespace. Throws when the box has no attacker. */
  attacker(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** ssh from the admin namespace into the box, running `command` (an argv, quoted for the remote shell). */
  ssh(command: readonly string[], options?: SshOptions): Promise<RunResult>;
  /** Can a NEW TCP connection to the box on this port be opened (no payload)? */
  canConnect(port: number, options?: ConnectOptions): Promise<boolean>;
  /** A file as the box sees it. */
  readFile(path: string): Promise<string>;
  /** Writes a file inside the box (parent dirs created); mode applied when given, else new files get 0644. */
  writeFile(path: string, content: string, mode?: number): Promise<void>;
  /** Sets a user's password inside the box (chpasswd). */
  setPassword(user: string, password: string): Promise<void>;
  /** Starts a detached process inside the box; returns its host pid. Output goes to tmp/spawn-<pid>.log. */
  spawn(file: string, args: readonly string[], options?: { env?: Record<string, string> }): Promise<number>;
  /** Host pids of every process in the box's namespaces (init included). Empty once destroyed. */
  pids(): number[];
  /**
   * Makes this an "old box" for remote mode: `node` and `python3` (and what they link to) fail inside
   * the box's mount namespace, a failing program bind-mounted over each, so nothing on the box side
   * can lean on them. Returns the paths hidden.
   */
  hideInterpreters(): Promise<string[]>;
  /** Kills everything started in the box (by pid), deletes the namespaces and tmp. Idempotent. */
  destroy(): Promise<void>;
}

export interface CreateBoxOptions {
  attacker?: boolean;
  /**
   * Share this box's admin namespace (the workstation) instead of making one: the new box is reached
   * from there on a subnet of its own. Destroying the new box leaves that namespace alone; destroying
   * the box that owns it ends every process in it.
   */
  workstation?: Box;
  /** Start sshd and install the admin key (default true). */
  ssh?: boolean;
  /** Start rsyslogd (default true). */
  syslog?: boolean;
}

const PREFIX = 'bw-';
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const REQUIRED_TOOLS = ['ip', 'unshare', 'nsenter', 'setpriv', 'mount', 'mknod', 'bash', 'sshd', 'ssh', 'ssh-keygen', 'iptables', 'rsyslogd', 'chpasswd'];

/** Throws a clear Error (tests must FAIL, never skip) if not root or a program the box needs is missing. */
/**
 * Throws a clear Error (the test FAILS, never skips) when a program a test drives is not installed:
 * CI installs every one of them (.ci/run), and so does `npm test` as root on Debian.
 */
export function requirePrograms(programs: Record<string, string>): void {
  const missing = Object.entries(programs).filter(([file]) => !isExecutable(file));
  if (missing.length > 0) throw new Error(`missing programs: ${missing.map(([file, pkg]) => `${file} (Debian package ${pkg})`).join(', ')}; \`npm test\` installs them as root on Debian.`);
}

export function requireSandboxTools(): void {
  const problems: string[] = [];
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) problems.push('the sandbox tests must run as root (they create network and mount namespaces)');
  if (process.platform !== 'linux') problems.push('the sandbox tests need Linux');
  const dirs = PATH_ENV.split(':');
  const missing = REQUIRED_TOOLS.filter((tool) => !dirs.some((dir) => isExecutable(path.join(dir, tool))));
  if (missing.length > 0) {
    problems.push(`missing programs: ${missing.join(', ')} (Debian packages: iproute2 util-linux mount openssh-server openssh-client iptables rsyslog passwd bash)`);
  }
  if (!existsSync('/etc/init.d/ssh')) problems.push('missing /etc/init.d/ssh (Debian package openssh-server)');
  if (problems.length > 0) throw new Error(`The sandbox cannot be built: ${problems.join('; ')}.`);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Running programs

interface SpawnSpec {
  file: string;
  args: readonly string[];
  env: Record<string, string>;
}

function cleanEnv(home: string, extra?: Record<string, string>): Record<string, string> {
  return { PATH: PATH_ENV, HOME: home, LANG: 'C.UTF-8', USER: 'root', LOGNAME: 'root', ...extra };
}

function describeCommand(spec: SpawnSpec): string {
  return [spec.file, ...spec.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function run(spec: SpawnSpec, options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const reject = options.reject ?? true;
  return new Promise((resolve, rejectPromise) => {
    // detached: its own process group, so a timeout kills the command and whatever it started.
    const child = spawn(spec.file, spec.args, { env: spec.env, cwd: '/', detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {}); // a command that does not read its input
    child.stdin.end(options.input ?? '');
    child.on('error', (error) => {
      clearTimeout(timer);
      rejectPromise(new Error(`${describeCommand(spec)}: ${error.message}`));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const code = timedOut ? 124 : status ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1);
      const result: RunResult = { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), timedOut };
      if (reject && (code !== 0 || timedOut)) {
        const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${code}`;
        rejectPromise(new Error(`${describeCommand(spec)} ${why}\nstdout: ${result.stdout.trim()}\nstderr: ${result.stderr.trim()}`));
      } else {
        resolve(result);
      }
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11 };
  return numbers[signal];
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function ipSync(args: readonly string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8', env: cleanEnv('/root') });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

/** Single-quotes each argument for a POSIX shell (the remote login shell of ssh). */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`sandbox: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes in a box's namespaces

interface Identity {
  /** `mnt:[inode]` of the init process. */
  mnt?: string;
  /** `net:[inode]` of each of the box's network namespaces. */
  nets: string[];
}

function netnsLink(name: string): string | undefined {
  try {
    return `net:[${statSync(`/run/netns/${name}`).ino}]`;
  } catch {
    return undefined;
  }
}

/** Every process whose mount namespace is the box's or whose network namespace is one of the box's. */
function processesIn(identity: Identity): number[] {
  if (identity.mnt === undefined && identity.nets.length === 0) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === 1 || pid === process.pid) continue;
    try {
      if (identity.mnt !== undefined && readlinkSync(`/proc/${pid}/ns/mnt`) === identity.mnt) {
        found.push(pid);
        continue;
      }
      if (identity.nets.length > 0 && identity.nets.includes(readlinkSync(`/proc/${pid}/ns/net`))) found.push(pid);
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return found;
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

function alive(pid: number): boolean {
  try {
    // a zombie still has /proc/<pid>, but its state is Z: count it as gone (its parent reaps it)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /s.test(stat);
  } catch {
    return false;
  }
}

function deleteNamespaces(names: readonly string[]): void {
  for (const name of names) {
    if (!existsSync(`/run/netns/${name}`)) continue;
    spawnSync('ip', ['netns', 'delete', name], { env: cleanEnv('/root') });
  }
}

/** Synchronous, best-effort teardown: for the 'exit' hook and stale boxes of earlier runs. */
function teardownSync(identity: Identity, namespaces: readonly string[], tmp: string | undefined): void {
  for (let round = 0; round < 50; round += 1) {
    const pids = processesIn(identity).filter(alive);
    if (pids.length === 0) break;
    signalAll(pids, 'SIGKILL');
    spawnSync('sleep', ['0.02']);
  }
  deleteNamespaces(namespaces);
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
}

const live = new Set<BoxImpl>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const box of live) box.destroySync();
  });
}

/**
 * Removes boxes left behind by runs that died before destroying them: namespaces bw-<id>-* whose
 * owning process (recorded in <tmpdir>/bulwark-box-<id>/owner) is gone, or, without an owner file,
 * that are over two minutes old. Boxes of live test processes are never touched.
 */
export function removeStaleBoxes(): void {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  const ids = new Set(names.map((n) => /^bw-([0-9a-f]+)-(box|admin|attacker)$/.exec(n)?.[1]).filter((id): id is string => id !== undefined));
  for (const id of ids) {
    const tmp = path.join(tmpdir(), `bulwark-box-${id}`);
    const ownerFile = path.join(tmp, 'owner');
    let stale: boolean;
    if (existsSync(ownerFile)) {
      const owner = Number(readFileSync(ownerFile, 'utf8').trim());
      stale = !(Number.isInteger(owner) && owner > 0 && alive(owner));
    } else {
      const ages = names.filter((n) => n.startsWith(`${PREFIX}${id}-`)).map((n) => Date.now() - statSync(`/run/netns/${n}`).mtimeMs);
      stale = ages.every((age) => age > 120_000);
    }
    if (!stale) continue;
    const nsNames = [`${PREFIX}${id}-box`, `${PREFIX}${id}-admin`, `${PREFIX}${id}-attacker`];
    const nets = nsNames.map(netnsLink).filter((l): l is string => l !== undefined);
    teardownSync({ nets }, nsNames, existsSync(tmp) ? tmp : undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// The box

/** Runs as `sh init.sh <id>` in the box's new mount/UTS/IPC namespaces (inside its netns). */
const INIT_SCRIPT = String.raw`set -eu
T=$(pwd)
for d in etc var root home; do
  mount -t overlay "bw-$d" -o "lowerdir=/$d,upperdir=$T/overlay/$d/upper,workdir=$T/overlay/$d/work" "/$d"
done
mount -t tmpfs -o mode=0755,nosuid,nodev bw-run /run
mkdir -m 0755 /run/sshd
mkdir -m 1777 /run/lock
mount -t tmpfs -o mode=0755,nosuid bw-dev /dev
mknod -m 0666 /dev/null c 1 3
mknod -m 0666 /dev/zero c 1 5
mknod -m 0666 /dev/full c 1 7
mknod -m 0666 /dev/random c 1 8
mknod -m 0666 /dev/urandom c 1 9
mknod -m 0666 /dev/tty c 5 0
mkdir -m 0755 /dev/pts
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 bw-devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mkdir -m 1777 /dev/shm
mount -t tmpfs -o mode=1777,nosuid,nodev bw-shm /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
hostname "bw-$1"
# A box resolves its own name from /etc/hosts, as Debian's installer sets it up (fail2ban's
# ignoreself looks it up for every failure; with no answer it would wait on DNS).
printf '127.0.1.1\tbw-%s\n' "$1" >> /etc/hosts
cd /
echo "ready $$"
exec sleep infinity </dev/null >/dev/null 2>&1
`;

class BoxImpl implements Box {
  readonly id: string;
  readonly boxV4: string;
  readonly adminV4: string;
  readonly boxV6: string;
  readonly adminV6: string;
  readonly boxAttackerV4?: string;
  readonly boxAttackerV6?: string;
  readonly attackerV4?: string;
  readonly attackerV6?: string;
  readonly namespaces: { readonly box: string; readonly admin: string; readonly attacker?: string };
  readonly tmp: string;
  readonly adminKey: string;
  initPid = 0;
  /** unshare, the init's parent: it ignores SIGTERM and ends with the init. */
  private launcherPid = 0;
  private readonly identity: Identity = { nets: [] };
  private readonly adminHome: string;
  private destroying: Promise<void> | undefined;
  private destroyed = false;
  /** Whether the admin namespace is another box's (CreateBoxOptions.workstation). */
  private readonly sharedAdmin: boolean;
  /** The subnet number: 10.<n>.0.0/24 and 2001:db8:<n in hex>::/64 on the admin link. */
  readonly n: number;

  constructor(id: string, n: number, attacker: boolean, workstation?: BoxImpl) {
    this.id = id;
    this.n = n;
    this.sharedAdmin = workstation !== undefined;
    this.boxV4 = `10.${n}.0.1`;
    this.adminV4 = `10.${n}.0.2`;
    const hex = n.toString(16);
    this.boxV6 = `2001:db8:${hex}::1`;
    this.adminV6 = `2001:db8:${hex}::2`;
    if (attacker) {
      this.boxAttackerV4 = '203.0.113.1';
      this.attackerV4 = '203.0.113.66';
      this.boxAttackerV6 = `2001:db8:${hex}:66::1`;
      this.attackerV6 = `2001:db8:${hex}:66::66`;
    }
    this.namespaces = {
      box: `${PREFIX}${id}-box`,
      admin: workstation ? workstation.namespaces.admin : `${PREFIX}${id}-admin`,
      ...(attacker ? { attacker: `${PREFIX}${id}-attacker` } : {}),
    };
    this.tmp = path.join(tmpdir(), `bulwark-box-${id}`);
    this.adminHome = path.join(this.tmp, 'admin');
    this.adminKey = path.join(this.adminHome, 'id_ed25519');
  }

  /** The namespaces this box made, and deletes. */
  private get namespaceList(): string[] {
    return [this.namespaces.box, ...(this.sharedAdmin ? [] : [this.namespaces.admin]), ...(this.namespaces.attacker ? [this.namespaces.attacker] : [])];
  }

  // --- building -------------------------------------------------------------------------------

  setupNetwork(): void {
    const { box, admin, attacker } = this.namespaces;
    for (const ns of this.namespaceList) {
      ipSync(['netns', 'add', ns]);
      this.identity.nets.push(netnsLink(ns) ?? '');
      ipSync(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // Created inside the box namespace, the peer moved straight into the other one.
    const adminLink = this.sharedAdmin ? `eth-${this.id}` : 'eth0';
    ipSync(['-n', box, 'link', 'add', 'adm0', 'type', 'veth', 'peer', 'name', adminLink, 'netns', admin]);
    ipSync(['-n', box, 'addr', 'add', `${this.boxV4}/24`, 'dev', 'adm0']);
    ipSync(['-n', box, 'addr', 'add', `${this.boxV6}/64`, 'dev', 'adm0', 'nodad']);
    ipSync(['-n', box, 'link', 'set', 'adm0', 'up']);
    ipSync(['-n', admin, 'addr', 'add', `${this.adminV4}/24`, 'dev', adminLink]);
    ipSync(['-n', admin, 'addr', 'add', `${this.adminV6}/64`, 'dev', adminLink, 'nodad']);
    ipSync(['-n', admin, 'link', 'set', adminLink, 'up']);
    if (attacker !== undefined && this.boxAttackerV4 && this.attackerV4 && this.boxAttackerV6 && this.attackerV6) {
      ipSync(['-n', box, 'link', 'add', 'att0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', attacker]);
      ipSync(['-n', box, 'addr', 'add', `${this.boxAttackerV4}/24`, 'dev', 'att0']);
      ipSync(['-n', box, 'addr', 'add', `${this.boxAttackerV6}/64`, 'dev', 'att0', 'nodad']);
      ipSync(['-n', box, 'link', 'set', 'att0', 'up']);
      ipSync(['-n', attacker, 'addr', 'add', `${this.attackerV4}/24`, 'dev', 'eth0']);
      ipSync(['-n', attacker, 'addr', 'add', `${this.attackerV6}/64`, 'dev', 'eth0', 'nodad']);
      ipSync(['-n', attacker, 'link', 'set', 'eth0', 'up']);
      // The attacker link is the box's "Internet": its default route, so nothing leaves the namespaces.
      ipSync(['-n', box, 'route', 'add', 'default', 'via', this.attackerV4]);
      ipSync(['-n', box, '-6', 'route', 'add', 'default', 'via', this.attackerV6]);
    }
  }

  async startInit(): Promise<void> {
    for (const d of ['etc', 'var', 'root', 'home']) {
      mkdirSync(path.join(this.tmp, 'overlay', d, 'upper'), { recursive: true });
      mkdirSync(path.join(this.tmp, 'overlay', d, 'work'), { recursive: true });
    }
    const script = path.join(this.tmp, 'init.sh');
    writeFileSync(script, INIT_SCRIPT);
    // ip netns exec execs (no fork) setpriv, which execs unshare: one pid, whose parent is this
    // process, so --pdeathsig ends it (and --kill-child its child, the init) if this process dies.
    const child = spawn(
      'ip',
      ['netns', 'exec', this.namespaces.box, 'setpriv', '--pdeathsig', 'KILL', 'unshare', '--mount', '--uts', '--ipc', '--propagation', 'private', '--fork', '--kill-child', '--', '/bin/sh', script, this.id],
      { cwd: this.tmp, env: cleanEnv('/root'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        killGroup(child.pid);
        reject(new Error(`sandbox: the box init did not start within 15 s: ${err.trim()}`));
      }, 15_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const match = /ready (\d+)/.exec(out);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sandbox: the box init exited (${code}) while setting up: ${err.trim()}`));
      });
    });
    child.stdout.destroy();
    child.stderr.destroy();
    child.removeAllListeners('exit');
    child.unref();
    this.launcherPid = child.pid ?? 0;
    this.initPid = pid;
    this.identity.mnt = readlinkSync(`/proc/${pid}/ns/mnt`);
    if (this.identity.mnt === readlinkSync('/proc/self/ns/mnt')) throw new Error('sandbox: the box init is in the host mount namespace');
  }

  /** A path as the box sees it, for polling from the host (no symlinks on the way!). */
  private inside(file: string): string {
    return `/proc/${this.initPid}/root${file}`;
  }

  async startSyslog(): Promise<void> {
    // The stock configuration, minus imklog: the box must not read (and so take away) the host
    // kernel's messages from /proc/kmsg. /etc/rsyslog.conf itself stays as shipped.
    const stock = await this.readFile('/etc/rsyslog.conf');
    const conf = stock.replace(/^(\s*module\(load="imklog"\).*)$/m, '# $1 (disabled in the test box)').replace(/^(\s*\$ModLoad\s+imklog.*)$/m, '# $1');
    await this.writeFile('/run/bulwark-box-rsyslog.conf', conf, 0o644);
    // -n (no fork): a forking rsyslogd's parent lingers a full second before it returns.
    await this.spawn('rsyslogd', ['-n', '-f', '/run/bulwark-box-rsyslog.conf', '-i', '/run/rsyslogd.pid']);
    await waitFor('rsyslogd to create /dev/log', () => isSocket(this.inside('/dev/log')), 10_000);
  }

  async startSsh(): Promise<void> {
    mkdirSync(this.adminHome, { recursive: true, mode: 0o700 });
    await run({ file: 'ssh-keygen', args: ['-q', '-t', 'ed25519', '-N', '', '-C', `bulwark-test-admin@${this.id}`, '-f', this.adminKey], env: cleanEnv(this.adminHome) });
    const keys = await this.exec('sh', ['-c', 'ls /etc/ssh/ssh_host_*_key 2>/dev/null || true']);
    if (keys.stdout.trim() === '') await this.exec('ssh-keygen', ['-A']);
    await this.exec('install', ['-d', '-m', '0700', '-o', 'root', '-g', 'root', '/root/.ssh']);
    await this.writeFile('/root/.ssh/authorized_keys', readFileSync(`${this.adminKey}.pub`, 'utf8'), 0o600);
    const askpass = path.join(this.adminHome, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$BULWARK_BOX_PASSWORD"\n', { mode: 0o700 });
    await this.exec('/etc/init.d/ssh', ['start']);
    // sshd writes its pid file after binding its sockets: once it is there, connections are accepted.
    await waitFor('sshd to write /run/sshd.pid', () => existsSync(this.inside('/run/sshd.pid')), 10_000);
  }

  // --- running ---------------------------------------------------------------------------------

  private assertUsable(): void {
    if (this.destroyed || this.destroying) throw new Error(`sandbox box ${this.id} is destroyed`);
  }

  async exec(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.assertUsable();
    return run(
      { file: 'nsenter', args: ['--target', String(this.initPid), '--mount', '--net', '--uts', '--ipc', '--', file, ...args], env: cleanEnv('/root', options.env) },
      options,
    );
  }

  private async inNetns(ns: string, file: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
    this.assertUsable();
    return run({ file: 'nsenter', args: [`--net=/run/netns/${ns}`, '--', file, ...args], env: cleanEnv(this.adminHome, options.env) }, options);
  }

  admin(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return this.inNetns(this.namespaces.admin, file, args, options);
  }

  async attacker(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (this.namespaces.attacker === undefined) throw new Error('sandbox: this box was created without { attacker: true }');
    return this.inNetns(this.namespaces.attacker, file, args, options);
  }

  private target(family: 4 | 6, from: 'admin' | 'attacker'): string {
    if (from === 'attacker') {
      const address = family === 6 ? this.boxAttackerV6 : this.boxAttackerV4;
      if (address === undefined) throw new Error('sandbox: this box was created without { attacker: true }');
      return address;
    }
    return family === 6 ? this.boxV6 : this.boxV4;
  }

  async ssh(command: readonly string[], options: SshOptions = {}): Promise<RunResult> {
    if (command.length === 0) throw new Error('sandbox: ssh needs a command');
    const from = options.from ?? 'admin';
    const host = this.target(options.family ?? 4, from);
    const args = [
      '-F', '/dev/null',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'ConnectTimeout=3',
      '-o', 'LogLevel=ERROR',
      '-p', String(options.port ?? 22),
    ];
    const env: Record<string, string> = {};
    if (options.password === undefined) {
      args.push('-i', this.adminKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'PasswordAuthentication=no', '-o', 'KbdInteractiveAuthentication=no');
    } else {
      // OpenSSH >= 8.4 asks SSH_ASKPASS for the password when forced: no sshpass needed.
      args.push('-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1');
      Object.assign(env, { SSH_ASKPASS: path.join(this.adminHome, 'askpass'), SSH_ASKPASS_REQUIRE: 'force', BULWARK_BOX_PASSWORD: options.password });
    }
    const remoteEnv = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const remote = shellQuote(remoteEnv.length > 0 ? ['env', ...remoteEnv, ...command] : command);
    args.push(`${options.user ?? 'root'}@${host}`, '--', remote);
    const runOptions: RunOptions = { env, timeoutMs: options.timeoutMs ?? 20_000 };
    if (options.input !== undefined) runOptions.input = options.input;
    if (options.reject !== undefined) runOptions.reject = options.reject;
    return from === 'attacker' ? this.attacker('ssh', args, runOptions) : this.admin('ssh', args, runOptions);
  }

  async canConnect(port: number, options: ConnectOptions = {}): Promise<boolean> {
    const from = options.from ?? 'admin';
    const host = this.target(options.family ?? 4, from);
    const timeoutMs = options.timeoutMs ?? 1500;
    // bash's /dev/tcp: a plain connect(), closed at once; no payload is sent.
    const args = ['-c', 'exec 3<>"/dev/tcp/$1/$2"', 'bash', host, String(port)];
    const runOptions: RunOptions = { timeoutMs, reject: false };
    const result = from === 'attacker' ? await this.attacker('bash', args, runOptions) : await this.admin('bash', args, runOptions);
    return result.code === 0 && !result.timedOut;
  }

  async readFile(file: string): Promise<string> {
    return (await this.exec('cat', ['--', file])).stdout;
  }

  async writeFile(file: string, content: string, mode?: number): Promise<void> {
    const script = 'umask 022; mkdir -p -- "$(dirname -- "$1")" && cat > "$1" && if [ -n "$2" ]; then chmod "$2" "$1"; fi';
    await this.exec('sh', ['-c', script, 'sh', file, mode === undefined ? '' : mode.toString(8)], { input: content });
  }

  async hideInterpreters(): Promise<string[]> {
    const failing = path.join(this.tmp, 'not-on-this-box');
    writeFileSync(failing, '#!/bin/sh\necho "$0: not on this box" >&2\nexit 127\n', { mode: 0o755 });
    const hidden: string[] = [];
    for (const program of [process.execPath, '/usr/bin/node', '/usr/local/bin/node', '/usr/bin/python3', '/usr/local/bin/python3']) {
      const real = (await this.exec('readlink', ['-f', '--', program], { reject: false })).stdout.trim();
      if (real === '' || hidden.includes(real) || (await this.exec('test', ['-f', real], { reject: false })).code !== 0) continue;
      await this.exec('mount', ['--bind', failing, real]);
      hidden.push(real);
    }
    return hidden;
  }

  async setPassword(user: string, password: string): Promise<void> {
    if (/[:\n]/.test(user) || password.includes('\n')) throw new Error('sandbox: user/password must not contain ":" or newlines');
    await this.exec('chpasswd', [], { input: `${user}:${password}\n` });
  }

  async spawn(file: string, args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<number> {
    this.assertUsable();
    const log = path.join(this.tmp, `spawn-${Date.now()}-${randomBytes(2).toString('hex')}.log`);
    const fd = openSync(log, 'a');
    try {
      // nsenter (no --pid, no --fork) execs the program: the pid returned is the program's own.
      const child = spawn('nsenter', ['--target', String(this.initPid), '--mount', '--net', '--uts', '--ipc', '--', file, ...args], {
        env: cleanEnv('/root', options.env),
        cwd: '/',
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', () => resolve(child.pid ?? 0));
      });
      child.unref();
      // Returned once it is inside the box (nsenter has entered the namespaces), so pids() lists it.
      await waitFor(`pid ${pid} to enter the box`, () => {
        try {
          return readlinkSync(`/proc/${pid}/ns/mnt`) === this.identity.mnt;
        } catch {
          return true; // already ended
        }
      }, 5000, 5);
      return pid;
    } finally {
      closeSync(fd);
    }
  }

  pids(): number[] {
    if (this.destroyed) return [];
    return processesIn(this.identity).filter(alive);
  }

  // --- tearing down ----------------------------------------------------------------------------

  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    if (this.destroyed) return;
    // Ask the daemons to stop (sshd, rsyslogd, spawned ones), then kill whatever is left, init last.
    const others = processesIn(this.identity).filter((pid) => pid !== this.initPid && pid !== this.launcherPid && alive(pid));
    signalAll(others, 'SIGTERM');
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline && others.some(alive)) await sleep(20);
    for (let round = 0; round < 100; round += 1) {
      const left = processesIn(this.identity).filter(alive);
      if (left.length === 0) break;
      signalAll(left, 'SIGKILL');
      await sleep(20);
    }
    const left = processesIn(this.identity).filter(alive);
    deleteNamespaces(this.namespaceList);
    rmSync(this.tmp, { recursive: true, force: true });
    this.destroyed = true;
    live.delete(this);
    if (left.length > 0) throw new Error(`sandbox: processes of box ${this.id} would not die: ${left.join(', ')}`);
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    teardownSync(this.identity, this.namespaceList, this.tmp);
    live.delete(this);
  }
}

function isSocket(file: string): boolean {
  try {
    return statSync(file).isSocket();
  } catch {
    return false;
  }
}

/** Builds a box (see the top of this file). Destroy it with box.destroy() in afterAll/afterEach. */
export async function createBox(options: CreateBoxOptions = {}): Promise<Box> {
  requireSandboxTools();
  removeStaleBoxes();
  installExitHook();
  const workstation = options.workstation as BoxImpl | undefined;
  if (workstation !== undefined && !live.has(workstation)) throw new Error('sandbox: the workstation box is destroyed');
  // Boxes sharing a workstation need subnets of their own there.
  const taken = new Set([...live].filter((other) => workstation !== undefined && other.namespaces.admin === workstation.namespaces.admin).map((other) => other.n));
  let id: string;
  let n: number;
  do {
    id = randomBytes(3).toString('hex');
    n = 1 + (parseInt(id.slice(0, 2), 16) % 254);
  } while (taken.has(n));
  const box = new BoxImpl(id, n, options.attacker ?? false, workstation);
  live.add(box);
  try {
    mkdirSync(box.tmp, { mode: 0o700 });
    writeFileSync(path.join(box.tmp, 'owner'), `${process.pid}\n`);
    box.setupNetwork();
    await box.startInit();
    if (options.syslog ?? true) await box.startSyslog();
    if (options.ssh ?? true) await box.startSsh();
    return box;
  } catch (error) {
    await box.destroy().catch(() => {});
    throw error;
  }
}
