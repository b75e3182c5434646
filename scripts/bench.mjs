// Benchmarks (`npm run bench`): start-up, then the firewall step, then the geoblock step, ids, remote
// mode, crash recovery and peers' audits. Not a test: it prints figures, it does not fail the build unless --strict is
// given (exit 1 when any goal is missed).
//
//   node scripts/bench.mjs [--only startup|firewall|geoblock|ids|remote|crash|peers] [--runs N] [--json] [--strict]
//                          [--bundle FILE] [--crash-runs N] [--crash-seed N] [--crash-keep]
//
// --only runs one section (default: all of them, in that order). --runs applies to the start-up
// section and to the crash section's recovery cost (runs each, interleaved).
// --json prints one object: { "startup": {...}, "firewall": {...}, "geoblock": {...} } with the
// sections that ran.
//
// Start-up: every figure is a ratio to a bare `node -e ""` measured in the same run, interleaved
// round-robin, because the machine is shared and noisy and absolute times mean little.
//
// Firewall: scripts/bench-firewall.mjs (rollback latency past the dead-man switch's deadline, and
// the auth.log volume of an SSH connection flood with and without the rate limit). Needs root; as
// another user the section is skipped with a message, and the exit status stays 0.
//
// Geoblock: scripts/bench-geoblock.mjs (compile time of one country vs all but one, in-process;
// bulwark's whole `apply --step geoblock` vs one bare `ipset restore` of the same sets in an empty
// network namespace, goal <= 1.5x; one iptables rule per CIDR vs a set). Its kernel parts need root; as another user only the compile
// part runs, and the exit status stays 0.
//
// Crash: scripts/bench-crash.mjs (the extra time of the first command after a kill, which recovers,
// over the same command with nothing to recover, goal < 100 ms; and --crash-runs (default 200) apply
// runs of every step killed with SIGKILL at random moments, each followed by apply again or a rollback
// to the oldest snapshot, goal: no loss; --crash-seed repeats the draws, --crash-keep keeps the boxes
// of lost runs). Files only, under --root: needs no root.
//
// Peers: scripts/bench-peers.mjs (Lynis's hardening index and ssh-audit's failures and warnings on a
// sandbox box, before and after bulwark's default run; goals +10 points and no failure). Needs root,
// lynis and ssh-audit; otherwise skipped.
//
// --bundle FILE measures another build of the CLI instead of dist/bulwark.js (A/B experiments on
// the bundler settings); it is then not rebuilt.
//
// Rows:
//   node -e             bare Node start to exit (baseline for --version)
//   --version           `node dist/bulwark.js --version` start to exit
//   node -e (pty)       `script -qfec "node -e ''" /dev/null` start to exit (baseline for first frame)
//   first frame         `script -qfec "node dist/bulwark.js --root R --state-dir S" /dev/null`, spawn
//                       until the home screen ("Minimal exposure") shows on the pty output
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFirewallBench } from './bench-firewall.mjs';
import { runGeoblockBench } from './bench-geoblock.mjs';
import { runIdsBench } from './bench-ids.mjs';
import { runRemoteBench } from './bench-remote.mjs';
import { runCrashBench } from './bench-crash.mjs';
import { runPeersBench } from './bench-peers.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
let BUNDLE = join(REPO, 'dist', 'bulwark.js');
const GOAL = 2.0; // first frame within 2x a bare Node start (both under the pty wrapper)
// `plan` of every step on a --root (the Issabel fixture), whole process, against a bare Node start:
// wall and CPU time within 2x, peak memory (maximum resident set) under 64 MiB.
const PLAN_GOAL = { ratio: 2.0, peakMiB: 64 };
const WARMUP = 2;
const FIRST_FRAME_TEXT = 'Minimal exposure';
const FRAME_TIMEOUT_MS = 30_000;
const SECTIONS = ['startup', 'firewall', 'geoblock', 'ids', 'remote', 'crash', 'peers'];

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const options = { runs: 15, json: false, strict: false, bundle: null, only: null, crashRuns: 200, crashSeed: null, crashKeep: false };
  const whole = (name, value, min) => {
    if (!/^\d+$/.test(value ?? '') || Number(value) < min) usage(`${name}: expected a whole number >= ${min} (got "${value}")`);
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--crash-keep') options.crashKeep = true;
    else if (arg === '--crash-runs' || arg.startsWith('--crash-runs=')) options.crashRuns = whole('--crash-runs', arg.includes('=') ? arg.slice('--crash-runs='.length) : argv[++i], 0);
    else if (arg === '--crash-seed' || arg.startsWith('--crash-seed=')) options.crashSeed = whole('--crash-seed', arg.includes('=') ? arg.slice('--crash-seed='.length) : argv[++i], 0);
    else if (arg === '--strict') options.strict = true;
    else if (arg === '--runs' || arg.startsWith('--runs=')) {
      const value = arg.includes('=') ? arg.slice('--runs='.length) : argv[++i];
      if (!/^\d+$/.test(value ?? '') || Number(value) < 1) usage(`--runs: expected a positive whole number (got "${value}")`);
      options.runs = Number(value);
    } else if (arg === '--bundle' || arg.startsWith('--bundle=')) {
      const value = arg.includes('=') ? arg.slice('--bundle='.length) : argv[++i];
      if (!value || !existsSync(value)) usage(`--bundle: no such file "${value}"`);
      options.bundle = resolve(value);
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice('--only='.length) : argv[++i];
      if (!SECTIONS.includes(value)) usage(`--only: expected ${SECTIONS.join(', ')} (got "${value}")`);
      options.only = value;
    } else if (arg === '--help' || arg === '-h') usage(null);
    else usage(`unknown argument "${arg}"`);
  }
  return options;
}

