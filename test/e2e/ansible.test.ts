// Fleets on Ansible (issue 18), end to end: Debian's ansible-playbook, on the workstation, runs the
// playbooks of ansible/ over a fleet of sandbox boxes that have no Node and no Python (they share
// the first box's admin namespace: one workstation, several boxes). What is checked is what Ansible
// reports (the play recap, the diff, the fleet report, its log) and what each box has afterwards:
// its rules in the kernel, its files, its state directory, who logged in to it.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../helpers/bulwark-in-box.js';
import { BULWARK } from '../helpers/cli.js';
import { createBox, requirePrograms, requireSandboxTools, type Box, type RunResult } from '../helpers/sandbox.js';

const PLAYBOOKS = path.resolve(import.meta.dirname, '../../ansible');
/** The htaccess user's password: only in the vault, so never in Ansible's output. */
const OPS_PASSWORD = 'correct horse battery staple 42';

interface Recap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
}

/** The PLAY RECAP lines, per host. */
function recap(output: string): Record<string, Recap> {
  const section = output.slice(output.lastIndexOf('PLAY RECAP'));
  const hosts: Record<string, Recap> = {};
  for (const m of section.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)/gm)) {
    hosts[m[1]!] = { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]), skipped: Number(m[6]), rescued: Number(m[7]) };
  }
  return hosts;
}

