// The wizard's state and the actions that move it. Rendering stays pure in the components; every
// side effect (detect, save answers, apply, rollback) happens here and ends in a state update.
import { produce, type Draft } from 'immer';
import { useCallback, useRef, useState } from 'react';
import type { Change, StepId } from '../change.js';
import { DEFAULT_CONFIRM_TIMEOUT, GuardExpired, type Engine, type RecoveryReport } from '../engine.js';
import { UserError } from '../errors.js';
import { renderPlan } from '../preview.js';
import { ApplyFailed, type ProgressEvent } from '../transaction.js';
import { progressLine } from '../commands.js';
import { STEPS } from '../../steps/index.js';
import type { FactRow, Question, Step, VerifyCheck } from '../../steps/types.js';
import { checkNewConnection, type GuardRecord } from '../../snapshots/guard.js';
import type { Manifest } from '../../snapshots/store.js';
import type { StepRow } from './StepBar.js';

export type Screen =
  | { kind: 'home' }
  | { kind: 'why'; step: StepId }
  | { kind: 'facts'; step: StepId }
  | { kind: 'question'; step: StepId; index: number }
  | { kind: 'review'; step: StepId }
  | { kind: 'applying'; step: StepId }
  | { kind: 'result'; step: StepId }
  | { kind: 'guard'; step: StepId }
  | { kind: 'undo-confirm'; step: StepId }
  | { kind: 'undoing'; step: StepId };

export interface OpenStep {
  readonly id: StepId;
  readonly facts: unknown;
  readonly rows: FactRow[];
  readonly questions: Question[];
  answers: Record<string, unknown>;
  changes: Change[];
  diff: string;
  /** Why bulwark refuses this plan (a lock-out it would cause); applying is disabled while any. */
  problems: string[];
  /** What the plan amounts to, shown above the diff. */
  notes: string[];
}

export interface Outcome {
  readonly ok: boolean;
  readonly title: string;
  readonly lines: string[];
  readonly checks: VerifyCheck[];
}

export interface WizardState {
  screen: Screen;
  rows: StepRow[];
  cursor: number;
  banner: string | null;
  busy: string | null;
  open: OpenStep | null;
  log: string[];
  outcome: Outcome | null;
  undoTargets: Manifest[];
  error: string | null;
  /** The guarded change waiting for confirmation (or just decided). */
  guard: GuardRecord | null;
  /** A guarded change of this session rolled back unconfirmed: the wizard exits with code 3. */
  rolledBackUnconfirmed: boolean;
  /** Remote mode: bulwark's own proof of access (a new SSH connection from this machine). */
  proof: { attempts: number; lastFailed: boolean } | null;
}

function stepRows(engine: Engine): StepRow[] {
  return STEPS.map((entry) => ({
    id: entry.step.id,
    title: entry.step.title,
    built: entry.built,
    status: engine.session.steps[entry.step.id]?.status ?? 'pending',
  }));
}

/** The step to offer next: the first built step not yet applied, confirmed or skipped. */
/**
 * Where the cursor goes: the first step still to do after `after` (the step just finished), then
 * from the top: an admin who did step 2 is offered step 3, not sent back to a step 1 they passed.
 */
export function nextStepIndex(rows: readonly StepRow[], after = -1): number {
  const todo = (row: StepRow) => row.built && !['applied', 'confirmed', 'skipped'].includes(row.status);
  const later = rows.findIndex((row, i) => i > after && todo(row));
  if (later !== -1) return later;
  const index = rows.findIndex(todo);
  return index === -1 ? rows.findIndex((row) => row.built) : index;
}

/** On a resumed session: the step the admin was in the middle of (answers saved, not applied), else the next to do. */
export function resumeIndex(rows: readonly StepRow[], withAnswers: readonly string[]): number {
  const inProgress = rows.findIndex((row) => row.built && withAnswers.includes(row.id) && !['applied', 'confirmed', 'skipped'].includes(row.status));
  return inProgress !== -1 ? inProgress : nextStepIndex(rows);
}

export function recoveryBanner(recovery: RecoveryReport | null): string | null {
  if (!recovery) return null;
  const files = recovery.restore.restored.length + recovery.restore.removed.length;
  const what = `${recovery.kind === 'apply' ? 'an apply' : 'a rollback'}${recovery.step ? ` of ${recovery.step}` : ''}`;
  const next = recovery.kind === 'apply' ? 'You can run the step again.' : 'The rollback is complete.';
  return `bulwark was interrupted during ${what} (pid ${recovery.pid}). It has put ${files} file(s) back from snapshot ${recovery.snapshotId}; nothing is left half-done. ${next}`;
}