function usage(message) {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(`usage: node scripts/bench.mjs [--only ${SECTIONS.join('|')}] [--runs N] [--json] [--strict] [--bundle FILE] [--crash-runs N] [--crash-seed N] [--crash-keep]\n`);
  process.exit(message ? 2 : 0);
}

// ---------------------------------------------------------------------------------------------
// Build if stale

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.isFile()) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function ensureBuilt(log) {
  const sources = Math.max(newestMtime(join(REPO, 'src')), newestMtime(join(REPO, 'steps')));
  if (existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= sources) return;
  log('bench: dist/bulwark.js is missing or stale; building (node scripts/build.mjs)...');
  const result = spawnSync(process.execPath, [join(REPO, 'scripts', 'build.mjs')], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`build failed (exit ${result.status ?? result.signal})`);
}

// ---------------------------------------------------------------------------------------------
// Processes

const shQuote = (arg) => `'${String(arg).replace(/'/g, `'\\''`)}'`;
const shCommand = (argv) => argv.map(shQuote).join(' ');

const ENV = { ...process.env, COLUMNS: '80', LINES: '24', TERM: 'xterm-256color' };
delete ENV.NO_COLOR;
delete ENV.FORCE_COLOR;
delete ENV.CI; // Ink renders differently (only the last frame) when CI is set

const elapsedMs = (start) => Number(process.hrtime.bigint() - start) / 1e6;

/**
 * Spawn start to exit under GNU time, which reports what the process itself used: wall ms, CPU ms
 * (user + system) and its peak resident memory (KiB). Exit 0 or 2 (`plan` found changes) counts.
 */
function timeWithUsage(file, args) {
  return new Promise((resolvePromise, reject) => {
    const report = join(tmpdir(), `bulwark-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-o', report, '-f', '%U %S %M', file, ...args], { cwd: REPO, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = elapsedMs(start);
      let usage = '';
      try {
        usage = readFileSync(report, 'utf8').trim().split('\n').pop();
      } catch {
        /* reported below */
      }
      rm(report, { force: true }).catch(() => undefined);
      const [user, system, kib] = usage.split(' ').map(Number);
      if ((code === 0 || code === 2) && Number.isFinite(kib)) resolvePromise({ ms, cpuMs: (user + system) * 1000, peakKiB: kib });
      else reject(new Error(`${file} ${args.join(' ')} exited ${code ?? signal}\n${stderr}`));
    });
  });
}

/** Spawn start to exit, in ms. Fails when the command exits non-zero. */
function timeToExit(file, args) {
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args, { cwd: REPO, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = elapsedMs(start);
      if (code === 0) resolvePromise(ms);
      else reject(new Error(`${file} ${args.join(' ')} exited ${code ?? signal}\n${stderr}`));
    });
  });
}

// CSI / OSC / other escape sequences, so that styling between words cannot hide the marker text.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

