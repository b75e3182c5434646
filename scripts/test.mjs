// `npm test`: the whole suite on a fresh clone. Installs what it needs first (npm ci; as root on
// Debian, the system tools the end-to-end tests drive), builds the bundle, then runs vitest.
// Extra arguments go to vitest: `npm test -- test/unit`.
import { ensureBuilt, ensureDebianPackages, ensureDependencies, repo, run, TEST_PACKAGES } from './ensure.mjs';
import { join } from 'node:path';

ensureDependencies();
ensureDebianPackages(TEST_PACKAGES);
ensureBuilt();
// Types are part of the proof: a type error fails the suite like a failing test.
const typecheck = run(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', repo]);
if (typecheck !== 0) {
  process.stderr.write('Type check failed (tsc --noEmit).\n');
  process.exit(typecheck);
}
process.exitCode = run(process.execPath, [join(repo, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)]);
