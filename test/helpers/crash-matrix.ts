// The failpoint matrix of the crash tests (issue 15): every step on a fixture root, killed with SIGKILL
// at every moment its apply — and the rollback of that apply — reaches (BULWARK_FAULT_TRACE lists them
// from an uninterrupted run; BULWARK_FAULT=kill@POINT#N kills exactly there). After each kill, two
// futures are tried on copies of the same killed box:
//   (a) `apply --yes` again: exit 0, and the tree of an uninterrupted apply;
//   (b) a rollback to the oldest snapshot: exit 0, and the tree from before the first apply.
import { execa } from 'execa';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { bulwark, type CliResult } from './cli.js';
import { materializeFixture, removeFixture, snapshotTree, type FixtureName } from './fixture.js';
import { STEP_IDS } from '../../steps/catalog.js';
import type { StepId } from '../../src/change.js';

/**
 * Files whose bytes are random by design, so that two uninterrupted applies differ too: a private key
 * and its request (a fresh key per apply), and the password file (bcrypt draws a new salt). For them
 * (a) compares presence, mode and owner; (b) compares everything, as a rollback must give back the
 * old bytes exactly.
 */
export const RANDOM_BY_DESIGN = [/\/private\/[^/]+\.key\t/, /\.csr\t/, /htpasswd[^/]*\t/];

export interface Moment {
  readonly step: StepId;
  /** "apply" or "rollback", and the failpoint: after-write#2. */
  readonly during: 'apply' | 'rollback';
  readonly point: string;
}

export interface MatrixReport {
  readonly moments: Moment[];
  /** Steps with nothing to do on this box (with the answers given): no moment to kill in. */
  readonly idle: StepId[];
  readonly failures: string[];
}

/** Answers that give every step something to do on the fixture roots (the crash benchmark uses them too). */
export async function answersFile(dir: string): Promise<string> {
  const password = path.join(dir, 'ops.pw');
  await fs.writeFile(password, 'crash-test-password-7\n', { mode: 0o600 });
  const file = path.join(dir, 'answers.json');
  await fs.writeFile(
    file,
    JSON.stringify({
      geoblock: { mode: 'allow', countries: ['GB'], ports: [{ port: 5060, proto: 'udp' }] },
      htaccess: { protect: ['/admin'], users: [{ name: 'ops', passwordFile: password }] },
      ssl: { domain: 'pbx.example.com' },
    }),
  );
  return file;
}

/** A tree listing with the random-by-design files' digests blanked (for comparing two applies). */
export const normalised = (tree: string[]) => tree.map((line) => (RANDOM_BY_DESIGN.some((re) => re.test(line)) ? line.replace(/\t[0-9a-f]{64}$/, '\t(random by design)') : line));

async function copyBox(from: { root: string; state: string }, made: string[]): Promise<{ root: string; state: string }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-fixture-'));
  const state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-'));
  made.push(root, state);
  // cp -a keeps modes, owners and links exactly: the copy is the same box.
  await execa('cp', ['-a', `${from.root}/.`, root]);
  await execa('cp', ['-a', `${from.state}/.`, state]);
  return { root, state };
}

