// Every step on every fixture root, killed (SIGKILL) right after its first write: the next command
// restores the tree byte for byte — content, mode, owner, links and the directories the apply had
// made (before, a directory created by a killed apply was left behind, empty).
import { describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';
import { STEP_IDS } from '../../steps/catalog.js';

const roots = fixtureRoots();
const FIXTURES: FixtureName[] = ['elastix-centos5', 'issabel-centos7', 'debian12-a2billing'];

describe('a SIGKILL after the first write of any step', () => {
  for (const fixture of FIXTURES) {
    it(`${fixture}: every step, recovered at the next command, gives back the tree as it was`, async () => {
      const killed: string[] = [];
      for (const step of STEP_IDS) {
        const { root, state } = await roots.box(fixture);
        const g = rootArgs(root, state);
        const pristine = await snapshotTree(root);
        const crashed = await bulwark(['apply', '--step', step, '--yes', ...g], { env: { BULWARK_FAULT: 'kill-after-write' } });
        if (crashed.signal !== 'SIGKILL') continue; // the step wrote nothing on this box (or refused): nothing to recover
        killed.push(step);
        const status = await bulwark(['status', '--json', ...g]);
        expect((JSON.parse(status.stdout) as { interrupted: unknown }).interrupted, `${step}: status`).not.toBeNull();
        const next = await bulwark(['rollback', '--last', '--yes', ...g]);
        expect(next.stderr, `${step}: ${cliOutput(next)}`).toMatch(new RegExp(`An interrupted apply of ${step} \\(pid \\d+\\) was found and undone`));
        expect(await snapshotTree(root), `${step} on ${fixture}`).toEqual(pristine);
      }
      // the fault was met by the steps that write files under --root
      expect(killed.length, killed.join(', ')).toBeGreaterThanOrEqual(4);
    });
  }
});
