// The journal: what the session has done so far, fsynced after every change, so that starting
// bulwark again resumes where it was — after a dropped connection, a crash or a reboot. An apply in
// progress is marked `inflight` before the first write; finding it on start-up with its process gone
// means the apply was interrupted, and the caller restores its snapshot.
import * as path from 'node:path';
import { produce, type Draft } from 'immer';
import type { StepId } from './change.js';
import { localStateFs, readJsonFrom, updateLocked, type StateFs } from './state-fs.js';

export type StepStatus = 'pending' | 'skipped' | 'applied' | 'awaiting-confirmation' | 'confirmed' | 'rolled-back' | 'failed';

export interface StepRecord {
  readonly status: StepStatus;
  readonly snapshotId?: string;
  readonly at: string;
  /** One line for the admin: what happened ("verified: MySQL listens on 127.0.0.1 only"). */
  readonly note?: string;
}

export interface Inflight {
  readonly kind: 'apply' | 'rollback';
  readonly step?: StepId;
  readonly snapshotId: string;
  /** A rollback: the snapshot of the state just before it (what undoing the rollback restores). */
  readonly preRollbackId?: string;
  readonly pid: number;
  readonly startedAt: string;
}

export interface SessionEvent {
  readonly at: string;
  readonly message: string;
}

export interface Session {
  readonly version: 1;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** The admin's answers so far (validated; never secrets: passwords are referenced by file). */
  readonly answers: Readonly<Record<string, unknown>>;
  readonly steps: Readonly<Partial<Record<StepId, StepRecord>>>;
  readonly inflight: Inflight | null;
  /** Newest last; capped so the file stays small. */
  readonly events: readonly SessionEvent[];
}

const MAX_EVENTS = 100;

export class Journal {
  readonly file: string;
  private current: Session | null = null;

  constructor(
    stateDir: string,
    private readonly state: StateFs = localStateFs,
  ) {
    this.file = path.join(stateDir, 'session.json');
  }

  /** The session on disk, or a new empty one (not written until the first update). */
  async load(): Promise<Session> {
    const stored = await readJsonFrom<Session>(this.state, this.file, 'Move it aside (mv FILE FILE.damaged) and run bulwark again: a new session starts, and the snapshots beside it are kept (`bulwark history` lists them, `bulwark rollback` still restores them).');
    this.current = stored ?? emptySession();
    return this.current;
  }

  get session(): Session {
    if (!this.current) throw new Error('journal not loaded');
    return this.current;
  }

  /**
   * Applies a change to the session and makes it durable before returning. The watchdog of a guarded
   * change writes the journal from its own process, so every update re-reads the file under a short
   * lock and applies the recipe to what is on disk.
   */
  async update(recipe: (draft: Draft<Session>) => void, event?: string): Promise<Session> {
    const next = await updateLocked(this.state, `${this.file}.lock`, this.file, (onDisk) => {
      if (onDisk) this.current = JSON.parse(onDisk.toString('utf8')) as Session;
      const session = this.next(recipe, event);
      return { data: JSON.stringify(session, null, 2) + '\n', result: session };
    });
    this.current = next;
    return next;
  }

  private next(recipe: (draft: Draft<Session>) => void, event?: string): Session {
    const now = new Date().toISOString();
    return produce(this.session, (draft) => {
      recipe(draft);
      draft.updatedAt = now;
      if (event) {
        draft.events.push({ at: now, message: event });
        if (draft.events.length > MAX_EVENTS) draft.events.splice(0, draft.events.length - MAX_EVENTS);
      }
    });
  }

  async setStep(step: StepId, record: Omit<StepRecord, 'at'>, event?: string): Promise<Session> {
    return this.update((draft) => {
      draft.steps[step] = { ...record, at: new Date().toISOString() };
    }, event);
  }
}

function emptySession(): Session {
  const now = new Date().toISOString();
  return { version: 1, startedAt: now, updatedAt: now, answers: {}, steps: {}, inflight: null, events: [] };
}
