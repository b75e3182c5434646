// A file edited by hand between an apply and its rollback (issue 15), for every step on the three
// fixture roots: the rollback gives back the tree from before the apply, names the edited files, and
// keeps the edited versions in the pre-rollback snapshot — restoring that snapshot brings them back.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { answersFile } from '../helpers/crash-matrix.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';
import { STEP_IDS } from '../../steps/catalog.js';

const roots = fixtureRoots();
const FIXTURES: FixtureName[] = ['elastix-centos5', 'issabel-centos7', 'debian12-a2billing'];

/** Regular files the apply made or changed: what an admin might edit afterwards. */
function writtenFiles(before: string[], after: string[]): string[] {
  const old = new Set(before);
  return after.filter((line) => !old.has(line) && line.split('\t')[1] === 'file').map((line) => line.split('\t')[0]!);
}

describe('a file edited by hand between apply and rollback', () => {
  for (const fixture of FIXTURES) {
    it(`${fixture}: every step keeps the edited version in the pre-rollback snapshot`, async () => {
      const answers = await answersFile(await roots.temp('bulwark-drift-'));
      const checked: string[] = [];
      for (const step of STEP_IDS) {
        const { root, state } = await roots.box(fixture);
        const g = [...rootArgs(root, state), '--answers', answers];
        const pristine = await snapshotTree(root);
        const apply = await bulwark(['apply', '--step', step, '--yes', ...g]);
        expect(apply.code, `${step}: ${cliOutput(apply)}`).toBe(0);
        const edited = writtenFiles(pristine, await snapshotTree(root));
        if (edited.length === 0) continue; // nothing written on this box
        for (const rel of edited) await fs.appendFile(path.join(root, rel), '\n# edited by hand after bulwark\n');
        const editedTree = await snapshotTree(root);

        const rollback = await bulwark(['rollback', '--step', step, '--yes', ...g]);
        expect(rollback.code, `${step}: ${cliOutput(rollback)}`).toBe(0);
        expect(await snapshotTree(root), `${step}: the tree from before the apply`).toEqual(pristine);
        const named = /Edited by hand after bulwark: (.*)\. Those versions are kept in snapshot (\S+)\./.exec(rollback.stdout);
        expect(named, `${step}: ${rollback.stdout}`).not.toBeNull();
        expect(named![1]!.split(', ').sort(), step).toEqual(edited.map((rel) => `/${rel}`).sort());

        const undo = await bulwark(['rollback', named![2]!, '--yes', ...g]);
        expect(undo.code, `${step}: ${cliOutput(undo)}`).toBe(0);
        expect(await snapshotTree(root), `${step}: the edited versions are back`).toEqual(editedTree);
        checked.push(step);
      }
      expect(checked.length, checked.join(', ')).toBeGreaterThanOrEqual(6);
      console.log(`${fixture}: edited files kept for ${checked.join(', ')}`);
    }, 300_000);
  }
});
