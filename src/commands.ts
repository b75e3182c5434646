// The headless workflows behind each command. Each returns the process exit code (exit.ts).
import type { StepId } from './change.js';
import { Engine, GuardExpired, isPreRollback, type RecoveryReport, type RollbackOutcome } from './engine.js';
import { describeSystemError, UserError } from './errors.js';
import { EXIT } from './exit.js';
import { stopRequested } from './signals.js';
import { lockHolder } from './lock.js';
import { colorDiff, type Palette } from './output.js';
import { planToJson, renderPlan } from './preview.js';
import { ApplyFailed, type ProgressEvent } from './transaction.js';
import { STEPS } from '../steps/index.js';
import type { RestoreReport } from '../snapshots/store.js';
import { secondsLeft, type GuardRecord } from '../snapshots/guard.js';

export interface Io {
  readonly json: boolean;
  readonly palette: Palette;
  out(text: string): void;
  err(text: string): void;
}


/** The built steps among those asked for (all built steps when none are named). */
function selectSteps(requested: readonly StepId[]): StepId[] {
  if (requested.length > 0) return [...requested];
  return STEPS.filter((entry) => entry.built).map((entry) => entry.step.id);
}

export async function planCommand(engine: Engine, steps: readonly StepId[], io: Io): Promise<number> {
  // Every step planned at once (they only read): over SSH their reads share round trips. A failure
  // is reported for the first step in order, as if they had run one after the other.
  const settled = await Promise.allSettled(selectSteps(steps).map((id) => engine.plan(id)));
  const results = settled.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
  const total = results.reduce((sum, r) => sum + r.changes.length, 0);
  if (io.json) {
    io.out(JSON.stringify({ changes: total, steps: results.map((r) => ({ id: r.step.id, title: r.step.title, answers: r.answers, changes: planToJson(r.changes) })) }, null, 2));
  } else {
    for (const result of results) {
      io.out(io.palette.bold(`== ${result.step.id}: ${result.step.title}`));
      for (const note of result.step.planNotes?.(result.facts, result.answers) ?? []) io.out(io.palette.cyan(`   ${note}`));
      io.out(result.changes.length === 0 ? '   nothing to do\n' : colorDiff(renderPlan(result.changes), io.palette));
    }
    io.out(total === 0 ? 'Nothing to change.' : `${total} change(s) planned. Apply them with \`bulwark apply --yes\` or in the wizard (\`bulwark\`).`);
  }
  return total === 0 ? EXIT.ok : EXIT.changesOrUsage;
}

export async function applyCommand(engine: Engine, steps: readonly StepId[], options: { yes: boolean; confirmTimeout?: number }, io: Io): Promise<number> {
  if (!options.yes) {
    throw new UserError('`bulwark apply` changes the system and needs --yes.', 'Review the changes with `bulwark plan` first, or use the wizard (`bulwark`), which asks before each step.');
  }
  const selected = selectSteps(steps);
  for (const id of selected) engine.builtStep(id);
  const recovery = await engine.lockForWriting('apply');
  try {
    if (recovery) printRecovery(recovery, io);
    for (const id of selected) {
      if (stopRequested()) break;
      const plan = await engine.plan(id);
      if (plan.changes.length === 0) {
        await engine.saveAnswers(id, plan.answers);
        io.out(`${id}: nothing to do.`);
        continue;
      }
      const problems = engine.preflight(plan);
      if (problems.length > 0) throw new UserError(`Refused: ${problems.join(' ')}`, 'Nothing was changed. Adjust the answers and try again.', 1);
      io.out(io.palette.bold(`${id}: applying ${plan.changes.length} change(s)`));
      try {
        const result = await engine.apply(plan, (event) => io.out(`  ${progressLine(event)}`), { confirmTimeout: options.confirmTimeout });
        if (!result) continue;
        for (const check of result.checks) io.out(`  ${check.ok ? io.palette.green('✔') : io.palette.red('✘')} ${check.label}`);
        if (result.guard && engine.remoteMode) {
          io.out(io.palette.yellow(`${id}: applied under the dead-man switch (snapshot ${result.snapshotId}); it rolls back by itself on the box at ${result.guard.deadline} unless confirmed.`));
          const code = await confirmFromHere(engine, result.guard, io);
          if (code !== EXIT.ok) return code;
          continue;
        }
        if (result.guard) {
          // Returns now: the detached watchdog keeps the deadline, whatever happens to this session.
          io.out(io.palette.yellow(`${id}: applied under the dead-man switch (snapshot ${result.snapshotId}). It rolls back by itself at ${result.guard.deadline} unless confirmed.`));
          io.out(`From a NEW ssh session to this server, run:  bulwark confirm ${result.guard.token}`);
          io.out(`(deadline ${result.guard.deadline}, ${result.guard.timeoutSeconds} s; the rules are saved for boot only after confirmation)`);
          const rest = selected.slice(selected.indexOf(id) + 1);
          if (rest.length > 0) io.out(`Not applied yet: ${rest.join(', ')} — run \`bulwark apply --yes\` again once this change is confirmed.`);
          return EXIT.ok;
        }
        io.out(`${id}: applied (snapshot ${result.snapshotId}). Undo with \`bulwark rollback --step ${id}\`.`);
        for (const line of plan.step.afterApply?.(plan.facts, plan.answers) ?? []) io.out(io.palette.cyan(line));
      } catch (error) {
        if (!(error instanceof ApplyFailed)) throw error;
        io.err(io.palette.red(`${id}: ${describeCause(error.cause)}`));
        io.err(`${id}: rolled back to snapshot ${error.snapshotId}; ${describeRestore(error.restore)}`);
        return EXIT.failed;
      }
    }
    return EXIT.ok;
  } finally {
    engine.release();
  }
}

