// bulwark's state directory on the box, reached over SSH through the box-side helper: the same
// files in the same format as a local run writes them, so a session can move between the box's
// console and any workstation. Nothing is cached here: the watchdog on the box writes these files too.
import type { LockHolder } from '../lock.js';
import type { StateFs } from '../state-fs.js';
import { CommandError } from '../errors.js';
import type { RemoteHost } from './host.js';

export class RemoteStateFs implements StateFs {
  constructor(private readonly host: RemoteHost) {}

  private async call(args: readonly string[], input?: string | Buffer): Promise<string> {
    return (await this.host.helper(args, input === undefined ? undefined : Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8'))).toString('utf8');
  }

  /** Reads sent ahead (with the run's first round trip), each taken once by the next readFile. */
  private readonly ahead = new Map<string, Promise<Buffer | null>>();

  /**
   * Sends the reads now, so that they ride the round trip already on its way: the journal and the
   * guard, which every command reads first. Read at the start of this run, they are as fresh as any.
   */
  preread(files: readonly string[]): void {
    for (const file of files) {
      const pending = this.host.readFresh(file);
      pending.catch(() => undefined);
      this.ahead.set(file, pending);
    }
  }

  async readFile(file: string): Promise<Buffer | null> {
    const ahead = this.ahead.get(file);
    if (ahead) {
      this.ahead.delete(file);
      return ahead;
    }
    return this.host.readFresh(file);
  }

  async writeDurable(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
    await this.call(['durable', file, mode.toString(8)], data);
  }

  async writeDurableIfAbsent(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
    await this.call(['durable', file, mode.toString(8), 'keep'], data);
  }

  async createExclusive(file: string, data: string): Promise<boolean> {
    return (await this.call(['excl', file], data)).trim() === 'created';
  }

  async remove(file: string): Promise<void> {
    await this.call(['remove', file]);
  }

  async list(dir: string): Promise<string[]> {
    return (await this.call(['list', dir])).split('\n').filter((n) => n !== '').sort();
  }

  async exists(file: string): Promise<boolean> {
    return !(await this.call(['meta', file])).startsWith('- ');
  }

  async ensurePrivateDir(dir: string): Promise<void> {
    await this.call(['privdir', dir]);
  }

  async checkWritable(dir: string): Promise<void> {
    await this.call(['writable', dir]);
  }

  async ageMs(file: string): Promise<number | null> {
    const seconds = (await this.call(['age', file])).trim();
    return seconds === '-' ? null : Number(seconds) * 1000;
  }

  async lockThenRead(lockFile: string, owner: string, file: string): Promise<{ locked: boolean; content: Buffer | null }> {
    if (!this.host.pipelined) {
      const locked = await this.createExclusive(lockFile, owner);
      return { locked, content: locked ? await this.readFile(file) : null };
    }
    // Sent together: the helper session answers them in order, so the read sees the lock taken.
    const [locked, content] = await Promise.all([this.createExclusive(lockFile, owner), this.readFile(file)]);
    return { locked, content: locked ? content : null };
  }

  async writeThenUnlock(file: string, data: string, lockFile: string): Promise<void> {
    if (!this.host.pipelined) {
      try {
        await this.writeDurable(file, data);
      } finally {
        await this.remove(lockFile);
      }
      return;
    }
    const [written, unlocked] = await Promise.allSettled([this.writeDurable(file, data), this.remove(lockFile)]);
    if (written.status === 'rejected') throw written.reason;
    if (unlocked.status === 'rejected') throw unlocked.reason;
  }

  async process(pid: number): Promise<{ alive: boolean; startTime: string | null }> {
    const [state, startTime] = (await this.call(['proc', String(pid)])).trim().split(' ');
    return state === 'alive' ? { alive: true, startTime: startTime ?? null } : { alive: false, startTime: null };
  }
}

/**
 * The lock's owner on the box for a remote run: a helper process that waits on its stdin, which this
 * run holds open. It ends — removing the lock file if it is still its own — when the run ends or its
 * connection dies, so `status` and a second bulwark (here or at the box's console) see the lock held
 * exactly as long as the run lasts.
 */
export async function startLockKeeper(host: RemoteHost, lockFile: string): Promise<LockHolder> {
  const child = host.spawnHelper(['keeper', lockFile]);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.on('close', (code) => reject(new CommandError({ file: 'bulwark-helper', args: ['keeper'] }, code ?? undefined, err)));
    child.on('error', reject);
  });
  const [pid, startTime] = line.trim().split(' ');
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return {
    pid: Number(pid),
    startTime: startTime || null,
    // Closing its stdin ends the keeper, which removes the lock file on the box.
    release: () => child.stdin!.end(),
  };
}
