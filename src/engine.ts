// The engine: everything the CLI and the wizard share. It opens the box (--root) and bulwark's state
// (--state-dir), recovers a half-done apply left by a crash, and runs steps through
// detect → plan → transaction. The UI only renders state and dispatches the admin's choices.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Answers } from './answers.js';
import type { Change, StepId } from './change.js';
import { UserError } from './errors.js';
import { Host } from './host.js';
import { Journal, type Session } from './journal.js';
import { acquireLock, type Lock, type LockHolder } from './lock.js';
import { localStateFs, type StateFs } from './state-fs.js';
import { holdSignalsDuring } from './signals.js';
import { detectSystem, type SystemFacts } from './system.js';
import { applyChanges, restoreSnapshot, type ApplyResult, type ProgressEvent } from './transaction.js';
import { SnapshotStore, type Manifest, type RestoreReport } from '../snapshots/store.js';
import { captureFirewall } from '../snapshots/netfilter.js';
import { checkNewConnection, GuardFile, secondsLeft, type GuardRecord } from '../snapshots/guard.js';
import { rollbackPlanFor, startDeadManSwitch } from '../snapshots/deadman.js';
import { parseOutcome } from '../snapshots/rollback-script.js';
import { findStep } from '../steps/index.js';
import { failpoint } from './faults.js';
import type { Step, StepContext } from '../steps/types.js';

export interface EngineOptions {
  readonly root: string;
  readonly stateDir?: string;
  /** Answers from --answers (already validated); they win over the journal and the defaults. */
  readonly answers?: Answers;
  /** Remote mode: the box over SSH, its state directory there, and the connection as the box sees it. */
  readonly remote?: RemoteBox;
}

export interface RemoteBox {
  readonly host: Host;
  readonly state: StateFs;
  /** SSH_CONNECTION of the master connection on the box: the lint's "your address". */
  readonly sshConnection: string;
  /** The login user on the box. */
  readonly user: string;
  /** A process on the box that lives as long as this run: the lock's owner there. */
  readonly lockHolder: () => Promise<LockHolder>;
  /** A NEW SSH connection from this machine (on this port): its SSH_CONNECTION, or null. */
  readonly proveAccess: (port?: number) => Promise<string | null>;
}

export interface StepPlan<F = unknown, A = unknown> {
  readonly step: Step<F, A>;
  readonly facts: F;
  readonly answers: A;
  readonly changes: Change[];
}

export interface RecoveryReport {
  readonly kind: 'apply' | 'rollback';
  readonly step?: StepId;
  readonly snapshotId: string;
  readonly pid: number;
  readonly restore: RestoreReport;
}

export interface RollbackOutcome {
  readonly manifest: Manifest;
  /** Snapshot of the state just before the rollback: edits made by hand since are kept there. */
  readonly preRollbackId: string;
  readonly report: RestoreReport;
}

/** Seconds to confirm a guarded change (the wizard's default, and `apply --yes` without --confirm-timeout). */
export const DEFAULT_CONFIRM_TIMEOUT = 120;

/** A guarded change could not be confirmed: it was rolled back already. Exit code 3. */
export class GuardExpired extends Error {
  override readonly name = 'GuardExpired';
  constructor(readonly record: GuardRecord) {
    super(`Too late: the ${record.step} change was rolled back at ${record.decidedAt ?? record.deadline} (${record.decidedBy ?? 'deadline passed'}).`);
  }
}

export class Engine {
  private lockHandle: Lock | null = null;
  private readonly guard: GuardFile;
  /** The transaction under way, if any: leaving (quit, hang-up) waits for it to finish. */
  private current: Promise<unknown> | null = null;

  private constructor(
    readonly host: Host,
    readonly system: SystemFacts,
    readonly stateDir: string,
    readonly store: SnapshotStore,
    readonly journal: Journal,
    readonly answersFile: Answers | undefined,
    /** Where the state directory is: this machine, or the box over SSH. */
    readonly state: StateFs,
    /** The admin's SSH connection as the box sees it (none at a console). */
    readonly sshConnection: string | undefined,
    private readonly remote: RemoteBox | undefined,
  ) {
    this.guard = new GuardFile(stateDir, state);
  }