export async function statusCommand(engine: Engine, io: Io): Promise<number> {
  const session = engine.session;
  const holder = await lockHolder(engine.stateDir, engine.state);
  const steps = STEPS.map((entry) => {
    const record = session.steps[entry.step.id];
    return { id: entry.step.id, title: entry.step.title, built: entry.built, status: record?.status ?? (entry.built ? 'pending' : 'coming'), snapshotId: record?.snapshotId, at: record?.at, note: record?.note };
  });
  const interrupted = session.inflight && !holder ? session.inflight : null;
  const guard = await engine.lastGuard();
  const waiting = guard?.status === 'armed' ? guard : null;
  const guardJson = guard && { step: guard.step, status: guard.status, token: guard.status === 'armed' ? guard.token : undefined, armedAt: guard.armedAt, deadline: guard.deadline, secondsLeft: guard.status === 'armed' ? Math.max(0, Math.round(secondsLeft(guard))) : undefined, decidedAt: guard.decidedAt ?? null, decidedBy: guard.decidedBy ?? null };
  if (io.json) {
    io.out(JSON.stringify({ root: engine.host.root, stateDir: engine.stateDir, system: engine.system, running: holder, interrupted, awaitingConfirmation: waiting ? guardJson : null, lastGuardedChange: guardJson, steps, events: session.events.slice(-10) }, null, 2));
    return EXIT.ok;
  }
  io.out(io.palette.bold(`bulwark on ${engine.host.root} — ${engine.system.distro.name}, ${engine.system.init}`));
  for (const step of steps) {
    const marks: Record<string, string> = { applied: io.palette.green('✔'), confirmed: io.palette.green('✔'), failed: io.palette.red('✘'), coming: io.palette.dim('·'), 'awaiting-confirmation': io.palette.yellow('⧗'), 'rolled-back': io.palette.yellow('↺'), skipped: '–' };
    const mark = marks[step.status] ?? '○';
    io.out(`${mark} ${step.id.padEnd(15)} ${step.status.padEnd(21)}${step.snapshotId ? ` snapshot ${step.snapshotId}` : ''}${step.at && step.status !== 'pending' ? io.palette.dim(`  ${step.at}`) : ''}`);
    if (step.note) io.out(io.palette.dim(`  ${' '.repeat(15)} ${step.note}`));
  }
  if (holder) io.out(`A bulwark is running now: pid ${holder.pid} (\`bulwark ${holder.command}\`) since ${holder.since}.`);
  if (interrupted) io.out(io.palette.yellow(`An ${interrupted.kind} of ${interrupted.step ?? 'a step'} was interrupted (pid ${interrupted.pid}); the next \`bulwark\` or \`bulwark apply\` restores snapshot ${interrupted.snapshotId} first.`));
  if (waiting) {
    io.out(io.palette.yellow(`Waiting for confirmation: ${waiting.step}, until ${waiting.deadline} (${Math.max(0, Math.round(secondsLeft(waiting)))} s left).`));
    io.out(`From a NEW ssh session: bulwark confirm ${waiting.token}   (otherwise it rolls back by itself)`);
  } else {
    io.out('Nothing is waiting for confirmation.');
    if (guard) io.out(io.palette.dim(`Last guarded change: ${guard.step}, ${guard.status} at ${guard.decidedAt ?? '?'} (${guard.decidedBy ?? ''}).`));
  }
  return EXIT.ok;
}

