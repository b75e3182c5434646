// Builds the bundled CLI before the suite when it is missing or older than the sources: e2e tests
// drive dist/bulwark.js as a user would.
import { execFileSync } from 'node:child_process';

export default async function setup(): Promise<void> {
  execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('./scripts/ensure.mjs'); m.ensureBuilt();"], { stdio: 'inherit' });
}
