/**
 * MySQL / MariaDB option files (my.cnf): what the server reads, and the one-line edit that sets its
 * bind-address. Reading follows `!include` / `!includedir` through a ConfReader; everything else is pure.
 * Syntax per mysys/my_default.c and https://mariadb.com/kb/en/configuring-mariadb-with-option-files/.
 */
import { posix } from 'node:path';
import { isLoopbackAddress } from './ss.js';
import { indentOf, insertLine, joinLines, replaceLine, splitLines, type Line } from './lines.js';

export interface ConfReader {
  /** Text of a file (following symlinks inside the box), null if absent. Paths are absolute box paths. */
  readText(path: string): Promise<string | null>;
  /** Names in a directory, sorted; [] if absent. */
  list(dir: string): Promise<string[]>;
  /** Real path after symlinks (e.g. /etc/mysql/my.cnf -> /etc/mysql/mariadb.cnf). */
  resolve(path: string): Promise<string>;
}

export interface MyCnfSetting {
  /** Real path. */
  file: string;
  /** 0-based. */
  line: number;
  section: string;
  /** As spelled, e.g. `bind_address` or `loose-bind-address`. */
  key: string;
  /** Unquoted value; '' for a bare key. */
  value: string;
}

export interface MyCnfSection {
  file: string;
  /** Lower-cased, e.g. `mysqld`, `mariadb-10.11`. */
  name: string;
  headerLine: number;
  /** Last option line in the section, = headerLine if it has none. Comments, blanks and `!include` lines do not count. */
  lastContentLine: number;
}

export interface MyCnfFacts {
  /** Real paths in the order the server reads them, each once. */
  files: string[];
  /** Sections the server reads, in read order. */
  serverSections: MyCnfSection[];
  /** Effective (last one read) bind-address / bind_address in a server section. */
  bindAddress: MyCnfSetting | null;
  /** Effective skip-networking. */
  skipNetworking: boolean;
  /** Effective port, default 3306. */
  port: number;
}

export const DEFAULT_MY_CNF_FILES: readonly string[] = ['/etc/my.cnf', '/etc/mysql/my.cnf'];
const DEFAULT_PORT = 3306;

/**
 * Groups mysqld/mariadbd read. Version groups are all counted because the server version is not known
 * here; [galera] is read by galera-capable builds (the distribution packages), and real configs do put
 * `bind-address=0.0.0.0` there.
 */
export function isServerSection(name: string): boolean {
  const n = name.toLowerCase();
  return (
    /^(mysqld|server|mariadb|mariadbd|client-server|galera)$/.test(n) ||
    /^(mysqld|mariadb|mariadbd)-\d+(\.\d+)*$/.test(n)
  );
}

/** Groups a new bind-address may be added to. */
function isInsertTarget(name: string): boolean {
  return name === 'mysqld' || name === 'mariadb';
}

type CnfLine =
  | { kind: 'blank' | 'comment' | 'other' }
  | { kind: 'header'; name: string }
  | { kind: 'include' | 'includedir'; path: string }
  | {
      kind: 'option';
      key: string;
      keyEnd: number;
      /** Unquoted value, null for a bare key. */
      value: string | null;
      /** Span of the value as written (quotes included) in the line. */
      valueStart: number;
      valueEnd: number;
      quote: string;
    };

