// The Host contract over SSH (remote mode): the same methods as the local Host, so steps never know
// where they run. Every file operation is one call of the box-side helper (src/remote/helper.sh,
// POSIX sh: no Node, Python or Perl on the box); file contents travel as tar archives, which the
// box's own tar writes and reads (binary-safe, with mode, owner and link targets). Reads are cached
// until the next change to the box, so a plan reads each file once.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from '../change.js';
import { CommandError, UserError } from '../errors.js';
import { Host, type FileMeta, type RunOptions, type RunResult, type WriteOptions } from '../host.js';
import type { SshTransport } from './ssh.js';

/** The helper's source, sent as the script of `sh -c` with every call (nothing is installed on the box). */
export function helperScript(): string {
  // Beside this module in the sources (src/remote/helper.sh), beside the bundle in dist/.
  for (const candidate of [new URL('./helper.sh', import.meta.url), new URL('./remote/helper.sh', import.meta.url)]) {
    try {
      return readFileSync(candidate, 'utf8');
    } catch {
      // try the next place
    }
  }
  throw new Error('bug: the box-side helper (helper.sh) is missing from this installation');
}

const PROGRAM_DIRS_NOTE = 'the usual directories (/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin)';

/** "drwxr-sr-x" → 0o2755; the first character is the type. */
export function parseLsMode(text: string): { type: FileMeta['type']; mode: number } {
  const type = text[0] === '-' ? 'file' : text[0] === 'l' ? 'symlink' : text[0] === 'd' ? 'dir' : 'other';
  let mode = 0;
  let special = 0;
  for (const [index, shift] of [[1, 6], [4, 3], [7, 0]] as const) {
    const triple = text.slice(index, index + 3);
    let bits = 0;
    if (triple[0] === 'r') bits |= 4;
    if (triple[1] === 'w') bits |= 2;
    if ('xst'.includes(triple[2] ?? '-') && triple[2] !== '-') bits |= 1;
    if (triple[2] === 's' || triple[2] === 'S') special |= shift === 6 ? 4 : 2;
    if (triple[2] === 't' || triple[2] === 'T') special |= 1;
    mode |= bits << shift;
  }
  return { type, mode: mode | (special << 9) };
}

function parseMetaLine(line: string): FileMeta | null {
  if (line.startsWith('- ') || line === '-' || line.trim() === '') return null;
  const [modeText = '', uid = '0', gid = '0', size = '0'] = line.trim().split(/\s+/);
  const { type, mode } = parseLsMode(modeText);
  return { type, mode, uid: Number(uid), gid: Number(gid), size: Number(size.replace(/,$/, '')) || 0 };
}

interface ReadEntry {
  readonly real: string;
  readonly meta: FileMeta | null;
  readonly link?: string;
  content?: Buffer;
}

export class RemoteHost extends Host {
  private readonly cache = new Map<string, Promise<ReadEntry>>();

  constructor(
    readonly ssh: SshTransport,
    private readonly helper = helperScript(),
  ) {
    super('/');
  }

  override get live(): boolean {
    return true;
  }

  override hostPath(boxPath: string): string {
    if (!path.posix.isAbsolute(boxPath)) throw new Error(`box path must be absolute: ${boxPath}`);
    return path.posix.normalize(boxPath);
  }

  /** One call of the box-side helper; a failure of the helper itself is a CommandError. */
  private async call(args: readonly string[], input?: Buffer): Promise<Buffer> {
    const result = await this.ssh.exec(['/bin/sh', '-c', this.helper, 'bulwark-helper', ...args], { input, timeoutMs: 300_000 });
    if (result.code !== 0) throw new CommandError({ file: 'bulwark-helper', args: [args[0] ?? ''] }, result.code, result.stderr);
    return result.stdout;
  }

  private changed(): void {
    this.cache.clear();
  }

  /** Reads (and caches) paths in one round trip: meta, link target, content of regular files. */
  async prefetch(boxPaths: readonly string[], follow = true): Promise<void> {
    const wanted = [...new Set(boxPaths.map((p) => path.posix.normalize(p)))].filter((p) => !this.cache.has(`${follow ? 'f' : 'n'}:${p}`));
    if (wanted.length === 0) return;
    const pending = this.readMany(wanted, follow);
    wanted.forEach((p, i) => this.cache.set(`${follow ? 'f' : 'n'}:${p}`, pending.then((entries) => entries[i]!)));
    await pending.catch(() => undefined);
  }

  private async entry(boxPath: string, follow: boolean): Promise<ReadEntry> {
    const key = `${follow ? 'f' : 'n'}:${path.posix.normalize(boxPath)}`;
    if (!this.cache.has(key)) await this.prefetch([boxPath], follow);
    return this.cache.get(key)!;
  }

  private async readMany(paths: readonly string[], follow: boolean): Promise<ReadEntry[]> {
    const output = await this.call(['read', follow ? '1' : '0', ...paths]);
    // Header lines up to a line ".", then the tar archive.
    const entries: ReadEntry[] = [];
    let offset = 0;
    const nextLine = () => {
      const end = output.indexOf(0x0a, offset);
      if (end < 0) throw new Error('bug: the helper\'s answer ended early');
      const line = output.subarray(offset, end).toString('utf8');
      offset = end + 1;
      return line;
    };
    for (let i = 0; i < paths.length; i++) {
      const header = nextLine();
      const space = header.indexOf(' ');
      if (Number(header.slice(0, space)) !== i) throw new Error(`bug: the helper answered "${header}" for path ${i}`);
      const real = header.slice(space + 1);
      const meta = parseMetaLine(nextLine());
      const link = meta?.type === 'symlink' ? nextLine() : undefined;
      entries.push({ real, meta, ...(link !== undefined ? { link } : {}) });
    }
    if (nextLine() !== '.') throw new Error('bug: the helper\'s header did not end with "."');
    const archive = output.subarray(offset);
    if (archive.length > 0) {
      const contents = await untar(archive);
      for (const entry of entries) {
        const content = contents.get(entry.real.replace(/^\/+/, ''));
        if (content !== undefined) entry.content = content;
      }
    }
    return entries;
  }

