// Resources and other faults (issue 15): a state directory too full for the snapshot, a target
// filesystem that fills up or is read-only in the middle of the writes, a damaged state directory.
// Each is one clear message and exit 1, and the box is as it was (nothing changed, or everything
// put back). The full and read-only filesystems are real mounts (tmpfs, a read-only bind mount) made
// in a private mount namespace (unshare), so nothing outside the test sees them.
import { execa } from 'execa';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BULWARK, bulwark } from '../helpers/cli.js';
import { snapshotTree } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';

const roots = fixtureRoots();
const asRoot = process.getuid?.() === 0;

/**
 * Runs `setup` (sh, with $ROOT and $STATE set), then bulwark with `args`, in a private mount
 * namespace; returns bulwark's result and a listing of the root taken after the setup and after
 * bulwark (inside the namespace: the mounts exist only there).
 */
async function inMountNamespace(setup: string, root: string, state: string, args: string[]) {
  const listing = `cd "$ROOT" && find . -printf '%p %y %m %U:%G %l\\n' | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort`;
  const script = [
    'set -e',
    setup,
    `echo '--- before'; (${listing})`,
    'set +e',
    `"$NODE" "$BULWARK" "$@" > "$STATE/.out" 2> "$STATE/.err"; code=$?`,
    `echo "--- after $code"; (${listing})`,
  ].join('\n');
  const run = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...args], {
    env: { ROOT: root, STATE: state, NODE: process.execPath, BULWARK, NO_COLOR: '1' },
    reject: false,
  });
  expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
  const [, before, code, after] = /^--- before\n([\s\S]*)--- after (\d+)\n([\s\S]*)$/.exec(String(run.stdout)) ?? [];
  const out = await fs.readFile(path.join(state, '.out'), 'utf8');
  const err = await fs.readFile(path.join(state, '.err'), 'utf8');
  await fs.rm(path.join(state, '.out'));
  await fs.rm(path.join(state, '.err'));
  return { code: Number(code), stdout: out, stderr: err, before: before!, after: after! };
}

// A tmpfs over a directory of the root, holding a copy of what was there (same mode and owner).
const tmpfsOver = (dir: string, size: string) => `D="$ROOT/${dir}"; cp -a "$D" /tmp/.bulwark-copy-$$; mount -t tmpfs -o size=${size},mode=$(stat -c %a "$D"),uid=$(stat -c %u "$D"),gid=$(stat -c %g "$D") tmpfs "$D"; cp -a /tmp/.bulwark-copy-$$/. "$D"/; rm -rf /tmp/.bulwark-copy-$$`;

describe.runIf(asRoot)('filesystems that say no', () => {
  it('a state directory too small for the snapshot: refused before the box is touched, saying how much it needs', async () => {
    const { root, state } = await roots.box('elastix-centos5');
    const result = await inMountNamespace(`mkdir -p "$STATE/small"; mount -t tmpfs -o size=64k tmpfs "$STATE/small"`, root, state, ['apply', '--step', 'exposure', '--yes', '--root', root, '--state-dir', path.join(state, 'small')]);
    expect(result.code, cliOutput(result)).toBe(1);
    expect(result.stderr).toMatch(/The state directory .*\/small has \d+ KiB free; the snapshot of this change needs about \d+ KiB\. Nothing was changed\./);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.after.trim().split('\n')).toEqual(result.before.trim().split('\n'));
  });

  it('a state directory already full: one line naming the place, no trace, nothing changed', async () => {
    const { root, state } = await roots.box('elastix-centos5');
    const result = await inMountNamespace(`mkdir -p "$STATE/full"; mount -t tmpfs -o size=64k tmpfs "$STATE/full"; dd if=/dev/zero of="$STATE/full/filler" bs=4k 2>/dev/null || true`, root, state, ['apply', '--step', 'exposure', '--yes', '--root', root, '--state-dir', path.join(state, 'full')]);
    expect(result.code, cliOutput(result)).toBe(1);
    expect(result.stderr).toMatch(/^bulwark: .*\/full.* failed: no space left on that filesystem \(ENOSPC\)\.$/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.after.trim().split('\n')).toEqual(result.before.trim().split('\n'));
  });

  it('the target fills up after the first write: the written file is put back, exit 1, the cause in one line', async () => {
    // exposure on Elastix writes /etc/my.cnf, then /etc/postfix/main.cf, then /etc/asterisk/manager.conf
    const { root, state } = await roots.box('elastix-centos5');
    const result = await inMountNamespace(`${tmpfsOver('etc/postfix', '256k')}; dd if=/dev/zero of="$ROOT/etc/postfix/.filler" bs=4k 2>/dev/null || true`, root, state, ['apply', '--step', 'exposure', '--yes', '--root', root, '--state-dir', state]);
    expect(result.code, cliOutput(result)).toBe(1);
    expect(result.stdout).toMatch(/write\s+\/etc\/my\.cnf/);
    expect(result.stderr).toMatch(/exposure: writing in .*\/etc\/postfix failed: no space left on that filesystem \(ENOSPC\)\./);
    expect(result.stderr).toMatch(/exposure: rolled back to snapshot \S+; 1 restored/);
    expect(result.after.trim().split('\n')).toEqual(result.before.trim().split('\n')); // no temporary file left either
    const status = JSON.parse((await bulwark(['status', '--json', ...rootArgs(root, state)])).stdout) as { interrupted: unknown; steps: { id: string; status: string }[] };
    expect(status.interrupted).toBeNull();
    expect(status.steps.find((s) => s.id === 'exposure')?.status).toBe('failed');
  });

  it('a read-only part of the target, met after two writes: both put back, exit 1, the cause in one line', async () => {
    const { root, state } = await roots.box('elastix-centos5');
    const result = await inMountNamespace(`mount --bind "$ROOT/etc/asterisk" "$ROOT/etc/asterisk"; mount -o remount,bind,ro "$ROOT/etc/asterisk"`, root, state, ['apply', '--step', 'exposure', '--yes', '--root', root, '--state-dir', state]);
    expect(result.code, cliOutput(result)).toBe(1);
    expect(result.stderr).toMatch(/exposure: writing in .*\/etc\/asterisk failed: that filesystem is mounted read-only \(EROFS\)\./);
    expect(result.stderr).toMatch(/rolled back to snapshot \S+; 2 restored/);
    expect(result.after.trim().split('\n')).toEqual(result.before.trim().split('\n'));
  });
});

