// Remote mode's benchmarks, run by scripts/bench.mjs (`npm run bench -- --only remote`). The
// measuring is in test/bench/remote.bench.ts (a sandbox box behind a 50 ms round-trip link), run
// through tsx; this module checks its JSON against the goals and prints it.
//
// Goals (issue: remote mode):
//   plan      `bulwark --host ... plan` of every step: at most 25 SSH round trips, under 3 s
//   apply     a guarded firewall apply to confirmed over --host: under 2 s more than the same apply
//             run on the box through an SSH session over the same link, and confirmed at once from a
//             new SSH connection over that link (both sides pay the link's logins)
// Needs root (network and mount namespaces); otherwise the section is skipped, not failed.
import { join } from 'node:path';
import { pad, REPO, right, runBody, verdict } from './bench-body.mjs';

const BODY = join('test', 'bench', 'remote.bench.ts');

export async function runRemoteBench({ bundle, json, log }) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { skipped: 'remote-mode benchmarks need root (network namespaces)' };
  const result = await runBody(BODY, ['--bundle', bundle], json, log, 'remote benchmarks');
  return { result, pass: result.pass, text: render(result) };
}

function render(result) {
  const bundle = result.bundle.startsWith(REPO + '/') ? result.bundle.slice(REPO.length + 1) : result.bundle;
  const lines = [
    `bulwark remote mode (--host) — a sandbox box behind ${result.link.delayEachWayMs * 2} ms of round trip (a delaying TCP proxy); Node ${result.node}`,
    `bundle ${bundle}; a fresh ssh login over that link: ${result.link.freshLoginMs} ms`,
    '',
    `${pad('', 44)}${right('median', 10)}  ${right('worst', 10)}  goal`,
    `${pad('plan of every step: wall time (ms)', 44)}${right(result.plan.medianMs, 10)}  ${right(Math.max(...result.plan.runs.map((r) => r.ms)), 10)}  < ${result.plan.goal.maxSeconds * 1000}`,
    `${pad('plan of every step: SSH round trips', 44)}${right(result.plan.runs.map((r) => r.roundTrips).sort((a, b) => a - b)[Math.floor(result.plan.runs.length / 2)], 10)}  ${right(result.plan.maxRoundTrips, 10)}  <= ${result.plan.goal.maxRoundTrips}   ${verdict(result.plan.goal.pass)}`,
    `${pad('guarded firewall apply to confirmed (ms)', 44)}`,
    `${pad('  over --host (bulwark confirms itself)', 44)}${right(median(result.apply.runs.map((r) => r.remoteMs)), 10)}`,
    `${pad('  on the box (ssh over the link) + confirm', 44)}${right(median(result.apply.runs.map((r) => r.localMs)), 10)}`,
    `${pad('  difference', 44)}${right(result.apply.medianExtraMs, 10)}  ${right('', 10)}  < ${result.apply.goal.maxExtraSeconds * 1000}   ${verdict(result.apply.goal.pass)}`,
  ];
  return lines.join('\n');
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
