// Peers' audits as a benchmark: the body that scripts/bench-peers.mjs runs (through tsx) for
// `npm run bench`. Prints one JSON object on stdout; progress on stderr. Needs root (a sandbox box).
//
// On a fresh sandbox Debian box: Lynis's hardening index (`lynis audit system` inside the box) and
// ssh-audit's failures and warnings (from the admin's namespace, against the box's sshd), before and
// after bulwark's default run (test/helpers/peers.ts DEFAULT_RUN: each step applied over SSH with
// its default answers, a guarded one confirmed from a new connection). Goals (issue 19): the index
// at least 10 points higher, and no ssh-audit failure after.
import { destroyOnSignal } from './common.js';
import { createBox, type Box } from '../helpers/sandbox.js';
import { DEFAULT_RUN, hardenByDefault, lynisAudit, sshAudit } from '../helpers/peers.js';

const GOALS = { lynisGain: 10, sshAuditFailures: 0 } as const;
const log = (line: string) => process.stderr.write(`bench peers: ${line}\n`);

async function main(): Promise<number> {
  let box: Box | undefined;
  const stop = destroyOnSignal(() => box, log);
  try {
    box = await createBox();
    log('Lynis on the stock box (about a minute)...');
    const lynisBefore = await lynisAudit(box);
    const sshBefore = await sshAudit(box);
    log(`before: Lynis ${lynisBefore.hardeningIndex}, ssh-audit ${sshBefore.failures.length} failure(s) and ${sshBefore.warnings.length} warning(s)`);
    log(`bulwark's default run: ${DEFAULT_RUN.join(', ')}...`);
    const started = Date.now();
    await hardenByDefault(box);
    const runMs = Date.now() - started;
    log('Lynis on the hardened box...');
    const lynisAfter = await lynisAudit(box);
    const sshAfter = await sshAudit(box);
    const gain = lynisAfter.hardeningIndex - lynisBefore.hardeningIndex;
    const result = {
      node: process.version,
      steps: DEFAULT_RUN,
      runMs,
      lynis: {
        before: lynisBefore.hardeningIndex,
        after: lynisAfter.hardeningIndex,
        gain,
        warningsBefore: lynisBefore.warnings,
        warningsAfter: lynisAfter.warnings,
        suggestionsBefore: lynisBefore.suggestions.length,
        suggestionsAfter: lynisAfter.suggestions.length,
        goal: { minGain: GOALS.lynisGain, pass: gain >= GOALS.lynisGain },
      },
      sshAudit: {
        before: { failures: sshBefore.failures.length, warnings: sshBefore.warnings.length },
        after: { failures: sshAfter.failures.length, warnings: sshAfter.warnings.length },
        warningsAfter: sshAfter.warnings,
        goal: { maxFailures: GOALS.sshAuditFailures, pass: sshAfter.failures.length <= GOALS.sshAuditFailures },
      },
      pass: gain >= GOALS.lynisGain && sshAfter.failures.length <= GOALS.sshAuditFailures,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    stop();
    await box?.destroy();
  }
}

process.exitCode = await main();