describe('Ansible drives bulwark over a fleet of boxes with nothing but /bin/sh', () => {
  const boxes: Box[] = [];
  let a: Box;
  let b: Box;
  let c: Box;
  /** The admin's Ansible project (inventories, group_vars with a vault, reports): a path with a space, in a 0700 dir. */
  let project: string;
  /** TMPDIR of the control machine: where the role's private answers go, and must not stay. */
  let controlTmp: string;
  const timings: string[] = [];

  const rules = async (box: Box) => (await box.exec('sh', ['-c', 'iptables-save | grep -v "^#" | sed "s/\\[[0-9]*:[0-9]*\\]//"; ip6tables-save | grep -v "^#" | sed "s/\\[[0-9]*:[0-9]*\\]//"'])).stdout;
  const logins = async (box: Box) => (await box.readFile('/var/log/auth.log')).split('\n').filter((line) => /sshd\[\d+\]: Accepted publickey/.test(line)).length;
  const exists = async (box: Box, file: string) => (await box.exec('test', ['-e', file], { reject: false })).code === 0;
  const host = (name: string, box: Box, vars: Record<string, unknown> = {}) => ({ [name]: { ansible_host: box.boxV4, ansible_ssh_private_key_file: box.adminKey, ...vars } });

  /** Writes an inventory (JSON is YAML) next to the project's group_vars. */
  function inventory(name: string, hosts: Record<string, unknown>): string {
    const file = path.join(project, name);
    writeFileSync(
      file,
      JSON.stringify({
        all: {
          vars: {
            ansible_user: 'root',
            // never used: every task runs on the workstation (a box's Python would be asked for here)
            ansible_python_interpreter: '/usr/bin/python-is-not-on-this-box',
            ansible_ssh_common_args: '-o StrictHostKeyChecking=no -o "UserKnownHostsFile /dev/null"',
            bulwark_command: [process.execPath, BULWARK],
            bulwark_steps: ['firewall', 'htaccess'],
            bulwark_confirm_timeout: 60,
          },
          hosts,
        },
      }, null, 2),
    );
    return file;
  }

  /** ansible-playbook on the workstation, as an admin runs it; its output is stdout and stderr together. */
  async function playbook(name: string, inventoryFile: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<RunResult & { output: string }> {
    const started = Date.now();
    const result = await a.admin('ansible-playbook', ['-i', inventoryFile, '--vault-password-file', path.join(project, 'vault-pass'), path.join(PLAYBOOKS, name), ...args], {
      env: {
        ANSIBLE_CONFIG: path.join(project, 'ansible.cfg'),
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_STDOUT_CALLBACK: 'default',
        ANSIBLE_HOST_KEY_CHECKING: 'False',
        ANSIBLE_LOCAL_TEMP: path.join(a.tmp, 'ansible-local'),
        ANSIBLE_REMOTE_TEMP: path.join(a.tmp, 'ansible-remote'),
        TMPDIR: controlTmp,
        ...env,
      },
      reject: false,
      timeoutMs: 300_000,
    });
    timings.push(`${name} ${args.join(' ')}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { ...result, output: `${result.stdout}\n${result.stderr}` };
  }

  /** Nothing of the role's private files is left on the control machine. */
  const noPrivateFilesLeft = () => expect(readdirSync(controlTmp).filter((entry) => entry.startsWith('bulwark-ansible.'))).toEqual([]);

  beforeAll(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/bin/ansible-playbook': 'ansible-core', '/usr/bin/ansible-vault': 'ansible-core', '/usr/bin/htpasswd': 'apache2-utils' });
    a = await createBox();
    boxes.push(a);
    b = await createBox({ workstation: a });
    boxes.push(b);
    c = await createBox({ workstation: a });
    boxes.push(c);
    for (const box of boxes) expect((await box.hideInterpreters()).length).toBeGreaterThan(0);

    project = path.join(a.tmp, 'fleet project');
    controlTmp = path.join(a.tmp, 'control-tmp');
    mkdirSync(path.join(project, 'group_vars', 'all'), { recursive: true });
    mkdirSync(controlTmp, { recursive: true });
    writeFileSync(path.join(project, 'ansible.cfg'), '');
    writeFileSync(path.join(project, 'vault-pass'), 'a vault password for the tests\n', { mode: 0o600 });
    // The answers in group_vars; the htaccess password from the vault
    writeFileSync(
      path.join(project, 'group_vars', 'all', 'main.yml'),
      JSON.stringify({
        bulwark_answers: {
          firewall: { allow: [{ port: 22, proto: 'tcp' }, { port: 80, proto: 'tcp' }] },
          htaccess: { protect: ['/admin'], users: [{ name: 'ops', password: '{{ vault_ops_password }}' }] },
        },
      }),
    );
    const vault = path.join(project, 'group_vars', 'all', 'vault.yml');
    writeFileSync(vault, `vault_ops_password: ${OPS_PASSWORD}\n`);
    await a.admin('ansible-vault', ['encrypt', '--vault-password-file', path.join(project, 'vault-pass'), vault], { env: { ANSIBLE_CONFIG: path.join(project, 'ansible.cfg') } });
    expect(readFileSync(vault, 'utf8')).toMatch(/^\$ANSIBLE_VAULT;1\.1;AES256\n/);
  }, 120_000);

  afterAll(async () => {
    if (timings.length > 0) console.log(`ansible e2e timings:\n  ${timings.join('\n  ')}`);
    // the boxes sharing a's workstation first; a's teardown ends what ran there
    for (const box of boxes.reverse()) await box.destroy();
  });

  it('audit.yml reports every box: one fleet report, as JSON and as a table; a box it cannot reach is in it with its error; nothing changes on the boxes', async () => {
    // pbx-down: a box whose SSH port is closed
    const inv = inventory('audit.yml', { ...host('pbx-a', a), ...host('pbx-b', b, { ansible_port: 22 }), ...host('pbx-down', c, { ansible_port: 2 }) });
    const before = [await rules(a), await rules(b)];
    const reports = path.join(project, 'reports');
    mkdirSync(reports);

    const run = await playbook('audit.yml', inv, ['-e', JSON.stringify({ bulwark_steps: [], bulwark_report_dir: reports })]);

    // the box not reached fails the run, after the report is written
    expect(run.code, run.output).toBe(2);
    expect(recap(run.output)).toEqual({
      'pbx-a': expect.objectContaining({ changed: 0, failed: 0, unreachable: 0 }),
      'pbx-b': expect.objectContaining({ changed: 0, failed: 0, unreachable: 0 }),
      'pbx-down': expect.objectContaining({ changed: 0, failed: 1 }),
    });
    const fleet = JSON.parse(readFileSync(path.join(reports, 'bulwark-fleet.json'), 'utf8')) as { generatedAt: string; boxes: { host: string; score: number; high: string[]; pending: string[]; findings: { high: number }; error: string | null }[] };
    expect(fleet.boxes.map((box) => box.host)).toEqual(['pbx-a', 'pbx-b', 'pbx-down']);
    const down = fleet.boxes.pop()!;
    expect(down).toMatchObject({ score: null, high: [], pending: [], error: expect.stringMatching(/^exit 1: bulwark: root@10\.\d+\.0\.1:2: cannot connect/) });
    // what each box's own `bulwark --host ... audit --json` says
    const direct = await a.admin(process.execPath, [BULWARK, '--host', `root@${a.boxV4}`, '--ssh-option', `IdentityFile=${a.adminKey}`, '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'UserKnownHostsFile=/dev/null', 'audit', '--json'], { reject: false, timeoutMs: 60_000 });
    expect(direct.code, direct.stderr).toBe(0);
    const audit = JSON.parse(direct.stdout) as { score: number; steps: { id: string; findings: { severity: string; title: string }[]; plannedChanges: number }[] };
    for (const box of fleet.boxes) {
      expect(box.error).toBeNull();
      expect(box.score).toBe(audit.score);
      expect(box.high).toEqual(audit.steps.flatMap((step) => step.findings.filter((f) => f.severity === 'high').map((f) => `${step.id}: ${f.title}`)));
      expect(box.high).toContain('firewall: No default-deny firewall for IPv4: every listening port is reachable');
      expect(box.findings.high).toBe(box.high.length);
      expect(box.pending).toContain('firewall');
    }
    const table = readFileSync(path.join(reports, 'bulwark-fleet.txt'), 'utf8');
    expect(table).toMatch(new RegExp(`^pbx-a +${audit.score} +${fleet.boxes[0]!.high.length} +.*firewall`, 'm'));
    expect(table).toMatch(new RegExp(`^pbx-b +${audit.score} +${fleet.boxes[1]!.high.length} +.*firewall`, 'm'));
    expect(table).toContain('HIGH findings on pbx-b:\n  firewall: No default-deny firewall for IPv4');
    expect(table).toMatch(/^pbx-down +- +- +NOT AUDITED: exit 1: bulwark: root@10\.\d+\.0\.1:2: cannot connect/m);
    expect(run.output).toContain('Written to ' + reports);
    // read-only: the boxes' rules are as before, and no htaccess file appeared
    expect([await rules(a), await rules(b)]).toEqual(before);
    expect(await exists(a, '/etc/apache2/conf-available/bulwark-htaccess.conf')).toBe(false);
    expect(run.output).not.toContain(OPS_PASSWORD);
    noPrivateFilesLeft();
  }, 180_000);

  it('harden.yml --check --diff shows bulwark\'s plan as a diff, reports "changed", and changes nothing', async () => {
    const inv = inventory('two.yml', { ...host('pbx-a', a), ...host('pbx-b', b, { ansible_port: 22 }) });
    const before = [await rules(a), await rules(b)];

    const run = await playbook('harden.yml', inv, ['--check', '--diff']);

    expect(run.code, run.output).toBe(0);
    expect(recap(run.output)).toEqual({ 'pbx-a': expect.objectContaining({ changed: 1, failed: 0 }), 'pbx-b': expect.objectContaining({ changed: 1, failed: 0 }) });
    // the plan's diff: the firewall, and the htaccess files (the password file only as <redacted>)
    expect(run.output).toContain('"== firewall: Default-deny firewall"');
    expect(run.output).toContain('"-:INPUT ACCEPT [0:0]"');
    expect(run.output).toContain('"+:INPUT DROP [0:0]"');
    expect(run.output).toContain('"+-A BULWARK-INPUT -p tcp -m tcp --dport 80 -j RETURN"');
    expect(run.output).toContain('"+++ b/etc/apache2/conf-available/bulwark-htaccess.conf"');
    expect(run.output).toContain('"@@ secret content new file: <redacted> @@"');
    expect(run.output).toMatch(/TASK \[bulwark : Apply \(bulwark apply --yes\)\] \*+\nskipping: \[pbx-a\]/);
    // nothing changed on the boxes: rules, files, snapshots
    expect([await rules(a), await rules(b)]).toEqual(before);
    for (const box of [a, b]) {
      expect(await exists(box, '/etc/apache2/conf-available/bulwark-htaccess.conf')).toBe(false);
      expect(await exists(box, '/etc/iptables/rules.v4')).toBe(false);
      expect((await box.exec('sh', ['-c', 'ls /var/lib/bulwark/snapshots 2>/dev/null | wc -l'])).stdout.trim()).toBe('0');
    }
    expect(run.output).not.toContain(OPS_PASSWORD);
    noPrivateFilesLeft();
  }, 180_000);

  it('harden.yml with serial 1 applies to one box, then the next; each firewall confirmed by bulwark from a new SSH connection', async () => {
    const inv = inventory('two.yml', { ...host('pbx-a', a), ...host('pbx-b', b, { ansible_port: 22 }) });

    const run = await playbook('harden.yml', inv, ['-v', '-e', 'bulwark_serial=1']);

    expect(run.code, run.output).toBe(0);
    expect(recap(run.output)).toEqual({ 'pbx-a': expect.objectContaining({ changed: 1, failed: 0 }), 'pbx-b': expect.objectContaining({ changed: 1, failed: 0 }) });
    // one box at a time: pbx-b is first named after pbx-a's apply
    const applied = /^changed: \[pbx-a -> localhost\]/m.exec(run.output);
    expect(applied, run.output).not.toBeNull();
    expect(run.output.indexOf('[pbx-b')).toBeGreaterThan(applied!.index);
    for (const box of [a, b]) {
      // the rules are in the box's kernel, saved for its boot, and confirmed through a new connection
      expect((await box.exec('iptables', ['-S', 'INPUT'])).stdout).toMatch(/^-P INPUT DROP$/m);
      expect((await box.exec('iptables', ['-S', 'BULWARK-INPUT'])).stdout).toContain('-A BULWARK-INPUT -p tcp -m tcp --dport 80 -j RETURN');
      expect(await box.readFile('/etc/iptables/rules.v4')).toContain(':BULWARK-INPUT - [0:0]');
      const guard = JSON.parse(await box.readFile('/var/lib/bulwark/guard.json')) as { step: string; status: string; decidedBy: string };
      expect(guard).toMatchObject({ step: 'firewall', status: 'confirmed' });
      expect(guard.decidedBy).toContain(`confirmed from a new SSH connection from ${box.adminV4}`);
      // the vaulted password is the one the box's Apache now checks
      expect(await box.readFile('/etc/apache2/conf-available/bulwark-htaccess.conf')).toContain('<Location "/admin">');
      expect((await box.exec('htpasswd', ['-vb', '/etc/apache2/bulwark.htpasswd', 'ops', OPS_PASSWORD], { reject: false })).code).toBe(0);
    }
    expect(run.output).toContain(`Confirmed: the firewall change stays (confirmed from a new SSH connection from ${a.adminV4})`);
    // the password never shows, even with -v; the answers went through a private dir of the
    // control machine's TMPDIR, removed after each box
    expect(run.output).not.toContain(OPS_PASSWORD);
    expect(run.output).toContain(`${controlTmp}/bulwark-ansible.`);
    expect(run.output).toMatch(/passwordFile\\?": \\?"[^"\\]*\/password-0\\?"/);
    noPrivateFilesLeft();
  }, 240_000);

  it('a second harden.yml reports "ok" everywhere: nothing left to change', async () => {
    const inv = inventory('two.yml', { ...host('pbx-a', a), ...host('pbx-b', b, { ansible_port: 22 }) });
    const before = [await rules(a), await rules(b)];

    const run = await playbook('harden.yml', inv, ['-e', 'bulwark_serial=1']);

    expect(run.code, run.output).toBe(0);
    expect(recap(run.output)).toEqual({ 'pbx-a': expect.objectContaining({ changed: 0, failed: 0 }), 'pbx-b': expect.objectContaining({ changed: 0, failed: 0 }) });
    expect(run.output).not.toMatch(/^changed:/m);
    expect([await rules(a), await rules(b)]).toEqual(before);
    noPrivateFilesLeft();
  }, 180_000);

  it('rollback.yml undoes, box by box, every change of the chosen steps in effect; then it has nothing to do', async () => {
    const inv = inventory('two.yml', { ...host('pbx-a', a), ...host('pbx-b', b, { ansible_port: 22 }) });
    const hardened = [await rules(a), await rules(b)];

    const check = await playbook('rollback.yml', inv, ['--check']);
    expect(check.code, check.output).toBe(0);
    expect(recap(check.output)).toEqual({ 'pbx-a': expect.objectContaining({ changed: 1, failed: 0 }), 'pbx-b': expect.objectContaining({ changed: 1, failed: 0 }) });
    expect(check.output).toMatch(/would roll back htaccess \(snapshot \S+/);
    expect([await rules(a), await rules(b)]).toEqual(hardened);

    const run = await playbook('rollback.yml', inv);
    expect(run.code, run.output).toBe(0);
    expect(recap(run.output)).toEqual({ 'pbx-a': expect.objectContaining({ changed: 1, failed: 0 }), 'pbx-b': expect.objectContaining({ changed: 1, failed: 0 }) });
    // newest first: htaccess, then the firewall
    expect(run.output).toMatch(/changed: \[pbx-a -> localhost\] => \(item=htaccess \(snapshot \S+\)\)\nchanged: \[pbx-a -> localhost\] => \(item=firewall \(snapshot \S+\)\)/);
    for (const box of [a, b]) {
      expect((await box.exec('iptables-save', [])).stdout).not.toContain('BULWARK');
      expect((await box.exec('iptables', ['-S', 'INPUT'])).stdout).toMatch(/^-P INPUT ACCEPT$/m);
      expect(await exists(box, '/etc/apache2/conf-available/bulwark-htaccess.conf')).toBe(false);
    }

    const again = await playbook('rollback.yml', inv);
    expect(again.code, again.output).toBe(0);
    expect(recap(again.output)).toEqual({ 'pbx-a': expect.objectContaining({ changed: 0, failed: 0 }), 'pbx-b': expect.objectContaining({ changed: 0, failed: 0 }) });
  }, 240_000);

  it('three boxes, serial 1, the second refused (its answers would drop the admin): that box fails, the first keeps its change, the third is never touched', async () => {
    const refusing = { bulwark_answers: { firewall: { allow: [{ port: 22, proto: 'tcp', from: ['192.0.2.0/24'] }] } } };
    const inv = inventory('three.yml', { ...host('pbx-a', a), ...host('pbx-b', b, refusing), ...host('pbx-c', c) });
    const before = { b: await rules(b), c: await rules(c), cLogins: await logins(c) };
    const bHistory = await b.exec('sh', ['-c', 'ls /var/lib/bulwark/snapshots']);

    const run = await playbook('harden.yml', inv, ['-e', JSON.stringify({ bulwark_serial: 1, bulwark_steps: ['firewall'] })]);

    // the rollout stopped: pbx-b failed with bulwark's reason, pbx-c was never in the play
    expect(run.code, run.output).not.toBe(0);
    const hosts = recap(run.output);
    expect(Object.keys(hosts).sort()).toEqual(['pbx-a', 'pbx-b']);
    expect(hosts['pbx-a']).toMatchObject({ changed: 1, failed: 0 });
    expect(hosts['pbx-b']).toMatchObject({ changed: 0, failed: 1 });
    expect(run.output).toContain(`Refused: You are connected from ${b.adminV4} to port 22; with these rules a new connection from there would be dropped`);
    expect(run.output).toMatch(/fatal: \[pbx-b\]: FAILED! => .*Apply \(bulwark apply --yes\): exit 1 \(failed or refused; nothing half-applied\)/);
    expect(run.output).not.toContain('[pbx-c');
    // pbx-a keeps its firewall
    expect((await a.exec('iptables', ['-S', 'INPUT'])).stdout).toMatch(/^-P INPUT DROP$/m);
    expect(JSON.parse(await a.readFile('/var/lib/bulwark/guard.json'))).toMatchObject({ step: 'firewall', status: 'confirmed' });
    // pbx-b is unchanged
    expect(await rules(b)).toBe(before.b);
    expect((await b.exec('sh', ['-c', 'ls /var/lib/bulwark/snapshots'])).stdout).toBe(bHistory.stdout);
    // and nobody logged in to pbx-c: no rules, no state, no new login
    expect(await rules(c)).toBe(before.c);
    expect(await exists(c, '/var/lib/bulwark')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 500)); // rsyslog writes asynchronously
    expect(await logins(c)).toBe(before.cLogins);
    noPrivateFilesLeft();
  }, 240_000);

  it('a box whose firewall is rolled back by its dead-man switch (no new connection got in) fails, and the rollout stops there', async () => {
    const inv = inventory('dead-man.yml', { ...host('pbx-c', c), ...host('pbx-b', b) });
    const before = { b: await rules(b), bLogins: await logins(b) };
    // bulwark pauses four seconds once the rules are loaded (BULWARK_FAULT, inherited through
    // Ansible): meanwhile the workstation loses every NEW connection to pbx-c (the one open stays)
    const drop = ['OUTPUT', '-d', c.boxV4, '-p', 'tcp', '--dport', '22', '--syn', '-j', 'DROP'];
    onTestFinished(async () => {
      await a.admin('iptables', ['-D', ...drop], { reject: false });
    });
    const running = playbook('harden.yml', inv, ['-e', JSON.stringify({ bulwark_serial: 1, bulwark_steps: ['firewall'], bulwark_confirm_timeout: 10 })], { BULWARK_FAULT: 'pause@after-firewall' });
    expect(await eventually(async () => /^-P INPUT DROP$/m.test((await c.exec('iptables', ['-S', 'INPUT'])).stdout), 90_000, 50)).toBe(true);
    await a.admin('iptables', ['-I', ...drop]);

    const run = await running;

    expect(run.code, run.output).not.toBe(0);
    const hosts = recap(run.output);
    expect(Object.keys(hosts), run.output).toEqual(['pbx-c']);
    expect(hosts['pbx-c']).toMatchObject({ changed: 0, failed: 1 });
    expect(run.output).toMatch(/fatal: \[pbx-c\]: FAILED! => .*Apply \(bulwark apply --yes\): exit 3 \(the guarded change was not confirmed in time and was rolled back\)/);
    // the box's switch put its rules back by itself (the kernel keeps an empty filter table where
    // there was none); pbx-b was never reached
    expect((await c.exec('iptables-save', [])).stdout).not.toContain('BULWARK');
    expect((await c.exec('ip6tables-save', [])).stdout).not.toContain('BULWARK');
    expect((await c.exec('iptables', ['-S', 'INPUT'])).stdout).toMatch(/^-P INPUT ACCEPT$/m);
    expect(await exists(c, '/etc/iptables/rules.v4')).toBe(false); // saved for boot only once confirmed
    expect(JSON.parse(await c.readFile('/var/lib/bulwark/guard.json'))).toMatchObject({ step: 'firewall', status: 'rolled-back' });
    expect(await rules(b)).toBe(before.b);
    expect(await logins(b)).toBe(before.bLogins);
    noPrivateFilesLeft();
  }, 240_000);

  it('the playbooks carry no shell strings: bulwark is run as an argv list, by ansible-core\'s own modules', () => {
    const files = ['harden.yml', 'audit.yml', 'rollback.yml', ...readdirSync(path.join(PLAYBOOKS, 'roles/bulwark/tasks')).map((f) => `roles/bulwark/tasks/${f}`)];
    for (const file of files) {
      const text = readFileSync(path.join(PLAYBOOKS, file), 'utf8');
      expect(text, file).not.toMatch(/^\s*(ansible\.builtin\.)?(shell|raw|script):/m);
      expect(text, file).not.toMatch(/^\s*cmd:/m);
      for (const module of text.matchAll(/^\s*-?\s*([a-z_]+\.[a-z_]+\.[a-z_]+):/gm)) expect(module[1], file).toMatch(/^ansible\.builtin\./);
    }
    expect(existsSync(path.join(PLAYBOOKS, 'inventory.example.yml'))).toBe(true);
  });
});