async function traced(args: string[], trace: string): Promise<{ result: CliResult; points: string[] }> {
  await fs.rm(trace, { force: true });
  const result = await bulwark(args, { env: { BULWARK_FAULT_TRACE: trace } });
  const points = (await fs.readFile(trace, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  return { result, points };
}

/** Runs the whole matrix for one fixture; `concurrency` boxes at a time. */
export async function crashMatrix(fixture: FixtureName, options: { steps?: readonly StepId[]; concurrency?: number } = {}): Promise<MatrixReport> {
  const made: string[] = [];
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-crash-'));
  made.push(work);
  const report: MatrixReport = { moments: [], idle: [], failures: [] };
  try {
    const answers = await answersFile(work);
    const g = (box: { root: string; state: string }) => ['--root', box.root, '--state-dir', box.state, '--answers', answers];
    const pristineBox = { root: await materializeFixture(fixture), state: await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-')) };
    made.push(pristineBox.root, pristineBox.state);
    const pristine = await snapshotTree(pristineBox.root);

    const jobs: (() => Promise<void>)[] = [];
    for (const step of options.steps ?? STEP_IDS) {
      // The uninterrupted apply: its tree, and every moment it passes through.
      const applied = await copyBox(pristineBox, made);
      const apply = await traced(['apply', '--step', step, '--yes', ...g(applied)], path.join(work, `trace-${step}`));
      if (apply.result.code !== 0) {
        report.failures.push(`${fixture} ${step}: the uninterrupted apply ended with ${apply.result.code}: ${apply.result.stdout}\n${apply.result.stderr}`);
        continue;
      }
      if (!apply.points.includes('after-snapshot#1')) {
        report.idle.push(step);
        continue;
      }
      const appliedTree = normalised(await snapshotTree(applied.root));
      const firstSnapshot = async (box: { root: string; state: string }): Promise<string> => {
        const history = JSON.parse((await bulwark(['history', '--json', ...g(box)])).stdout) as { id: string; label: string }[];
        return history.filter((h) => h.label.startsWith('before apply of')).at(-1)!.id;
      };
      const snapshotId = await firstSnapshot(applied);
      // The uninterrupted rollback's moments (on a copy: the applied box stays as it is).
      const rolled = await copyBox(applied, made);
      const rollback = await traced(['rollback', snapshotId, '--yes', ...g(rolled)], path.join(work, `trace-${step}-rollback`));
      if (rollback.result.code !== 0) report.failures.push(`${fixture} ${step}: the uninterrupted rollback ended with ${rollback.result.code}: ${rollback.result.stderr}`);

      const moments: [Moment, { root: string; state: string }][] = [
        ...apply.points.map((point): [Moment, { root: string; state: string }] => [{ step, during: 'apply', point }, pristineBox]),
        ...rollback.points.map((point): [Moment, { root: string; state: string }] => [{ step, during: 'rollback', point }, applied]),
      ];
      for (const [moment, start] of moments) {
        jobs.push(async () => {
          report.moments.push(moment);
          const where = `${fixture} ${step}: killed during ${moment.during} at ${moment.point}`;
          const box = await copyBox(start, made);
          const command = moment.during === 'apply' ? ['apply', '--step', step, '--yes'] : ['rollback', snapshotId, '--yes'];
          const killed = await bulwark([...command, ...g(box)], { env: { BULWARK_FAULT: `kill@${moment.point}` } });
          if (killed.signal !== 'SIGKILL') {
            report.failures.push(`${where}: not killed (exit ${killed.code}): ${killed.stderr}`);
            return;
          }
          const other = await copyBox(box, made);
          // (a) the apply again
          const again = await bulwark(['apply', '--step', step, '--yes', ...g(box)]);
          if (again.code !== 0) report.failures.push(`${where}: apply again ended with ${again.code}: ${again.stdout}\n${again.stderr}`);
          else if (JSON.stringify(normalised(await snapshotTree(box.root))) !== JSON.stringify(appliedTree)) report.failures.push(`${where}: apply again gave another tree than an uninterrupted apply:\n${treeDiff(appliedTree, normalised(await snapshotTree(box.root)))}`);
          // (b) a rollback to the oldest snapshot
          const back = await bulwark(['rollback', await firstSnapshot(other), '--yes', ...g(other)]);
          if (back.code !== 0) report.failures.push(`${where}: rollback ended with ${back.code}: ${back.stdout}\n${back.stderr}`);
          else if (JSON.stringify(await snapshotTree(other.root)) !== JSON.stringify(pristine)) report.failures.push(`${where}: rollback gave another tree than before the apply:\n${treeDiff(pristine, await snapshotTree(other.root))}`);
          for (const dir of [box.root, box.state, other.root, other.state]) {
            await removeFixture(dir);
            made.splice(made.indexOf(dir), 1);
          }
        });
      }
    }
    await pool(jobs, options.concurrency ?? 2);
    return report;
  } finally {
    for (const dir of made) await removeFixture(dir).catch(() => undefined);
  }
}

/** Lines only in `expected` (-) and only in `actual` (+). */
export function treeDiff(expected: string[], actual: string[]): string {
  const want = new Set(expected);
  const got = new Set(actual);
  return [...expected.filter((l) => !got.has(l)).map((l) => `  - ${l}`), ...actual.filter((l) => !want.has(l)).map((l) => `  + ${l}`)].join('\n');
}

async function pool(jobs: (() => Promise<void>)[], size: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
}
