// Peers' audits, run by scripts/bench.mjs (`npm run bench -- --only peers`). The measuring is in
// test/bench/peers.bench.ts (a sandbox box), run through tsx; this module prints its JSON as a table.
//
// Goals (issue 19): Lynis's hardening index at least 10 points higher after bulwark's default run,
// and no ssh-audit failure after it. Needs root, lynis and ssh-audit; otherwise the section is
// skipped, not failed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pad, right, runBody, verdict } from './bench-body.mjs';

const BODY = join('test', 'bench', 'peers.bench.ts');

export async function runPeersBench({ json, log }) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { skipped: 'peers\' audits need root (a sandbox box)' };
  const missing = ['lynis', 'ssh-audit'].filter((program) => spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0);
  if (missing.length > 0) return { skipped: `peers' audits: skipped (needs ${missing.join(' and ')})` };
  const result = await runBody(BODY, [], json, log, 'peers benchmarks');
  return { result, pass: result.pass, text: render(result) };
}

function render(result) {
  const row = (label, before, after, goal, pass) => `${pad(label, 34)}${right(before, 8)}  ${right(after, 8)}  ${pad(goal, 14)}${pass === undefined ? '' : verdict(pass)}`;
  return [
    `peers' audits — a sandbox Debian box, before and after bulwark's default run (${result.steps.join(', ')}: ${(result.runMs / 1000).toFixed(1)} s); Node ${result.node}`,
    '',
    `${pad('', 34)}${right('before', 8)}  ${right('after', 8)}  goal`,
    row('Lynis hardening index', result.lynis.before, result.lynis.after, `+${result.lynis.goal.minGain} or more`, result.lynis.goal.pass),
    row('Lynis warnings', result.lynis.warningsBefore.length, result.lynis.warningsAfter.length, ''),
    row('Lynis suggestions', result.lynis.suggestionsBefore, result.lynis.suggestionsAfter, ''),
    row('ssh-audit failures', result.sshAudit.before.failures, result.sshAudit.after.failures, `${result.sshAudit.goal.maxFailures}`, result.sshAudit.goal.pass),
    row('ssh-audit warnings', result.sshAudit.before.warnings, result.sshAudit.after.warnings, ''),
    `Lynis warnings left: ${result.lynis.warningsAfter.join(', ') || 'none'}`,
    `ssh-audit warnings left: ${result.sshAudit.warningsAfter.join(' | ') || 'none'}`,
  ].join('\n');
}
