// Geoblock step benchmarks: the body that scripts/bench-geoblock.mjs runs (through tsx: it calls
// the step's own TypeScript and the sandbox helper) for `npm run bench`. Not a test (vitest only
// picks up *.test.ts). Prints one JSON object on stdout; progress goes to stderr.
//
//   node --import tsx test/bench/geoblock.bench.ts [--bundle FILE] [--rounds N] [--compile-runs N]
//                                                   [--country CC] [--per-cidr N]
//
// 1. Compile time, in this process, with the step's own functions, for ONE country and for every
//    code the data knows BUT that one (alternating run by run; figures only): loadIndex (the data's
//    index read from disk) then compileIndex (merge + cut into minimal CIDRs, as text) — what an
//    apply does; beside it the path without an index (loadCountries parses the CSVs, setEntries
//    merges on bigints), and the index's own build (buildIndex: once per data version, at build
//    time or at `geoblock update`).
// 2. bulwark's whole apply vs the kernel's own cost, for two sizes: every code but --country (~93k
//    IPv4 + ~82k IPv6 networks, where the kernel's work dominates) and --country alone (a small
//    set, where bulwark's fixed cost shows):
//      A  `node BUNDLE apply --step geoblock --yes --confirm-timeout 3600` allowing those countries
//         on udp/5060, the whole CLI process from spawn to exit, in a sandbox box (network + mount
//         namespaces; overlays on /etc and /var, so nothing the apply or its rollback writes reaches
//         the host), from a fresh --state-dir; never confirmed: rolled back afterwards (not timed);
//      B  one `ipset restore -file F` process, where F is exactly what `ipset save` printed for the
//         sets A loaded (captured after the warm-up apply), in a network namespace with nothing in
//         it, entered with `nsenter --net`; the sets are counted and destroyed afterwards (not timed).
//    Interleaved A B per size, one warm-up round, then --rounds rounds; each pair's ratio A/B, and
//    their median. Goal: median A/B <= 1.5 for the large case. A's progress lines, timestamped as
//    they arrive, give its breakdown (start-up + data + plan, snapshot, the sets, the rules, verify).
// 3. One rule per CIDR vs a set: the first --per-cidr N of the country's IPv4 CIDRs, (P)
//    `iptables-restore --noflush` of a chain with one `-s CIDR -j DROP` rule each, vs (S)
//    `ipset restore` of a hash:net set of the same CIDRs plus `iptables-restore --noflush` of a chain
//    with one `-m set --match-set` rule. Interleaved, same rounds; figures only. Load time only: no
//    packet is sent (the chains are not even hooked into INPUT).
//
// Without root, only part 1 runs (the others are reported as skipped).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createBox, type Box } from '../helpers/sandbox.js';
import { setEntries } from '../../steps/geoblock/index.js';
import { dataSource, indexStamp, loadCountries, loadIndex } from '../../steps/geoblock/source.js';
import { buildIndex, compileIndex, serializeIndex } from '../../steps/geoblock/compile.js';
import { countriesIn, parseCountryCsv } from '../../steps/geoblock/csv.js';
import { destroyOnSignal, quantile } from './common.js';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const APPLY_GOAL_RATIO = 1.5;
const PORT = { port: 5060, proto: 'udp' } as const;
const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const BENCH_SETS = { ipv4: 'bw-bench-geo4', ipv6: 'bw-bench-geo6' } as const;
const CIDR_CHAIN = 'BW-BENCH-CIDR';
const SET_CHAIN = 'BW-BENCH-SET';
const CIDR_SET = 'bw-bench-cidr';
export const NEED_ROOT = 'needs root (network and mount namespaces)';