function parseLine(text: string): CnfLine {
  const lead = indentOf(text).length;
  const t = text.slice(lead);
  if (t.trim() === '') return { kind: 'blank' };
  if (t.startsWith('#') || t.startsWith(';')) return { kind: 'comment' };
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) return { kind: 'other' };
    return { kind: 'header', name: t.slice(1, close).trim().toLowerCase() };
  }
  if (t.startsWith('!')) {
    const m = /^!(includedir|include)\s+(\S.*?)\s*$/.exec(t);
    if (m === null) return { kind: 'other' };
    return { kind: m[1] === 'include' ? 'include' : 'includedir', path: m[2] ?? '' };
  }
  const keyMatch = /^[^\s=]+/.exec(t);
  if (keyMatch === null) return { kind: 'other' };
  const key = keyMatch[0];
  const keyEnd = lead + key.length;
  let i = keyEnd;
  while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  if (text[i] !== '=') return { kind: 'option', key, keyEnd, value: null, valueStart: keyEnd, valueEnd: keyEnd, quote: '' };
  i++;
  while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  const valueStart = i;
  // An inline comment starts at a '#' outside quotes that follows whitespace (MariaDB's rule).
  let quote = '';
  let end = text.length;
  for (let j = valueStart; j < text.length; j++) {
    const ch = text[j];
    if (ch === '"' || ch === "'") {
      if (quote === '') quote = ch;
      else if (quote === ch) quote = '';
    } else if (quote === '' && ch === '#' && /\s/.test(text[j - 1] ?? '')) {
      end = j;
      break;
    }
  }
  while (end > valueStart && /\s/.test(text[end - 1] ?? '')) end--;
  const raw = text.slice(valueStart, end);
  const q = raw.length >= 2 && (raw[0] === '"' || raw[0] === "'") && raw[raw.length - 1] === raw[0] ? raw[0] : '';
  return {
    kind: 'option',
    key,
    keyEnd,
    value: q === '' ? raw : raw.slice(1, -1),
    valueStart,
    valueEnd: end,
    quote: q,
  };
}

/** Option name as the server compares it: lower case, '_' as '-', without `loose-`. */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/_/g, '-').replace(/^loose-/, '');
}

/** MariaDB accepts any unambiguous prefix of an option name; `bind` is one for bind-address. */
function isBindKey(key: string): boolean {
  const k = normalizeKey(key);
  return k.length >= 4 && 'bind-address'.startsWith(k);
}

function parseBool(value: string | null): boolean | null {
  if (value === null) return true;
  const v = value.trim().toLowerCase();
  if (v === '1' || v === 'on' || v === 'true' || v === '') return true;
  if (v === '0' || v === 'off' || v === 'false') return false;
  return null;
}

function resolveInclude(fromFile: string, path: string): string {
  return posix.resolve(posix.dirname(fromFile), path);
}

export async function loadMyCnf(
  reader: ConfReader,
  defaultFiles: readonly string[] = DEFAULT_MY_CNF_FILES,
): Promise<MyCnfFacts> {
  const facts: MyCnfFacts = { files: [], serverSections: [], bindAddress: null, skipNetworking: false, port: DEFAULT_PORT };
  const seen = new Set<string>();

  const readFile = async (path: string): Promise<void> => {
    const real = await reader.resolve(path);
    if (seen.has(real)) return; // each file once: also breaks include loops
    const text = await reader.readText(real);
    if (text === null) return;
    seen.add(real);
    facts.files.push(real);
    // Each file starts outside any group; after an include the including file's group continues.
    let section: MyCnfSection | null = null;
    let server = false;
    const lines = splitLines(text);
    for (let i = 0; i < lines.length; i++) {
      const parsed = parseLine(lines[i]?.text ?? '');
      switch (parsed.kind) {
        case 'header':
          section = { file: real, name: parsed.name, headerLine: i, lastContentLine: i };
          server = isServerSection(parsed.name);
          if (server) facts.serverSections.push(section);
          break;
        case 'include':
          await readFile(resolveInclude(real, parsed.path));
          break;
        case 'includedir': {
          const dir = resolveInclude(real, parsed.path);
          const names = [...(await reader.list(dir))].filter((n) => n.endsWith('.cnf')).sort();
          for (const name of names) await readFile(posix.join(dir, name));
          break;
        }
        case 'option': {
          if (section === null) break; // mysqld rejects options before a group; they have no effect here
          section.lastContentLine = i;
          if (!server) break;
          const key = normalizeKey(parsed.key);
          if (isBindKey(parsed.key)) {
            facts.bindAddress = { file: real, line: i, section: section.name, key: parsed.key, value: parsed.value ?? '' };
          } else if (key === 'skip-networking') {
            facts.skipNetworking = parseBool(parsed.value) ?? facts.skipNetworking;
          } else if (key === 'port' && parsed.value !== null && /^\d+$/.test(parsed.value.trim())) {
            const port = Number(parsed.value.trim());
            facts.port = port === 0 ? DEFAULT_PORT : port; // 0 means "the compiled-in default"
          }
          break;
        }
        default:
          break;
      }
    }
  };

  for (const file of defaultFiles) await readFile(file);
  return facts;
}

