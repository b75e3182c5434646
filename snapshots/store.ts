// The undo side (certbot's reverter, Bastille): before bulwark writes anything it records every path
// it will touch — content (content-addressed objects), mode, owner, symlink target, or "absent" — in a
// manifest. Restore puts each path back byte for byte and removes what did not exist before. What
// bulwark wrote is recorded too, so a file someone edited afterwards is reported, never silently lost.
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { IpFamily, ServiceAction, StepId } from '../src/change.js';
import { localStateFs, readJsonFrom, type StateFs } from '../src/state-fs.js';
import type { Host } from '../src/host.js';
import type { FilterOwnership } from './netfilter.js';
import { failpoint } from '../src/faults.js';
import { UserError } from '../src/errors.js';
import { thousands } from '../src/output.js';

export type FileEntry =
  | { readonly path: string; readonly state: 'absent' }
  | { readonly path: string; readonly state: 'file'; readonly hash: string; readonly mode: number; readonly uid: number; readonly gid: number }
  | { readonly path: string; readonly state: 'symlink'; readonly target: string; readonly uid: number; readonly gid: number }
  | { readonly path: string; readonly state: 'dir'; readonly mode: number; readonly uid: number; readonly gid: number };

/** How a path looks now, in the same terms as a snapshot entry, to compare the two. */
export type Fingerprint = string;

export interface Manifest {
  readonly id: string;
  readonly createdAt: string;
  readonly step?: StepId;
  /** What the snapshot was taken for: "before apply of exposure", "before rollback of ...". */
  readonly label: string;
  readonly files: FileEntry[];
  /** Fingerprints of what bulwark left at each path after applying; set when the apply finished. */
  written?: Record<string, Fingerprint>;
  /** Directories the apply created (removed again on restore when empty). */
  createdDirs?: string[];
  /** The running firewall before the apply: iptables-save text per family, as object hashes. */
  firewall?: Partial<Record<IpFamily, string>>;
  /** What the step owns in the filter table: what a rollback puts back (snapshots/netfilter.ts). */
  firewallOwner?: FilterOwnership;
  /** bulwark's kernel sets before the apply: `ipset save` text as an object hash, or null (absent). */
  ipsets?: Record<string, string | null>;
  /** Kernel settings the apply changed, with their live values before it (key -> value). */
  kernelSettings?: Record<string, string>;
  /** Packages the apply removed, and the installed list before it (an object hash): a restore
   *  cannot reinstall them, it says what to reinstall. */
  packages?: { manager: 'apt' | 'yum' | 'dnf'; removed: string[]; listBefore: string };
  /** Service actions to run after a restore so the programs read the old files again. */
  serviceUndo?: { names: string[]; action: ServiceAction; command?: { file: string; args: string[] } }[];
  rolledBackAt?: string;
  /** Id of the snapshot taken of the state just before this one was restored. */
  rolledBackBy?: string;
}

export interface RestoreReport {
  restored: string[];
  removed: string[];
  /** Paths changed by someone else after bulwark wrote them; their edited versions are kept in the
   *  pre-restore snapshot. */
  drifted: string[];
  failed: { path: string; error: string }[];
  /** What only the admin can put back (removed packages), with the command to do it. */
  manual?: string[];
}

export class SnapshotStore {
  readonly dir: string;
  private readonly objects: string;

  constructor(
    stateDir: string,
    private readonly state: StateFs = localStateFs,
  ) {
    this.dir = path.join(stateDir, 'snapshots');
    this.objects = path.join(this.dir, 'objects');
  }

  /** Once per run: both directories asked for together (over SSH, one round trip). */
  private initialized: Promise<void> | null = null;

  init(): Promise<void> {
    if (!this.initialized) {
      this.initialized = Promise.all([this.state.ensurePrivateDir(this.dir), this.state.ensurePrivateDir(this.objects)]).then(() => undefined);
      this.initialized.catch(() => (this.initialized = null));
    }
    return this.initialized;
  }

  /**
   * Objects this run wrote or read, by hash. They are content-addressed, so never change: what is
   * here need not be checked or read again (over SSH each of those is a round trip).
   */
  private readonly known = new Map<string, Buffer>();

