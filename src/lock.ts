// One bulwark at a time. A lock file created with O_EXCL holds the owner's pid and the kernel's start
// time of that pid, so a lock left by a killed run is recognised as stale and taken over, while a
// live one gives the second bulwark a clear message.
import { unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors.js';
import { localStateFs, type StateFs } from './state-fs.js';

interface LockOwner {
  pid: number;
  startTime: string | null;
  command: string;
  since: string;
}

export interface Lock {
  /** The process that holds it on the box (this one, or remote mode's helper session). */
  readonly owner: { readonly pid: number; readonly startTime: string | null };
  release(): void;
}

/**
 * Who holds the lock, as a process on the box: this process locally; in remote mode a small process
 * the workstation keeps running on the box for as long as its run lasts (it ends with the connection).
 */
export interface LockHolder {
  readonly pid: number;
  readonly startTime: string | null;
  /** Removes the lock file when the run ends (also at exit). */
  readonly release?: (file: string) => void;
}

export async function acquireLock(stateDir: string, command: string, state: StateFs = localStateFs, holder?: LockHolder): Promise<Lock> {
  const file = path.join(stateDir, 'lock');
  const owner = holder ?? { pid: process.pid, startTime: (await state.process(process.pid)).startTime };
  const me: LockOwner = { pid: owner.pid, startTime: owner.startTime, command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await state.createExclusive(file, JSON.stringify(me))) return makeLock(file, { pid: me.pid, startTime: me.startTime }, holder?.release);
    const owner = await readOwner(state, file);
    if (owner && (await isRunning(state, owner))) {
      throw new UserError(
        `Another bulwark is running (pid ${owner.pid}, \`bulwark ${owner.command}\`, since ${owner.since}).`,
        `Wait for it to finish. If it is stuck, stop it with \`kill ${owner.pid}\` and start bulwark again: it recovers what was left half-done.`,
        1,
      );
    }
    // Stale: its owner died (crash, kill -9, reboot). Take it over; a half-done apply it left is
    // recovered from the journal by the caller.
    await state.remove(file);
  }
  throw new UserError(`Could not take the lock ${file}: it keeps changing hands.`, 'Try again in a moment.', 1);
}

/** Who holds the lock now, if anyone alive does (for `status`). */
export async function lockHolder(stateDir: string, state: StateFs = localStateFs): Promise<{ pid: number; command: string; since: string } | null> {
  const owner = await readOwner(state, path.join(stateDir, 'lock'));
  return owner && (await isRunning(state, owner)) ? owner : null;
}

async function readOwner(state: StateFs, file: string): Promise<LockOwner | null> {
  try {
    const bytes = await state.readFile(file);
    return bytes === null ? null : (JSON.parse(bytes.toString('utf8')) as LockOwner);
  } catch {
    // Unreadable or torn (the owner died between create and write): treat as stale.
    return null;
  }
}

async function isRunning(state: StateFs, owner: LockOwner): Promise<boolean> {
  const now = await state.process(owner.pid);
  if (!now.alive) return false;
  return owner.startTime === null || now.startTime === owner.startTime;
}

function makeLock(file: string, owner: Lock['owner'], remove: (file: string) => void = unlinkFile): Lock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    remove(file);
    process.off('exit', release);
  };
  process.on('exit', release);
  return { owner, release };
}

function unlinkFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone: nothing to release.
  }
}
