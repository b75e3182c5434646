// Fixture roots: realistic filesystem trees of real boxes (test/fixtures/<name>/), materialised into a
// temp dir so the engine can run against them with --root. Git keeps only the exec bit and symlinks,
// so modes and owners live in test/fixtures/<name>.perms and are applied here.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type FixtureName = 'elastix-centos5' | 'issabel-centos7' | 'debian12-a2billing';

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));
const TEMP_PREFIX = 'bulwark-fixture-';

/** Absolute path of the checked-in fixture tree (read-only: never run the engine against it). */
export function fixtureSource(name: FixtureName): string {
  return path.join(FIXTURES_DIR, name);
}

/**
 * Copies test/fixtures/<name> to a new temp dir (symlinks kept as symlinks, never followed), applies
 * <name>.perms (chmod + chown by the fixture's own passwd/group ids; chown only when running as root),
 * returns the absolute path of the copy.
 */
export async function materializeFixture(name: FixtureName, options: { dest?: string } = {}): Promise<string> {
  const src = fixtureSource(name);
  await fs.access(src).catch(() => {
    throw new Error(`fixture "${name}" not found at ${src}`);
  });

  let dest: string;
  if (options.dest !== undefined) {
    dest = path.resolve(options.dest);
    await fs.mkdir(dest, { recursive: true });
    const existing = await fs.readdir(dest);
    if (existing.length > 0) throw new Error(`materializeFixture: destination ${dest} is not empty`);
  } else {
    dest = await fs.mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
  }

  await copyTree(src, dest);
  await applyPerms(dest, path.join(FIXTURES_DIR, `${name}.perms`));
  return dest;
}

/** Recursive copy that never follows a symlink: links are recreated with their exact target text. */
async function copyTree(src: string, dest: string): Promise<void> {
  const entries = await fs.readdir(src, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    if (entry.isSymbolicLink()) {
      await fs.symlink(await fs.readlink(from), to);
    } else if (entry.isDirectory()) {
      const st = await fs.lstat(from);
      await fs.mkdir(to);
      await copyTree(from, to);
      await fs.chmod(to, st.mode & 0o7777);
    } else if (entry.isFile()) {
      const st = await fs.lstat(from);
      await fs.copyFile(from, to, constants.COPYFILE_EXCL);
      await fs.chmod(to, st.mode & 0o7777);
    } else {
      throw new Error(`fixture contains an unsupported file type: ${from}`);
    }
  }
}

interface PermLine {
  mode: number;
  user: string;
  group: string;
  rel: string;
  lineNo: number;
}