  static async open(options: EngineOptions): Promise<Engine> {
    let host: Host;
    let stateDir: string;
    if (options.remote) {
      host = options.remote.host;
      stateDir = path.posix.resolve('/', options.stateDir ?? '/var/lib/bulwark');
    } else {
      const root = path.resolve(options.root);
      const rootStat = await fs.stat(root).catch(() => null);
      if (!rootStat?.isDirectory()) throw new UserError(`--root ${options.root} does not exist or is not a directory.`, 'Give the directory that holds the box\'s filesystem, or leave --root out to act on this machine.');
      host = new Host(root);
      stateDir = path.resolve(options.stateDir ?? host.hostPath('/var/lib/bulwark'));
    }
    const state = options.remote?.state ?? localStateFs;
    const system = await detectSystem(host);
    const journal = new Journal(stateDir, state);
    const sshConnection = options.remote ? options.remote.sshConnection : process.env.SSH_CONNECTION;
    const engine = new Engine(host, system, stateDir, new SnapshotStore(stateDir, state), journal, options.answers, state, sshConnection, options.remote);
    // A journal that cannot be read is reported when the session is first needed, so that the
    // checks of lockForWriting (root? writable state dir?) speak first.
    // The journal and the guard read together (over SSH: one round trip).
    const guardRead = engine.guard.read().catch(() => undefined);
    await journal.load().catch((error: unknown) => {
      engine.journalError = journalProblem(journal.file, error);
    });
    // What the dead-man switch did while nobody watched is recorded before anything reads the state.
    if (!engine.journalError) await engine.settleGuard(await guardRead).catch(() => undefined);
    return engine;
  }

  private journalError: UserError | null = null;

  get session(): Session {
    if (this.journalError) throw this.journalError;
    return this.journal.session;
  }

  context(): StepContext {
    const firewall = this.answersFile?.firewall ?? (this.journalError ? undefined : (this.session.answers.firewall as { trustedSources?: string[] } | undefined));
    return { host: this.host, system: this.system, sshConnection: this.sshConnection, adminUser: this.remote ? this.remote.user : process.env.SUDO_USER || process.env.USER || 'root', stateDir: this.stateDir, ...(this.remote ? { boxState: this.state } : {}), trustedSources: firewall?.trustedSources ?? [], sessionAnswers: this.journalError ? {} : (this.session.answers as Record<string, unknown>) };
  }

  /**
   * Takes the lock for a command that may write, after checking that it can: root on a live system,
   * a writable state dir. Then recovers whatever a crashed run left half-done.
   */
  async lockForWriting(command: string): Promise<RecoveryReport | null> {
    if (!this.remote && this.host.live && typeof process.geteuid === 'function' && process.geteuid() !== 0) {
      throw new UserError('bulwark changes system files and services: it must run as root.', 'Run it again with sudo.', 1);
    }
    // Remote mode's lock keeper starts on the box meanwhile (a session of its own over the master).
    const holder = this.remote?.lockHolder();
    holder?.catch(() => undefined);
    try {
      // Over SSH both go together (the box answers in order); here the directory must exist first.
      const made = this.state.ensurePrivateDir(this.stateDir);
      if (!this.host.pipelined) await made;
      await Promise.all([made, this.state.checkWritable(this.stateDir)]);
    } catch (error) {
      void holder?.then((h) => h.release?.(path.posix.join(this.stateDir, 'lock')), () => undefined);
      throw new UserError(`The state directory ${this.stateDir} is not writable: ${(error as Error).message}.`, 'Give a writable directory with --state-dir DIR (bulwark keeps its journal and snapshots there).', 1);
    }
    this.lockHandle = await acquireLock(this.stateDir, command, this.state, holder ? await holder : undefined);
    return this.recover();
  }

  /** Resolves once no transaction is running. */
  async idle(): Promise<void> {
    while (this.current) await this.current.catch(() => undefined);
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    const running = holdSignalsDuring(work);
    this.current = running;
    return running.finally(() => {
      if (this.current === running) this.current = null;
    });
  }

  release(): void {
    this.unarmedSeen = undefined;
    this.lockHandle?.release();
    this.lockHandle = null;
  }

  /** An apply or rollback whose process died (we hold the lock, so it did) is finished by restoring. */
  private async recover(): Promise<RecoveryReport | null> {
    // The journal and the guard read together (over SSH: one round trip).
    const guardRead = this.guard.read();
    guardRead.catch(() => undefined);
    await this.journal.load().catch((error: unknown) => {
      throw journalProblem(this.journal.file, error);
    });
    this.journalError = null;
    const fromCrash = await this.recoverInflight();
    // A recovery may have changed the guard (it restores through the same files): read it again then.
    await this.checkGuard(fromCrash ? undefined : await guardRead.catch(() => undefined));
    return fromCrash;
  }