interface Options {
  bundle: string;
  rounds: number;
  compileRuns: number;
  country: string;
  perCidr: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { bundle: fileURLToPath(new URL('../../dist/bulwark.js', import.meta.url)), rounds: 5, compileRuns: 7, country: 'GB', perCidr: 3000 };
  const whole = (name: string, text: string | undefined): number => {
    if (!/^\d+$/.test(text ?? '') || Number(text) < 1) throw new Error(`${name}: expected a positive whole number (got "${text}")`);
    return Number(text);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => (arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
    const is = (name: string) => arg === name || arg.startsWith(`${name}=`);
    if (is('--bundle')) options.bundle = value() ?? '';
    else if (is('--rounds')) options.rounds = whole('--rounds', value());
    else if (is('--compile-runs')) options.compileRuns = whole('--compile-runs', value());
    else if (is('--per-cidr')) options.perCidr = whole('--per-cidr', value());
    else if (is('--country')) {
      const code = (value() ?? '').toUpperCase();
      if (!/^[A-Z]{2}$/.test(code)) throw new Error(`--country: expected a two-letter code (got "${code}")`);
      options.country = code;
    } else throw new Error(`unknown argument "${arg}"`);
  }
  if (!options.bundle || !existsSync(options.bundle)) throw new Error(`--bundle: no such file "${options.bundle}"`);
  return options;
}

const log = (line: string) => process.stderr.write(`bench geoblock: ${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const now = () => process.hrtime.bigint();
const msSince = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

// ---------------------------------------------------------------------------------------------
// Statistics


interface Summary {
  runs: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}

function summarise(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return { runs: 0, median: NaN, p90: NaN, min: NaN, max: NaN };
  return { runs: sorted.length, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

// ---------------------------------------------------------------------------------------------
// 1. Compile time

interface CompileCase {
  countries: number;
  cidrs: { ipv4: number; ipv6: number };
  /** Data lines kept for these countries (before merging). */
  ranges: { ipv4: number; ipv6: number };
  /** What an apply does: read the data's index from disk (loadIndex). */
  readMs: Summary;
  /** compileIndex: filter, merge and cut into minimal CIDRs, both families, as text. */
  compileMs: Summary;
  totalMs: Summary;
  /** The reference path without an index: parse the CSVs (loadCountries) + setEntries. */
  csvPathMs: Summary;
}

async function compileBench(options: Options, stateDir: string) {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const source = await dataSource(stateDir);
  const stamp = indexStamp(source);
  const texts = { ipv4: await readFile(source.files.ipv4, 'utf8'), ipv6: await readFile(source.files.ipv6, 'utf8') };
  // Every code in the data: one full (validating) parse of both files, outside the timings.
  const known = new Set<string>();
  for (const family of ['ipv4', 'ipv6'] as const) for (const code of countriesIn(parseCountryCsv(texts[family], source.files[family]))) known.add(code);
  if (!known.has(options.country)) throw new Error(`the country data has no ${options.country}`);
  const allButOne = [...known].filter((c) => c !== options.country).sort();
  const cases = { one: [options.country], allButOne };
  const fresh = () => ({ read: [] as number[], compile: [] as number[], total: [] as number[], csv: [] as number[] });
  const samples = { one: fresh(), allButOne: fresh() };
  const buildSamples: number[] = [];
  const shape: Partial<Record<keyof typeof cases, Omit<CompileCase, 'readMs' | 'compileMs' | 'totalMs' | 'csvPathMs'>>> = {};
  let oneV4: string[] = [];
  let indexBytes = 0;
  const indexFile = path.join(stateDir, 'geo', 'index.bin');
  const warmup = 1;
  for (let round = 0; round < warmup + options.compileRuns; round++) {
    // Once per data version (the build, or `geoblock update`): parse both CSVs into the index.
    const tb = now();
    const built = buildIndex(texts, stamp);
    const buildMs = msSince(tb);
    const bytes = serializeIndex(built);
    indexBytes = bytes.length;
    mkdirSync(path.dirname(indexFile), { recursive: true, mode: 0o700 });
    writeFileSync(indexFile, bytes);
    if (round >= warmup) buildSamples.push(buildMs);
    for (const key of ['one', 'allButOne'] as const) {
      const countries = cases[key];
      // What an apply does: the index from disk, then the compile.
      const t0 = now();
      const index = await loadIndex(source, stateDir);
      const readMs = msSince(t0);
      const t1 = now();
      const { entries, lines } = compileIndex(index, new Set(countries));
      const compileMs = msSince(t1);
      // The reference: the CSVs parsed again, the general merge and cover.
      const t2 = now();
      const ranges = await loadCountries(source, new Set(countries));
      const reference = { ipv4: setEntries(ranges, countries, 'ipv4'), ipv6: setEntries(ranges, countries, 'ipv6') };
      const csvMs = msSince(t2);
      if (reference.ipv4.length !== entries.ipv4.length || reference.ipv6.length !== entries.ipv6.length || reference.ipv6.some((cidr, i) => cidr !== entries.ipv6[i])) {
        throw new Error(`compileIndex and the CSV path disagree for ${key}`);
      }
      if (round >= warmup) {
        samples[key].read.push(readMs);
        samples[key].compile.push(compileMs);
        samples[key].total.push(readMs + compileMs);
        samples[key].csv.push(csvMs);
      }
      if (round === 0) {
        const count = (family: 'ipv4' | 'ipv6') => countries.reduce((sum, c) => sum + (lines.get(c)?.[family] ?? 0), 0);
        shape[key] = { countries: countries.length, cidrs: { ipv4: entries.ipv4.length, ipv6: entries.ipv6.length }, ranges: { ipv4: count('ipv4'), ipv6: count('ipv6') } };
        if (key === 'one') oneV4 = entries.ipv4;
      }
    }
  }
  const result = (key: keyof typeof cases): CompileCase => ({
    ...shape[key]!,
    readMs: summarise(samples[key].read),
    compileMs: summarise(samples[key].compile),
    totalMs: summarise(samples[key].total),
    csvPathMs: summarise(samples[key].csv),
  });
  const one = result('one');
  const rest = result('allButOne');
  return {
    compile: {
      country: options.country,
      source: source.origin,
      dataDate: source.date,
      runs: options.compileRuns,
      warmup,
      index: { buildMs: summarise(buildSamples), bytes: indexBytes },
      one,
      allButOne: rest,
      ratio: rest.totalMs.median / one.totalMs.median,
      gain: rest.csvPathMs.median / rest.totalMs.median,
    },
    allButOne,
    oneV4,
  };
}

// ---------------------------------------------------------------------------------------------
// Commands in the box, timed from spawn, with each stdout line's arrival time

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** Each stdout line and when it arrived (ms after spawn). Pipes are written synchronously on Linux. */
  lines: { at: number; text: string }[];
}

function timedInBox(box: Box, file: string, args: readonly string[], timeoutMs = 300_000): Promise<Timed> {
  return timed('nsenter', ['--target', String(box.initPid), '--mount', '--net', '--uts', '--ipc', '--', file, ...args], timeoutMs);
}

/** A program run on the host (through nsenter when it is to act elsewhere), timed from spawn to exit. */
function timed(file: string, args: readonly string[], timeoutMs = 300_000): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(file, args, {
      cwd: '/',
      env: { PATH: PATH_ENV, HOME: '/root', LANG: 'C.UTF-8', USER: 'root', LOGNAME: 'root' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: Timed['lines'] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      const at = msSince(start);
      const text = chunk.toString('utf8');
      stdout += text;
      partial += text;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ at, text: line });
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      const ms = msSince(start);
      clearTimeout(timer);
      if (partial) lines.push({ at: ms, text: partial });
      resolve({ ms, code, stdout, stderr, lines });
    });
  });
}

async function mustInBox(box: Box, file: string, args: readonly string[]): Promise<Timed> {
  const result = await timedInBox(box, file, args);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// 2. The whole apply vs a bare ipset restore

/** Phases of an apply, from its progress lines (ms after spawn). */
interface Breakdown {
  /** Node start, bundle load, detect, data read + aggregated, plan: spawn to "applying N change(s)". */
  startToPlan: number | null;
  /** Snapshot of files, rules (and sets): to the first "write set" line. */
  snapshot: number | null;
  /** Both `ipset restore` runs (scripts piped in): first "write set" to the first "check" line. */
  sets: number | null;
  /** iptables-restore --test and the load, both families: to "verify". */
  rules: number | null;
  /** verify (re-detects, re-reads the data, `ipset save` of both sets), arming the guard, exit. */
  verifyToExit: number | null;
}

function breakdownOf(run: Timed): Breakdown {
  const at = (test: (text: string) => boolean) => run.lines.find((l) => test(l.text.trim()))?.at ?? null;
  const plan = at((t) => /^geoblock: applying \d+ change/.test(t));
  const firstSet = at((t) => /^write\s+set /.test(t));
  const check = at((t) => /^check\s+ipv4 rules/.test(t));
  const verify = at((t) => /^verify\s+geoblock/.test(t));
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  return { startToPlan: plan, snapshot: diff(plan, firstSet), sets: diff(firstSet, check), rules: diff(check, verify), verifyToExit: diff(verify, run.ms) };
}

const entriesOf = (listing: string) => Number(/^Number of entries: (\d+)$/m.exec(listing)?.[1] ?? NaN);

async function setCounts(box: Box, names: readonly string[]): Promise<Record<string, number>> {
  const present = new Set((await mustInBox(box, 'ipset', ['list', '-n'])).stdout.split('\n').filter(Boolean));
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = present.has(name) ? entriesOf((await mustInBox(box, 'ipset', ['list', '-t', name])).stdout) : 0;
  return counts;
}

interface ApplyRound {
  /** A: bulwark's whole apply, spawn to exit. */
  applyMs: number;
  /** B: one `ipset restore` of what `ipset save` printed for A's sets, in the empty namespace. */
  restoreMs: number;
  /** A / B of this round (the pair measured back to back). */
  ratio: number;
  breakdown: Breakdown;
}

interface ApplyCase {
  /** "all-but-GB" or "GB". */
  label: string;
  countries: readonly string[];
  expected: { ipv4: number; ipv6: number };
}

/**
 * A runs in the box; B in a network namespace with nothing in it (no rules, no other sets), through
 * `nsenter --net`: one `ipset restore` process, the kernel's own cost and nothing else.
 */
async function applyBench(box: Box, emptyNet: string, options: Options, work: string, cases: readonly ApplyCase[]) {
  let runNo = 0;
  const problems: string[] = [];
  const answersOf = new Map<string, string>();
  const restoreFileOf = new Map<string, string>();
  for (const c of cases) {
    const answers = path.join(work, `answers-${c.label}.json`);
    writeFileSync(answers, JSON.stringify({ geoblock: { mode: 'allow', countries: c.countries, ports: [PORT] } }) + '\n', { mode: 0o600 });
    answersOf.set(c.label, answers);
    restoreFileOf.set(c.label, path.join(work, `sets-${c.label}.restore`));
  }

  /**
   * One apply, timed, then its rollback (not timed) and a check that nothing of it is left. Each
   * from a new state dir: nothing of an earlier run helps it; the data's index is the one built
   * with the bundle (dist/geo-index.bin), as on an installed box.
   */
  const applyOnce = async (c: ApplyCase, capture: boolean): Promise<Timed> => {
    const stateDir = path.join(work, `state-${++runNo}`);
    const bulwark = (args: readonly string[]) => [options.bundle, ...args, '--state-dir', stateDir, '--no-color'];
    const run = await timedInBox(box, process.execPath, bulwark(['apply', '--step', 'geoblock', '--yes', '--answers', answersOf.get(c.label)!, '--confirm-timeout', '3600']));
    if (run.code !== 0 || !/bulwark confirm \S+/.test(run.stdout)) throw new Error(`apply exited ${run.code} without arming the dead-man switch\n${run.stdout}${run.stderr}`);
    const counts = await setCounts(box, ['bulwark-geo4', 'bulwark-geo6']);
    if (counts['bulwark-geo4'] !== c.expected.ipv4 || counts['bulwark-geo6'] !== c.expected.ipv6) {
      problems.push(`${c.label} run ${runNo}: the apply's sets hold ${counts['bulwark-geo4']} + ${counts['bulwark-geo6']} networks; the compile says ${c.expected.ipv4} + ${c.expected.ipv6}`);
    }
    // Exactly what `ipset save` prints for the sets bulwark loaded: B restores this file.
    if (capture) writeFileSync(restoreFileOf.get(c.label)!, (await mustInBox(box, 'ipset', ['save', 'bulwark-geo4'])).stdout + (await mustInBox(box, 'ipset', ['save', 'bulwark-geo6'])).stdout, { mode: 0o600 });
    const rollback = await timedInBox(box, process.execPath, bulwark(['rollback', '--step', 'geoblock', '--yes']));
    if (rollback.code !== 0) throw new Error(`rollback exited ${rollback.code}\n${rollback.stdout}${rollback.stderr}`);
    const left = await setCounts(box, ['bulwark-geo4', 'bulwark-geo6', 'bulwark-geo4-new', 'bulwark-geo6-new']);
    const rules = (await mustInBox(box, 'iptables-save', [])).stdout + (await mustInBox(box, 'ip6tables-save', [])).stdout;
    if (Object.values(left).some((n) => n > 0) || rules.includes('BULWARK-GEO')) throw new Error(`the rollback left bulwark's sets or rules behind:\n${JSON.stringify(left)}\n${rules}`);
    // The watchdog leaves once it sees the guard decided (it polls every 200 ms): wait for that,
    // so that it is not still running during the next measurement, and its state dir can go.
    const watchdogLog = path.join(stateDir, 'watchdog.log');
    const until = Date.now() + 5000;
    while (Date.now() < until && !/leaving/.test(existsSync(watchdogLog) ? readFileSync(watchdogLog, 'utf8') : '')) await sleep(50);
    if (!/leaving/.test(readFileSync(watchdogLog, 'utf8'))) problems.push(`run ${runNo}: the watchdog did not leave within 5 s of the rollback`);
    rmSync(stateDir, { recursive: true, force: true });
    return run;
  };

  const inEmpty = (args: readonly string[]) => timed('nsenter', [`--net=/run/netns/${emptyNet}`, '--', 'ipset', ...args]);
  const restoreOnce = async (c: ApplyCase): Promise<Timed> => {
    const run = await inEmpty(['restore', '-file', restoreFileOf.get(c.label)!]);
    if (run.code !== 0) throw new Error(`ipset restore exited ${run.code}: ${run.stderr}`);
    // Not timed: the sets it made are the apply's, then they go.
    const listed = await inEmpty(['list', '-t']);
    const counts = [...listed.stdout.matchAll(/^Name: (\S+)$[\s\S]*?^Number of entries: (\d+)$/gm)].map((m) => `${m[1]}=${m[2]}`).sort().join(' ');
    const expected = `bulwark-geo4=${c.expected.ipv4} bulwark-geo6=${c.expected.ipv6}`;
    if (counts !== expected) throw new Error(`ipset restore made sets ${counts}; expected ${expected}`);
    const destroyed = await inEmpty(['destroy']);
    if (destroyed.code !== 0) throw new Error(`ipset destroy exited ${destroyed.code}: ${destroyed.stderr}`);
    return run;
  };

  const rounds = new Map<string, ApplyRound[]>(cases.map((c) => [c.label, []]));
  const nodeMs: number[] = [];
  const total = 1 + options.rounds;
  for (let round = 0; round < total; round++) {
    log(`apply vs ipset restore: round ${round + 1}/${total}${round === 0 ? ' (warm-up; captures the sets)' : ''}`);
    for (const c of cases) {
      const apply = await applyOnce(c, round === 0);
      const restore = await restoreOnce(c);
      if (round === 0) continue;
      rounds.get(c.label)!.push({ applyMs: apply.ms, restoreMs: restore.ms, ratio: apply.ms / restore.ms, breakdown: breakdownOf(apply) });
      log(`  ${c.label}: apply ${apply.ms.toFixed(0)} ms, ipset restore ${restore.ms.toFixed(0)} ms: ${(apply.ms / restore.ms).toFixed(2)}x`);
    }
    const node = await mustInBox(box, process.execPath, ['-e', '']);
    if (round > 0) nodeMs.push(node.ms);
  }

  const results = cases.map((c, i) => {
    const list = rounds.get(c.label)!;
    const pick = (f: (r: ApplyRound) => number | null) => summarise(list.map(f).filter((v): v is number => v !== null));
    const restoreText = readFileSync(restoreFileOf.get(c.label)!, 'utf8');
    const ratio = pick((r) => r.ratio);
    // The goal is judged on the large case (the first); the small one shows the fixed cost.
    const judged = i === 0;
    return {
      label: c.label,
      countries: c.countries.length,
      entries: c.expected,
      restoreFile: { lines: restoreText.split('\n').filter(Boolean).length, bytes: Buffer.byteLength(restoreText), create: restoreText.split('\n').filter((l) => l.startsWith('create ')) },
      rounds: list,
      applyMs: pick((r) => r.applyMs),
      restoreMs: pick((r) => r.restoreMs),
      ratio,
      breakdownMs: {
        startToPlan: pick((r) => r.breakdown.startToPlan),
        snapshot: pick((r) => r.breakdown.snapshot),
        sets: pick((r) => r.breakdown.sets),
        rules: pick((r) => r.breakdown.rules),
        verifyToExit: pick((r) => r.breakdown.verifyToExit),
      },
      goal: judged ? { maxRatio: APPLY_GOAL_RATIO, pass: problems.length === 0 && ratio.median <= APPLY_GOAL_RATIO } : null,
    };
  });
  return { ports: [`${PORT.proto}/${PORT.port}`], warmup: 1, rounds: options.rounds, emptyNet, cases: results, nodeMs: summarise(nodeMs), problems, goal: results[0]!.goal! };
}

