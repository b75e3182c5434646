// Builds the bundled CLI once before the suite: e2e tests drive dist/bulwark.js as a user would.
import { execFileSync } from 'node:child_process';

export default async function setup(): Promise<void> {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
