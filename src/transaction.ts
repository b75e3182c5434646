// The one code path that writes (STYLE.md). snapshot → validate candidates → write → validate the
// installed configuration → service actions → verify → commit; any failure restores the snapshot.
// The journal marks the apply in flight before the first write, so a crash at any point is
// recovered on the next start (recovery.ts).
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CANDIDATE_PATH, type Change, type CommandChange, type FileChange, type FirewallChange, type IpsetChange, type KernelSettingsChange, type LinkChange, type PackageChange, type ServiceChange, type StepId } from './change.js';
import { UserError } from './errors.js';
import type { Host } from './host.js';
import type { Journal } from './journal.js';
import { findService, serviceCommand } from './services.js';
import type { SystemFacts } from './system.js';
import type { Manifest, RestoreReport, SnapshotStore } from '../snapshots/store.js';
import { checkScript, captureFirewall, loadScript, restoreFirewall } from '../snapshots/netfilter.js';
import { captureSets, loadSetScript, restoreSets } from '../snapshots/ipset.js';
import { readSettings, restoreSettings } from '../snapshots/sysctl.js';
import { GuardFile, newToken, type GuardRecord } from '../snapshots/guard.js';
import { rollbackPlanFor, startDeadManSwitch } from '../snapshots/deadman.js';
import type { VerifyCheck } from '../steps/types.js';
import { localStateFs, type StateFs } from './state-fs.js';
import { failpoint } from './faults.js';
import { thousands } from './output.js';

export type ProgressEvent =
  | { phase: 'snapshot'; detail: string }
  | { phase: 'validate'; detail: string }
  | { phase: 'write'; detail: string }
  | { phase: 'service'; detail: string }
  | { phase: 'verify'; detail: string }
  | { phase: 'restore'; detail: string }
  | { phase: 'skip'; detail: string };

export interface GuardOptions {
  readonly timeoutSeconds: number;
  readonly sshConnection: string | undefined;
  readonly stateDir: string;
  /** Where the state directory is (this machine, or the box in remote mode). */
  readonly state?: StateFs;
  /** Confirmation only from a connection on this port (a moved SSH port). */
  readonly confirmPort?: number;
  /**
   * Called once every change is in place, before the checks and the arming: remote mode starts its
   * proof of access (a new SSH login, the slowest part) then, so that it overlaps the rest.
   */
  readonly changesInPlace?: () => void;
  /**
   * The process applying the change, on the box (this one, or remote mode's helper session): the
   * switch, armed before the first write, puts the snapshot back at once if it dies before handing
   * over — a kill, a crash, a dropped connection — since nobody may be able to log in afterwards.
   */
  readonly applier?: { readonly pid: number; readonly startTime: string | null };
}

export interface ApplyInput {
  readonly host: Host;
  readonly system: SystemFacts;
  readonly store: SnapshotStore;
  readonly journal: Journal;
  readonly step: StepId;
  readonly changes: readonly Change[];
  /** The step's answers, recorded in the journal with the start of the apply (one update, not two). */
  readonly answers?: unknown;
  readonly verify: () => Promise<VerifyCheck[]>;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Apply under the dead-man switch: arm the watchdog instead of committing. */
  readonly guard?: GuardOptions;
}

export interface ApplyResult {
  readonly snapshotId: string;
  readonly checks: VerifyCheck[];
  readonly notes: string[];
  /** Set when the change waits for confirmation. */
  readonly guard?: GuardRecord;
}