  /**
   * Refuses, before anything is touched, a change whose snapshot would not fit in the state
   * directory: a snapshot cut short by a full disk is no undo at all.
   */
  async requireSpace(bytes: number): Promise<void> {
    await this.init();
    const free = (await this.state.freeBytes?.(this.dir)) ?? null;
    if (free === null || free >= bytes) return;
    const kib = (n: number) => `${thousands(Math.ceil(n / 1024))} KiB`;
    throw new UserError(
      `The state directory ${path.dirname(this.dir)} has ${kib(free)} free; the snapshot of this change needs about ${kib(bytes)}. Nothing was changed.`,
      'Free some space on that filesystem (or give another directory with --state-dir), then run bulwark again.',
      1,
    );
  }

  /** Records the current state of every path (links themselves, not followed) and saves the manifest. */
  async capture(host: Host, paths: readonly string[], meta: { step?: StepId; label: string }, options: { save?: boolean } = {}): Promise<Manifest> {
    // The box as it is now (an admin may have edited a file since this process last looked).
    host.forget();
    const [, id] = await Promise.all([this.init(), this.nextId()]);
    const unique = [...new Set(paths)].sort();
    const files = await Promise.all(unique.map((boxPath) => this.captureOne(host, boxPath)));
    const manifest: Manifest = { id, createdAt: new Date().toISOString(), step: meta.step, label: meta.label, files };
    // save: false when the caller adds to the manifest and saves it before anything changes.
    if (options.save !== false) await this.save(manifest);
    return manifest;
  }

  async save(manifest: Manifest): Promise<void> {
    await this.state.writeDurable(this.manifestPath(manifest.id), JSON.stringify(manifest, null, 2) + '\n');
  }

  async get(id: string): Promise<Manifest | null> {
    if (!SNAPSHOT_ID.test(id)) return null;
    return readJsonFrom<Manifest>(this.state, this.manifestPath(id), DAMAGED_SNAPSHOT);
  }

  /** Every snapshot, newest first. */
  async list(): Promise<Manifest[]> {
    const names = await this.state.list(this.dir);
    const manifests: Manifest[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort().reverse()) {
      const manifest = await readJsonFrom<Manifest>(this.state, path.join(this.dir, name), DAMAGED_SNAPSHOT);
      if (manifest) manifests.push(manifest);
    }
    return manifests;
  }

  /** Records what bulwark left at each path, for drift detection at restore. */
  async recordWritten(host: Host, manifest: Manifest, createdDirs: string[]): Promise<void> {
    const written: Record<string, Fingerprint> = {};
    for (const entry of manifest.files) written[entry.path] = await fingerprint(host, entry.path);
    manifest.written = written;
    manifest.createdDirs = [...new Set([...(manifest.createdDirs ?? []), ...createdDirs])];
    await this.save(manifest);
  }

  /** Paths whose current state differs from what bulwark wrote (someone edited them since). */
  async drifted(host: Host, manifest: Manifest): Promise<string[]> {
    if (!manifest.written) return [];
    host.forget();
    const changed: string[] = [];
    for (const [boxPath, expected] of Object.entries(manifest.written)) {
      if ((await fingerprint(host, boxPath)) !== expected) changed.push(boxPath);
    }
    return changed;
  }