/** The journal's record of a change in flight; null when none, or when the journal cannot be read
 *  (`status` names that problem; the snapshots are listed all the same). */
function journalInflight(engine: Engine): { snapshotId: string; kind: string; pid: number } | null {
  try {
    return engine.session.inflight;
  } catch {
    return null;
  }
}

export async function historyCommand(engine: Engine, io: Io): Promise<number> {
  const manifests = await engine.store.list();
  // An apply or rollback whose process died is not in effect: it is restored by the next command
  // that takes the lock (status and history only read). One running now is shown as running.
  const inflight = journalInflight(engine);
  const running = inflight ? await lockHolder(engine.stateDir, engine.state) : null;
  const interrupted = (m: { id: string }) => inflight?.snapshotId === m.id && !running;
  const inProgress = (m: { id: string }) => inflight?.snapshotId === m.id && running !== null;
  if (io.json) {
    io.out(JSON.stringify(manifests.map((m) => ({ id: m.id, createdAt: m.createdAt, step: m.step ?? null, label: m.label, files: m.files.map((f) => f.path), inEffect: !m.rolledBackAt && m.written !== undefined && !isPreRollback(m) && !interrupted(m) && !inProgress(m), interrupted: interrupted(m), running: inProgress(m), rolledBackAt: m.rolledBackAt ?? null })), null, 2));
    return EXIT.ok;
  }
  if (manifests.length === 0) {
    io.out('No snapshots yet: nothing has been applied.');
    return EXIT.ok;
  }
  for (const m of manifests) {
    const state = interrupted(m)
      ? io.palette.yellow(`interrupted (${inflight!.kind} by pid ${inflight!.pid}): the next \`bulwark apply\`, \`rollback\` or the wizard restores it`)
      : inProgress(m)
        ? io.palette.yellow(`being ${inflight!.kind === 'apply' ? 'applied' : 'rolled back'} now (pid ${running!.pid})`)
        : m.rolledBackAt ? io.palette.dim(`restored ${m.rolledBackAt}`) : isPreRollback(m) ? io.palette.dim(`restore it to undo that rollback: bulwark rollback ${m.id}`) : m.written ? io.palette.green('in effect') : io.palette.dim('not applied');
    io.out(`${m.id}  ${m.createdAt}  ${(m.step ?? '').padEnd(14)} ${state}`);
    io.out(io.palette.dim(`    ${m.label}: ${m.files.map((f) => f.path).join(', ')}`));
  }
  return EXIT.ok;
}

