// The geoblock step's benchmarks, run by scripts/bench.mjs after the firewall section
// (`npm run bench`, or `npm run bench -- --only geoblock`). The measuring itself is in
// test/bench/geoblock.bench.ts (it calls the step's TypeScript in-process and drives a sandbox box),
// run here through tsx; it prints one JSON object, which this module checks against the goal and prints.
//
// Sections (all measured side by side in one run, interleaved):
//   compile    loadIndex + compileIndex (what an apply does) for ONE country (GB) and for every code
//              but that one, in-process, beside the path without an index (parse the CSVs, merge on
//              bigints), and the index's own build. Figures only.
//   apply      bulwark's whole `apply --step geoblock` (allow all but GB on udp/5060, never confirmed,
//              rolled back between runs) vs a bare `ipset restore` of the very same sets, in a sandbox
//              box. Goal: median apply / median ipset restore <= 2x.
//   per-CIDR   iptables-restore of one `-s CIDR -j DROP` rule per CIDR (the first 3,000 of GB's IPv4
//              CIDRs) vs ipset restore of the same CIDRs + one rule. Figures only (load time; no
//              packets are sent).
//
// The apply and per-CIDR parts need root (network and mount namespaces); as another user only the
// compile part runs and the others are reported as skipped; the exit status stays 0.
import { join } from 'node:path';
import { int, ms, pad, REPO, right, runBody, verdict } from './bench-body.mjs';

const BODY = join('test', 'bench', 'geoblock.bench.ts');

/**
 * Runs the geoblock benchmarks.
 * @param {{ bundle: string, json: boolean, log: (line: string) => void, args?: string[] }} options
 * @returns {Promise<{ result: any, pass: boolean, text: string }>}
 */
export async function runGeoblockBench({ bundle, json, log, args = [] }) {
  const result = await runBody(BODY, ['--bundle', bundle, ...args], json, log, 'geoblock benchmarks');
  // Without root the goal is not judged: that is not a failure.
  return { result, pass: result.pass !== false, text: render(result) };
}



