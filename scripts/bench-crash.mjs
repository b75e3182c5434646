// Crash benchmarks (issue 15), run by scripts/bench.mjs (`npm run bench -- --only crash`). The measuring
// is in test/bench/crash.bench.ts (it reuses the fixture and crash-matrix helpers, which are
// TypeScript), run here through tsx; it prints one JSON object, which this module judges and prints.
//
//   recovery  how much longer the first command after a kill takes: `bulwark rollback ID --yes` of the
//             snapshot that was in flight when a failpoint killed `apply --step STEP` (it recovers,
//             then says "already restored ... Nothing to do.") against the same command on a copy
//             where that snapshot was already restored (the same answer, nothing to recover). Whole
//             processes timed from outside, interleaved, --runs rounds (default 15). Two cases:
//             exposure on issabel-centos7 killed at its first write, elastix-extras on elastix-centos5
//             killed at its last write (24 changes to undo). Goal: median difference < 100 ms in each.
//   random    --crash-runs (default 200) runs: a fixture at random, `apply --yes` of every step killed
//             with a real SIGKILL from outside at a moment drawn uniformly over an uninterrupted
//             apply's duration; then at random (a) apply again → exit 0 and the tree of an
//             uninterrupted apply, or (b) rollback to the oldest snapshot → exit 0 and the pristine
//             tree. Goal: not one loss. --crash-seed N repeats the draws; --crash-keep keeps the boxes
//             of lost runs.
// Needs nothing but the fixtures (no root, no network): files only, under --root.
import { join } from 'node:path';
import { ms, pad, REPO, right, runBody, verdict } from './bench-body.mjs';

const BODY = join('test', 'bench', 'crash.bench.ts');

/**
 * @param {{ bundle: string, json: boolean, log: (line: string) => void, rounds?: number, runs?: number, seed?: number | null, keep?: boolean }} options
 * @returns {Promise<{ result: any, pass: boolean, text: string }>}
 */
export async function runCrashBench({ bundle, json, log, rounds = 15, runs = 200, seed = null, keep = false }) {
  const args = ['--bundle', bundle, '--rounds', String(rounds), '--runs', String(runs)];
  if (seed !== null) args.push('--seed', String(seed));
  if (keep) args.push('--keep');
  const result = await runBody(BODY, args, json, log, 'crash benchmarks');
  return { result, pass: result.pass, text: render(result) };
}

const SHORT = { 'elastix-centos5': 'elastix', 'issabel-centos7': 'issabel', 'debian12-a2billing': 'debian' };

