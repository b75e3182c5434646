// Crash benchmarks (issue 15): the body that scripts/bench-crash.mjs runs (through tsx: it reuses the
// fixture and crash-matrix helpers, so that the answers and the tree comparison are exactly the
// tests') for `npm run bench -- --only crash`. Prints one JSON object on stdout; progress on stderr.
//
//   node --import tsx test/bench/crash.bench.ts [--bundle FILE] [--rounds N] [--runs N] [--seed N] [--keep]
//
// 1. Recovery cost: how much longer the first command after a kill takes than the same command when
//    there is nothing to recover. Whole processes, timed from outside (spawn to exit), interleaved,
//    one warm-up round then --rounds rounds (default 15). Each case, on a fresh copy of its fixture
//    root every time (copy, kill and preparation not timed):
//      recovery  `apply --step STEP --yes` killed by the failpoint kill@POINT, then the timed
//                `rollback ID --yes` of the snapshot that was in flight: it finds the interrupted apply,
//                undoes it, then says the snapshot "is already restored ... Nothing to do.";
//      normal    the same kill, then that rollback once (not timed: it recovers), then the timed one:
//                the same "Nothing to do" answer, with nothing to recover.
//    Cases: exposure on issabel-centos7 killed at its first write (1 file to put back), and a larger
//    one, elastix-extras on elastix-centos5 killed at its last write (all 24 changes of the step to
//    undo: 12 files and links put back, 12 removed). Goal: median recovery − median normal < 100 ms,
//    in each case.
//    Both boxes must end as the pristine fixture (checked, not timed).
// 2. Randomized kill, real kills from outside: --runs times (default 200), a fixture at random among
//    the three, `apply --yes` of every step with answers that give every step work (crash-matrix's
//    answersFile), SIGKILLed by this process (child.kill) after a delay drawn uniformly between 0 and
//    the duration of an uninterrupted apply of that fixture (measured at the start: the mean of two,
//    which must leave the same tree). Then one future at random:
//      (a) `apply --yes` again: exit 0 and the tree of an uninterrupted apply (random-by-design files —
//          private keys, CSRs, the htpasswd file — compared without their bytes, as crash-matrix does);
//      (b) `rollback OLDEST --yes`, the oldest "before apply of" snapshot in `history --json` (with no
//          snapshot at all, `rollback --last --yes` must say there is nothing to roll back): exit 0 and
//          exactly the pristine tree.
//    Any other exit, a hang (2 minutes) or another tree is a loss, reported with its details. The kill
//    moments are classified from BULWARK_FAULT_TRACE (a trace only: it lists the failpoints reached,
//    no failpoint acts) and the last "STEP: applying" line the killed run printed. Each bulwark run gets
//    its own TMPDIR, so that anything a killed run leaves there is seen (and removed with the box).
//    --seed makes the draws (fixture, delay, future) repeatable; --keep keeps the boxes of lost runs
//    (as killed, and after the future) in a temp dir and prints where.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { answersFile, normalised, treeDiff } from '../helpers/crash-matrix.js';
import { materializeFixture, snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { quantile } from './common.js';
import { fileURLToPath } from 'node:url';

const execFileAsync = promisify(execFile);

const FIXTURES: readonly FixtureName[] = ['elastix-centos5', 'issabel-centos7', 'debian12-a2billing'];
const GOAL_EXTRA_MS = 100;
const WARMUP = 1;
const HANG_MS = 120_000;
const RECOVERED = /An interrupted apply of (\S+) \(pid \d+\) was found and undone/;

const log = (line: string) => process.stderr.write(`bench crash: ${line}\n`);
const elapsedMs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

interface Options {
  bundle: string;
  rounds: number;
  runs: number;
  seed: number;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { bundle: fileURLToPath(new URL('../../dist/bulwark.js', import.meta.url)), rounds: 15, runs: 200, seed: Math.floor(Math.random() * 2 ** 31), keep: false };
  const whole = (name: string, value: string | undefined, min: number) => {
    if (!/^\d+$/.test(value ?? '') || Number(value) < min) throw new Error(`${name}: expected a whole number >= ${min} (got "${value}")`);
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--bundle') options.bundle = path.resolve(argv[++i] ?? '');
    else if (arg === '--rounds') options.rounds = whole(arg, argv[++i], 1);
    else if (arg === '--runs') options.runs = whole(arg, argv[++i], 0);
    else if (arg === '--seed') options.seed = whole(arg, argv[++i], 0);
    else if (arg === '--keep') options.keep = true;
    else throw new Error(`unknown argument "${arg}"`);
  }
  return options;
}

/** A small seeded generator (mulberry32): the same --seed draws the same fixtures, delays and futures. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Spawn to exit (all output read). */
  readonly ms: number;
  /** When this process sent the SIGKILL (ms after spawn), if it did before the run ended. */
  readonly killedAtMs: number | null;
  readonly hung: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

const BASE_ENV: Record<string, string> = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('BULWARK_')));
BASE_ENV.NO_COLOR = '1';
const running = new Set<ChildProcess>();