function parsePerms(text: string, file: string): PermLine[] {
  const out: PermLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([0-7]{3,4})\s+([^\s:]+):([^\s:]+)\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected "<octal mode> <user>:<group> <relative path>", got "${line}"`);
    const [, mode, user, group, rel] = m as unknown as [string, string, string, string, string];
    if (path.isAbsolute(rel) || rel.split('/').includes('..')) {
      throw new Error(`${file}:${i + 1}: path must be relative and stay inside the fixture: "${rel}"`);
    }
    out.push({ mode: parseInt(mode, 8), user, group, rel, lineNo: i + 1 });
  });
  return out;
}

/** name -> id from a passwd- or group-format file (field 0 = name, field 2 = id). */
async function readIdTable(file: string): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const text = await fs.readFile(file, 'utf8');
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    const id = Number(fields[2]);
    if (fields[0] && Number.isInteger(id)) ids.set(fields[0], id);
  }
  return ids;
}

/** Refuses any path whose parent components are symlinks (an absolute link would escape the root). */
async function assertNoSymlinkComponents(root: string, rel: string, where: string): Promise<void> {
  const parts = rel.split('/').filter(Boolean);
  let cur = root;
  for (const part of parts.slice(0, -1)) {
    cur = path.join(cur, part);
    const st = await fs.lstat(cur);
    if (st.isSymbolicLink()) throw new Error(`${where}: "${rel}" goes through the symlink ${path.relative(root, cur)}`);
  }
}

async function applyPerms(root: string, permsFile: string): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(permsFile, 'utf8');
  } catch {
    return; // no perms file: nothing to apply
  }
  const lines = parsePerms(text, permsFile);
  const users = await readIdTable(path.join(root, 'etc/passwd'));
  const groups = await readIdTable(path.join(root, 'etc/group'));
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

  for (const l of lines) {
    const where = `${permsFile}:${l.lineNo}`;
    const uid = users.get(l.user);
    const gid = groups.get(l.group);
    if (uid === undefined) throw new Error(`${where}: user "${l.user}" is not in the fixture's etc/passwd`);
    if (gid === undefined) throw new Error(`${where}: group "${l.group}" is not in the fixture's etc/group`);
    await assertNoSymlinkComponents(root, l.rel, where);
    const target = path.join(root, l.rel);
    const st = await fs.lstat(target).catch(() => {
      throw new Error(`${where}: "${l.rel}" does not exist in the fixture`);
    });
    if (st.isSymbolicLink()) throw new Error(`${where}: "${l.rel}" is a symlink; list its target instead`);
    if (asRoot) await fs.lchown(target, uid, gid);
    await fs.chmod(target, l.mode); // after chown: chown clears setuid/setgid bits
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isExcluded(rel: string, excludes: string[]): boolean {
  return excludes.some((ex) => rel === ex || rel.startsWith(`${ex}/`));
}

/**
 * A canonical, comparable description of a whole tree: every entry sorted by path with type, mode (perm
 * bits), uid, gid, and sha256 of content or symlink target. Used to prove byte-identical rollback.
 * `exclude` takes relative paths; an entry is left out when its path equals one or lies under one.
 * Each line: `<path>\t<type>\t<mode>\t<uid>:<gid>\t<sha256|->` (the root itself is ".").
 */
export async function snapshotTree(dir: string, options: { exclude?: string[] } = {}): Promise<string[]> {
  const root = path.resolve(dir);
  const excludes = (options.exclude ?? []).map((e) => e.replace(/^\.?\/+/, '').replace(/\/+$/, '')).filter(Boolean);
  const out: string[] = [];

  const describe = async (abs: string, rel: string): Promise<void> => {
    const st = await fs.lstat(abs);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    const owner = `${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) {
      out.push(`${rel}\tsymlink\t${mode}\t${owner}\t${sha256(await fs.readlink(abs))}`);
    } else if (st.isFile()) {
      out.push(`${rel}\tfile\t${mode}\t${owner}\t${sha256(await fs.readFile(abs))}`);
    } else if (st.isDirectory()) {
      out.push(`${rel}\tdir\t${mode}\t${owner}\t-`);
      const names = await fs.readdir(abs);
      for (const name of names) {
        const childRel = rel === '.' ? name : `${rel}/${name}`;
        if (isExcluded(childRel, excludes)) continue;
        await describe(path.join(abs, name), childRel);
      }
    } else {
      out.push(`${rel}\tother\t${mode}\t${owner}\t-`);
    }
  };

  await describe(root, '.');
  // Sort by path with a byte-wise comparison so the order does not depend on locale.
  return out.sort((a, b) => {
    const pa = a.slice(0, a.indexOf('\t'));
    const pb = b.slice(0, b.indexOf('\t'));
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  });
}

export async function removeFixture(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  if (abs === path.parse(abs).root || abs === path.resolve(os.tmpdir()) || abs === path.resolve(FIXTURES_DIR)) {
    throw new Error(`removeFixture: refusing to remove ${abs}`);
  }
  if (abs.startsWith(path.resolve(FIXTURES_DIR) + path.sep)) {
    throw new Error(`removeFixture: refusing to remove the checked-in fixture ${abs}`);
  }
  await fs.rm(abs, { recursive: true, force: true });
}
