// Applied once, nothing more to do (Ansible's second run reports "ok" on that): `apply --yes` of
// every step on each fixture root, then `plan` finds nothing to change — no step undoes another's
// work (the firewall and the geo-block both keep a jump at the top of INPUT: the geo-block's comes
// first, and the firewall's right after it).
import { describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { answersFile } from '../helpers/crash-matrix.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';

const roots = fixtureRoots();

describe('applied once, nothing more to do', () => {
  for (const fixture of ['elastix-centos5', 'issabel-centos7', 'debian12-a2billing'] as FixtureName[]) {
    it(`${fixture}: plan after apply --yes of every step is empty, and a second apply changes nothing`, async () => {
      const { root, state } = await roots.box(fixture);
      const g = [...rootArgs(root, state), '--answers', await answersFile(await roots.temp('bulwark-idem-'))];
      const apply = await bulwark(['apply', '--yes', ...g]);
      expect(apply.code, cliOutput(apply)).toBe(0);
      const plan = await bulwark(['plan', ...g]);
      expect(plan.stdout, cliOutput(plan)).toContain('Nothing to change.');
      expect(plan.code).toBe(0);
      const tree = await snapshotTree(root);
      const again = await bulwark(['apply', '--yes', ...g]);
      expect(again.code, cliOutput(again)).toBe(0);
      expect(again.stdout).not.toMatch(/: applied \(snapshot/);
      expect(await snapshotTree(root)).toEqual(tree);
    }, 120_000);
  }
});