function render(result) {
  const { recovery, random } = result;
  const bundle = result.bundle.startsWith(REPO + '/') ? result.bundle.slice(REPO.length + 1) : result.bundle;
  const lines = [
    `bulwark crash benchmarks; Node ${result.node}; bundle ${bundle}`,
    '',
    `Recovery at the next start after a kill — whole processes, ${recovery.rounds} runs each (after ${recovery.warmup} warm-up), interleaved`,
    '`bulwark rollback ID --yes` of the snapshot in flight at the kill: right after the kill (it recovers, then',
    '"Nothing to do") vs on a copy where that snapshot was already restored ("Nothing to do", nothing to recover)',
    '',
    `${pad('', 46)}${right('median ms', 10)}  ${right('p90 ms', 9)}  ${right('min ms', 9)}`,
  ];
  for (const c of recovery.cases) {
    lines.push(`${c.step} on ${c.fixture}, killed at ${c.point}${c.restored ? ` (${c.restored})` : ''}`);
    lines.push(`${pad('  after the kill (recovery + nothing to do)', 46)}${right(ms(c.recovery.median), 10)}  ${right(ms(c.recovery.p90), 9)}  ${right(ms(c.recovery.min), 9)}`);
    lines.push(`${pad('  already restored (nothing to do)', 46)}${right(ms(c.normal.median), 10)}  ${right(ms(c.normal.p90), 9)}  ${right(ms(c.normal.min), 9)}`);
    lines.push(`${pad('  difference of the medians', 46)}${right(ms(c.extraMs), 10)}  (median of the paired differences ${ms(c.pairedExtraMs)})   goal < ${recovery.goal.maxExtraMs}: ${verdict(c.pass)}`);
    lines.push(`${pad('  ratio', 46)}${right(`${c.ratio.toFixed(2)}x`, 10)}`);
  }
  if (recovery.failures.length > 0) lines.push('', `FAILED (${recovery.failures.length}):`, ...recovery.failures.map((f) => `  ${f}`));
  lines.push(`took ${recovery.seconds.toFixed(0)} s`);

  lines.push('');
  if ('skipped' in random) {
    lines.push(`Randomized kill: skipped (${random.skipped})`);
    return lines.join('\n');
  }
  const fixtures = Object.keys(random.fixtures);
  lines.push(
    `Randomized kill — ${random.runs} runs (seed ${random.seed}): \`apply --yes\` of every step, SIGKILL from outside at a moment drawn`,
    'uniformly over an uninterrupted apply; then (a) apply again → the tree of an uninterrupted apply, or',
    '(b) rollback to the oldest snapshot → the pristine tree',
    '',
    `${pad('fixture', 22)}${right('apply ms', 9)}  ${right('steps', 5)}  ${right('runs', 5)}  ${right('losses', 6)}`,
    ...fixtures.map((f) => {
      const x = random.fixtures[f];
      return `${pad(f, 22)}${right(x.durationMs.toFixed(0), 9)}  ${right(x.stepsWithWork, 5)}  ${right(x.runs, 5)}  ${right(x.losses, 6)}`;
    }),
    '',
    `${pad('where the kill landed', 46)}${fixtures.map((f) => right(SHORT[f] ?? f, 8)).join('')}${right('total', 7)}`,
  );
  for (const [moment, byFixture] of Object.entries(random.moments)) {
    const total = Object.values(byFixture).reduce((a, b) => a + b, 0);
    if (moment === 'unexpected exit' && total === 0) continue;
    lines.push(`${pad(moment, 46)}${fixtures.map((f) => right(byFixture[f], 8)).join('')}${right(total, 7)}`);
  }
  const inStep = Object.entries(random.inStep).sort((a, b) => b[1] - a[1]);
  if (inStep.length > 0) lines.push(`killed inside a step: ${inStep.map(([step, n]) => `${step} ${n}`).join(', ')}`);
  const quarters = [0, 0, 0, 0];
  for (const f of random.killedFraction) quarters[Math.min(3, Math.floor(f * 4))]++;
  lines.push(`kill moments by quarter of the uninterrupted duration: ${quarters.join(' / ')}`);
  lines.push(`futures: apply again ${random.futures['apply again']}, rollback to the oldest ${random.futures['rollback to the oldest']}; the first command after the kill recovered an interrupted apply in ${random.recovered}`);
  if (random.leftovers.length > 0) {
    const names = [...new Set(random.leftovers.flatMap((l) => l.entries.map((e) => e.replace(/-[A-Za-z0-9]{6}$/, '-XXXXXX'))))];
    const where = [...new Set(random.leftovers.map((l) => `${l.step ?? '?'} ${l.lastPoint ?? ''}`.trim()))];
    lines.push(`left in the killed run's TMPDIR (outside the tree; removed with the box): ${random.leftovers.length} run(s), ${names.join(', ')} — killed in ${where.join('; ')}`);
  }
  lines.push(`runs ${random.runs}, losses ${random.lost}   goal 0: ${verdict(random.pass)}`);
  if (random.losses.length > 0) {
    lines.push('', 'LOSSES:', ...random.losses.map((l) => `  ${l}`));
    if (random.keptIn) lines.push(`boxes of the lost runs kept in ${random.keptIn}`);
  }
  lines.push(`took ${random.seconds.toFixed(0)} s`);
  return lines.join('\n');
}
