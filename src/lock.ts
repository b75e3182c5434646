// One bulwark at a time. A lock file created with O_EXCL holds the owner's pid and the kernel's start
// time of that pid, so a lock left by a killed run is recognised as stale and taken over, while a
// live one gives the second bulwark a clear message.
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors.js';
import { processAlive, processStartTime, syncDirectory } from './fsutil.js';

interface LockOwner {
  pid: number;
  startTime: string | null;
  command: string;
  since: string;
}

export interface Lock {
  release(): void;
}

export async function acquireLock(stateDir: string, command: string): Promise<Lock> {
  const file = path.join(stateDir, 'lock');
  const me: LockOwner = {
    pid: process.pid,
    startTime: await processStartTime(process.pid),
    command,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
      await handle.writeFile(JSON.stringify(me));
      await handle.sync();
      await handle.close();
      await syncDirectory(stateDir);
      return makeLock(file);
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
    const owner = await readOwner(file);
    if (owner && (await isRunning(owner))) {
      throw new UserError(
        `Another bulwark is running (pid ${owner.pid}, \`bulwark ${owner.command}\`, since ${owner.since}).`,
        `Wait for it to finish. If it is stuck, stop it with \`kill ${owner.pid}\` and start bulwark again: it recovers what was left half-done.`,
        1,
      );
    }
    // Stale: its owner died (crash, kill -9, reboot). Take it over; a half-done apply it left is
    // recovered from the journal by the caller.
    await fs.rm(file, { force: true });
  }
  throw new UserError(`Could not take the lock ${file}: it keeps changing hands.`, 'Try again in a moment.', 1);
}

/** Who holds the lock now, if anyone alive does (for `status`). */
export async function lockHolder(stateDir: string): Promise<{ pid: number; command: string; since: string } | null> {
  const owner = await readOwner(path.join(stateDir, 'lock'));
  return owner && (await isRunning(owner)) ? owner : null;
}

async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockOwner;
  } catch {
    // Unreadable or torn (the owner died between create and write): treat as stale.
    return null;
  }
}

async function isRunning(owner: LockOwner): Promise<boolean> {
  if (!processAlive(owner.pid)) return false;
  if (owner.startTime === null) return true;
  return (await processStartTime(owner.pid)) === owner.startTime;
}

function makeLock(file: string): Lock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    try {
      unlinkSync(file);
    } catch {
      // Already gone: nothing to release.
    }
    process.off('exit', release);
  };
  process.on('exit', release);
  return { release };
}