/** Every descendant pid of `pid` (from /proc), deepest last. */
function descendants(pid) {
  const parentOf = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) comes after the ")" that closes the command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      /* exited meanwhile */
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

// A zombie counts as gone: it holds nothing but its exit status, and its parent reaps it.
const alive = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};
const signal = (pid, name) => {
  try {
    process.kill(pid, name);
  } catch {
    /* already gone */
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawn until `marker` appears on the output (pty under `script`), in ms. Then kill the whole tree
 * (script runs its child in a new session on the pty, so a process-group kill would miss it):
 * SIGTERM, SIGKILL after a second, and wait until every process is gone, so that no leftover (or
 * its lock on the state dir) disturbs the next run.
 */
async function timeToText(file, args, marker) {
  const start = process.hrtime.bigint();
  const child = spawn(file, args, { cwd: REPO, env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const closed = new Promise((r) => child.on('close', (code, sig) => r(code ?? sig)));
  const outcome = await new Promise((resolvePromise) => {
    const timer = setTimeout(
      () => resolvePromise({ error: new Error(`no "${marker}" within ${FRAME_TIMEOUT_MS} ms; output so far:\n${output.replace(ANSI, '')}`) }),
      FRAME_TIMEOUT_MS,
    );
    const onData = (chunk) => {
      output += chunk.toString('utf8');
      if (output.replace(ANSI, '').includes(marker)) {
        const ms = elapsedMs(start);
        clearTimeout(timer);
        resolvePromise({ ms });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ error });
    });
    closed.then((status) => {
      clearTimeout(timer);
      resolvePromise({ error: new Error(`exited ${status} before "${marker}" appeared; output:\n${output.replace(ANSI, '')}`) });
    });
  });
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  child.stdout.resume();
  child.stderr.resume();

  if (child.pid !== undefined) {
    // SIGTERM the processes under `script` first: script exits by itself when its child does
    // (a SIGTERM to script itself makes it linger for seconds). Then script, then SIGKILL.
    const inner = descendants(child.pid).reverse();
    const tree = [...inner, child.pid];
    for (const pid of inner) signal(pid, 'SIGTERM');
    if (inner.length === 0) signal(child.pid, 'SIGTERM');
    const deadline = Date.now() + 1000;
    while (tree.some(alive) && Date.now() < deadline) await sleep(5);
    for (const pid of tree.filter(alive)) signal(pid, 'SIGKILL');
    await closed;
    while (tree.some(alive)) await sleep(5);
  }
  if (outcome.error) throw outcome.error;
  return outcome.ms;
}

const underPty = (argv) => ['script', ['-qfec', shCommand(argv), '/dev/null']];

// ---------------------------------------------------------------------------------------------
// Statistics

function quantile(sorted, q) {
  // Linear interpolation between closest ranks.
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { runs: sorted.length, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0], max: sorted[sorted.length - 1] };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const log = (line) => process.stderr.write(line + '\n');
  const sections = options.only ? [options.only] : SECTIONS;

  if (sections.includes('startup') && spawnSync('script', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('`script` (util-linux) is required to give the wizard a pseudo-terminal; install util-linux.');
  }
  if (options.bundle) BUNDLE = options.bundle;
  else ensureBuilt(log);

  // Each section gives { result, pass, text }, or { skipped } when this machine cannot run it.
  const runners = {
    startup: () => startupSection(options),
    firewall: () => runFirewallBench({ bundle: BUNDLE, json: options.json, log }),
    geoblock: () => runGeoblockBench({ bundle: BUNDLE, json: options.json, log }),
    ids: () => runIdsBench({ json: options.json, log }),
    remote: () => runRemoteBench({ bundle: BUNDLE, json: options.json, log }),
    crash: () => runCrashBench({ bundle: BUNDLE, json: options.json, log, rounds: options.runs, runs: options.crashRuns, seed: options.crashSeed, keep: options.crashKeep }),
    peers: () => runPeersBench({ json: options.json, log }),
  };
  const results = {};
  let pass = true;
  for (const name of SECTIONS.filter((section) => sections.includes(section))) {
    if (!options.json && Object.keys(results).length > 0) process.stdout.write('\n');
    const section = await runners[name]();
    // Printed as each section ends, not at the end: some take minutes.
    if ('skipped' in section) {
      results[name] = { skipped: section.skipped };
      if (options.json) log(section.skipped);
      else process.stdout.write(section.skipped + '\n');
    } else {
      results[name] = section.result;
      pass &&= section.pass;
      if (!options.json) process.stdout.write(section.text + '\n');
    }
  }
  if (options.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  return options.strict && !pass ? 1 : 0;
}

/** The start-up section: its result object, its table and whether it met its goal. */
async function startupSection(options) {
  const fixture = ['debian12-a2billing', 'elastix-centos5'].map((name) => join(REPO, 'test', 'fixtures', name)).find((dir) => existsSync(dir));
  if (!fixture) throw new Error('no fixture found (test/fixtures/debian12-a2billing or elastix-centos5)');

  const temp = await mkdtemp(join(tmpdir(), 'bulwark-bench-'));
  const cleanup = () => rm(temp, { recursive: true, force: true });
  const onSignal = (signal) => {
    cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const root = join(temp, 'root');
    const stateDir = join(temp, 'state');
    await cp(fixture, root, { recursive: true, verbatimSymlinks: true });
    // The plan of every step reads the Issabel box (the richest fixture).
    const planRoot = join(temp, 'issabel');
    await cp(join(REPO, 'test', 'fixtures', 'issabel-centos7'), planRoot, { recursive: true, verbatimSymlinks: true });
    const planState = join(temp, 'plan-state');
    if (!existsSync('/usr/bin/time')) throw new Error('GNU time (/usr/bin/time, Debian package time) is needed to measure CPU time and peak memory.');

    const node = process.execPath;
    const rows = [
      { id: 'node', label: 'node -e ""', run: () => timeToExit(node, ['-e', '']) },
      { id: 'version', label: 'bulwark --version', run: () => timeToExit(node, [BUNDLE, '--version']) },
      { id: 'nodePty', label: 'node -e "" (pty)', run: () => timeToExit(...underPty([node, '-e', ''])) },
      {
        id: 'firstFrame',
        label: 'wizard first frame (pty)',
        run: () => timeToText(...underPty([node, BUNDLE, '--root', root, '--state-dir', stateDir]), FIRST_FRAME_TEXT),
      },
    ];

    // Measured with their own usage: a bare Node start and the plan, one after the other.
    const usageRows = [
      { id: 'nodeUsage', label: 'node -e ""', run: () => timeWithUsage(node, ['-e', '']) },
      { id: 'plan', label: 'plan, every step', run: () => timeWithUsage(node, [BUNDLE, 'plan', '--root', planRoot, '--state-dir', planState, '--no-color']) },
    ];
    const samples = Object.fromEntries(rows.map((row) => [row.id, []]));
    const usage = Object.fromEntries(usageRows.map((row) => [row.id, []]));
    const total = WARMUP + options.runs;
    for (let round = 0; round < total; round++) {
      if (!options.json) process.stderr.write(`\rbench: round ${round + 1}/${total}${round < WARMUP ? ' (warm-up)' : ''}   `);
      for (const row of rows) {
        const ms = await row.run();
        if (round >= WARMUP) samples[row.id].push(ms);
      }
      for (const row of usageRows) {
        const measured = await row.run();
        if (round >= WARMUP) usage[row.id].push(measured);
      }
    }
    if (!options.json) process.stderr.write('\n');

    const stats = Object.fromEntries(rows.map((row) => [row.id, summarise(samples[row.id])]));
    const usageStats = Object.fromEntries(
      usageRows.map((row) => [row.id, { wall: summarise(usage[row.id].map((u) => u.ms)), cpu: summarise(usage[row.id].map((u) => u.cpuMs)), peakKiB: summarise(usage[row.id].map((u) => u.peakKiB)) }]),
    );
    // Each round's pair (measured back to back) gives a ratio; the figure is their median, beside
    // the ratio of the medians. On a shared machine the pairs are what the noise spares.
    const pairs = (a, b) => a.map((value, i) => value / b[i]);
    const pairRatios = {
      version: pairs(samples.version, samples.node),
      firstFrame: pairs(samples.firstFrame, samples.nodePty),
      planWall: pairs(usage.plan.map((u) => u.ms), usage.nodeUsage.map((u) => u.ms)),
      planCpu: pairs(usage.plan.map((u) => u.cpuMs), usage.nodeUsage.map((u) => u.cpuMs)),
    };
    const medianOf = (list) => summarise(list).median;
    const versionRatio = medianOf(pairRatios.version);
    const firstFrameRatio = medianOf(pairRatios.firstFrame);
    const planWallRatio = medianOf(pairRatios.planWall);
    const planCpuRatio = medianOf(pairRatios.planCpu);
    const ofMedians = {
      version: stats.version.median / stats.node.median,
      firstFrame: stats.firstFrame.median / stats.nodePty.median,
      planWall: usageStats.plan.wall.median / usageStats.nodeUsage.wall.median,
      planCpu: usageStats.plan.cpu.median / usageStats.nodeUsage.cpu.median,
    };
    const planPeakMiB = usageStats.plan.peakKiB.max / 1024;
    const planPass = planWallRatio <= PLAN_GOAL.ratio && planCpuRatio <= PLAN_GOAL.ratio && planPeakMiB <= PLAN_GOAL.peakMiB;
    const pass = firstFrameRatio <= GOAL && planPass;
    const result = {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      bundle: BUNDLE.startsWith(REPO + '/') ? BUNDLE.slice(REPO.length + 1) : BUNDLE,
      fixture: fixture.slice(REPO.length + 1),
      runs: options.runs,
      warmup: WARMUP,
      stats,
      plan: { fixture: 'test/fixtures/issabel-centos7', ...usageStats },
      ratios: { version: versionRatio, firstFrame: firstFrameRatio, planWall: planWallRatio, planCpu: planCpuRatio },
      pairRatios,
      ratiosOfMedians: ofMedians,
      planPeakMiB,
      goal: { firstFrameRatio: GOAL, plan: PLAN_GOAL, pass },
    };

    const pad = (text, width) => String(text).padEnd(width);
    const num = (ms) => ms.toFixed(1).padStart(9);
    const pairList = (list) => list.map((r) => r.toFixed(2)).join(' ');
    const lines = [
      `bulwark start-up benchmark — ${options.runs} runs each (after ${WARMUP} warm-up), interleaved; Node ${process.version}`,
      `bundle ${result.bundle}; fixture ${result.fixture}`,
      '',
      `${pad('', 26)}${'median ms'.padStart(9)}  ${'p90 ms'.padStart(9)}  ${'min ms'.padStart(9)}`,
      ...rows.map((row) => `${pad(row.label, 26)}${num(stats[row.id].median)}  ${num(stats[row.id].p90)}  ${num(stats[row.id].min)}`),
      '',
      `ratios: the median of the ${options.runs} pairs (each round's two runs), then the ratio of the medians, then every pair`,
      `ratio --version / node -e:              ${versionRatio.toFixed(2)}x  (${ofMedians.version.toFixed(2)}x)  ${pairList(pairRatios.version)}`,
      `ratio first frame / node -e (pty):      ${firstFrameRatio.toFixed(2)}x  (${ofMedians.firstFrame.toFixed(2)}x)  goal <= ${GOAL}x: ${firstFrameRatio <= GOAL ? 'PASS' : 'FAIL'}  ${pairList(pairRatios.firstFrame)}`,
      '',
      `plan of every step on --root (Issabel), whole process, against node -e "" (both under GNU time):`,
      `${pad('', 26)}${'wall ms'.padStart(9)}  ${'CPU ms'.padStart(9)}  ${'peak MiB'.padStart(9)}   (medians; peak: the highest)`,
      ...usageRows.map((row) => `${pad(row.label, 26)}${num(usageStats[row.id].wall.median)}  ${num(usageStats[row.id].cpu.median)}  ${num(usageStats[row.id].peakKiB.max / 1024)}`),
      `ratio plan / node -e: wall ${planWallRatio.toFixed(2)}x (${ofMedians.planWall.toFixed(2)}x), CPU ${planCpuRatio.toFixed(2)}x (${ofMedians.planCpu.toFixed(2)}x); peak ${planPeakMiB.toFixed(1)} MiB   goal <= ${PLAN_GOAL.ratio}x, <= ${PLAN_GOAL.peakMiB} MiB: ${planPass ? 'PASS' : 'FAIL'}`,
      `  wall, every pair: ${pairList(pairRatios.planWall)}`,
    ];
    return { result, pass, text: lines.join('\n') };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`\nbench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