function render(result) {
  const { compile, apply, perCidr } = result;
  const bundle = result.bundle.startsWith(REPO + '/') ? result.bundle.slice(REPO.length + 1) : result.bundle;
  const cc = compile.country;
  const lines = [
    `bulwark geoblock benchmarks — Node ${result.node}${result.box ? `; kernel parts in sandbox box ${result.box} (network + mount namespaces)` : ''}`,
    `bundle ${bundle}; data ${compile.source} (${compile.dataDate})`,
    '',
    `compile (in-process) — ${compile.runs} runs each (after ${compile.warmup} warm-up), alternating`,
    `${pad('', 26)}${right('index ms', 9)}  ${right('comp. ms', 9)}  ${right('total ms', 9)}  ${right('p90 ms', 9)}  ${right('CSV path', 9)}  ${right('ranges v4/v6', 15)}  ${right('CIDRs v4/v6', 15)}`,
  ];
  const compileRow = (label, c) =>
    `${pad(label, 26)}${right(ms(c.readMs.median), 9)}  ${right(ms(c.compileMs.median), 9)}  ${right(ms(c.totalMs.median), 9)}  ${right(ms(c.totalMs.p90), 9)}  ${right(ms(c.csvPathMs.median), 9)}  ${right(`${int(c.ranges.ipv4)}/${int(c.ranges.ipv6)}`, 15)}  ${right(`${int(c.cidrs.ipv4)}/${int(c.cidrs.ipv6)}`, 15)}`;
  lines.push(
    compileRow(`one country (${cc})`, compile.one),
    compileRow(`all but ${cc} (${compile.allButOne.countries} codes)`, compile.allButOne),
    `  index = loadIndex (read + check the data's index); comp. = compileIndex (merge, minimal CIDRs, text)`,
    `  CSV path = without the index: parse both CSVs (loadCountries) + merge and cover on bigints (setEntries)`,
    `ratio all but one / one (total):         ${right(`${compile.ratio.toFixed(2)}x`, 9)}   (medians; no goal)`,
    `CSV path / index path, all but one:      ${right(`${compile.gain.toFixed(2)}x`, 9)}   (what the index saves an apply)`,
    `building the index (once per data version: at build, or at \`geoblock update\`): ${ms(compile.index.buildMs.median)} ms median, ${(compile.index.bytes / 1048576).toFixed(1)} MiB`,
  );

  lines.push('');
  if ('skipped' in apply) lines.push(`apply vs ipset restore: skipped (${apply.skipped})`);
  else {
    const b = apply.breakdownMs;
    const row = (label, s) => `${pad(label, 44)}${right(ms(s.median), 9)}  ${right(ms(s.p90), 9)}  ${right(ms(s.min), 9)}`;
    lines.push(
      `apply vs ipset restore — allow ${apply.countries} codes (all but ${apply.excluded}) on ${apply.ports.join(', ')}: ${int(apply.entries.ipv4)} IPv4 + ${int(apply.entries.ipv6)} IPv6 networks`,
      `${apply.rounds.length} rounds (after ${apply.warmup} warm-up), interleaved A B B' C D; every command through the same nsenter into the box`,
      `bulwark loads each family's set with its own ipset restore, both at once; B is one restore of both (the goal's yardstick), B' two at once`,
      `${pad('', 44)}${right('median ms', 9)}  ${right('p90 ms', 9)}  ${right('min ms', 9)}`,
      row('A  bulwark apply --step geoblock (whole)', apply.applyMs),
      row(`B  ipset restore -file (${int(apply.restoreFile.lines)} lines)`, apply.restoreMs),
      row("B' the same, one restore per family, at once", apply.concurrentMs),
      row('C  node -e ""', apply.nodeMs),
      row('D  node dist/bulwark.js --version', apply.versionMs),
      `ratio A/B:                               ${right(`${apply.ratio.toFixed(2)}x`, 9)}   goal <= ${apply.goal.maxRatio}x: ${verdict(apply.goal.pass)}`,
      `ratio A/B' (B' loads like bulwark does):  ${right(`${apply.concurrentRatio.toFixed(2)}x`, 9)}   (no goal: bulwark's own cost over the kernel's, with the same concurrency)`,
      `A's breakdown (from its progress lines, as they arrived):`,
      row('  start-up, detect, data, aggregate, plan ¹', b.startToPlan),
      row('  snapshot', b.snapshot),
      row('  the two sets (ipset restore, piped) ²', b.sets),
      row('  rules (iptables-restore --test + load)', b.rules),
      row('  verify, arm the dead-man switch, exit ³', b.verifyToExit),
      `¹ spawn to "applying N change(s)"  ² first "write set" to "check ipv4": compare with B`,
      `³ "verify geoblock" to exit (counts the sets' entries, checks the rules)`,
    );
    for (const problem of apply.problems) lines.push(`  problem: ${problem}`);
  }

  lines.push('');
  if ('skipped' in perCidr) lines.push(`one rule per CIDR vs a set: skipped (${perCidr.skipped})`);
  else {
    const row = (label, s) => `${pad(label, 44)}${right(ms(s.median), 9)}  ${right(ms(s.p90), 9)}  ${right(ms(s.min), 9)}`;
    lines.push(
      `one rule per CIDR vs a set — the first ${int(perCidr.cidrs)} of ${perCidr.country}'s ${int(perCidr.of)} IPv4 CIDRs; ${perCidr.rounds} rounds (after ${perCidr.warmup} warm-up), alternating`,
      `${pad('', 44)}${right('median ms', 9)}  ${right('p90 ms', 9)}  ${right('min ms', 9)}`,
      row('P  iptables-restore, one rule per CIDR', perCidr.perCidrRulesMs),
      row('S  ipset restore + iptables-restore (1 rule)', perCidr.setPlusRuleMs),
      row('     of which ipset restore', perCidr.setRestoreMs),
      row('     of which iptables-restore', perCidr.oneRuleMs),
      `factor P/S:                              ${right(`${perCidr.factor.toFixed(2)}x`, 9)}   (load time only; no goal, no packets)`,
    );
  }
  return lines.join('\n');
}