  /**
   * A guard whose watchdog is gone (a reboot, a kill) is handled here: past its deadline the change is
   * undone now; before it, a new watchdog takes over the wait.
   */
  private async checkGuard(known?: GuardRecord | null): Promise<void> {
    const record = await this.settleGuard(known);
    if (!record || record.status !== 'armed') {
      // Under our lock no guard can be armed but by this run: the next look need not ask the box.
      this.unarmedSeen = record;
      return;
    }
    if (record.watchdogPid !== undefined && (await this.state.process(record.watchdogPid)).alive) return;
    if (secondsLeft(record) <= 0 || (await this.guard.decided(record.id))) {
      await this.expireGuard(record.id, 'not confirmed before the deadline (the watchdog was gone; undone at the next start)');
      return;
    }
    // Before the deadline: the switch's script again, computed from the box as it is now.
    const manifest = await this.store.get(record.snapshotId);
    if (!manifest) return;
    const plan = await rollbackPlanFor(this.host, this.system, this.store, manifest, { id: record.id, stateDir: this.stateDir, deadline: record.deadline });
    const pid = await startDeadManSwitch(this.host, this.state, plan);
    await this.guard.update((r) => {
      r.watchdogPid = pid;
    });
  }

  /**
   * The dead-man switch (a sh script on the box) cannot update the journal: it leaves its outcome in
   * guard-ID.outcome. The next command that reads the state records it — in the guard, the snapshot
   * and the journal — so a rolled-back change never shows as in effect.
   */
  /** What the recovery under the lock saw: no armed guard (used once, by the apply that follows). */
  private unarmedSeen: GuardRecord | null | undefined = undefined;

  private async settleGuard(known?: GuardRecord | null): Promise<GuardRecord | null> {
    const seen = this.lockHandle ? this.unarmedSeen : undefined;
    this.unarmedSeen = undefined;
    const record = known !== undefined ? known : seen !== undefined ? seen : await this.guard.read();
    if (!record || (record.status !== 'armed' && record.status !== 'applying')) return record;
    const decision = await this.guard.decided(record.id);
    if (decision !== 'expired' && decision !== 'interrupted') return record;
    const text = await this.state.readFile(path.posix.join(this.stateDir, `guard-${record.id}.outcome`));
    const outcome = text === null ? null : parseOutcome(text.toString('utf8'));
    if (!outcome) return record;
    const failures = outcome.failures.map((failed) => ({ path: failed, error: 'not put back by the dead-man switch' }));
    const reason = decision === 'interrupted' ? 'the apply was interrupted before it finished: the dead-man switch on the box put the snapshot back at once' : 'not confirmed before the deadline: rolled back by the watchdog';
    return (await this.recordExpired(record, failures, reason, outcome.at)) ?? record;
  }

  private async recoverInflight(): Promise<RecoveryReport | null> {
    const inflight = this.session.inflight;
    if (!inflight) return null;
    const manifest = await this.store.get(inflight.snapshotId);
    // A guarded apply has its switch watching since before its first write: it may be putting the
    // box back right now. Whoever claims the decision first restores; the other waits for it.
    if (inflight.kind === 'apply') await this.settleInterruptedGuard(inflight.snapshotId);
    let restore: RestoreReport = { restored: [], removed: [], drifted: [], failed: [] };
    if (manifest) restore = await restoreSnapshot(this.host, this.system, this.store, manifest);
    const event = `recovered an interrupted ${inflight.kind} (pid ${inflight.pid}) from snapshot ${inflight.snapshotId}`;
    if (manifest && inflight.kind === 'rollback') {
      // An interrupted rollback is finished: the same bookkeeping as one that ran to the end.
      await this.finishRollback(manifest, inflight.preRollbackId, restore, event);
    } else if (!manifest) {
      // Killed between the in-flight record and its snapshot (they are written together): nothing
      // was changed, as nothing is before both are on disk. The step keeps the status it had.
      await this.journal.update((draft) => void (draft.inflight = null), `an interrupted ${inflight.kind} (pid ${inflight.pid}) had changed nothing (its snapshot was never saved)`);
    } else {
      if (!manifest.rolledBackAt) await this.store.markRolledBack(manifest, undefined);
      await this.journal.update((draft) => {
        draft.inflight = null;
        if (inflight.step) {
          draft.steps[inflight.step] = { status: 'rolled-back', snapshotId: inflight.snapshotId, at: new Date().toISOString(), note: `an interrupted ${inflight.kind} (pid ${inflight.pid}) was finished by restoring snapshot ${inflight.snapshotId}` };
        }
      }, event);
    }
    return { kind: inflight.kind, step: inflight.step, snapshotId: inflight.snapshotId, pid: inflight.pid, restore };
  }

