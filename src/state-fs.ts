// Where bulwark keeps its own state (journal, snapshots, lock, guard): a directory on the box it acts
// on. Locally that is a directory of this machine; in remote mode it is on the box, reached over SSH
// (src/remote/state-fs.ts), in the same format, so a session started from a workstation can be
// resumed, confirmed or rolled back at the box's console, and the reverse. These are the few
// operations the state needs, each durable (fsync, rename) where it writes.
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from './errors.js';

export interface StateFs {
  /** The file's bytes; null when it does not exist. */
  readFile(file: string): Promise<Buffer | null>;
  /** Writes so that a crash leaves the old or the new content, never a torn one. */
  writeDurable(file: string, data: string | Buffer, mode?: number): Promise<void>;
  /** Creates the file only if it does not exist (O_EXCL); false when it did. */
  createExclusive(file: string, data: string): Promise<boolean>;
  remove(file: string): Promise<void>;
  /** Names in a directory, sorted; [] when it does not exist. */
  list(dir: string): Promise<string[]>;
  exists(file: string): Promise<boolean>;
  /** Creates a private directory (0700), tightening one that exists with looser bits. */
  ensurePrivateDir(dir: string): Promise<void>;
  /** Throws when the directory cannot be written. */
  checkWritable(dir: string): Promise<void>;
  /** Milliseconds since the file last changed; null when absent. */
  ageMs(file: string): Promise<number | null>;
  /** Is a process with this pid alive on the box, and when did it start (to tell a reused pid apart)? */
  process(pid: number): Promise<{ alive: boolean; startTime: string | null }>;
  /** Bytes free (to root) on the filesystem of this directory; null when that cannot be told. */
  freeBytes?(dir: string): Promise<number | null>;
  /** Over SSH: writeDurable unless the file exists, in one round trip (content-addressed objects). */
  writeDurableIfAbsent?(file: string, data: string | Buffer, mode?: number): Promise<void>;
  /** Over SSH: the lock attempt and the read sent together (one round trip); the read counts only if locked. */
  lockThenRead?(lockFile: string, owner: string, file: string): Promise<{ locked: boolean; content: Buffer | null }>;
  /** Over SSH: the write and the unlock sent together; the lock is let go whether the write worked or not. */
  writeThenUnlock?(file: string, data: string, lockFile: string): Promise<void>;
}

export const localStateFs: StateFs = {
  async readFile(file) {
    try {
      return await fs.readFile(file);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return null;
      throw error;
    }
  },

  async writeDurable(file, data, mode = 0o600) {
    const dir = path.dirname(file);
    const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await fs.open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
    try {
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, file);
    } catch (error) {
      // A full disk fails the write: the half-written temporary goes, the old file stays whole.
      await fs.rm(temp, { force: true });
      throw withPath(error, file);
    }
    await syncDirectory(dir);
  },

  async createExclusive(file, data) {
    try {
      const handle = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await syncDirectory(path.dirname(file));
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST') return false;
      throw withPath(error, file);
    }
  },

  async remove(file) {
    await fs.rm(file, { force: true });
  },

  async list(dir) {
    try {
      return (await fs.readdir(dir)).sort();
    } catch {
      return [];
    }
  },

  async exists(file) {
    return fs.access(file).then(
      () => true,
      () => false,
    );
  },

  async ensurePrivateDir(dir) {
    // Parents are ordinary directories (on a real box /var/lib exists already); only the leaf is private.
    await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const stat = await fs.stat(dir);
    if ((stat.mode & 0o777) !== 0o700) await fs.chmod(dir, 0o700);
  },

  async checkWritable(dir) {
    await fs.access(dir, fs.constants.W_OK);
  },

  async freeBytes(dir) {
    // bfree, not bavail: bulwark runs as root, which may use the blocks reserved for root.
    const stat = await fs.statfs(dir).catch(() => null);
    return stat ? stat.bfree * stat.bsize : null;
  },

  async ageMs(file) {
    const stat = await fs.stat(file).catch(() => null);
    return stat ? Date.now() - stat.mtimeMs : null;
  },

  async process(pid) {
    const alive = processAlive(pid);
    if (!alive) return { alive, startTime: null };
    try {
      const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie has ended (its parent has not collected it yet): it watches nothing, holds nothing.
      if (fields[0] === 'Z') return { alive: false, startTime: null };
      return { alive, startTime: fields[19] ?? null };
    } catch {
      return { alive, startTime: null };
    }
  },
};

/** A write on a file handle fails without naming the file: name it, for the message. */
export function withPath(error: unknown, file: string): unknown {
  if (error && typeof error === 'object' && 'code' in error && !('path' in error)) Object.assign(error, { path: file });
  return error;
}

/** True when a process with this pid exists here (signal 0 probes without touching it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsc.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A state file that exists but cannot be parsed (cut short by a full disk or a bad sector, edited by
 * hand) is named with what to do — never treated as empty, which would forget what bulwark changed.
 */
export async function readJsonFrom<T>(state: StateFs, file: string, ifDamaged = 'Move it aside (mv FILE FILE.damaged) and run bulwark again; keep the copy for a bug report.'): Promise<T | null> {
  const bytes = await state.readFile(file);
  if (bytes === null) return null;
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (error) {
    const why = bytes.length === 0 ? 'it is empty' : `${(error as Error).message}, ${bytes.length} bytes`;
    throw new UserError(`bulwark's state file ${file} is damaged (${why}): cut short, or changed by hand.`, ifDamaged.replaceAll('FILE', file), 1);
  }
}

/**
 * Read-modify-write of a state file under its small lock (O_EXCL): `change` gets the file's bytes and
 * returns the new content (or none: nothing to write) and a result. Over SSH the lock and the read go
 * together, and so do the write and the unlock: two round trips an update, not four.
 */
export async function updateLocked<T>(state: StateFs, lockFile: string, file: string, change: (content: Buffer | null) => Promise<{ data?: string; result: T }> | { data?: string; result: T }): Promise<T> {
  const owner = String(process.pid);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const attempt = state.lockThenRead
      ? await state.lockThenRead(lockFile, owner, file)
      : await (async () => {
          const locked = await state.createExclusive(lockFile, owner);
          return { locked, content: locked ? await state.readFile(file) : null };
        })();
    if (attempt.locked) {
      let outcome: { data?: string; result: T };
      try {
        outcome = await change(attempt.content);
      } catch (error) {
        await state.remove(lockFile);
        throw error;
      }
      if (outcome.data === undefined) await state.remove(lockFile);
      else if (state.writeThenUnlock) await state.writeThenUnlock(file, outcome.data, lockFile);
      else {
        try {
          await state.writeDurable(file, outcome.data);
        } finally {
          await state.remove(lockFile);
        }
      }
      return outcome.result;
    }
    const age = await state.ageMs(lockFile);
    if (age !== null && age > 10_000) await state.remove(lockFile);
    else if (Date.now() > deadline) throw new Error(`${lockFile} is held by another process`);
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