  override async resolve(boxPath: string): Promise<string> {
    const real = (await this.entry(boxPath, true)).real;
    if (real === '!') throw new UserError(`Too many levels of symbolic links at ${boxPath}.`);
    return real;
  }

  override async lstat(boxPath: string): Promise<FileMeta | null> {
    return (await this.entry(boxPath, false)).meta;
  }

  override async stat(boxPath: string): Promise<FileMeta | null> {
    return (await this.entry(boxPath, true)).meta;
  }

  override async readlink(boxPath: string): Promise<string> {
    const entry = await this.entry(boxPath, false);
    if (entry.link === undefined) throw Object.assign(new Error(`EINVAL: not a symbolic link, readlink '${boxPath}'`), { code: 'EINVAL' });
    return entry.link;
  }

  override async readBytes(boxPath: string, options: { noFollow?: boolean } = {}): Promise<Buffer | null> {
    const entry = await this.entry(boxPath, !options.noFollow);
    if (entry.meta?.type !== 'file') return null;
    if (entry.content === undefined) throw new UserError(`${boxPath} on the box could not be read.`);
    return entry.content;
  }

  override async list(boxDir: string): Promise<string[]> {
    const names = (await this.call(['list', boxDir])).toString('utf8').split('\n').filter((n) => n !== '');
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  override async writeAtomic(boxPath: string, content: string | Buffer, options: WriteOptions = {}): Promise<string[]> {
    const spec = ['0', (options.mode ?? 0o644).toString(8), String(options.uid ?? 0), String(options.gid ?? 0), options.noFollow ? '1' : '0', options.forceMeta ? '1' : '0', path.posix.normalize(boxPath)].join(' ');
    const archive = await tar([
      { name: '0', content: Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8') },
      { name: 'specs', content: Buffer.from(spec + '\n', 'utf8') },
    ]);
    this.changed();
    const output = (await this.call(['write'], archive)).toString('utf8');
    return createdDirs(output);
  }

  override async symlink(boxPath: string, target: string, owner?: { uid: number; gid: number }): Promise<string[]> {
    this.changed();
    return createdDirs((await this.call(['symlink', boxPath, target, ...(owner ? [String(owner.uid), String(owner.gid)] : [])])).toString('utf8'));
  }

  override async ensureDir(boxDir: string): Promise<string[]> {
    this.changed();
    return createdDirs((await this.call(['mkdir', path.posix.normalize(boxDir)])).toString('utf8'));
  }

  override async remove(boxPath: string): Promise<void> {
    this.changed();
    await this.call(['remove', boxPath]);
  }

  override async removeEmptyDir(boxDir: string): Promise<boolean> {
    this.changed();
    return (await this.call(['rmdir', boxDir])).toString('utf8').trim() === 'removed';
  }

  override async chmod(boxPath: string, mode: number): Promise<void> {
    this.changed();
    await this.call(['chmod', mode.toString(8), boxPath]);
  }

  override async findProgram(name: string): Promise<string | null> {
    const line = (await this.call(['programs', name])).toString('utf8').split('\n')[0] ?? '';
    return line.startsWith(`${name} `) ? line.slice(name.length + 1) : null;
  }

  override async run(command: Command, options: RunOptions = {}): Promise<RunResult> {
    // A program may change the box (a reload rewrites a pid file, apt installs files): forget what was read.
    this.changed();
    const env = Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`);
    const argv = env.length > 0 ? ['env', ...env, command.file, ...command.args] : [command.file, ...command.args];
    const result = await this.ssh.exec(argv, { input: options.input, timeoutMs: options.timeoutMs ?? 120_000 });
    const output = { exitCode: result.code, stdout: result.stdout.toString('utf8'), stderr: result.stderr };
    // A shell's "not found" (127) is what a missing program looks like over SSH.
    if (result.code === 127 && options.reject !== false) throw new CommandError(command, undefined, `not found on the box in ${PROGRAM_DIRS_NOTE} or PATH`);
    if (result.code !== 0 && options.reject !== false) throw new CommandError(command, result.code, output.stderr);
    return output;
  }
}

function createdDirs(output: string): string[] {
  return output.split('\n').filter((line) => line.startsWith('D ')).map((line) => line.slice(2));
}

async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const { extract } = await import('tar-stream');
  const files = new Map<string, Buffer>();
  const extractor = extract();
  await new Promise<void>((resolve, reject) => {
    extractor.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\.\//, ''), Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    extractor.on('finish', resolve);
    extractor.on('error', reject);
    Readable.from([archive]).pipe(extractor);
  });
  return files;
}

async function tar(entries: readonly { name: string; content: Buffer }[]): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const packer = pack();
  const chunks: Buffer[] = [];
  packer.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    packer.on('end', resolve);
    packer.on('error', reject);
  });
  for (const entry of entries) packer.entry({ name: entry.name, size: entry.content.length, mode: 0o600 }, entry.content);
  packer.finalize();
  await done;
  return Buffer.concat(chunks);
}
