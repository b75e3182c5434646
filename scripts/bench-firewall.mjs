// The firewall step's benchmarks, run by scripts/bench.mjs after its start-up section
// (`npm run bench`, or `npm run bench -- --only firewall`). The measuring itself is in
// test/bench/firewall.bench.ts (it drives a sandbox box, and the sandbox helper is TypeScript), run
// here through tsx; it prints one JSON object, which this module checks against the goals and prints.
//
// Goals:
//   rollback   an unconfirmed `apply --step firewall` is undone < 1 s after its deadline, in every
//              run, by both measures: bulwark's record (decidedAt − deadline) and the rules seen from
//              outside (`iptables -S INPUT` polled every 20 ms in the box until `-P INPUT ACCEPT`).
//   log flood  the same flood (at most 300 connections in 10 s from the attacker namespace to the
//              box's SSH port) writes >= 20x fewer auth.log lines naming the attacker with the firewall's
//              rate limit (rateLimit: true) than without it (rateLimit: false).
//   SIP flood  a one-socket flood of 1000 REGISTERs in 10 s (100/s) to the box's SIP server gets >= 5x
//              fewer requests through with the firewall's SIP limit (rateLimit: true) than without it,
//              while a trunk named in sip.conf sending the same at the same time gets all of its through.
//
// Needs root (network and mount namespaces); otherwise the section is skipped, not failed.
import { join } from 'node:path';
import { int, ms, pad, REPO, right, runBody, verdict } from './bench-body.mjs';

const BODY = join('test', 'bench', 'firewall.bench.ts');
export const NEED_ROOT = 'firewall benchmarks need root (network namespaces)';

/**
 * Runs the firewall benchmarks.
 * @param {{ bundle: string, json: boolean, log: (line: string) => void }} options
 * @returns {Promise<{ skipped: string } | { result: any, pass: boolean, text: string }>}
 */
export async function runFirewallBench({ bundle, json, log }) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { skipped: NEED_ROOT };
  const result = await runBody(BODY, ['--bundle', bundle], json, log, 'firewall benchmarks');
  return { result, pass: result.pass, text: render(result) };
}



function render(result) {
  const { rollback, flood } = result;
  const bundle = result.bundle.startsWith(REPO + '/') ? result.bundle.slice(REPO.length + 1) : result.bundle;
  const lines = [
    `bulwark firewall benchmarks — in a sandbox box (network + mount namespaces); Node ${result.node}`,
    `bundle ${bundle}`,
    '',
    `rollback past the deadline — ${rollback.runs.length} runs, apply --confirm-timeout ${rollback.confirmTimeoutSeconds}, not confirmed`,
    `${pad('', 42)}${right('median ms', 9)}  ${right('max ms', 9)}`,
    `${pad('recorded  (decidedAt − deadline)', 42)}${right(ms(rollback.recordedMs.median), 9)}  ${right(ms(rollback.recordedMs.max), 9)}`,
    `${pad(`observed  (iptables -S INPUT every ${rollback.pollIntervalMs} ms)`, 42)}${right(ms(rollback.observedMs.median), 9)}  ${right(ms(rollback.observedMs.max), 9)}`,
    `goal < ${rollback.goal.maxMs} ms (max of both, every run):        ${verdict(rollback.goal.pass)}`,
  ];
  for (const [i, run] of rollback.runs.entries()) if (run.problem) lines.push(`  run ${i + 1}: ${run.problem}`);

  const { limits } = flood;
  const row = (label, run) =>
    `${pad(label, 22)}${right(`${run.flood.connected}/${run.flood.attempted}`, 9)}  ${right(run.attackerLines, 10)}  ${right(run.sshdLines, 10)}  ${right(run.hashlimitDrops ?? '-', 10)}`;
  const ratio = flood.ratioInfinite ? '∞' : flood.ratio === null ? '-' : `${flood.ratio.toFixed(1)}x`;
  lines.push(
    '',
    `sshd log flood — ${flood.attacker} → ${flood.target}, at most ${limits.max} connections in ${limits.durationMs / 1000} s (${limits.perSecond}/s)`,
    `${pad('', 22)}${right('connected', 9)}  ${right('lines ¹', 10)}  ${right('sshd lines', 10)}  ${right('hashlimit', 10)}`,
    row('A  rateLimit: true', flood.limited),
    row('B  rateLimit: false', flood.unlimited),
    `ratio B/A (lines ¹):                      ${right(ratio, 9)}   goal >= ${flood.goal.minRatio}x: ${verdict(flood.goal.pass)}`,
    `¹ auth.log lines naming ${flood.attacker} written during the flood; hashlimit = SYNs its DROP rule matched`,
  );
  for (const [label, run] of [['A', flood.limited], ['B', flood.unlimited]]) {
    if (run.maxStartupsDrops > 0) lines.push(`  ${label}: ${run.maxStartupsDrops} of those lines are sshd's own "past MaxStartups" drops`);
    if (run.syslogRateLimited > 0) lines.push(`  ${label}: rsyslog reported rate-limiting ${run.syslogRateLimited} time(s): lines were lost, the count is low`);
    const errors = Object.entries(run.flood.errors).map(([code, n]) => `${code} ${n}`).join(', ');
    if (errors) lines.push(`  ${label}: connection errors: ${errors}`);
  }
  const sip = result.sipFlood;
  const sipRow = (label, run) => `${pad(label, 22)}${right(`${run.attacker.reached}/${run.attacker.sent}`, 12)}  ${right(`${run.trunk.reached}/${run.trunk.sent}`, 12)}`;
  lines.push(
    '',
    `SIP flood — one socket, ${sip.attacker} → ${sip.target}, ${sip.limits.count} REGISTERs at ${sip.limits.perSecond}/s; the trunk ${sip.trunk} sends the same at the same time`,
    `${pad('', 22)}${right('flood ²', 12)}  ${right('trunk ²', 12)}`,
    sipRow('A  rateLimit: true', sip.limited),
    sipRow('B  rateLimit: false', sip.unlimited),
    `ratio B/A (flood):                       ${right(sip.ratio === null ? '-' : `${sip.ratio.toFixed(1)}x`, 9)}   goal >= ${sip.goal.minRatio}x and the whole trunk: ${verdict(sip.goal.pass)}`,
    '² requests that reached the SIP server / requests sent',
  );
  return lines.join('\n');
}