// ---------------------------------------------------------------------------------------------
// 3. One rule per CIDR vs one set + one rule

async function perCidrBench(box: Box, options: Options, work: string, gbV4: readonly string[]) {
  const cidrs = gbV4.slice(0, options.perCidr);
  const perRule = path.join(work, 'per-cidr.rules');
  const setRestore = path.join(work, 'per-cidr.set');
  const setRule = path.join(work, 'per-cidr-set.rules');
  writeFileSync(perRule, ['*filter', `:${CIDR_CHAIN} - [0:0]`, ...cidrs.map((c) => `-A ${CIDR_CHAIN} -s ${c} -j DROP`), 'COMMIT', ''].join('\n'));
  writeFileSync(setRestore, [`create ${CIDR_SET} hash:net family inet hashsize 1024 maxelem 65536`, ...cidrs.map((c) => `add ${CIDR_SET} ${c}`), ''].join('\n'));
  writeFileSync(setRule, ['*filter', `:${SET_CHAIN} - [0:0]`, `-A ${SET_CHAIN} -m set --match-set ${CIDR_SET} src -j DROP`, 'COMMIT', ''].join('\n'));

  const dropChain = async (chain: string) => {
    await mustInBox(box, 'iptables', ['-F', chain]);
    await mustInBox(box, 'iptables', ['-X', chain]);
  };
  const rulesOnce = async () => {
    const run = await mustInBox(box, 'iptables-restore', ['--noflush', perRule]);
    const count = (await mustInBox(box, 'iptables', ['-S', CIDR_CHAIN])).stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
    if (count !== cidrs.length) throw new Error(`${CIDR_CHAIN} has ${count} rules after iptables-restore; expected ${cidrs.length}`);
    await dropChain(CIDR_CHAIN);
    return run.ms;
  };
  const setOnce = async () => {
    const set = await mustInBox(box, 'ipset', ['restore', '-file', setRestore]);
    const rule = await mustInBox(box, 'iptables-restore', ['--noflush', setRule]);
    const counts = await setCounts(box, [CIDR_SET]);
    if (counts[CIDR_SET] !== cidrs.length) throw new Error(`${CIDR_SET} holds ${counts[CIDR_SET]} entries; expected ${cidrs.length}`);
    await dropChain(SET_CHAIN);
    await mustInBox(box, 'ipset', ['destroy', CIDR_SET]);
    return { total: set.ms + rule.ms, set: set.ms, rule: rule.ms };
  };

  const samples = { rules: [] as number[], set: [] as number[], setOnly: [] as number[], rule: [] as number[] };
  const total = 1 + options.rounds;
  for (let round = 0; round < total; round++) {
    log(`one rule per CIDR vs a set (${cidrs.length} CIDRs): round ${round + 1}/${total}${round === 0 ? ' (warm-up)' : ''}`);
    // Alternate which goes first, so neither always follows the other's teardown.
    const order = round % 2 === 0 ? (['rules', 'set'] as const) : (['set', 'rules'] as const);
    for (const which of order) {
      if (which === 'rules') {
        const ms = await rulesOnce();
        if (round > 0) samples.rules.push(ms);
      } else {
        const ms = await setOnce();
        if (round > 0) {
          samples.set.push(ms.total);
          samples.setOnly.push(ms.set);
          samples.rule.push(ms.rule);
        }
      }
    }
  }
  const rules = summarise(samples.rules);
  const set = summarise(samples.set);
  return {
    country: options.country,
    cidrs: cidrs.length,
    of: gbV4.length,
    rounds: options.rounds,
    warmup: 1,
    perCidrRulesMs: rules,
    setPlusRuleMs: set,
    setRestoreMs: summarise(samples.setOnly),
    oneRuleMs: summarise(samples.rule),
    factor: rules.median / set.median,
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(path.join(tmpdir(), 'bulwark-bench-geo-'));
  let box: Box | undefined;
  let emptyNet: string | undefined;
  const removeEmptyNet = () => {
    if (emptyNet) spawnSync('ip', ['netns', 'delete', emptyNet], { stdio: 'ignore' });
  };
  const stopHandling = destroyOnSignal(() => box, log, () => {
    removeEmptyNet();
    rmSync(work, { recursive: true, force: true });
  });
  try {
    log(`compile: ${options.country} vs all but ${options.country}, ${options.compileRuns} runs each (after 1 warm-up), alternating...`);
    // An empty state dir: dataSource() then uses the shipped package, as the apply below does.
    const compiled = await compileBench(options, path.join(work, 'compile-state'));
    const { compile } = compiled;
    log(`  ${options.country}: ${compile.one.totalMs.median.toFixed(1)} ms; all but ${options.country}: ${compile.allButOne.totalMs.median.toFixed(1)} ms`);

    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    const result: Record<string, unknown> = { node: process.version, bundle: options.bundle, compile };
    if (!root) {
      result.apply = { skipped: NEED_ROOT };
      result.perCidr = { skipped: NEED_ROOT };
      result.pass = null;
    } else {
      const started = Date.now();
      box = await createBox({ ssh: false, syslog: false });
      log(`box ${box.id} ready in ${Date.now() - started} ms`);
      // B's namespace: a network namespace with nothing in it, made for this run.
      emptyNet = `bw-bench-empty-${process.pid}`;
      const made = await timed('ip', ['netns', 'add', emptyNet]);
      if (made.code !== 0) throw new Error(`ip netns add ${emptyNet}: ${made.stderr}`);
      const apply = await applyBench(box, emptyNet, options, work, [
        { label: `all-but-${options.country}`, countries: compiled.allButOne, expected: compile.allButOne.cidrs },
        { label: options.country, countries: [options.country], expected: compile.one.cidrs },
      ]);
      const perCidr = await perCidrBench(box, options, work, compiled.oneV4);
      Object.assign(result, { box: box.id, apply, perCidr, pass: apply.goal.pass });
    }
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    stopHandling();
    removeEmptyNet();
    await box?.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench geoblock: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