/** True when every listed address is loopback: 127.0.0.0/8, localhost, ::1 (lists are MariaDB 10.11+ / MySQL 8.0.13+). */
export function isLoopbackBind(value: string): boolean {
  const items = value
    .split(',')
    .map((s) => s.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase())
    .filter((s) => s !== '');
  if (items.length === 0) return false;
  return items.every((s) => s === 'localhost' || isLoopbackAddress(s));
}

export interface FileEdit {
  path: string;
  /** Full current text ('' when the file does not exist yet). */
  before: string;
  after: string;
}

/**
 * The edit that makes the effective bind-address `value`; null when it already is.
 * - An effective setting exists: only its value changes, on its line (key spelling, alignment, quotes and a
 *   trailing `# comment` stay).
 * - Otherwise `bind-address = <value>` goes into the last [mysqld]/[mariadb] section read: right after the
 *   last commented-out `#bind-address` line in it, else after its last option line.
 * - With no such section, `[mysqld]` + the setting are appended to the first file read; with no file at
 *   all, /etc/my.cnf is created (before = '').
 */
export async function planBindAddress(reader: ConfReader, facts: MyCnfFacts, value: string): Promise<FileEdit | null> {
  const current = facts.bindAddress;
  if (current !== null) {
    if (current.value === value) return null;
    const before = await readOrFail(reader, current.file);
    const lines = splitLines(before);
    const text = lines[current.line]?.text ?? '';
    const parsed = parseLine(text);
    if (parsed.kind !== 'option' || !isBindKey(parsed.key)) {
      throw new Error(`${current.file} changed since it was read: line ${current.line + 1} is no longer ${current.key}.`);
    }
    const newText =
      parsed.value === null
        ? `${text.slice(0, parsed.keyEnd)} = ${value}${text.slice(parsed.keyEnd)}`
        : text.slice(0, parsed.valueStart) + parsed.quote + value + parsed.quote + text.slice(parsed.valueEnd);
    return { path: current.file, before, after: joinLines(replaceLine(lines, current.line, newText)) };
  }

  const target = [...facts.serverSections].reverse().find((s) => isInsertTarget(s.name));
  if (target !== undefined) {
    const before = await readOrFail(reader, target.file);
    const lines = splitLines(before);
    const end = sectionEnd(lines, target.headerLine);
    let anchor = target.lastContentLine;
    for (let i = target.headerLine + 1; i < end; i++) {
      if (/^\s*[#;]+\s*(loose[-_])?bind[-_]address\b/i.test(lines[i]?.text ?? '')) anchor = i;
    }
    const anchorText = lines[anchor]?.text ?? '';
    const indent = parseLine(anchorText).kind === 'option' ? indentOf(anchorText) : '';
    return { path: target.file, before, after: joinLines(insertLine(lines, anchor + 1, `${indent}bind-address = ${value}`)) };
  }

  const first = facts.files[0];
  if (first === undefined) return { path: '/etc/my.cnf', before: '', after: `[mysqld]\nbind-address = ${value}\n` };
  const before = await readOrFail(reader, first);
  let lines = splitLines(before);
  const added = lines.length === 0 ? ['[mysqld]'] : ['', '[mysqld]'];
  for (const text of [...added, `bind-address = ${value}`]) lines = insertLine(lines, lines.length, text);
  return { path: first, before, after: joinLines(lines) };
}

/** Index of the first line after the section whose header is at `headerLine`. */
function sectionEnd(lines: readonly Line[], headerLine: number): number {
  for (let i = headerLine + 1; i < lines.length; i++) {
    if (parseLine(lines[i]?.text ?? '').kind === 'header') return i;
  }
  return lines.length;
}

async function readOrFail(reader: ConfReader, path: string): Promise<string> {
  const text = await reader.readText(path);
  if (text === null) throw new Error(`${path} disappeared since it was read.`);
  return text;
}