describe('a damaged state directory', () => {
  async function applied() {
    const { root, state } = await roots.box('elastix-centos5');
    const pristine = await snapshotTree(root);
    const apply = await bulwark(['apply', '--step', 'exposure', '--yes', ...rootArgs(root, state)]);
    expect(apply.code, cliOutput(apply)).toBe(0);
    const [snapshot] = (await fs.readdir(path.join(state, 'snapshots'))).filter((n) => n.endsWith('.json'));
    return { root, state, pristine, snapshot: snapshot!.replace(/\.json$/, ''), applied: await snapshotTree(root) };
  }

  it('a journal cut short: named, with what to do; never read as empty; once moved aside the snapshots still roll back', async () => {
    const { root, state, pristine, snapshot, applied: tree } = await applied();
    const journal = path.join(state, 'session.json');
    const text = await fs.readFile(journal, 'utf8');
    await fs.writeFile(journal, text.slice(0, Math.floor(text.length / 2)));
    for (const args of [['status'], ['rollback', '--last', '--yes'], ['apply', '--step', 'exposure', '--yes']]) {
      const result = await bulwark([...args, ...rootArgs(root, state)]);
      expect(result.code, `${args[0]}: ${cliOutput(result)}`).toBe(1);
      expect(result.stderr).toContain(`bulwark's state file ${journal} is damaged`);
      expect(result.stderr).toContain(`mv ${journal} ${journal}.damaged`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(await snapshotTree(root)).toEqual(tree);
    await fs.rename(journal, `${journal}.damaged`);
    const back = await bulwark(['rollback', snapshot, '--yes', ...rootArgs(root, state)]);
    expect(back.code, cliOutput(back)).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });

  it('a snapshot object missing: the rollback names it and changes nothing', async () => {
    const { root, state, snapshot, applied: tree } = await applied();
    const manifest = JSON.parse(await fs.readFile(path.join(state, 'snapshots', `${snapshot}.json`), 'utf8')) as { files: { path: string; hash?: string }[] };
    const lost = manifest.files.find((f) => f.path === '/etc/postfix/main.cf')!;
    const object = path.join(state, 'snapshots', 'objects', lost.hash!);
    await fs.rm(object);
    const result = await bulwark(['rollback', snapshot, '--yes', ...rootArgs(root, state)]);
    expect(result.code, cliOutput(result)).toBe(1);
    expect(result.stderr).toContain(`Snapshot ${snapshot} cannot be restored: its copy of /etc/postfix/main.cf (${object}) is missing. Nothing was changed.`);
    expect(await snapshotTree(root)).toEqual(tree);
    // a damaged one (other bytes than its hash) is refused the same way
    await fs.writeFile(object, 'not what was saved\n');
    const damaged = await bulwark(['rollback', snapshot, '--yes', ...rootArgs(root, state)]);
    expect(damaged.stderr).toContain(`(${object}) is damaged`);
    expect(await snapshotTree(root)).toEqual(tree);
  });

  it('a snapshot record cut short: history names the file and what to do', async () => {
    const { root, state, snapshot } = await applied();
    const file = path.join(state, 'snapshots', `${snapshot}.json`);
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).slice(0, 40));
    const result = await bulwark(['history', ...rootArgs(root, state)]);
    expect(result.code, cliOutput(result)).toBe(1);
    expect(result.stderr).toContain(`bulwark's state file ${file} is damaged`);
    expect(result.stderr).toContain('That snapshot cannot be restored by bulwark.');
  });
});
