// The geoblock step's benchmarks, run by scripts/bench.mjs after the firewall section
// (`npm run bench`, or `npm run bench -- --only geoblock`). The measuring itself is in
// test/bench/geoblock.bench.ts (it calls the step's TypeScript in-process and drives a sandbox box),
// run here through tsx; it prints one JSON object, which this module checks against the goal and prints.
//
// Sections (all measured side by side in one run, interleaved):
//   compile    loadIndex + compileIndex (what an apply does) for ONE country (GB) and for every code
//              but that one, in-process, beside the path without an index (parse the CSVs, merge on
//              bigints), and the index's own build. Figures only.
//   apply      bulwark's whole `apply --step geoblock` (allow all but GB, and GB alone, on udp/5060;
//              never confirmed, rolled back between runs) vs one bare `ipset restore` of what `ipset
//              save` prints for the very same sets, in an empty network namespace. Goal: median
//              A/B <= 1.5x for all but GB.
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
    const row = (label, s) => `${pad(label, 46)}${right(ms(s.median), 9)}  ${right(ms(s.p90), 9)}  ${right(ms(s.min), 9)}`;
    lines.push(
      `apply vs ipset restore — ${apply.rounds} rounds (after ${apply.warmup} warm-up), interleaved A B per case; allow on ${apply.ports.join(', ')}`,
      `A = bulwark's whole \`apply --step geoblock\` (CLI spawn to exit, in the sandbox box)`,
      `B = one \`ipset restore\` of what \`ipset save\` printed for A's sets, in an empty network namespace`,
      '',
      `${pad('case', 22)}${right('networks v4/v6', 16)}  ${right('A median', 9)}  ${right('B median', 9)}  ${right('A/B median', 10)}  ${right('per pair', 24)}  goal`,
    );
    for (const c of apply.cases) {
      const pairs = c.rounds.map((r) => r.ratio.toFixed(2)).join(' ');
      const goal = c.goal ? `<= ${c.goal.maxRatio}x: ${verdict(c.goal.pass)}` : '(figures only: the fixed cost)';
      lines.push(`${pad(`${c.label} (${c.countries} codes)`, 22)}${right(`${int(c.entries.ipv4)}/${int(c.entries.ipv6)}`, 16)}  ${right(ms(c.applyMs.median), 9)}  ${right(ms(c.restoreMs.median), 9)}  ${right(`${c.ratio.median.toFixed(2)}x`, 10)}  ${right(pairs, 24)}  ${goal}`);
    }
    lines.push(`for scale: node -e "" in the box ${ms(apply.nodeMs.median)} ms (median)`, '');
    for (const c of apply.cases) {
      const b = c.breakdownMs;
      lines.push(
        `A's breakdown, ${c.label} (from its progress lines, as they arrived)   ${right('median ms', 9)}  ${right('p90 ms', 9)}  ${right('min ms', 9)}`,
        row('  start-up, detect, data, compile, plan ¹', b.startToPlan),
        row('  snapshot', b.snapshot),
        row('  the two sets (ipset restore each, at once) ²', b.sets),
        row('  rules (iptables-restore --test + load)', b.rules),
        row('  verify, arm the dead-man switch, exit ³', b.verifyToExit),
      );
    }
    lines.push(
      `¹ spawn to "applying N change(s)"  ² first "write set" to "check ipv4"  ³ "verify geoblock" to exit`,
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
