// `npm start`: the wizard on this machine. Installs and builds what is missing first.
// Arguments after `--` go to bulwark: `npm start -- --root /mnt/box`.
import { ensureBuilt, ensureDependencies, repo, run } from './ensure.mjs';
import { join } from 'node:path';

ensureDependencies();
ensureBuilt();
process.exitCode = run(process.execPath, [join(repo, 'dist', 'bulwark.js'), ...process.argv.slice(2)]);
