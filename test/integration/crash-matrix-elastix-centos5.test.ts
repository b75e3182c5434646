// Issue 15's property, on the elastix-centos5 fixture root: SIGKILL at every failpoint of every step's apply and
// of its rollback; the next apply gives the applied tree, a rollback to the oldest snapshot the tree
// from before (test/helpers/crash-matrix.ts says how).
import { expect, it } from 'vitest';
import { crashMatrix } from '../helpers/crash-matrix.js';

it('elastix-centos5: a SIGKILL at any moment of any step loses nothing', async () => {
  const report = await crashMatrix('elastix-centos5');
  expect(report.failures, report.failures.join('\n\n')).toEqual([]);
  // every step had moments to kill in (answers give each one work on this box), or said why not
  expect(report.moments.length).toBeGreaterThan(40);
  console.log(`elastix-centos5: ${report.moments.length} moments killed; idle steps: ${report.idle.join(', ') || 'none'}`);
}, 900_000);
