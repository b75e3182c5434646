// The engine end to end through the real CLI, on copies of the fixture roots: plan, apply, plan
// again (nothing), roll back, and a byte-identical tree afterwards.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BULWARK, bulwark } from '../helpers/cli.js';
import { materializeFixture, removeFixture, snapshotTree } from '../helpers/fixture.js';

let root: string;
let state: string;
const cleanups: string[] = [];

async function box(name: 'elastix-centos5' | 'debian12-a2billing'): Promise<void> {
  root = await materializeFixture(name);
  state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-'));
  cleanups.push(root, state);
}

const at = (file: string) => path.join(root, file);
const read = (file: string) => fs.readFile(at(file), 'utf8');
const g = () => ['--root', root, '--state-dir', state];

beforeEach(() => {
  cleanups.length = 0;
});

afterEach(async () => {
  for (const dir of cleanups) await removeFixture(dir);
});

describe('exposure on the Elastix 2.x / CentOS 5 fixture', () => {
  beforeEach(() => box('elastix-centos5'));

  it('plans, applies, plans nothing, and rolls back to a byte-identical tree', async () => {
    const pristine = await snapshotTree(root);
    const managerBefore = await read('etc/asterisk/manager.conf');

    const plan = await bulwark(['plan', '--step', 'exposure', ...g()]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('+++ b/etc/my.cnf');
    expect(plan.stdout).toContain('+bind-address = 127.0.0.1');
    expect(plan.stdout).toContain('-inet_interfaces = all');
    expect(plan.stdout).toContain('+inet_interfaces = loopback-only');
    expect(plan.stdout).toContain('+bindaddr = 127.0.0.1');
    // The AMI user's secret sits near [general] in Elastix's manager.conf: never shown.
    expect(plan.stdout).not.toContain('elastix456');
    expect(await snapshotTree(root)).toEqual(pristine); // plan writes nothing

    const apply = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()]);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(await read('etc/my.cnf')).toMatch(/\[mysqld\][^[]*\nbind-address = 127\.0\.0\.1\n/);
    expect(await read('etc/postfix/main.cf')).toMatch(/^inet_interfaces = loopback-only$/m);
    const manager = await read('etc/asterisk/manager.conf');
    expect(manager).toMatch(/\[general\][^[]*bindaddr = 127\.0\.0\.1/);
    // Only the one line changed in manager.conf: comments, includes and users untouched.
    expect(manager.split('\n').filter((line, i) => line !== managerBefore.split('\n')[i])).toEqual(['bindaddr = 127.0.0.1']);

    const again = await bulwark(['plan', '--step', 'exposure', ...g()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to do');

    const rollback = await bulwark(['rollback', '--step', 'exposure', '--yes', ...g()]);
    expect(rollback.code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('binds only what the answers file names', async () => {
    const answers = path.join(state, 'answers.json');
    await fs.writeFile(answers, JSON.stringify({ exposure: { loopbackOnly: ['asterisk-ami'] } }));
    const mycnf = await read('etc/my.cnf');
    const maincf = await read('etc/postfix/main.cf');
    expect((await bulwark(['apply', '--step', 'exposure', '--yes', '--answers', answers, ...g()])).code).toBe(0);
    expect(await read('etc/asterisk/manager.conf')).toContain('bindaddr = 127.0.0.1');
    expect(await read('etc/my.cnf')).toBe(mycnf);
    expect(await read('etc/postfix/main.cf')).toBe(maincf);
  });

  it('reports status and history, also as JSON', async () => {
    expect((await bulwark(['apply', '--step', 'exposure', '--yes', ...g()])).code).toBe(0);
    const status = JSON.parse((await bulwark(['status', '--json', ...g()])).stdout);
    const exposure = status.steps.find((s: { id: string }) => s.id === 'exposure');
    expect(exposure.status).toBe('applied');
    expect(status.steps.find((s: { id: string }) => s.id === 'firewall').status).toBe('pending');
    expect(status.steps.every((s: { status: string }) => s.status !== 'coming')).toBe(true); // every step is built
    const history = JSON.parse((await bulwark(['history', '--json', ...g()])).stdout);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ id: exposure.snapshotId, step: 'exposure', inEffect: true });
    expect(history[0].files).toEqual(['/etc/asterisk/manager.conf', '/etc/my.cnf', '/etc/postfix/main.cf']);
    const plan = JSON.parse((await bulwark(['plan', '--step', 'exposure', '--json', ...g()])).stdout);
    expect(plan).toMatchObject({ changes: 0 });
  });

  it('audit lists what is exposed without changing anything', async () => {
    const pristine = await snapshotTree(root);
    const audit = await bulwark(['audit', '--step', 'exposure', ...g()]);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/\[HIGH\] MySQL \/ MariaDB is reachable from outside/);
    expect(audit.stdout).toMatch(/Score: \d+\/100/);
    const json = JSON.parse((await bulwark(['audit', '--step', 'exposure', '--json', ...g()])).stdout);
    expect(json.steps[0].findings.length).toBeGreaterThanOrEqual(3);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('keeps a hand edit made after bulwark: reported, and saved in a snapshot before the rollback', async () => {
    expect((await bulwark(['apply', '--step', 'exposure', '--yes', ...g()])).code).toBe(0);
    await fs.appendFile(at('etc/postfix/main.cf'), '# added by the admin later\n');
    const edited = await read('etc/postfix/main.cf');
    const rollback = await bulwark(['rollback', '--last', '--yes', ...g()]);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain('/etc/postfix/main.cf was edited after bulwark changed it');
    const kept = /kept in snapshot (\S+)\./.exec(rollback.stdout)?.[1];
    expect(kept).toBeDefined();
    expect(await read('etc/postfix/main.cf')).not.toBe(edited);
    // The edited version is in the pre-rollback snapshot: restoring it undoes the rollback.
    const undo = await bulwark(['rollback', kept!, '--yes', ...g()]);
    expect(undo.code).toBe(0);
    expect(await read('etc/postfix/main.cf')).toBe(edited);
    const status = JSON.parse((await bulwark(['status', '--json', ...g()])).stdout);
    expect(status.steps.find((s: { id: string }) => s.id === 'exposure').status).toBe('applied');
    // ...and the step's change is in effect again, so it can be rolled back once more.
    expect((await bulwark(['rollback', '--step', 'exposure', '--yes', ...g()])).code).toBe(0);
  });
});

describe('exposure on the Debian 12 + A2Billing fixture', () => {
  beforeEach(() => box('debian12-a2billing'));

  it('edits MariaDB at the end of the my.cnf symlink chain and keeps the links', async () => {
    const pristine = await snapshotTree(root);
    const apply = await bulwark(['apply', '--step', 'exposure', '--yes', ...g()]);
    expect(apply.code).toBe(0);
    expect(await fs.readlink(at('etc/mysql/my.cnf'))).toBe('/etc/alternatives/my.cnf');
    expect(await fs.readlink(at('etc/alternatives/my.cnf'))).toBe('/etc/mysql/mariadb.cnf');
    expect(await read('etc/mysql/mariadb.conf.d/50-server.cnf')).toMatch(/^bind-address\s+= 127\.0\.0\.1$/m);
    expect((await bulwark(['plan', '--step', 'exposure', ...g()])).code).toBe(0);
    expect((await bulwark(['rollback', '--last', '--yes', ...g()])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

describe('bad input changes nothing and exits 2 with one clear message', () => {
  beforeEach(() => box('elastix-centos5'));

  async function expectRefused(args: string[], message: RegExp, answers?: string): Promise<void> {
    const pristine = await snapshotTree(root);
    if (answers !== undefined) await fs.writeFile(path.join(state, 'answers.json'), answers);
    const result = await bulwark(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await snapshotTree(root)).toEqual(pristine);
    expect(await fs.readdir(state)).toEqual(answers === undefined ? [] : ['answers.json']);
  }

  it('an answers file that is not JSON', async () => {
    await expectRefused(['apply', '--step', 'exposure', '--yes', '--answers', path.join(state, 'answers.json'), ...g()], /answers file .* is not valid JSON/, '{ "exposure": ');
  });

  it('an answers file with an unknown key', async () => {
    await expectRefused(['apply', '--step', 'exposure', '--yes', '--answers', path.join(state, 'answers.json'), ...g()], /unknown key "bindAll" in exposure \(accepted: loopbackOnly\)/, '{"exposure": {"loopbackOnly": [], "bindAll": true}}');
  });

  it('an answers file with a wrong type', async () => {
    await expectRefused(['apply', '--step', 'exposure', '--yes', '--answers', path.join(state, 'answers.json'), ...g()], /exposure\.loopbackOnly: .*got "mysql"/, '{"exposure": {"loopbackOnly": "mysql"}}');
  });

  it('a root that does not exist', async () => {
    await expectRefused(['plan', '--root', path.join(root, 'no-such-dir'), '--state-dir', state], /--root .*no-such-dir does not exist/);
  });

  it('an unknown step, an unknown option, apply without --yes', async () => {
    await expectRefused(['plan', '--step', 'firewal', ...g()], /--step: unknown step "firewal" \(accepted: elastix-extras, exposure, voip, firewall/);
    await expectRefused(['plan', '--frobnicate', ...g()], /unknown option '--frobnicate'/);
    await expectRefused(['apply', ...g()], /needs --yes/);
  });
});

describe('refusals that are not bad input', () => {
  beforeEach(() => box('elastix-centos5'));

  it('a state dir that cannot be created: a clear message, nothing changed', async () => {
    const pristine = await snapshotTree(root);
    const blocker = path.join(state, 'a-file');
    await fs.writeFile(blocker, '');
    const result = await bulwark(['apply', '--step', 'exposure', '--yes', '--root', root, '--state-dir', path.join(blocker, 'state')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/The state directory .* is not writable/);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it.runIf(process.getuid?.() === 0)('not root on the live system: apply refuses before touching anything', async () => {
    // The bundle is copied where that user can read it: the clone may lie under /root or in a
    // `mktemp -d` directory (both 0700), and the refusal must be the one tested, not "cannot read".
    const bundle = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-bundle-'));
    try {
      await fs.chmod(bundle, 0o755);
      for (const name of await fs.readdir(path.dirname(BULWARK))) if (name.endsWith('.js')) await fs.copyFile(path.join(path.dirname(BULWARK), name), path.join(bundle, name));
      const result = await bulwark(['apply', '--step', 'exposure', '--yes', '--state-dir', path.join(state, 'live')], { uid: 65534, gid: 65534, cwd: '/', bundle: path.join(bundle, 'bulwark.js') });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('it must run as root');
    } finally {
      await fs.rm(bundle, { recursive: true, force: true });
    }
  });

  it('rollback when nothing was applied', async () => {
    const result = await bulwark(['rollback', '--last', '--yes', ...g()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Nothing to roll back');
  });

  it('the wizard without a terminal explains plan and apply', async () => {
    const result = await bulwark([...g()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs an interactive terminal');
    expect(result.stderr).toContain('bulwark apply --yes');
  });
});