  /**
   * The switch of an interrupted guarded apply: claimed here (it then leaves without restoring), or,
   * if it claimed first, waited for until it has written its outcome; then recorded as undone. The
   * recovery's own restore follows either way (restoring twice gives the same tree).
   */
  private async settleInterruptedGuard(snapshotId: string): Promise<void> {
    const record = await this.guard.read();
    if (!record || record.snapshotId !== snapshotId || record.status !== 'applying') return;
    const claim = await this.guard.claim(record.id, 'interrupted');
    if (!claim.won) {
      const outcome = path.posix.join(this.stateDir, `guard-${record.id}.outcome`);
      for (let waited = 0; waited < 60_000 && !(await this.state.exists(outcome)); waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await this.guard.update((r) => {
      if (r.id !== record.id || r.status !== 'applying') return;
      r.status = 'rolled-back';
      r.decidedAt = new Date().toISOString();
      r.decidedBy = claim.won ? 'the apply was interrupted before it finished: undone by the next bulwark' : 'the apply was interrupted before it finished: the dead-man switch on the box put the snapshot back at once';
    });
  }

  builtStep(id: StepId): Step<unknown, unknown> {
    const entry = findStep(id);
    if (!entry) throw new UserError(`Unknown step "${id}".`);
    if (!entry.built) throw new UserError(`The step "${id}" (${entry.step.title}) is not available in this version of bulwark yet.`, 'Run `bulwark plan` without --step to see the steps that are.');
    return entry.step as Step<unknown, unknown>;
  }

  async detect(id: StepId, options: { audit?: boolean } = {}): Promise<{ step: Step<unknown, unknown>; facts: unknown }> {
    const step = this.builtStep(id);
    // The box may have changed since the last look (the dead-man switch restores in the background).
    this.host.forget();
    return { step, facts: await step.detect({ ...this.context(), ...(options.audit ? { audit: true } : {}) }) };
  }

  /** Answers for a step: --answers file, else what the admin chose earlier (journal), else defaults. */
  async answersFor(step: Step<unknown, unknown>, facts: unknown): Promise<unknown> {
    return (await this.knownAnswers(step)) ?? step.defaults(facts);
  }

  /** The answers known before looking at the box: --answers file, else the admin's earlier choice. */
  private async knownAnswers(step: Step<unknown, unknown>): Promise<unknown> {
    const fromFile = this.answersFile?.[step.id as keyof Answers];
    const saved = this.session.answers[step.id];
    // The schema library loads only when there are answers to check (and after the wizard has
    // drawn its first frame): a plan with none never loads it.
    if (fromFile === undefined && saved === undefined) return undefined;
    const { stepAnswersValid, validateStepAnswers } = await import('./answers.js');
    if (fromFile !== undefined) return validateStepAnswers(step.id, fromFile);
    if (stepAnswersValid(step.id, saved)) return saved;
    return undefined;
  }

  async plan(id: StepId, answers?: unknown): Promise<StepPlan> {
    const step = this.builtStep(id);
    const known = answers === undefined ? await this.knownAnswers(step) : (await import('./answers.js')).validateStepAnswers(step.id, answers);
    // Work that needs only the answers runs alongside the detection (its failure, if detect fails
    // first, is not left unhandled: prepare gets the promise and meets it there).
    const prefetched = known === undefined ? undefined : step.prefetch?.(known, this.context());
    prefetched?.catch(() => undefined);
    const { facts } = await this.detect(id);
    const chosen = known ?? step.defaults(facts);
    await step.prepare?.(facts, chosen, this.context(), prefetched);
    const wrong = step.checkAnswers?.(facts, chosen) ?? [];
    if (wrong.length > 0) throw new UserError(wrong[0]!, 'Nothing was changed.', 2);
    return { step, facts, answers: chosen, changes: step.plan(facts, chosen) };
  }

  async saveAnswers(id: StepId, answers: unknown): Promise<void> {
    await this.journal.update((draft) => {
      draft.answers[id] = answers as never;
    });
  }

  async skip(id: StepId): Promise<void> {
    await this.journal.setStep(id, { status: 'skipped' }, `skipped ${id}`);
  }

  /** Problems that make bulwark refuse a plan before touching anything (a lock-out, a conflict). */
  preflight(plan: StepPlan): string[] {
    return plan.step.preflight?.(plan.facts, plan.answers) ?? [];
  }

  /** Remote mode: the box is reached over SSH from this machine, which can prove access itself. */
  get remoteMode(): boolean {
    return this.remote !== undefined;
  }

  /**
   * Remote mode's proof of access: a NEW SSH connection from this machine (no multiplexing, a fresh
   * TCP connection and login), on the port the change expects. Returns that connection's
   * SSH_CONNECTION as the box saw it, or null when it could not get in.
   */
  async proveAccess(port?: number): Promise<string | null> {
    if (!this.remote) throw new Error('bug: proveAccess outside remote mode');
    // The proof the apply started as soon as its changes were in place, taken once.
    const early = this.earlyProof;
    this.earlyProof = null;
    if (early && early.port === port) return early.seen;
    return this.remote.proveAccess(port);
  }

  private earlyProof: { port: number | undefined; seen: Promise<string | null> } | null = null;

  private startEarlyProof(port: number | undefined): void {
    const remote = this.remote;
    if (!remote) return;
    const seen = remote.proveAccess(port).catch(() => null);
    this.earlyProof = { port, seen };
  }

  /** The guarded change waiting for confirmation, if any. */
  async pendingGuard(): Promise<GuardRecord | null> {
    const record = await this.settleGuard();
    return record?.status === 'armed' ? record : null;
  }

  /** The last guard, whatever its state (for `status`). */
  async lastGuard(): Promise<GuardRecord | null> {
    return this.settleGuard();
  }

  /**
   * Applies a plan through the transaction. The caller holds the lock. A guarded step on the live
   * system is applied under the dead-man switch; its result carries the token and the deadline.
   */
  async apply(plan: StepPlan, onProgress?: (event: ProgressEvent) => void, options: { confirmTimeout?: number } = {}): Promise<ApplyResult | null> {
    const problems = this.preflight(plan);
    if (problems.length > 0) {
      throw new UserError(`Refused: ${problems.join(' ')}`, 'Nothing was changed. Adjust the answers (or the wizard\'s choices) and try again.', 1);
    }
    const waiting = await this.pendingGuard();
    if (waiting) {
      throw new UserError(
        `A guarded change (${waiting.step}) is waiting for confirmation until ${waiting.deadline}.`,
        `Confirm it from a NEW SSH session with \`bulwark confirm ${waiting.token}\`, or let it roll back by itself, then go on.`,
        1,
      );
    }
    if (plan.changes.length === 0) {
      await this.saveAnswers(plan.step.id, plan.answers);
      return null;
    }
    const guarded = plan.step.guarded === true && this.host.live;
    return this.track(() => applyChanges({
      host: this.host,
      system: this.system,
      store: this.store,
      journal: this.journal,
      step: plan.step.id,
      changes: plan.changes,
      answers: plan.answers,
      verify: () => plan.step.verify(this.context(), plan.answers, plan.changes),
      onProgress,
      guard: guarded ? { timeoutSeconds: options.confirmTimeout ?? DEFAULT_CONFIRM_TIMEOUT, sshConnection: this.sshConnection, stateDir: this.stateDir, state: this.state, ...confirmPortOf(plan), changesInPlace: () => this.startEarlyProof(confirmPortOf(plan).confirmPort), ...(this.lockHandle ? { applier: this.lockHandle.owner } : {}) } : undefined,
    }).catch((error: unknown) => {
      this.earlyProof = null; // the change was undone: what the proof saw proves nothing now
      throw error;
    }));
  }

  /**
   * `bulwark confirm TOKEN`: keeps the waiting change, if the token is right and this is a new SSH
   * connection; writes what waited for confirmation (the persisted firewall rules).
   */
  async confirm(token: string, sshConnection: string | undefined, armedHere?: GuardRecord): Promise<{ record: GuardRecord; written: string[] }> {
    // The guard this very run armed (remote mode confirms its own change) need not be read back: if
    // anything decided it meanwhile, the claim below loses and says what.
    const record = armedHere ?? (await this.guard.read());
    if (!record) throw new UserError('Nothing is waiting for confirmation.', undefined, 1);
    if (record.token !== token.trim()) {
      throw new UserError(`That is not the token of the change waiting for confirmation (the token looks like ${record.token.replace(/[a-z0-9]/g, 'x')}).`, 'Copy the token exactly as `bulwark status` or the wizard shows it.', 2);
    }
    if (record.status === 'confirmed') return { record, written: [] };
    if (record.status !== 'armed') throw new GuardExpired(record);
    const refusal = checkNewConnection(record, sshConnection);
    if (refusal) throw new UserError(refusal, undefined, 1);
    // The snapshot is read with the claim (one round trip over SSH); it is used only if the claim wins.
    const [claim, manifest] = await Promise.all([this.guard.claim(record.id, 'confirmed'), this.store.get(record.snapshotId)]);
    if (!claim.won) throw new GuardExpired((await this.guard.read()) ?? record);
    const step = this.builtStep(record.step);
    const written: string[] = [];
    if (manifest && record.pendingFiles.length > 0 && step.confirmedFiles) {
      const changes = await step.confirmedFiles(this.context(), record.pendingFiles);
      for (const change of changes) if (!manifest.files.some((f) => f.path === change.path)) throw new Error(`bug: ${change.path} was not snapshotted before the change`);
      // Independent files (rules.v4 and rules.v6): written together, over SSH in one round trip.
      const created = await Promise.all(changes.map(async (change) => (change.after === null ? (await this.host.remove(change.path), []) : this.host.writeAtomic(change.path, change.after, { mode: change.mode }))));
      manifest.createdDirs = [...new Set([...(manifest.createdDirs ?? []), ...created.flat()])];
      written.push(...changes.map((change) => change.path));
    }
    const from = sshConnection ? `a new SSH connection from ${sshConnection.split(' ')[0]}` : 'the console';
    // Three independent files (the snapshot, the guard, the journal): written together.
    const [, decided] = await Promise.all([
      manifest && written.length > 0 ? this.store.recordWritten(this.host, manifest, []) : null,
      this.guard.update((r) => {
        r.status = 'confirmed';
        r.decidedAt = new Date().toISOString();
        r.decidedBy = `confirmed from ${from}`;
      }),
      this.journal.update((draft) => {
        draft.steps[record.step] = { status: 'confirmed', snapshotId: record.snapshotId, at: new Date().toISOString(), note: `confirmed from ${from}${written.length ? `; saved for boot: ${written.join(', ')}` : ''}` };
      }, `${record.step} confirmed from ${from}`),
    ]);
    if (step.finish) await this.finish(step);
    return { record: decided ?? record, written };
  }

  /**
   * The second phase of a confirmed change (the ssh step closes the old port): applied as its own
   * transaction with its own snapshot, so it can be rolled back like any apply; then the steps that
   * follow it are planned again and applied (fail2ban's jail follows the SSH port).
   */
  private async finish(step: Step<unknown, unknown>): Promise<void> {
    const answers = this.session.answers[step.id as keyof typeof this.session.answers];
    const result = await step.finish!(this.context(), answers);
    if (result.changes.length > 0) {
      await applyChanges({ host: this.host, system: this.system, store: this.store, journal: this.journal, step: step.id, changes: result.changes, verify: () => step.verify(this.context(), answers, result.changes) });
    }
    for (const update of result.answers ?? []) await this.saveAnswers(update.step, update.answers);
    for (const id of result.follow ?? []) {
      if (!this.session.steps[id] || !['applied', 'confirmed'].includes(this.session.steps[id]!.status)) continue;
      const plan = await this.plan(id);
      if (plan.changes.length > 0 && this.preflight(plan).length === 0) await applyChanges({ host: this.host, system: this.system, store: this.store, journal: this.journal, step: id, changes: plan.changes, verify: () => plan.step.verify(this.context(), plan.answers, plan.changes) });
    }
  }

  /**
   * The deadline passed (or the admin rolled back): restores the snapshot, records why. Called by the
   * watchdog in its own process, and by a later start when the watchdog is gone. Idempotent.
   */
  async expireGuard(id: string, reason: string): Promise<{ restored: boolean; record: GuardRecord | null; report?: RestoreReport }> {
    const claim = await this.guard.claim(id, 'expired');
    const record = await this.guard.read();
    if (!claim.won && claim.decision === 'confirmed') return { restored: false, record };
    if (!record || record.id !== id || record.status !== 'armed') return { restored: false, record };
    const manifest = await this.store.get(record.snapshotId);
    // In flight while it restores: killed half-way, status and history say so, and the next command
    // that takes the lock finishes it.
    await this.journal.update((draft) => {
      draft.inflight = { kind: 'rollback', step: record.step, snapshotId: record.snapshotId, pid: process.pid, startedAt: new Date().toISOString() };
    }, `rollback of ${record.step} (snapshot ${record.snapshotId}) started: ${reason}`);
    const report = manifest ? await restoreSnapshot(this.host, this.system, this.store, manifest) : undefined;
    const decided = await this.recordExpired(record, report?.failed ?? [], reason, new Date().toISOString());
    return { restored: true, record: decided, report };
  }

  /** A guarded change undone at its deadline: the guard, the snapshot and the journal say so. */
  private async recordExpired(record: GuardRecord, failures: readonly { path: string; error: string }[], reason: string, at: string): Promise<GuardRecord | null> {
    const manifest = await this.store.get(record.snapshotId);
    if (manifest && !manifest.rolledBackAt) await this.store.markRolledBack(manifest, undefined);
    const failed = failures.length > 0;
    // Never before the deadline: a clock with whole seconds (busybox date) must not make it look early.
    // (An apply interrupted before it handed over had no deadline yet: its time is when it was undone.)
    const decidedAt = record.status === 'applying' ? new Date(Date.parse(at) || Date.now()).toISOString() : new Date(Math.max(Date.parse(at) || Date.now(), Date.parse(record.deadline))).toISOString();
    const decided = await this.guard.update((r) => {
      r.status = failed ? 'failed' : 'rolled-back';
      r.decidedAt = decidedAt;
      r.decidedBy = reason;
      if (failed) r.note = failures.map((f) => `${f.path}: ${f.error}`).join('; ');
    });
    await this.journal.update((draft) => {
      if (draft.inflight?.snapshotId === record.snapshotId) draft.inflight = null;
      draft.steps[record.step] = { status: 'rolled-back', snapshotId: record.snapshotId, at: decidedAt, note: `${reason}${failed ? ` — restore FAILED for ${failures.map((f) => f.path).join(', ')}` : ''}` };
    }, `${record.step} rolled back: ${reason}`);
    return decided;
  }

  /** Snapshots still in effect (not rolled back), newest first. */
  async activeSnapshots(): Promise<Manifest[]> {
    return (await this.store.list()).filter((m) => !m.rolledBackAt && m.written !== undefined && !isPreRollback(m));
  }

  /** Which snapshots a rollback target means, newest first; a UserError when there are none. */
  async rollbackTargets(target: { snapshot?: string; step?: StepId; last?: boolean }): Promise<Manifest[]> {
    const active = await this.activeSnapshots();
    if (target.snapshot) {
      const manifest = await this.store.get(target.snapshot);
      if (!manifest) throw new UserError(`No snapshot "${target.snapshot}".`, 'Run `bulwark history` to list the snapshots.');
      if (manifest.rolledBackAt) throw new UserError(`Snapshot ${manifest.id} was already restored (${manifest.rolledBackAt}).`, undefined, 1);
      // A snapshot taken just before a rollback: restoring it undoes that rollback.
      if (isPreRollback(manifest)) return [manifest];
      // Back to a snapshot means undoing it and everything applied after it, newest first.
      return active.filter((m) => m.id >= manifest.id);
    }
    if (target.step) {
      const latest = active.find((m) => m.step === target.step);
      if (!latest) throw new UserError(`Nothing to roll back for step ${target.step}: it has no applied change in effect.`, 'Run `bulwark history` to list the snapshots.', 1);
      return [latest];
    }
    const last = active[0];
    if (!last) throw new UserError('Nothing to roll back: no applied change is in effect.', undefined, 1);
    return [last];
  }

  /** Restores the given snapshots, newest first. Each restore is itself snapshotted first. */
  async rollback(manifests: readonly Manifest[], onProgress?: (event: ProgressEvent) => void): Promise<RollbackOutcome[]> {
    return this.track(() => this.rollbackAll(manifests, onProgress));
  }

  private async rollbackAll(manifests: readonly Manifest[], onProgress?: (event: ProgressEvent) => void): Promise<RollbackOutcome[]> {
    // Every snapshot's saved content is there and whole before the first restore starts.
    for (const manifest of manifests) {
      const unusable = await this.store.unusableObjects(manifest);
      if (unusable.length > 0) {
        throw new UserError(
          `Snapshot ${manifest.id} cannot be restored: ${unusable.map((u) => `its copy of ${u.what} (${u.object}) is ${u.problem}`).join('; ')}. Nothing was changed.`,
          'Put the state directory back from a backup and run the rollback again, or restore those by hand; other snapshots can still be rolled back.',
          1,
        );
      }
    }
    const outcomes: RollbackOutcome[] = [];
    for (const manifest of manifests) {
      // Rolling back a change that waits for confirmation also ends its dead-man switch.
      const waiting = await this.pendingGuard();
      if (waiting?.snapshotId === manifest.id) {
        const expired = await this.expireGuard(waiting.id, 'rolled back by the admin before confirming');
        if (expired.restored) {
          outcomes.push({ manifest, preRollbackId: manifest.id, report: expired.report ?? { restored: [], removed: [], drifted: [], failed: [] } });
          continue;
        }
      }
      onProgress?.({ phase: 'snapshot', detail: `current state before restoring ${manifest.id}` });
      const pre = await this.store.capture(this.host, manifest.files.map((f) => f.path), { step: manifest.step, label: `before rollback of ${manifest.id}` });
      // The running firewall too, so that undoing this rollback brings bulwark's rules back.
      if (manifest.firewall && this.host.live) {
        await captureFirewall(this.host, this.store, pre);
        await this.store.save(pre);
      }
      await this.journal.update((draft) => {
        draft.inflight = { kind: 'rollback', step: manifest.step, snapshotId: manifest.id, preRollbackId: pre.id, pid: process.pid, startedAt: new Date().toISOString() };
      }, `rollback of ${manifest.id} started`);
      await failpoint('after-snapshot');
      onProgress?.({ phase: 'restore', detail: `snapshot ${manifest.id}` });
      const report = await restoreSnapshot(this.host, this.system, this.store, manifest, onProgress);
      await this.finishRollback(manifest, pre.id, report, `restored snapshot ${manifest.id}${manifest.step ? ` (${manifest.step})` : ''}`);
      await failpoint('after-commit');
      outcomes.push({ manifest, preRollbackId: pre.id, report });
    }
    return outcomes;
  }

  /** Records a restored rollback target: in its snapshot, in the one it reinstates, in the journal. */
  private async finishRollback(manifest: Manifest, preId: string | undefined, report: RestoreReport, event: string): Promise<void> {
    if (!manifest.rolledBackAt) await this.store.markRolledBack(manifest, preId);
    // Undoing a rollback puts the step's change back in effect: its apply snapshot is live again.
    const reinstated = isPreRollback(manifest) ? (await this.store.list()).find((m) => m.rolledBackBy === manifest.id) : undefined;
    if (reinstated) {
      delete reinstated.rolledBackAt;
      delete reinstated.rolledBackBy;
      await this.store.save(reinstated);
    }
    await this.journal.update((draft) => {
      draft.inflight = null;
      if (manifest.step) {
        const note = report.drifted.length > 0 ? `edited after bulwark: ${report.drifted.join(', ')}${preId ? ` (kept in snapshot ${preId})` : ''}` : undefined;
        draft.steps[manifest.step] = reinstated
          ? { status: 'applied', snapshotId: reinstated.id, at: new Date().toISOString(), note: `rollback undone (snapshot ${manifest.id} restored)` }
          : { status: 'rolled-back', snapshotId: manifest.id, at: new Date().toISOString(), note };
      }
    }, event);
  }

}

function journalProblem(file: string, error: unknown): UserError {
  if (error instanceof UserError) return error;
  const code = (error as { code?: string }).code;
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`Cannot read bulwark's journal ${file}: permission denied.`, 'Run bulwark as root (sudo).', 1);
  if (code === 'ENOTDIR') return new UserError(`The state directory for ${file} is not a directory.`, 'Give a directory with --state-dir DIR.', 1);
  return new UserError(`Cannot read bulwark's journal ${file}: ${(error as Error).message}.`, 'Move the broken file aside (the snapshots next to it are kept) and run bulwark again.', 1);
}

/** Snapshots taken just before a rollback, so that the rollback itself can be undone. */
export function isPreRollback(manifest: Manifest): boolean {
  return manifest.label.startsWith('before rollback of ');
}

function confirmPortOf(plan: StepPlan): { confirmPort?: number } {
  const port = plan.step.confirmPort?.(plan.facts, plan.answers) ?? null;
  return port === null ? {} : { confirmPort: port };
}