  /**
   * Puts every path back as it was. Idempotent: restoring twice gives the same tree. A failure on one
   * path is recorded and the others are still restored (certbot: a failing undo must not stop the rest).
   */
  async restore(host: Host, manifest: Manifest): Promise<RestoreReport> {
    const report: RestoreReport = { restored: [], removed: [], drifted: await this.drifted(host, manifest), failed: [] };
    for (const entry of manifest.files) {
      try {
        const now = await fingerprint(host, entry.path);
        if (now === entryFingerprint(entry)) continue;
        if (entry.state === 'absent') {
          await host.remove(entry.path);
          report.removed.push(entry.path);
        } else if (entry.state === 'file') {
          const content = await this.object(entry.hash);
          if (sha256(content) !== entry.hash) throw new Error(`snapshot object ${entry.hash} is corrupt`);
          await host.writeAtomic(entry.path, content, { noFollow: true, forceMeta: true, mode: entry.mode, uid: entry.uid, gid: entry.gid });
          report.restored.push(entry.path);
        } else if (entry.state === 'symlink') {
          await host.symlink(entry.path, entry.target, { uid: entry.uid, gid: entry.gid });
          report.restored.push(entry.path);
        } else {
          // Directories are recorded for their metadata; their contents are separate entries.
          await host.chmod(entry.path, entry.mode);
          report.restored.push(entry.path);
        }
        await failpoint('during-restore');
      } catch (error) {
        report.failed.push({ path: entry.path, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await sweepTemporaries(host, manifest, report);
    // Deepest first, so nested new directories go before their parents.
    for (const dir of [...(manifest.createdDirs ?? [])].sort((a, b) => b.length - a.length)) {
      if (await host.removeEmptyDir(dir)) report.removed.push(dir + '/');
    }
    return report;
  }

  /**
   * What of this snapshot's saved content is missing or damaged in objects/ (a disk error, a hand
   * clean-up): checked before a rollback starts, so a rollback never stops halfway for want of it.
   */
  async unusableObjects(manifest: Manifest): Promise<{ what: string; object: string; problem: 'missing' | 'damaged' }[]> {
    const needed: { what: string; hash: string }[] = [
      ...manifest.files.flatMap((entry) => (entry.state === 'file' ? [{ what: entry.path, hash: entry.hash }] : [])),
      ...Object.entries(manifest.firewall ?? {}).map(([family, hash]) => ({ what: `the ${family} firewall rules`, hash: hash! })),
      ...Object.entries(manifest.ipsets ?? {}).flatMap(([name, hash]) => (hash ? [{ what: `the kernel set ${name}`, hash }] : [])),
    ];
    const unusable: { what: string; object: string; problem: 'missing' | 'damaged' }[] = [];
    await Promise.all(
      needed.map(async ({ what, hash }) => {
        const content = this.known.get(hash) ?? (await this.state.readFile(this.objectPath(hash)));
        if (content === null) unusable.push({ what, object: this.objectPath(hash), problem: 'missing' });
        else if (sha256(content) !== hash) unusable.push({ what, object: this.objectPath(hash), problem: 'damaged' });
        else this.known.set(hash, content);
      }),
    );
    return unusable;
  }

  async markRolledBack(manifest: Manifest, by: string | undefined): Promise<void> {
    manifest.rolledBackAt = new Date().toISOString();
    if (by) manifest.rolledBackBy = by;
    await this.save(manifest);
  }

  private async captureOne(host: Host, boxPath: string): Promise<FileEntry> {
    const meta = await host.lstat(boxPath);
    if (meta === null) return { path: boxPath, state: 'absent' };
    if (meta.type === 'symlink') return { path: boxPath, state: 'symlink', target: await host.readlink(boxPath), uid: meta.uid, gid: meta.gid };
    if (meta.type === 'dir') return { path: boxPath, state: 'dir', mode: meta.mode, uid: meta.uid, gid: meta.gid };
    const content = (await host.readBytes(boxPath, { noFollow: true })) ?? Buffer.alloc(0);
    const hash = sha256(content);
    await this.putObject(hash, content);
    return { path: boxPath, state: 'file', hash, mode: meta.mode, uid: meta.uid, gid: meta.gid };
  }

  /** Stores a text (a saved ruleset) and returns its hash. */
  async putText(text: string): Promise<string> {
    await this.init();
    const content = Buffer.from(text, 'utf8');
    const hash = sha256(content);
    await this.putObject(hash, content);
    return hash;
  }

  async getText(hash: string): Promise<string> {
    const content = await this.object(hash);
    if (sha256(content) !== hash) throw new Error(`snapshot object ${hash} is corrupt`);
    return content.toString('utf8');
  }

  private async object(hash: string): Promise<Buffer> {
    const known = this.known.get(hash);
    if (known) return known;
    const content = await this.state.readFile(this.objectPath(hash));
    if (content === null) throw new Error(`snapshot object ${hash} is missing`);
    if (sha256(content) === hash) this.known.set(hash, content);
    return content;
  }

  private async putObject(hash: string, content: Buffer): Promise<void> {
    if (this.known.has(hash)) return;
    const file = this.objectPath(hash);
    // Content-addressed: the same bytes are stored once.
    if (this.state.writeDurableIfAbsent) await this.state.writeDurableIfAbsent(file, content, 0o600);
    else if (!(await this.state.exists(file))) await this.state.writeDurable(file, content, 0o600);
    this.known.set(hash, content);
  }

  /** Ids sort in the order snapshots were taken, even several within one millisecond. */
  private async nextId(): Promise<string> {
    let now = Date.now();
    const names = await this.state.list(this.dir);
    const last = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).filter((n) => SNAPSHOT_ID.test(n)).sort().pop();
    if (last) now = Math.max(now, idTime(last) + 1);
    return newSnapshotId(new Date(now));
  }

  private objectPath(hash: string): string {
    return path.join(this.objects, hash);
  }

  private manifestPath(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }
}

/**
 * The temporary files a write leaves beside its target when the process is killed between creating
 * and renaming it: bulwark's atomic writes (.NAME.bulwark-1a2b3c4d; over SSH .NAME.bulwark-PID[-N]),
 * its candidate checks (.NAME.bulwark-check-1a2b3c), the dead-man switch's (.NAME.bulwark-restore-PID). Removed with the
 * restore, so a tree put back has nothing of the change, not even a half-written copy.
 */
async function sweepTemporaries(host: Host, manifest: Manifest, report: RestoreReport): Promise<void> {
  const byDir = new Map<string, Set<string>>();
  for (const entry of manifest.files) {
    const dir = path.posix.dirname(entry.path);
    byDir.set(dir, (byDir.get(dir) ?? new Set()).add(path.posix.basename(entry.path)));
  }
  await Promise.all(
    [...byDir].map(async ([dir, names]) => {
      for (const name of await host.list(dir).catch(() => [])) {
        const match = /^\.(.+)\.bulwark-(?:[0-9a-f]{8}|check-[0-9a-f]{6}|restore-\d+|\d+(?:-\d+)?)$/.exec(name);
        if (!match || !names.has(match[1]!)) continue;
        const leftover = path.posix.join(dir, name);
        // Only a plain file: a name that merely looks like one of ours is left alone otherwise.
        if ((await host.lstat(leftover))?.type !== 'file') continue;
        await host.remove(leftover);
        report.removed.push(leftover);
      }
    }),
  );
}

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

const DAMAGED_SNAPSHOT = 'That snapshot cannot be restored by bulwark. Move it aside (mv FILE FILE.damaged) to go on with the others; the files it recorded are in the objects/ directory beside it, by content hash, for a restore by hand.';

const SNAPSHOT_ID = /^[0-9]{8}-[0-9]{6}\.[0-9]{3}-[0-9a-f]{6}$/;

/** Sortable by time (UTC, milliseconds), unique by a random suffix: 20261125-031500.123-3fa9c2. */
export function newSnapshotId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-25T03:15:00.123Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}.${iso.slice(20, 23)}`;
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})\.(\d{3})/.exec(id)!;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
}

export async function fingerprint(host: Host, boxPath: string): Promise<Fingerprint> {
  const meta = await host.lstat(boxPath);
  if (meta === null) return 'absent';
  if (meta.type === 'symlink') return `symlink:${await host.readlink(boxPath)}:${meta.uid}:${meta.gid}`;
  if (meta.type === 'dir') return `dir:${meta.mode.toString(8)}:${meta.uid}:${meta.gid}`;
  const content = (await host.readBytes(boxPath, { noFollow: true })) ?? Buffer.alloc(0);
  return `file:${sha256(content)}:${meta.mode.toString(8)}:${meta.uid}:${meta.gid}`;
}

function entryFingerprint(entry: FileEntry): Fingerprint {
  switch (entry.state) {
    case 'absent':
      return 'absent';
    case 'symlink':
      return `symlink:${entry.target}:${entry.uid}:${entry.gid}`;
    case 'dir':
      return `dir:${entry.mode.toString(8)}:${entry.uid}:${entry.gid}`;
    case 'file':
      return `file:${entry.hash}:${entry.mode.toString(8)}:${entry.uid}:${entry.gid}`;
  }
}
