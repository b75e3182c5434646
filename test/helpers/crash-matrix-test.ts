// The crash matrix of one fixture as a test (one file per fixture, so that vitest runs the three
// side by side): every failpoint of every step, no failure, and enough moments to mean something.
// (Apart from crash-matrix.ts, which the benchmark imports outside vitest.)
import { expect, it } from 'vitest';
import { crashMatrix } from './crash-matrix.js';
import type { FixtureName } from './fixture.js';

export function crashMatrixTest(fixture: FixtureName): void {
  it(`${fixture}: a SIGKILL at any moment of any step loses nothing`, async () => {
    const report = await crashMatrix(fixture);
    expect(report.failures, report.failures.join('\n\n')).toEqual([]);
    // every step had moments to kill in (the answers give each one work on this box), or is idle
    expect(report.moments.length).toBeGreaterThan(40);
    console.log(`${fixture}: ${report.moments.length} moments killed; idle steps: ${report.idle.join(', ') || 'none'}`);
  }, 900_000);
}