function bulwark(bundle: string, args: readonly string[], options: { env?: Record<string, string>; killAfterMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [bundle, ...args], { env: { ...BASE_ENV, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let killedAtMs: number | null = null;
    let hung = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const killer =
      options.killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            const at = elapsedMs(start);
            if (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')) killedAtMs = at;
          }, options.killAfterMs);
    const hang = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    child.on('error', (error) => {
      clearTimeout(killer);
      clearTimeout(hang);
      running.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      const ms = elapsedMs(start);
      clearTimeout(killer);
      clearTimeout(hang);
      running.delete(child);
      resolve({ code, signal, ms, killedAtMs, hung, stdout, stderr });
    });
  });
}

const ended = (r: Run) => (r.hung ? `hung (killed after ${HANG_MS / 1000} s)` : r.signal ? `was killed by ${r.signal}` : `exited ${r.code}`);
const output = (r: Run) => [r.stdout.trimEnd() && `    stdout: ${tail(r.stdout)}`, r.stderr.trimEnd() && `    stderr: ${tail(r.stderr)}`].filter(Boolean).join('\n');
const tail = (text: string, lines = 12) => {
  const all = text.trimEnd().split('\n');
  return (all.length > lines ? ['...', ...all.slice(-lines)] : all).join('\n            ');
};

// ---------------------------------------------------------------------------------------------
// Boxes: a copy of a fixture root (cp -a keeps modes, owners and links: the same box), an empty state
// dir and a TMPDIR for the bulwark runs, all in one directory under the work dir.

interface Box {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly tmp: string;
}

let boxes = 0;

async function newBox(work: string, template: string): Promise<Box> {
  const dir = path.join(work, `box-${++boxes}`);
  const box = { dir, root: path.join(dir, 'root'), state: path.join(dir, 'state'), tmp: path.join(dir, 'tmp') };
  await fs.mkdir(dir);
  await execFileAsync('cp', ['-a', template, box.root]);
  await fs.mkdir(box.state, { mode: 0o700 });
  await fs.mkdir(box.tmp, { mode: 0o700 });
  return box;
}

const boxArgs = (box: Box) => ['--root', box.root, '--state-dir', box.state];
const removeBox = (box: Box) => fs.rm(box.dir, { recursive: true, force: true });

const median = (values: readonly number[]) => quantile([...values].sort((a, b) => a - b), 0.5);

function summarise(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { runs: sorted.length, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0]!, max: sorted.at(-1)!, samples: [...samples] };
}

// ---------------------------------------------------------------------------------------------
// 1. Recovery cost

interface RecoveryCase {
  readonly id: string;
  readonly label: string;
  readonly fixture: FixtureName;
  readonly step: string;
  /** 'first' or 'last' write of the step's apply. */
  readonly write: 'first' | 'last';
}