/** Raised when an apply failed and was rolled back; carries the cause and what the restore did. */
export class ApplyFailed extends Error {
  override readonly name = 'ApplyFailed';
  constructor(
    readonly step: StepId,
    override readonly cause: unknown,
    readonly restore: RestoreReport,
    readonly snapshotId: string,
  ) {
    super(`Applying ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export async function applyChanges(input: ApplyInput): Promise<ApplyResult> {
  const { host, system, store, journal, step, onProgress } = input;
  const progress = (event: ProgressEvent): void => onProgress?.(event);
  const notes: string[] = [];
  // The box as it is now: the plan must still match it (refuseIfChangedSincePlan).
  host.forget();

  const allFiles = await resolveFileChanges(host, input.changes.filter((c): c is FileChange => c.kind === 'file'));
  // Files to write once a guarded change is confirmed: snapshotted now, written by `confirm`.
  const pending = input.guard ? allFiles.filter((f) => f.afterConfirm) : [];
  const files = allFiles.filter((f) => !pending.includes(f));
  const firewall = input.changes.filter((c): c is FirewallChange => c.kind === 'firewall');
  const sets = input.changes.filter((c): c is IpsetChange => c.kind === 'ipset');
  const services = input.changes.filter((c): c is ServiceChange => c.kind === 'service');
  const links = await resolveLinkChanges(host, input.changes.filter((c): c is LinkChange => c.kind === 'link'));
  const packages = input.changes.filter((c): c is PackageChange => c.kind === 'package');
  const commands = input.changes.filter((c): c is CommandChange => c.kind === 'command');
  const kernel = host.live ? input.changes.filter((c): c is KernelSettingsChange => c.kind === 'sysctl') : [];
  await refuseIfChangedSincePlan(host, allFiles);
  await refuseIfLinksChangedSincePlan(host, links);

  // The snapshot must fit: the old files, the old sets (about 48 bytes a network in `ipset save`
  // text), and room for the firewall rules, the manifest and the journal.
  await store.requireSpace(allFiles.reduce((sum, f) => sum + Buffer.byteLength(f.before ?? ''), 0) + sets.reduce((sum, s) => sum + s.entries * 48, 0) + STATE_HEADROOM);
  progress({ phase: 'snapshot', detail: `${allFiles.length} file(s)${firewall.length > 0 ? ', the running firewall (IPv4 and IPv6)' : ''}` });
  // Saved below, once the firewall, the sets and the service undo are in it, before anything changes.
  const manifest = await store.capture(host, [...allFiles.map((f) => f.path), ...links.map((l) => l.path), ...commands.flatMap((c) => c.creates)], { step, label: `before apply of ${step}` }, { save: false });
  if (packages.some((p) => p.action === 'remove') && host.live) {
    const manager = packages[0]!.manager;
    manifest.packages = { manager, removed: packages.filter((p) => p.action === 'remove').flatMap((p) => p.names), listBefore: await store.putText(await installedPackages(host, manager)) };
  }
  // Installs first: the files and services that follow belong to them.
  for (const change of packages.filter((p) => p.action === 'install')) await runPackages(host, change, progress, notes);
  // Independent reads: at once. (Each saves the manifest; the save below has everything.)
  // What the step owns in the filter table goes with the saved rules: a rollback needs nothing else.
  if (firewall.length > 0) manifest.firewallOwner = firewall[0]!.owns;
  await Promise.all([firewall.length > 0 ? captureFirewall(host, store, manifest) : null, sets.length > 0 ? captureSets(host, store, manifest, sets.map((s) => s.name)) : null]);
  // The live kernel values now (not the plan's): what a rollback and the switch write back.
  if (kernel.length > 0) {
    const live = await readSettings(host, kernel.flatMap((c) => c.settings.map((s) => s.key)));
    manifest.kernelSettings = Object.fromEntries(Object.entries(live).filter((entry): entry is [string, string] => entry[1] !== null));
  }
  manifest.serviceUndo = services.filter((s) => s.undo).map((s) => ({ names: [...s.names], action: s.undo!, command: s.command ? { file: s.command.file, args: [...s.command.args] } : undefined }));
  // The directories the writes may create, recorded before the first write: a process killed in the
  // middle leaves no record of what it made, and a restore must still remove them (when empty).
  manifest.createdDirs = await missingParents(host, [...files.filter((f) => f.after !== null).map((f) => f.path), ...links.filter((l) => l.after !== null).map((l) => l.path), ...(host.live ? commands.flatMap((c) => c.creates) : [])]);
  // A guarded change is watched by the dead-man switch from before its first write (coverWithSwitch):
  // started with the snapshot (over SSH its requests ride the same round trip), waited for before
  // the first change that can cut anyone off (the kernel's sets and rules, a service reload).
  const coverage = input.guard ? coverWithSwitch(input.guard, guardRecord(input.guard, host, step, manifest, pending), host, system, store, manifest) : undefined;
  coverage?.catch(() => undefined);
  // The snapshot and the in-flight record together (nothing is changed before both are on disk; a
  // crash in between leaves a record whose snapshot restores nothing, as nothing was changed).
  const [saved, started] = await Promise.allSettled([
    store.save(manifest),
    journal.update((draft) => {
      if (input.answers !== undefined) draft.answers[step] = input.answers as never;
      draft.inflight = { kind: 'apply', step, snapshotId: manifest.id, pid: process.pid, startedAt: new Date().toISOString() };
    }, `apply of ${step} started (snapshot ${manifest.id})`),
  ]);
  if (saved.status === 'rejected' || started.status === 'rejected') {
    // Nothing was changed: the in-flight record goes again, so no later run "recovers" this apply,
    // and the switch is told it has nothing to watch.
    if (saved.status === 'rejected' && started.status === 'fulfilled') await journal.update((draft) => void (draft.inflight = null));
    if (coverage && input.guard) await standDown(input.guard, await coverage.catch(() => undefined), 'the apply could not start: nothing was changed');
    throw saved.status === 'rejected' ? saved.reason : (started as PromiseRejectedResult).reason;
  }

  const createdDirs: string[] = [];
  let result: ApplyResult;
  // The switch's record once it watches (coverage), handed over by armGuard at the end.
  let guard: GuardRecord | undefined;
  try {
    await failpoint('after-snapshot');
    for (const change of files) await validateCandidate(host, change, progress);
    for (const change of files) {
      progress({ phase: 'write', detail: change.path });
      if (change.after === null) {
        await host.remove(change.path);
      } else {
        const owner = change.owner ? await host.lookupOwner(change.owner.user, change.owner.group) : undefined;
        createdDirs.push(...(await host.writeAtomic(change.path, change.after, { mode: change.mode, uid: owner?.uid, gid: owner?.gid })));
      }
      await failpoint('after-write');
    }
    // Links: under --root all of them; on the live system those the box's own tool makes (madeBy)
    // are made by their service change below.
    for (const change of links) {
      if (host.live && change.madeBy) continue;
      progress({ phase: 'write', detail: change.after === null ? `remove link ${change.path}` : `link ${change.path} -> ${change.after}` });
      if (change.after === null) await host.remove(change.path);
      else createdDirs.push(...(await host.symlink(change.path, change.after)));
      await failpoint('after-write');
    }
    // Sets first: the rules that follow refer to them. Each set is its own `ipset restore`, all at
    // once (the kernel takes them in parallel: with two families, about half the wait). Every load
    // is waited for, failed or not, before a restore can start.
    if (coverage) guard = await coverage;
    for (const change of sets) progress({ phase: 'write', detail: `set ${change.name}: ${thousands(change.entries)} networks (filled aside, then swapped in)` });
    await settled(sets.map((change) => loadSetScript(host, change.script)));
    if (sets.length > 0) await failpoint('after-ipset');
    // Every family's rules are checked before the first is loaded. The families are independent
    // tables: checked together, then loaded together (over SSH, one round trip each time).
    for (const change of firewall) progress({ phase: 'validate', detail: `${change.family} rules (iptables-restore --test, jump targets)` });
    await settled(firewall.map((change) => checkScript(host, change.family, change.script)));
    for (const change of firewall) progress({ phase: 'write', detail: `${change.family === 'ipv4' ? 'IPv4' : 'IPv6'} firewall rules (one atomic iptables-restore)` });
    // Checked above, for every family, just before: nothing else loads rules in between.
    await settled(firewall.map((change) => loadScript(host, change.family, change.script, { checked: true })));
    if (firewall.length > 0) await failpoint('after-firewall');
    // Under the switch too (a strict reverse-path filter can cut off a box that routes asymmetrically).
    for (const change of kernel) {
      progress({ phase: 'write', detail: `kernel settings: ${change.settings.map((s) => `${s.key}=${s.after}`).join(' ')}` });
      await host.run(change.apply);
      await failpoint('after-write');
    }
    for (const change of files) await validateInstalled(host, change, progress, notes);
    await failpoint('after-validate');
    for (const change of services) {
      await runService(host, system, change, progress, notes);
      await failpoint('after-service');
    }
    for (const change of commands) {
      // The directories it writes into (AIDE's /var/lib/aide when aide-common is not installed).
      if (host.live) for (const file of change.creates) createdDirs.push(...(await host.ensureDir(path.posix.dirname(file))));
      await runCommand(host, change, progress, notes);
      await failpoint('after-service');
    }
    for (const change of packages.filter((p) => p.action === 'remove')) {
      await runPackages(host, change, progress, notes);
      await failpoint('after-service');
    }
    // What bulwark (and the tools it ran) left, for drift detection at a later rollback.
    // Recorded while the step verifies (over SSH the two share round trips).
    const recorded = store.recordWritten(host, manifest, createdDirs);
    recorded.catch(() => undefined);
    input.guard?.changesInPlace?.();
    progress({ phase: 'verify', detail: step });
    const checks = await input.verify();
    await recorded;
    await failpoint('during-verify');
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) throw new UserError(`verification failed: ${failed.map((c) => `${c.label}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}`, undefined, 1);
    if (input.guard && guard) {
      // The journal leaves "in flight" only once the armed record is on disk (from then on the switch,
      // not a recovery, undoes the change).
      const armed = await armGuard(input.guard, host, guard, (record) =>
        journal.update((draft) => {
          draft.inflight = null;
          draft.steps[step] = { status: 'awaiting-confirmation', snapshotId: manifest.id, at: new Date().toISOString(), note: `confirm before ${record.deadline} with: bulwark confirm ${record.token}` };
        }, `applied ${step} under the dead-man switch (snapshot ${manifest.id}, deadline ${record.deadline})`),
      );
      result = { snapshotId: manifest.id, checks, notes, guard: armed };
    } else {
      await journal.update((draft) => {
        draft.inflight = null;
        draft.steps[step] = { status: 'applied', snapshotId: manifest.id, at: new Date().toISOString(), note: checks.map((c) => c.label).join('; ') };
      }, `applied ${step} (snapshot ${manifest.id})`);
      result = { snapshotId: manifest.id, checks, notes };
    }
  } catch (error) {
    progress({ phase: 'restore', detail: `snapshot ${manifest.id}` });
    manifest.createdDirs = [...new Set([...(manifest.createdDirs ?? []), ...createdDirs])];
    const report = await restoreSnapshot(host, system, store, manifest, progress);
    // The switch watching this apply has nothing left to do: it leaves when it sees the record.
    if (coverage && input.guard) await standDown(input.guard, guard ?? (await coverage.catch(() => undefined)), 'the apply failed and bulwark put the snapshot back');
    await store.markRolledBack(manifest, undefined);
    await journal.update((draft) => {
      draft.inflight = null;
      draft.steps[step] = { status: 'failed', snapshotId: manifest.id, at: new Date().toISOString(), note: `rolled back: ${error instanceof Error ? error.message : String(error)}` };
    }, `apply of ${step} failed and was rolled back`);
    throw new ApplyFailed(step, error, report, manifest.id);
  }
  // Outside the try: from here on the change is complete, and nothing undoes it.
  await failpoint('after-commit');
  return result;
}

/** Room a change needs in the state directory besides its saved files: rules, manifest, journal. */
const STATE_HEADROOM = 512 * 1024;

/** The directories above these paths that do not exist yet, deepest first. */
async function missingParents(host: Host, paths: readonly string[]): Promise<string[]> {
  const missing = new Set<string>();
  for (const file of paths) {
    for (let dir = path.posix.dirname(file); dir !== '/' && !missing.has(dir); dir = path.posix.dirname(dir)) {
      if ((await host.lstat(dir)) !== null) break;
      missing.add(dir);
    }
  }
  return [...missing].sort((a, b) => b.length - a.length);
}

/** Waits for every one of the operations, failed or not, then throws the first failure: a restore
 *  never starts while a load is still running. */
async function settled(operations: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(operations);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Restores a snapshot's files and then re-runs the service actions that make programs read them. */
export async function restoreSnapshot(
  host: Host,
  system: SystemFacts,
  store: SnapshotStore,
  manifest: Manifest,
  progress: (event: ProgressEvent) => void = () => undefined,
): Promise<RestoreReport> {
  const report = await store.restore(host, manifest);
  if (manifest.firewall && host.live) {
    try {
      progress({ phase: 'restore', detail: 'the running firewall (IPv4 and IPv6)' });
      const families = await restoreFirewall(host, store, manifest);
      report.restored.push(...families.map((f) => `firewall ${f}`));
      await failpoint('during-restore');
    } catch (error) {
      report.failed.push({ path: 'firewall', error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (manifest.kernelSettings && host.live) {
    try {
      progress({ phase: 'restore', detail: 'kernel settings' });
      report.restored.push(...(await restoreSettings(host, manifest)));
      await failpoint('during-restore');
    } catch (error) {
      report.failed.push({ path: 'kernel settings', error: error instanceof Error ? error.message : String(error) });
    }
  }
  // After the rules: a set still referenced by a rule cannot be destroyed.
  if (manifest.ipsets && host.live) {
    try {
      progress({ phase: 'restore', detail: 'kernel sets' });
      report.restored.push(...(await restoreSets(host, store, manifest)));
      await failpoint('during-restore');
    } catch (error) {
      report.failed.push({ path: 'ipset', error: error instanceof Error ? error.message : String(error) });
    }
  }
  if (manifest.packages && manifest.packages.removed.length > 0) {
    const { manager, removed } = manifest.packages;
    report.manual = [...(report.manual ?? []), `packages removed by the apply are not reinstalled by a rollback: ${manager === 'apt' ? 'apt-get' : manager} install ${removed.join(' ')} (the list installed before is in snapshot ${manifest.id})`];
  }
  for (const undo of manifest.serviceUndo ?? []) {
    try {
      await runService(host, system, { names: undo.names, action: undo.action, command: undo.command }, progress, []);
      await failpoint('during-restore');
    } catch (error) {
      report.failed.push({ path: `service ${undo.names[0]}`, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return report;
}

/** The guard record of a change about to be armed: its token and deadline. */
function guardRecord(options: GuardOptions, host: Host, step: StepId, manifest: Manifest, pending: FileChange[]): GuardRecord {
  const now = Date.now();
  return {
    id: manifest.id,
    token: newToken(),
    step,
    snapshotId: manifest.id,
    armedAt: new Date(now).toISOString(),
    deadline: new Date(now + options.timeoutSeconds * 1000).toISOString(),
    timeoutSeconds: options.timeoutSeconds,
    appliedFrom: options.sshConnection?.trim() || null,
    ...(options.confirmPort !== undefined ? { confirmPort: options.confirmPort } : {}),
    // Paths and modes only: `confirm` computes the content from the box as it is then (confirmedFiles),
    // and a set file of 100,000 networks has no place in a small state file that is rewritten.
    pendingFiles: pending.map((f) => ({ ...f, before: null, after: null, summary: undefined })),
    root: host.root,
    status: 'applying',
    ...(options.applier ? { applier: { pid: options.applier.pid, startTime: options.applier.startTime } } : {}),
  };
}

/**
 * Starts the dead-man switch before the first write: the guard record ("applying", with the process
 * that applies), then the detached watchdog. Its rollback is computed from the snapshot alone and
 * fits whatever is loaded by then (snapshots/deadman.ts), so from the first write on, a change that
 * can lock the admin out is never without a watchdog on the box: if this process dies before it
 * hands over (armGuard), the switch puts the snapshot back at once.
 */
async function coverWithSwitch(options: GuardOptions, record: GuardRecord, host: Host, system: SystemFacts, store: SnapshotStore, manifest: Manifest): Promise<GuardRecord> {
  const state = options.state ?? localStateFs;
  const plan = await rollbackPlanFor(host, system, store, manifest, { id: record.id, stateDir: options.stateDir, deadline: record.deadline, ...(record.applier ? { applier: record.applier } : {}) });
  // The record first, then the switch (it leaves at once if the record is not its own): sent in this
  // order, together (over SSH, one round trip).
  const written = new GuardFile(options.stateDir, state).write(record);
  written.catch(() => undefined);
  const started = startDeadManSwitch(host, state, plan, written);
  await written;
  return { ...record, watchdogPid: await started };
}

/** Tells the switch that watched an apply that failed (and was undone by bulwark) to leave. */
async function standDown(options: GuardOptions, covering: GuardRecord | undefined, reason: string): Promise<void> {
  if (!covering) return;
  await new GuardFile(options.stateDir, options.state ?? localStateFs)
    .update((r) => {
      if (r.id !== covering.id || r.status !== 'applying') return;
      r.status = 'rolled-back';
      r.decidedAt = new Date().toISOString();
      r.decidedBy = reason;
    })
    .catch(() => undefined);
}

/**
 * Hands the change over to the switch that watched the apply: the deadline, counted from now, in the
 * file its script reads, then the record "armed". From here on the watchdog, not this process, undoes
 * the change if nobody confirms it.
 */
async function armGuard(options: GuardOptions, host: Host, covering: GuardRecord, onRecorded: (record: GuardRecord) => Promise<unknown>): Promise<GuardRecord> {
  const state = options.state ?? localStateFs;
  const now = Date.now();
  const deadlineMs = now + options.timeoutSeconds * 1000;
  const { applier: _applier, ...rest } = covering;
  const armed: GuardRecord = { ...rest, status: 'armed', armedAt: new Date(now).toISOString(), deadline: new Date(deadlineMs).toISOString() };
  // In this order (over SSH sent together: the box answers in order): the deadline before the
  // record that makes the switch read it, the journal once the record is on disk.
  const deadline = state.writeDurable(path.posix.join(options.stateDir, `guard-${armed.id}.deadline`), `${deadlineMs}\n`);
  deadline.catch(() => undefined);
  const written = (host.pipelined ? Promise.resolve() : deadline).then(() => new GuardFile(options.stateDir, state).write(armed));
  written.catch(() => undefined);
  const recorded = written.then(() => onRecorded(armed));
  recorded.catch(() => undefined);
  await Promise.all([deadline, written, recorded]);
  return armed;
}

async function resolveFileChanges(host: Host, changes: FileChange[]): Promise<FileChange[]> {
  const resolved: FileChange[] = [];
  for (const change of changes) resolved.push({ ...change, path: await host.resolve(change.path) });
  const seen = new Set<string>();
  for (const change of resolved) {
    if (seen.has(change.path)) throw new Error(`bug: two changes to ${change.path} in one plan`);
    seen.add(change.path);
  }
  return resolved;
}

/** Link paths with their directory resolved (/etc/rc3.d/S99x is /etc/rc.d/rc3.d/S99x on RHEL). */
async function resolveLinkChanges(host: Host, changes: LinkChange[]): Promise<LinkChange[]> {
  return Promise.all(changes.map(async (change) => ({ ...change, path: path.posix.join(await host.resolve(path.posix.dirname(change.path)), path.posix.basename(change.path)) })));
}

async function refuseIfLinksChangedSincePlan(host: Host, links: LinkChange[]): Promise<void> {
  for (const change of links) {
    const meta = await host.lstat(change.path);
    const now = meta?.type === 'symlink' ? await host.readlink(change.path) : meta ? '(not a link)' : null;
    if (now !== change.before) throw new UserError(`${change.path} changed after the plan was made.`, 'Run the step again so the plan is made from the current links.', 1);
  }
}

async function runCommand(host: Host, change: CommandChange, progress: (e: ProgressEvent) => void, notes: string[]): Promise<void> {
  const label = [change.command.file, ...change.command.args].join(' ');
  if (!host.live) {
    notes.push(`${label} not run: --root acts on files only.`);
    progress({ phase: 'skip', detail: `${label}: not run under --root` });
    return;
  }
  progress({ phase: 'service', detail: change.progress });
  const started = Date.now();
  await host.run(change.command, { timeoutMs: change.timeoutMs ?? 600_000 });
  progress({ phase: 'service', detail: `${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s` });
}

/** The installed packages with versions, one per line (kept in the snapshot before a removal). */
async function installedPackages(host: Host, manager: 'apt' | 'yum' | 'dnf'): Promise<string> {
  const command = manager === 'apt' ? { file: 'dpkg-query', args: ['-W', '-f=${Package} ${Version}\n'] } : { file: 'rpm', args: ['-qa', '--qf', '%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE}.%{ARCH}\n'] };
  return (await host.run(command)).stdout.split('\n').sort().join('\n');
}

async function runPackages(host: Host, change: PackageChange, progress: (e: ProgressEvent) => void, notes: string[]): Promise<void> {
  const command = { file: change.manager === 'apt' ? 'apt-get' : change.manager, args: ['-y', change.action, ...change.names] };
  const label = [command.file, ...command.args].join(' ');
  if (!host.live) {
    notes.push(`${label} not run: --root acts on files only.`);
    progress({ phase: 'skip', detail: `${label}: not run under --root` });
    return;
  }
  progress({ phase: 'service', detail: label });
  await host.run(command, { timeoutMs: 900_000 });
}

/** The plan was computed from `before`; if the file changed since, the plan is stale. */
async function refuseIfChangedSincePlan(host: Host, files: FileChange[]): Promise<void> {
  for (const change of files) {
    const now = await host.readText(change.path);
    if (now !== change.before) {
      throw new UserError(`${change.path} changed after the plan was made.`, 'Run the step again so the plan is made from the current file.', 1);
    }
  }
}

async function validateCandidate(host: Host, change: FileChange, progress: (e: ProgressEvent) => void): Promise<void> {
  const validators = (change.validators ?? []).filter((v) => v.when === 'candidate');
  if (validators.length === 0 || change.after === null) return;
  if (!host.live) {
    progress({ phase: 'skip', detail: `${validators.map((v) => v.label).join(', ')}: not run under --root` });
    return;
  }
  // The candidate sits beside the original so relative Includes resolve as they will after the rename.
  const candidate = path.posix.join(path.posix.dirname(change.path), `.${path.posix.basename(change.path)}.bulwark-check-${randomBytes(3).toString('hex')}`);
  await host.writeAtomic(candidate, change.after, { mode: 0o600, noFollow: true });
  try {
    for (const validator of validators) {
      progress({ phase: 'validate', detail: validator.label });
      const args = validator.command.args.map((arg) => (arg === CANDIDATE_PATH ? host.hostPath(candidate) : arg));
      await host.run({ file: validator.command.file, args });
    }
  } finally {
    await host.remove(candidate);
  }
}

async function validateInstalled(host: Host, change: FileChange, progress: (e: ProgressEvent) => void, notes: string[]): Promise<void> {
  for (const validator of (change.validators ?? []).filter((v) => v.when === 'installed')) {
    if (!host.live) {
      notes.push(`${validator.label} not run: --root acts on files only.`);
      progress({ phase: 'skip', detail: `${validator.label}: not run under --root` });
      continue;
    }
    if (!(await host.findProgram(validator.command.file))) {
      notes.push(`${validator.label} not run: ${validator.command.file} is not installed.`);
      continue;
    }
    progress({ phase: 'validate', detail: validator.label });
    await host.run(validator.command);
  }
}

async function runService(host: Host, system: SystemFacts, change: Pick<ServiceChange, 'names' | 'action' | 'command'>, progress: (e: ProgressEvent) => void, notes: string[]): Promise<void> {
  const label = `${change.action} ${change.names[0]}`;
  if (!host.live) {
    notes.push(`${label} not run: --root acts on files only.`);
    progress({ phase: 'skip', detail: `${label}: not run under --root` });
    return;
  }
  if (change.command) {
    if (!(await host.findProgram(change.command.file))) {
      notes.push(`${label} not run: ${change.command.file} is not installed.`);
      return;
    }
    progress({ phase: 'service', detail: [change.command.file, ...change.command.args].join(' ') });
    await host.run(change.command);
    return;
  }
  const name = await findService(host, system, change.names);
  if (!name) {
    notes.push(`${label} not run: no service named ${change.names.join(' / ')} on this box.`);
    return;
  }
  const command = await serviceCommand(host, system, name, change.action);
  progress({ phase: 'service', detail: [command.file, ...command.args].join(' ') });
  await host.run(command);
}