export async function rollbackCommand(
  engine: Engine,
  target: { snapshot?: string; step?: StepId; last?: boolean },
  options: { yes: boolean; interactive: boolean },
  io: Io,
): Promise<number> {
  const chosen = [target.snapshot !== undefined, target.step !== undefined, Boolean(target.last)].filter(Boolean).length;
  if (chosen > 1) throw new UserError('Give one of SNAPSHOT, --step ID or --last, not several.');
  const recovery = await engine.lockForWriting('rollback');
  try {
    if (recovery) printRecovery(recovery, io);
    // Asked for a snapshot whose state is already the box's (restored earlier, or just now by the
    // recovery of an interrupted change): that is what the admin wants, and it is done.
    const asked = target.snapshot ? await engine.store.get(target.snapshot) : null;
    if (asked?.rolledBackAt) {
      // ...unless the recovery that restored it could not put everything back (it said what, above).
      if (recovery && recovery.restore.failed.length > 0) return EXIT.failed;
      io.out(`Snapshot ${asked.id} is already restored (${asked.rolledBackAt}): the box is as it was before ${asked.label.replace(/^before /, '')}. Nothing to do.`);
      return EXIT.ok;
    }
    const manifests = await engine.rollbackTargets(target);
    io.out('This restores, newest first:');
    for (const m of manifests) {
      io.out(`  ${m.id} (${m.step ?? 'unknown step'}, ${m.createdAt}): ${m.files.map((f) => f.path).join(', ')}`);
      const drifted = await engine.store.drifted(engine.host, m);
      for (const file of drifted) io.out(io.palette.yellow(`    ${file} was edited after bulwark changed it; your edits will be kept in a snapshot before it is restored.`));
    }
    if (!options.yes) {
      if (!options.interactive) throw new UserError('`bulwark rollback` needs --yes when it cannot ask (no terminal).', 'Add --yes to restore the snapshots listed above.');
      const readline = await import('node:readline/promises');
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      const answer = (await rl.question('Restore them? [y/N] ')).trim().toLowerCase();
      rl.close();
      if (answer !== 'y' && answer !== 'yes') {
        io.out('Nothing was changed.');
        return EXIT.ok;
      }
    }
    const outcomes = await engine.rollback(manifests, (event) => io.out(`  ${progressLine(event)}`));
    return printRollback(outcomes, io);
  } finally {
    engine.release();
  }
}

export async function auditCommand(engine: Engine, steps: readonly StepId[], io: Io): Promise<number> {
  const results = [];
  for (const id of selectSteps(steps)) {
    const { step, facts } = await engine.detect(id, { audit: true });
    const answers = await engine.answersFor(step, facts);
    await step.prepare?.(facts, answers, engine.context());
    const changes = step.plan(facts, answers);
    results.push({ id, title: step.title, findings: step.findings(facts), plannedChanges: changes.length });
  }
  const weights = { high: 10, medium: 5, low: 2, info: 0 } as const;
  const penalty = results.flatMap((r) => r.findings).reduce((sum, f) => sum + weights[f.severity], 0);
  const score = Math.max(0, 100 - penalty);
  if (io.json) {
    io.out(JSON.stringify({ score, steps: results }, null, 2));
    return EXIT.ok;
  }
  for (const result of results) {
    io.out(io.palette.bold(`== ${result.id}: ${result.title}`));
    if (result.findings.length === 0) io.out('   no findings');
    if (result.plannedChanges > 0) io.out(io.palette.dim(`   the step would make ${result.plannedChanges} change(s): see \`bulwark plan --step ${result.id}\``));
    for (const f of result.findings) {
      const tag = f.severity === 'high' ? io.palette.red('HIGH') : f.severity === 'medium' ? io.palette.yellow('MEDIUM') : f.severity.toUpperCase();
      io.out(`   [${tag}] ${f.title}`);
      io.out(`      why: ${f.why}`);
      io.out(`      fix: ${f.fix}`);
    }
  }
  io.out(`Score: ${score}/100 (100 = nothing found by the steps built so far).`);
  return EXIT.ok;
}

export async function confirmCommand(engine: Engine, token: string, io: Io): Promise<number> {
  // Confirmation does not wait for the lock: the wizard that applied the change may hold it while it
  // counts down. The decision itself is claimed atomically against the watchdog.
  try {
    const { record, written } = await engine.confirm(token, engine.sshConnection);
    if (io.json) io.out(JSON.stringify({ confirmed: true, step: record.step, decidedAt: record.decidedAt, persisted: written }));
    else {
      printConfirmed(record, written, io);
    }
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof GuardExpired)) throw error;
    if (io.json) io.out(JSON.stringify({ confirmed: false, step: error.record.step, rolledBackAt: error.record.decidedAt ?? null, reason: error.record.decidedBy ?? null }));
    else io.err(io.palette.red(error.message));
    return EXIT.notConfirmed;
  }
}

/**
 * Remote mode: bulwark proves access itself, with a NEW SSH connection from this machine on the
 * port the change expects, and confirms through it; it keeps trying until the deadline. If it never
 * gets in, the box's own dead-man switch rolls the change back, and bulwark checks that it did.
 */