const CASES: readonly RecoveryCase[] = [
  { id: 'exposure', label: 'exposure, killed at its first write', fixture: 'issabel-centos7', step: 'exposure', write: 'first' },
  { id: 'elastixExtras', label: 'elastix-extras, killed at its last write', fixture: 'elastix-centos5', step: 'elastix-extras', write: 'last' },
];

async function recoverySection(options: Options, work: string, templates: Map<FixtureName, string>, pristine: Map<FixtureName, string[]>) {
  const started = Date.now();
  const failures: string[] = [];
  // The failpoint of each case: the first or last after-write of an uninterrupted traced apply.
  const points = new Map<string, string>();
  for (const c of CASES) {
    const box = await newBox(work, templates.get(c.fixture)!);
    const trace = path.join(box.dir, 'trace');
    const r = await bulwark(options.bundle, ['apply', '--step', c.step, '--yes', ...boxArgs(box)], { env: { BULWARK_FAULT_TRACE: trace } });
    if (r.code !== 0) throw new Error(`recovery: the uninterrupted apply of ${c.step} on ${c.fixture} ${ended(r)}\n${output(r)}`);
    const writes = (await fs.readFile(trace, 'utf8')).split('\n').filter((p) => p.startsWith('after-write#'));
    if (writes.length === 0) throw new Error(`recovery: ${c.step} writes nothing on ${c.fixture}`);
    points.set(c.id, c.write === 'first' ? writes[0]! : writes.at(-1)!);
    await removeBox(box);
  }

  /** A box killed in the case's apply; with `restored`, its in-flight snapshot already put back. */
  const prepare = async (c: RecoveryCase, restored: boolean) => {
    const box = await newBox(work, templates.get(c.fixture)!);
    const point = points.get(c.id)!;
    const killed = await bulwark(options.bundle, ['apply', '--step', c.step, '--yes', ...boxArgs(box)], { env: { BULWARK_FAULT: `kill@${point}` } });
    if (killed.signal !== 'SIGKILL') throw new Error(`recovery: apply of ${c.step} with BULWARK_FAULT=kill@${point} was not killed: it ${ended(killed)}\n${output(killed)}`);
    const history = await bulwark(options.bundle, ['history', '--json', ...boxArgs(box)]);
    const inFlight = (JSON.parse(history.stdout) as { id: string; interrupted: boolean }[]).filter((h) => h.interrupted);
    if (inFlight.length !== 1) throw new Error(`recovery: expected one interrupted snapshot after the kill, history lists ${inFlight.length}:\n${history.stdout}`);
    const id = inFlight[0]!.id;
    if (restored) {
      const first = await bulwark(options.bundle, ['rollback', id, '--yes', ...boxArgs(box)]);
      if (first.code !== 0 || !RECOVERED.test(first.stderr)) throw new Error(`recovery: the untimed rollback that recovers ${ended(first)} (expected exit 0 and the recovery message)\n${output(first)}`);
    }
    return { box, id };
  };

  const samples = new Map<string, { recovery: number[]; normal: number[]; restored: string | null }>(CASES.map((c) => [c.id, { recovery: [], normal: [], restored: null }]));
  const rows = CASES.flatMap((c) => [
    { c, recovery: true },
    { c, recovery: false },
  ]);
  const total = WARMUP + options.rounds;
  for (let round = 0; round < total; round++) {
    log(`recovery round ${round + 1}/${total}${round < WARMUP ? ' (warm-up)' : ''}`);
    const prepared = [];
    for (const row of rows) prepared.push({ ...row, ...(await prepare(row.c, !row.recovery)) });
    // A different order each round, so that no row always runs first (or right after a copy).
    for (let k = 0; k < prepared.length; k++) {
      const p = prepared[(k + round) % prepared.length]!;
      const r = await bulwark(options.bundle, ['rollback', p.id, '--yes', ...boxArgs(p.box)]);
      const what = `${p.c.step} on ${p.c.fixture}, ${p.recovery ? 'with recovery' : 'nothing to recover'}`;
      const recovered = RECOVERED.test(r.stderr);
      if (r.code !== 0 || !/already restored/.test(r.stdout + r.stderr) || !/Nothing to do/.test(r.stdout + r.stderr) || recovered !== p.recovery) {
        failures.push(`${what}: \`bulwark rollback ${p.id} --yes\` ${ended(r)} (expected exit 0, "already restored ... Nothing to do."${p.recovery ? ' after the recovery message' : ' and no recovery'})\n${output(r)}`);
      } else if (round >= WARMUP) {
        samples.get(p.c.id)![p.recovery ? 'recovery' : 'normal'].push(r.ms);
      }
      if (p.recovery) samples.get(p.c.id)!.restored ??= /(\d+ restored, \d+ removed)/.exec(r.stderr)?.[1] ?? null;
      const tree = await snapshotTree(p.box.root);
      const want = pristine.get(p.c.fixture)!;
      if (JSON.stringify(tree) !== JSON.stringify(want)) failures.push(`${what}: the tree after the rollback is not the pristine fixture:\n${treeDiff(want, tree)}`);
      await removeBox(p.box);
    }
  }

  const cases = CASES.map((c) => {
    const s = samples.get(c.id)!;
    const recovery = summarise(s.recovery);
    const normal = summarise(s.normal);
    const extraMs = recovery.median - normal.median;
    const paired = s.recovery.length === s.normal.length ? median(s.recovery.map((v, i) => v - s.normal[i]!)) : NaN;
    return { id: c.id, label: c.label, fixture: c.fixture, step: c.step, point: points.get(c.id)!, restored: s.restored, recovery, normal, extraMs, pairedExtraMs: paired, ratio: recovery.median / normal.median, pass: extraMs < GOAL_EXTRA_MS };
  });
  const pass = failures.length === 0 && cases.every((c) => c.pass && c.recovery.runs === options.rounds && c.normal.runs === options.rounds);
  return { rounds: options.rounds, warmup: WARMUP, cases, failures, goal: { maxExtraMs: GOAL_EXTRA_MS, pass }, seconds: (Date.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// 2. Randomized kill

const MOMENTS = ['before the first snapshot', 'in a step, snapshot taken, nothing written', 'in a step, after a write', 'between steps', 'after the last commit', 'finished before the kill'] as const;
type MomentKind = (typeof MOMENTS)[number];

interface Baseline {
  readonly durationMs: number;
  readonly runsMs: number[];
  readonly commits: number;
  readonly points: number;
  readonly applied: string[];
  readonly pristine: string[];
}

async function baseline(options: Options, work: string, template: string, fixture: FixtureName, answers: string, pristine: string[]): Promise<Baseline> {
  const trees: string[][] = [];
  const runsMs: number[] = [];
  let points: string[] = [];
  for (let i = 0; i < 2; i++) {
    const box = await newBox(work, template);
    const trace = path.join(box.dir, 'trace');
    const r = await bulwark(options.bundle, ['apply', '--yes', '--answers', answers, ...boxArgs(box)], { env: { BULWARK_FAULT_TRACE: trace, TMPDIR: box.tmp } });
    if (r.code !== 0) throw new Error(`random: the uninterrupted apply on ${fixture} ${ended(r)}\n${output(r)}`);
    runsMs.push(r.ms);
    trees.push(normalised(await snapshotTree(box.root)));
    points = (await fs.readFile(trace, 'utf8')).split('\n').filter(Boolean);
    await removeBox(box);
  }
  if (JSON.stringify(trees[0]) !== JSON.stringify(trees[1])) throw new Error(`random: two uninterrupted applies on ${fixture} left different trees, so no tree can be "the" applied one:\n${treeDiff(trees[0]!, trees[1]!)}`);
  return { durationMs: (runsMs[0]! + runsMs[1]!) / 2, runsMs, commits: points.filter((p) => p.startsWith('after-commit#')).length, points: points.length, applied: trees[0]!, pristine };
}

interface RunRecord {
  run: number;
  fixture: FixtureName;
  delayMs: number;
  /** ms after spawn when the SIGKILL was sent; null when the apply finished first. */
  killedAtMs: number | null;
  applyMs: number;
  moment: MomentKind | 'unexpected exit';
  lastPoint: string | null;
  step: string | null;
  future: 'apply again' | 'rollback to the oldest';
  /** The future's first command reported an interrupted apply and undid it. */
  recovered: boolean;
  /** Entries the killed run left in its TMPDIR. */
  leftovers: string[];
  lost: boolean;
}

async function randomSection(options: Options, work: string, templates: Map<FixtureName, string>, pristine: Map<FixtureName, string[]>) {
  const started = Date.now();
  const rng = random(options.seed);
  const answers = await answersFile(work);
  const base = new Map<FixtureName, Baseline>();
  for (const fixture of FIXTURES) {
    log(`random: two uninterrupted applies of every step on ${fixture}`);
    base.set(fixture, await baseline(options, work, templates.get(fixture)!, fixture, answers, pristine.get(fixture)!));
    log(`random: ${fixture}: ${base.get(fixture)!.durationMs.toFixed(0)} ms (${base.get(fixture)!.commits} steps with work, ${base.get(fixture)!.points} failpoints passed)`);
  }
  const kept = options.keep ? await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-bench-crash-lost-')) : null;
  const records: RunRecord[] = [];
  const losses: string[] = [];
  const apply = (box: Box) => ['apply', '--yes', '--answers', answers, ...boxArgs(box)];

  for (let run = 1; run <= options.runs; run++) {
    // Every draw first, so that a --seed gives the same plan whatever happens in the runs.
    const fixture = FIXTURES[Math.floor(rng() * FIXTURES.length)]!;
    const b = base.get(fixture)!;
    const delayMs = rng() * b.durationMs;
    const future: RunRecord['future'] = rng() < 0.5 ? 'apply again' : 'rollback to the oldest';

    const box = await newBox(work, templates.get(fixture)!);
    const trace = path.join(box.dir, 'trace');
    const killed = await bulwark(options.bundle, apply(box), { env: { BULWARK_FAULT_TRACE: trace, TMPDIR: box.tmp }, killAfterMs: delayMs });
    // A kill can land in the middle of a trace line: only whole "point#N" lines count.
    const points = (await fs.readFile(trace, 'utf8').catch(() => '')).split('\n').filter((line) => /^[a-z-]+#\d+$/.test(line));
    const lastPoint = points.at(-1) ?? null;
    const step = [...killed.stdout.matchAll(/^(\S+): applying/gm)].at(-1)?.[1] ?? null;
    const wasKilled = killed.signal === 'SIGKILL' && killed.killedAtMs !== null && !killed.hung;
    let moment: RunRecord['moment'];
    if (!wasKilled) moment = killed.code === 0 && !killed.hung ? 'finished before the kill' : 'unexpected exit';
    else if (lastPoint === null) moment = 'before the first snapshot';
    else if (lastPoint.startsWith('after-commit#')) moment = points.filter((p) => p.startsWith('after-commit#')).length >= b.commits ? 'after the last commit' : 'between steps';
    else if (lastPoint.startsWith('after-snapshot#')) moment = 'in a step, snapshot taken, nothing written';
    else moment = 'in a step, after a write';
    const leftovers = await fs.readdir(box.tmp);
    const record: RunRecord = { run, fixture, delayMs, killedAtMs: killed.killedAtMs, applyMs: killed.ms, moment, lastPoint, step, future, recovered: false, leftovers, lost: false };
    const where = `run ${run}/${options.runs} (seed ${options.seed}), ${fixture}: \`bulwark apply --yes --answers A --root R --state-dir S\` killed at ${killed.killedAtMs?.toFixed(1) ?? '-'} ms (drawn ${delayMs.toFixed(1)} of ${b.durationMs.toFixed(0)} ms; ${moment}${lastPoint ? `, last failpoint ${lastPoint}` : ''}${step ? `, in ${step}` : ''})`;
    const problems: string[] = [];
    if (moment === 'unexpected exit') problems.push(`the apply that was to be killed ${ended(killed)} first\n${output(killed)}`);
    const asKilled = kept && problems.length === 0 ? path.join(kept, `run-${run}-as-killed`) : null;
    if (asKilled) await execFileAsync('cp', ['-a', box.dir, asKilled]);

    if (problems.length === 0 && future === 'apply again') {
      const again = await bulwark(options.bundle, apply(box), { env: { TMPDIR: box.tmp } });
      record.recovered = RECOVERED.test(again.stderr);
      if (again.code !== 0 || again.hung) problems.push(`(a) \`bulwark apply --yes\` again ${ended(again)} (expected exit 0)\n${output(again)}`);
      else {
        const tree = normalised(await snapshotTree(box.root));
        if (JSON.stringify(tree) !== JSON.stringify(b.applied)) problems.push(`(a) apply again left another tree than an uninterrupted apply (- expected, + found):\n${treeDiff(b.applied, tree)}${again.stderr.trim() ? `\n    its stderr: ${tail(again.stderr)}` : ''}`);
      }
    } else if (problems.length === 0) {
      const history = await bulwark(options.bundle, ['history', '--json', ...boxArgs(box)]);
      let said = '';
      let oldest: string | null | undefined;
      try {
        oldest = (JSON.parse(history.stdout) as { id: string; label: string }[]).filter((h) => h.label.startsWith('before apply of')).at(-1)?.id ?? null;
      } catch {
        oldest = undefined;
      }
      if (history.code !== 0 || oldest === undefined) problems.push(`(b) \`bulwark history --json\` ${ended(history)} (expected exit 0 and a JSON list)\n${output(history)}`);
      else if (oldest === null) {
        // Killed before any snapshot: nothing can have changed, and there is nothing to roll back.
        const back = await bulwark(options.bundle, ['rollback', '--last', '--yes', ...boxArgs(box)]);
        record.recovered = RECOVERED.test(back.stderr);
        said = back.stderr;
        if (back.code !== 1 || !/Nothing to roll back/.test(back.stderr)) problems.push(`(b) no snapshot in history; \`bulwark rollback --last --yes\` ${ended(back)} (expected exit 1, "Nothing to roll back")\n${output(back)}`);
      } else {
        const back = await bulwark(options.bundle, ['rollback', oldest, '--yes', ...boxArgs(box)]);
        record.recovered = RECOVERED.test(back.stderr);
        said = back.stderr;
        if (back.code !== 0 || back.hung) problems.push(`(b) \`bulwark rollback ${oldest} --yes\` ${ended(back)} (expected exit 0)\n${output(back)}`);
      }
      if (problems.length === 0) {
        const tree = await snapshotTree(box.root);
        if (JSON.stringify(tree) !== JSON.stringify(b.pristine)) problems.push(`(b) the rollback left another tree than the pristine fixture (- expected, + found):\n${treeDiff(b.pristine, tree)}${said.trim() ? `\n    its stderr: ${tail(said)}` : ''}`);
      }
    }

    record.lost = problems.length > 0;
    records.push(record);
    const short = `${fixture}, kill at ${killed.killedAtMs?.toFixed(0) ?? '-'}/${b.durationMs.toFixed(0)} ms (${moment}${step && moment.startsWith('in a step') ? ` of ${step}` : ''})${leftovers.length ? `, left in TMPDIR: ${leftovers.join(' ')}` : ''} → ${future}${record.recovered ? ' (recovered)' : ''}: ${record.lost ? 'LOSS' : 'ok'}`;
    log(`random run ${run}/${options.runs}: ${short}`);
    if (record.lost) {
      let detail = `${where}; future: ${future}\n  ${problems.join('\n  ')}`;
      if (kept) {
        await execFileAsync('cp', ['-a', box.dir, path.join(kept, `run-${run}-after`)]);
        detail += `\n  boxes kept: ${asKilled ?? '(not copied before the future)'} (as killed), ${path.join(kept, `run-${run}-after`)} (after the future); root/ is --root, state/ is --state-dir`;
      }
      losses.push(detail);
      log(`LOSS: ${detail}`);
    } else if (asKilled) await fs.rm(asKilled, { recursive: true, force: true });
    await removeBox(box);
  }
  if (kept && losses.length === 0) await fs.rm(kept, { recursive: true, force: true });

  const count = <T extends string>(keys: readonly T[], of: (r: RunRecord) => T) => Object.fromEntries(keys.map((k) => [k, records.filter((r) => of(r) === k).length])) as Record<T, number>;
  const moments = Object.fromEntries([...MOMENTS, 'unexpected exit'].map((m) => [m, Object.fromEntries(FIXTURES.map((f) => [f, records.filter((r) => r.moment === m && r.fixture === f).length]))]));
  const inStep: Record<string, number> = {};
  for (const r of records) if (r.moment.startsWith('in a step') && r.step) inStep[r.step] = (inStep[r.step] ?? 0) + 1;
  const seconds = (Date.now() - started) / 1000;
  return {
    runs: options.runs,
    seed: options.seed,
    fixtures: Object.fromEntries(FIXTURES.map((f) => {
      const b = base.get(f)!;
      return [f, { durationMs: b.durationMs, runsMs: b.runsMs, stepsWithWork: b.commits, failpoints: b.points, runs: records.filter((r) => r.fixture === f).length, losses: records.filter((r) => r.fixture === f && r.lost).length }];
    })),
    moments,
    inStep,
    futures: count(['apply again', 'rollback to the oldest'], (r) => r.future),
    recovered: records.filter((r) => r.recovered).length,
    leftovers: records.filter((r) => r.leftovers.length > 0).map((r) => ({ run: r.run, fixture: r.fixture, moment: r.moment, step: r.step, lastPoint: r.lastPoint, entries: r.leftovers })),
    killedFraction: records.filter((r) => r.killedAtMs !== null).map((r) => r.killedAtMs! / base.get(r.fixture)!.durationMs),
    losses,
    lost: records.filter((r) => r.lost).length,
    records,
    keptIn: kept && losses.length > 0 ? kept : null,
    seconds,
    pass: losses.length === 0,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-bench-crash-'));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const child of running) child.kill('SIGKILL');
    void fs.rm(work, { recursive: true, force: true }).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const templates = new Map<FixtureName, string>();
    const pristine = new Map<FixtureName, string[]>();
    for (const fixture of FIXTURES) {
      const template = await materializeFixture(fixture, { dest: path.join(work, `fixture-${fixture}`) });
      templates.set(fixture, template);
      // The pristine tree as a copy gives it (the copy, not the template, is what bulwark acts on).
      const probe = await newBox(work, template);
      pristine.set(fixture, await snapshotTree(probe.root));
      await removeBox(probe);
    }
    log(`recovery cost: ${options.rounds} rounds (after ${WARMUP} warm-up), interleaved`);
    const recovery = await recoverySection(options, work, templates, pristine);
    log(`recovery cost: done in ${recovery.seconds.toFixed(0)} s`);
    let randomKill: Awaited<ReturnType<typeof randomSection>> | { skipped: string };
    if (options.runs > 0) {
      log(`randomized kill: ${options.runs} runs, seed ${options.seed}`);
      randomKill = await randomSection(options, work, templates, pristine);
      log(`randomized kill: done in ${randomKill.seconds.toFixed(0)} s, ${randomKill.lost} loss(es)`);
    } else randomKill = { skipped: 'no runs asked for (--crash-runs 0)' };
    const result = { node: process.version, bundle: options.bundle, recovery, random: randomKill, pass: recovery.goal.pass && ('skipped' in randomKill || randomKill.pass) };
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await fs.rm(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench crash: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