export function useWizard(engine: Engine, recovery: RecoveryReport | null, waiting: GuardRecord | null = null, confirmTimeout = DEFAULT_CONFIRM_TIMEOUT) {
  const [state, setState] = useState<WizardState>(() => {
    const rows = stepRows(engine);
    const resumed = Object.keys(engine.session.steps).length > 0 || Object.keys(engine.session.answers).length > 0;
    return {
      // A guarded change still waiting (the admin came back, maybe on a new SSH connection): show it first.
      screen: waiting ? { kind: 'guard', step: waiting.step } : { kind: 'home' },
      rows,
      cursor: Math.max(0, resumeIndex(rows, Object.keys(engine.session.answers))),
      banner: recoveryBanner(recovery) ?? (resumed ? 'Welcome back: your earlier progress is below. Continue where you left off.' : null),
      busy: null,
      open: null,
      log: [],
      outcome: null,
      undoTargets: [],
      error: null,
      guard: waiting,
      rolledBackUnconfirmed: false,
      proof: null,
    };
  });
  const stateRef = useRef(state);
  stateRef.current = state;
  /** True while a transaction runs: quitting then would leave it to crash recovery. */
  const working = useRef(false);
  /** Enter was pressed while the step was still being detected: go on once it is. */
  const continueWhenReady = useRef(false);

  const update = useCallback((recipe: (draft: Draft<WizardState>) => void) => {
    setState((current) => produce(current, recipe));
  }, []);

  const refreshRows = useCallback(() => {
    update((draft) => {
      draft.rows = stepRows(engine);
    });
  }, [engine, update]);

  const fail = useCallback(
    (error: unknown) => {
      if (!(error instanceof UserError) && !(error instanceof Error)) throw error;
      update((draft) => {
        draft.busy = null;
        draft.error = error.message + (error instanceof UserError && error.hint ? ` ${error.hint}` : '');
      });
    },
    [update],
  );

  const openStep = useCallback(
    async (id: StepId) => {
      const step = engine.builtStep(id) as Step<unknown, Record<string, unknown>>;
      update((draft) => {
        draft.screen = { kind: 'why', step: id };
        draft.busy = 'Looking at the box…';
        continueWhenReady.current = false;
        draft.error = null;
        draft.open = null;
        draft.outcome = null;
        draft.log = [];
      });
      try {
        const facts = await step.detect(engine.context());
        const answers = (await engine.answersFor(step, facts)) as Record<string, unknown>;
        // Read the flag now: React may run the updater later, during its next render.
        const proceed = continueWhenReady.current;
        continueWhenReady.current = false;
        update((draft) => {
          draft.busy = null;
          draft.open = { id, facts, rows: step.describe(facts), questions: step.questions(facts), answers, changes: [], diff: '', problems: [], notes: [] } as unknown as Draft<OpenStep>;
          if (proceed && draft.screen.kind === 'why') draft.screen = { kind: 'facts', step: id };
        });
      } catch (error) {
        fail(error);
      }
    },
    [engine, update, fail],
  );

  const makePlan = useCallback(async () => {
    const open = stateRef.current.open;
    if (!open) return;
    const step = engine.builtStep(open.id) as Step<unknown, Record<string, unknown>>;
    try {
      let facts = open.facts;
      if (step.prepare) {
        update((draft) => void (draft.busy = 'Reading what the plan needs…'));
        // Facts are frozen in the wizard's state: the step fills a copy.
        const copy = { ...(open.facts as object) };
        await step.prepare(copy, open.answers, engine.context());
        facts = copy;
        update((draft) => {
          draft.busy = null;
          (draft.open as { facts: unknown }).facts = copy;
          draft.open!.rows = step.describe(copy) as Draft<FactRow>[];
        });
      }
      const wrong = step.checkAnswers?.(facts, open.answers) ?? [];
      const changes = wrong.length > 0 ? [] : step.plan(facts, open.answers);
      const problems = [...wrong, ...(step.preflight?.(facts, open.answers) ?? [])];
      update((draft) => {
        draft.screen = { kind: 'review', step: open.id };
        draft.open!.changes = changes as Draft<Change>[];
        draft.open!.diff = renderPlan(changes);
        draft.open!.problems = problems;
        draft.open!.notes = step.planNotes?.(facts, open.answers) ?? [];
      });
    } catch (error) {
      fail(error);
    }
  }, [engine, update, fail]);

  const answer = useCallback(
    async (question: Question, value: unknown) => {
      const current = stateRef.current;
      const open = current.open;
      if (!open || current.screen.kind !== 'question') return;
      const step = engine.builtStep(open.id) as Step<unknown, Record<string, unknown>>;
      let answers: Record<string, unknown>;
      if (question.kind === 'text' && step.withText) {
        const result = step.withText(open.answers, question, value as string);
        if (typeof result === 'string') {
          update((draft) => void (draft.error = result));
          return;
        }
        answers = result;
      } else {
        answers = question.kind === 'multiselect' && step.withChoice ? step.withChoice(open.answers, question, value as string[]) : { ...open.answers, [question.key]: value };
      }
      update((draft) => void (draft.error = null));
      await engine.saveAnswers(open.id, answers);
      const nextIndex = current.screen.index + 1;
      update((draft) => {
        draft.open!.answers = answers;
      });
      if (nextIndex < open.questions.length) {
        update((draft) => {
          draft.screen = { kind: 'question', step: open.id, index: nextIndex };
        });
      } else {
        // stateRef is refreshed on the next render; plan from the answers we have here.
        stateRef.current = { ...stateRef.current, open: { ...open, answers } };
        void makePlan();
      }
    },
    [engine, update, makePlan],
  );

  const apply = useCallback(async () => {
    const open = stateRef.current.open;
    if (!open) return;
    const step = engine.builtStep(open.id);
    working.current = true;
    update((draft) => {
      draft.screen = { kind: 'applying', step: open.id };
      draft.log = [];
    });
    const onProgress = (event: ProgressEvent) =>
      update((draft) => {
        draft.log.push(progressLine(event));
      });
    try {
      if (open.changes.length === 0) {
        await engine.saveAnswers(open.id, open.answers);
        await engine.journal.setStep(open.id, { status: 'applied', note: 'nothing to change' }, `${open.id}: nothing to change`);
        update((draft) => {
          draft.outcome = { ok: true, title: `${step.title}: nothing to change — the box is already as it should be.`, lines: [], checks: [] };
        });
      } else {
        const result = await engine.apply({ step, facts: open.facts, answers: open.answers, changes: open.changes }, onProgress, { confirmTimeout });
        if (result?.guard) {
          const guard = result.guard;
          update((draft) => {
            draft.guard = guard as Draft<GuardRecord>;
            draft.outcome = { ok: true, title: `${step.title}: applied; waiting for your confirmation.`, lines: [], checks: result.checks };
          });
          return;
        }
        update((draft) => {
          draft.outcome = {
            ok: true,
            title: `${step.title}: applied and verified (snapshot ${result?.snapshotId ?? '-'}).`,
            // What the step says after an apply (the ssl step's CSR, the voip step's new secrets, shown once).
            lines: [...(step.afterApply?.(open.facts, open.answers) ?? []), ...(result?.notes ?? []).map((n) => `note: ${n}`), `Undo it any time: press u on the step list, or run \`bulwark rollback --step ${open.id}\`.`],
            checks: result?.checks ?? [],
          };
        });
      }
    } catch (error) {
      const lines =
        error instanceof ApplyFailed
          ? [`Cause: ${error.cause instanceof Error ? error.cause.message : String(error.cause)}`, `Everything was put back from snapshot ${error.snapshotId}: ${error.restore.restored.length} file(s) restored, ${error.restore.removed.length} removed${error.restore.failed.length ? `, ${error.restore.failed.length} FAILED` : ''}.`]
          : [error instanceof Error ? error.message : String(error)];
      update((draft) => {
        draft.outcome = { ok: false, title: `${step.title}: not applied.`, lines, checks: [] };
      });
    } finally {
      working.current = false;
      refreshRows();
      update((draft) => {
        draft.screen = draft.guard?.status === 'armed' ? { kind: 'guard', step: open.id } : { kind: 'result', step: open.id };
      });
    }
  }, [engine, update, refreshRows, confirmTimeout]);

  /** Follows the guard while the countdown shows: a confirmation from another session, or the
   *  watchdog's rollback at the deadline, ends the wait. */
  const pollGuard = useCallback(async () => {
    const current = stateRef.current;
    if (current.screen.kind !== 'guard' || !current.guard) return;
    const record = await engine.lastGuard();
    if (!record || record.id !== current.guard.id || record.status === 'armed') return;
    refreshRows();
    update((draft) => {
      draft.guard = record as Draft<GuardRecord>;
      draft.screen = { kind: 'result', step: record.step };
      draft.outcome =
        record.status === 'confirmed'
          ? { ok: true, title: `Confirmed: the change stays.`, lines: [`${record.decidedBy ?? ''} at ${record.decidedAt ?? ''}.`, 'The rules are saved for the next boot.'], checks: [] }
          : { ok: false, title: `Not confirmed in time: rolled back.`, lines: [`${record.decidedBy ?? ''} at ${record.decidedAt ?? ''}.`, 'Everything is as it was before this step. Check the allow list (is your SSH port in it?) and try again.'], checks: [] };
      if (record.status !== 'confirmed') draft.rolledBackUnconfirmed = true;
    });
  }, [engine, update, refreshRows]);

  /** In place: at a local console, or in a wizard started from a NEW SSH connection (logging in
   *  again is the proof). The engine checks which. */
  const confirmHere = useCallback(async () => {
    const guard = stateRef.current.guard;
    if (!guard || checkNewConnection(guard, engine.sshConnection) !== null) return;
    try {
      await engine.confirm(guard.token, engine.sshConnection);
    } catch (error) {
      fail(error);
    }
    await pollGuard();
  }, [engine, pollGuard, fail]);

  /**
   * Remote mode: bulwark proves access itself — a NEW SSH connection from this machine, on the port
   * the change expects — and confirms through it; it keeps trying until the deadline, while the
   * countdown shows. If it never gets in, the box's own switch rolls back and pollGuard shows that.
   */
  const proving = useRef<string | null>(null);
  const proveFromHere = useCallback(async () => {
    const guard = stateRef.current.guard;
    if (!engine.remoteMode || !guard || guard.status !== 'armed' || proving.current === guard.id) return;
    proving.current = guard.id;
    const deadline = Date.parse(guard.deadline);
    for (let attempt = 1; Date.now() < deadline - 500; attempt++) {
      update((draft) => {
        draft.proof = { attempts: attempt, lastFailed: draft.proof?.lastFailed ?? false };
      });
      const seen = await engine.proveAccess(guard.confirmPort).catch(() => null);
      const current = stateRef.current;
      if (current.screen.kind !== 'guard' || current.guard?.id !== guard.id || current.guard.status !== 'armed') return;
      if (seen !== null) {
        try {
          await engine.confirm(guard.token, seen, guard);
        } catch (error) {
          if (!(error instanceof GuardExpired)) fail(error);
        }
        await pollGuard();
        return;
      }
      update((draft) => {
        draft.proof = { attempts: attempt, lastFailed: true };
      });
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, Math.max(0, deadline - Date.now()))));
    }
  }, [engine, update, pollGuard, fail]);

  const skip = useCallback(async () => {
    const open = stateRef.current.open;
    if (!open) return;
    await engine.skip(open.id);
    refreshRows();
    goHome();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [engine, refreshRows]);

  const goHome = useCallback(() => {
    const rows = stepRows(engine);
    update((draft) => {
      draft.rows = rows;
      // After a step's result, offer the step after it; from any other screen of a step (backing
      // out, an undo), that step itself while it is still to do.
      const screen = draft.screen;
      const at = 'step' in screen ? rows.findIndex((row) => row.id === screen.step) : -1;
      const from = at === -1 ? -1 : screen.kind === 'result' || screen.kind === 'guard' ? at : at - 1;
      draft.screen = { kind: 'home' };
      draft.cursor = Math.max(0, nextStepIndex(rows, from));
      draft.error = null;
      draft.busy = null;
    });
  }, [engine, update]);

  const askUndo = useCallback(
    async (id: StepId) => {
      try {
        const targets = await engine.rollbackTargets({ step: id });
        update((draft) => {
          draft.undoTargets = targets as Draft<Manifest>[];
          draft.screen = { kind: 'undo-confirm', step: id };
          draft.error = null;
        });
      } catch (error) {
        fail(error);
      }
    },
    [engine, update, fail],
  );

  const undo = useCallback(async () => {
    const current = stateRef.current;
    if (current.screen.kind !== 'undo-confirm') return;
    const id = current.screen.step;
    working.current = true;
    update((draft) => {
      draft.screen = { kind: 'undoing', step: id };
      draft.log = [];
    });
    try {
      // State is frozen by immer; the engine records the rollback on its own copies.
      const outcomes = await engine.rollback(current.undoTargets.map((m) => structuredClone(m)), (event) =>
        update((draft) => {
          draft.log.push(progressLine(event));
        }),
      );
      const lines = outcomes.flatMap((o) => [
        `Snapshot ${o.manifest.id}: ${o.report.restored.length} restored, ${o.report.removed.length} removed.`,
        ...(o.report.drifted.length ? [`Edited by hand after bulwark: ${o.report.drifted.join(', ')} — those versions are kept in snapshot ${o.preRollbackId}.`] : []),
        ...o.report.failed.map((f) => `FAILED ${f.path}: ${f.error}`),
      ]);
      update((draft) => {
        draft.outcome = { ok: outcomes.every((o) => o.report.failed.length === 0), title: `${id}: rolled back.`, lines, checks: [] };
      });
    } catch (error) {
      update((draft) => {
        draft.outcome = { ok: false, title: `${id}: rollback failed.`, lines: [error instanceof Error ? error.message : String(error)], checks: [] };
      });
    } finally {
      working.current = false;
      refreshRows();
      update((draft) => {
        draft.screen = { kind: 'result', step: id };
      });
    }
  }, [engine, update, refreshRows]);

  return { state, update, openStep, answer, makePlan, apply, skip, goHome, askUndo, undo, working, continueWhenReady, pollGuard, confirmHere, proveFromHere };
}