async function confirmFromHere(engine: Engine, guard: GuardRecord, io: Io): Promise<number> {
  const deadline = Date.parse(guard.deadline);
  const port = guard.confirmPort;
  let attempt = 0;
  while (Date.now() < deadline - 500) {
    attempt++;
    io.out(`  prove    a new SSH connection from here${port ? ` on port ${port}` : ''} (${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left)`);
    const seen = await engine.proveAccess(port).catch(() => null);
    if (seen !== null) {
      try {
        const { record, written } = await engine.confirm(guard.token, seen, guard);
        printConfirmed(record, written, io);
        return EXIT.ok;
      } catch (error) {
        if (!(error instanceof GuardExpired)) throw error;
        io.err(io.palette.red(error.message));
        return EXIT.notConfirmed;
      }
    }
    io.err(io.palette.yellow(`  A new SSH connection did not get in (attempt ${attempt}); trying again until the deadline.`));
    await new Promise((resolve) => setTimeout(resolve, Math.min(2000, Math.max(0, deadline - Date.now()))));
  }
  io.err(io.palette.red(`Could not get in with a new SSH connection before ${guard.deadline}: the box rolls the ${guard.step} change back by itself.`));
  // The box's own switch decides now; wait for its outcome (over the old connection, which conntrack keeps).
  for (let tries = 0; tries < 20; tries++) {
    const after = await engine.lastGuard().catch(() => null);
    if (after && after.id === guard.id && after.status !== 'armed') {
      io.err(after.status === 'confirmed' ? `It was confirmed meanwhile (${after.decidedBy ?? ''}).` : `Rolled back on the box at ${after.decidedAt ?? after.deadline}: ${after.decidedBy ?? ''}.`);
      return after.status === 'confirmed' ? EXIT.ok : EXIT.notConfirmed;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  io.err('The box could not be asked whether it rolled back: run `bulwark --host ... status` once it answers again.');
  return EXIT.notConfirmed;
}

function printConfirmed(record: GuardRecord, written: readonly string[], io: Io): void {
  io.out(io.palette.green(`Confirmed: the ${record.step} change stays (${record.decidedBy ?? 'confirmed'}).`));
  if (written.length > 0) io.out(`Saved for the next boot: ${written.join(', ')}.`);
}

export function progressLine(event: ProgressEvent): string {
  const verbs: Record<ProgressEvent['phase'], string> = { snapshot: 'snapshot', validate: 'check', write: 'write', service: 'run', verify: 'verify', restore: 'restore', skip: 'skip' };
  return `${verbs[event.phase].padEnd(8)} ${event.detail}`;
}

function printRecovery(recovery: RecoveryReport, io: Io): void {
  // An interrupted apply is undone; an interrupted rollback is finished (both by restoring its snapshot).
  const done = recovery.kind === 'apply' ? 'undone' : 'finished';
  io.err(io.palette.yellow(`An interrupted ${recovery.kind}${recovery.step ? ` of ${recovery.step}` : ''} (pid ${recovery.pid}) was found and ${done}: snapshot ${recovery.snapshotId} restored; ${describeRestore(recovery.restore)}`));
}

function printRollback(outcomes: RollbackOutcome[], io: Io): number {
  let failed = false;
  for (const outcome of outcomes) {
    io.out(`Rolled back ${outcome.manifest.step ?? ''} snapshot ${outcome.manifest.id}: ${describeRestore(outcome.report)}`);
    if (outcome.report.drifted.length > 0) io.out(io.palette.yellow(`  Edited by hand after bulwark: ${outcome.report.drifted.join(', ')}. Those versions are kept in snapshot ${outcome.preRollbackId}.`));
    io.out(io.palette.dim(`  To undo this rollback: bulwark rollback ${outcome.preRollbackId}`));
    for (const failure of outcome.report.failed) {
      failed = true;
      io.err(io.palette.red(`  could not restore ${failure.path}: ${failure.error}`));
    }
  }
  return failed ? EXIT.failed : EXIT.ok;
}

function describeRestore(report: RestoreReport): string {
  const parts = [`${report.restored.length} restored`, `${report.removed.length} removed`];
  if (report.failed.length > 0) parts.push(`${report.failed.length} FAILED: ${report.failed.map((f) => `${f.path} (${f.error})`).join('; ')}`);
  for (const manual of report.manual ?? []) parts.push(`to do by hand: ${manual}`);
  return parts.join(', ') + '.';
}

function describeCause(cause: unknown): string {
  return describeSystemError(cause) ?? (cause instanceof Error ? cause.message : String(cause));
}
