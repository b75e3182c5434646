// The sandbox the end-to-end tests build their boxes with, proved with the real programs: sshd and
// rsyslogd running in the box, ssh from the admin namespace over IPv4 and IPv6, iptables inside the
// box, and nothing of it reaching the real machine. Fails (never skips) where the tools are missing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createBox, requireSandboxTools, type Box } from '../helpers/sandbox.js';

function host(file: string, args: readonly string[]): string {
  const result = spawnSync(file, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** What the real machine looks like where a leaking box would change it. */
function hostState(): Record<string, string> {
  const fingerprint = (file: string): string => {
    if (!existsSync(file)) return 'absent';
    const st = statSync(file);
    return `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
  };
  return {
    iptables: host('iptables', ['-S']),
    ip6tables: host('ip6tables', ['-S']),
    authLog: fingerprint('/var/log/auth.log'),
    syslog: fingerprint('/var/log/syslog'),
    authorizedKeys: fingerprint('/root/.ssh/authorized_keys'),
    shadow: fingerprint('/etc/shadow'),
    probe: fingerprint('/etc/bulwark-sandbox-probe'),
    home: readdirSync('/home').join(' '),
    hostname: host('hostname', []),
  };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Outside the describe, so a machine without the tools reports this failure by name.
it('has the tools the sandbox needs, as root', () => {
  requireSandboxTools();
});

describe('the e2e sandbox box', () => {
  let box: Box | undefined;
  let before: Record<string, string>;
  let createdInMs = 0;

  function theBox(): Box {
    if (box === undefined) throw new Error('the box was not created (see beforeAll)');
    return box;
  }

  beforeAll(async () => {
    requireSandboxTools();
    before = hostState();
    const started = Date.now();
    box = await createBox({ attacker: true });
    createdInMs = Date.now() - started;
  });

  afterAll(async () => {
    await box?.destroy();
  });

  it('builds a box with sshd and rsyslogd running, in a few seconds at most', async () => {
    const b = theBox();
    expect(createdInMs).toBeLessThan(10_000);
    expect(b.namespaces.box).toBe(`bw-${b.id}-box`);
    expect(host('ip', ['netns', 'list'])).toContain(`bw-${b.id}-box`);
    const sshdPid = (await b.readFile('/run/sshd.pid')).trim();
    const syslogPid = (await b.readFile('/run/rsyslogd.pid')).trim();
    expect(b.pids()).toEqual(expect.arrayContaining([Number(sshdPid), Number(syslogPid), b.initPid]));
    // its own hostname (UTS namespace), and node and /work are visible inside
    expect((await b.exec('hostname', [])).stdout.trim()).toBe(`bw-${b.id}`);
    expect((await b.exec(process.execPath, ['-e', 'console.log(1 + 1)'])).stdout).toBe('2\n');
    expect((await b.exec('test', ['-r', fileURLToPath(new URL('../../package.json', import.meta.url))], { reject: false })).code).toBe(0);
  });

  it('lets the admin in over ssh on IPv4 and IPv6, and the remote command sees SSH_CONNECTION', async () => {
    const b = theBox();
    const v4 = await b.ssh(['printenv', 'SSH_CONNECTION']);
    expect(v4.stdout.trim().split(' ')).toEqual([b.adminV4, expect.stringMatching(/^\d+$/), b.boxV4, '22']);
    const v6 = await b.ssh(['printenv', 'SSH_CONNECTION'], { family: 6 });
    expect(v6.stdout.trim().split(' ')).toEqual([b.adminV6, expect.stringMatching(/^\d+$/), b.boxV6, '22']);
    // arguments arrive intact through the remote shell; env is passed on
    const echoed = await b.ssh(['sh', '-c', 'printf "%s|" "$@" "$GREETING"', 'sh', "it's", 'two words', '$HOME', '*'], { env: { GREETING: 'hi there' } });
    expect(echoed.stdout).toBe("it's|two words|$HOME|*|hi there|");
    // node over ssh, as the bulwark CLI will be run
    const node = await b.ssh([process.execPath, '-e', 'console.log(process.env.SSH_CONNECTION.split(" ")[0])']);
    expect(node.stdout.trim()).toBe(b.adminV4);
    // an unknown key is refused
    const refused = await b.ssh(['true'], { user: 'nobody', reject: false });
    expect(refused.code).toBe(255);
  });

  it('supports password logins for a user with a password set inside the box', async () => {
    const b = theBox();
    await b.exec('useradd', ['-m', '-s', '/bin/sh', 'alice']);
    await b.setPassword('alice', 'correct horse');
    expect((await b.ssh(['id', '-un'], { user: 'alice', password: 'correct horse' })).stdout.trim()).toBe('alice');
    expect((await b.ssh(['id', '-un'], { user: 'alice', password: 'wrong', reject: false })).code).toBe(255);
  });

  it('logs to the box /var/log/auth.log, while the real /etc, /var/log and /root stay untouched', async () => {
    const b = theBox();
    await b.ssh(['true']);
    const logged = await eventually(async () => /sshd\[\d+\]: Accepted publickey for root from 10\.\d+\.0\.2 /.test(await b.readFile('/var/log/auth.log')));
    expect(logged, await b.readFile('/var/log/auth.log')).toBe(true);
    expect(await b.readFile('/var/log/auth.log')).toMatch(/Accepted password for alice/);

    await b.writeFile('/etc/bulwark-sandbox-probe', 'inside the box\n', 0o600);
    expect(await b.readFile('/etc/bulwark-sandbox-probe')).toBe('inside the box\n');
    expect((await b.exec('stat', ['-c', '%a', '/etc/bulwark-sandbox-probe'])).stdout.trim()).toBe('600');
    // the write went to the overlay's upper dir in the test's temp dir, not the real /etc
    expect(existsSync(`${b.tmp}/overlay/etc/upper/bulwark-sandbox-probe`)).toBe(true);
    expect(existsSync('/etc/bulwark-sandbox-probe')).toBe(false);
    expect(existsSync(`${b.tmp}/overlay/root/upper/.ssh/authorized_keys`)).toBe(true);
    const after = hostState();
    expect(after).toEqual(before);
    // the box's mounts never show up in the host's mount table
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(b.tmp);
  });

  it('runs iptables inside the box: a DROP rule cuts new connections there only', async () => {
    const b = theBox();
    expect(await b.canConnect(22)).toBe(true);
    expect(await b.canConnect(22, { family: 6 })).toBe(true);
    expect(await b.canConnect(22, { from: 'attacker' })).toBe(true);
    expect(await b.canConnect(23)).toBe(false); // refused: nothing listens
    await b.exec('iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    try {
      expect(await b.canConnect(22, { timeoutMs: 1000 })).toBe(false);
      expect(await b.canConnect(22, { from: 'attacker', timeoutMs: 1000 })).toBe(false);
      expect(await b.canConnect(22, { family: 6 })).toBe(true); // IPv4 rules leave IPv6 alone
      expect((await b.exec('iptables', ['-S', 'INPUT'])).stdout).toContain('-A INPUT -p tcp -m tcp --dport 22 -j DROP');
      expect(host('iptables', ['-S'])).toBe(before.iptables);
    } finally {
      await b.exec('iptables', ['-D', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
    }
    expect(await b.canConnect(22)).toBe(true);
    expect(host('iptables', ['-S'])).toBe(before.iptables);
  });

  it('starts detached processes in the box', async () => {
    const b = theBox();
    const pid = await b.spawn(process.execPath, ['-e', "require('node:net').createServer((s) => s.end()).listen(8080, '::')"]);
    expect(await eventually(() => b.canConnect(8080))).toBe(true);
    expect(b.pids()).toContain(pid);
    process.kill(pid, 'SIGTERM');
    expect(await eventually(async () => !(await b.canConnect(8080)))).toBe(true);
  });

  it('destroy() leaves no namespaces, processes, mounts or temp dir behind', async () => {
    const b = theBox();
    const listener = await b.spawn('sleep', ['600']);
    const pids = b.pids();
    expect(pids).toContain(listener);
    expect(pids.length).toBeGreaterThanOrEqual(5); // unshare, init, rsyslogd, sshd, sleep
    const mntNs = readlinkSync(`/proc/${b.initPid}/ns/mnt`);
    await b.destroy();
    await b.destroy(); // idempotent

    expect(host('ip', ['netns', 'list'])).not.toMatch(new RegExp(`bw-${b.id}-`));
    for (const pid of pids) expect(existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
    const inBox = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        try {
          return readlinkSync(`/proc/${e}/ns/mnt`) === mntNs;
        } catch {
          return false;
        }
      });
    expect(inBox).toEqual([]);
    expect(existsSync(b.tmp)).toBe(false);
    expect(b.pids()).toEqual([]);
    await expect(b.exec('true', [])).rejects.toThrow(/destroyed/);
    expect(hostState()).toEqual(before);
  });
});

describe('boxes sharing one workstation (a fleet)', () => {
  it('reaches each box from the first one\'s admin namespace, on subnets of their own; destroying one leaves the others working', async () => {
    const owner = await createBox({ syslog: false });
    const others: Box[] = [];
    try {
      others.push(await createBox({ workstation: owner, syslog: false }), await createBox({ workstation: owner, syslog: false }));
      const fleet = [owner, ...others];
      expect(new Set(fleet.map((b) => b.namespaces.admin))).toEqual(new Set([owner.namespaces.admin]));
      expect(new Set(fleet.map((b) => b.boxV4)).size).toBe(3);
      expect(host('ip', ['netns', 'list'])).not.toContain(`bw-${others[0]!.id}-admin`);
      // each box is reached from the one workstation, and sees it at its own admin address
      for (const b of fleet) {
        const seen = await owner.admin('ssh', ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-i', b.adminKey, `root@${b.boxV4}`, 'printenv SSH_CONNECTION; hostname']);
        expect(seen.stdout.split('\n').slice(0, 2)).toEqual([expect.stringMatching(new RegExp(`^${b.adminV4.replaceAll('.', '\\.')} \\d+ ${b.boxV4.replaceAll('.', '\\.')} 22$`)), `bw-${b.id}`]);
      }
      // a box that shares the workstation leaves it alone when destroyed
      await others[0]!.destroy();
      expect(host('ip', ['netns', 'list'])).toContain(owner.namespaces.admin);
      expect(await others[1]!.canConnect(22)).toBe(true);
      expect(await owner.canConnect(22)).toBe(true);
    } finally {
      for (const b of others) await b.destroy();
      await owner.destroy();
    }
    expect(host('ip', ['netns', 'list'])).not.toContain(owner.namespaces.admin);
  }, 60_000);
});
