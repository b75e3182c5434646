// Asterisk's configuration read as Asterisk reads it (main/config.c), for the voip step: every file a
// main file pulls in through #include / #tryinclude (relative names under /etc/asterisk, globs), its
// categories with their templates (`[tpl](!)`, `[peer](tpl1,tpl2)`), continuations (`[name](+)`),
// `+=` appends and `;` / `;-- --;` comments, and for every setting the file and line it came from:
// the step must know which file owns a setting before it proposes to change it (a file FreePBX or
// A2Billing regenerates is never edited). `#exec` is reported and never run. Pure but for the reads.
import * as path from 'node:path';
import type { Host } from '../../src/host.js';
import { stripComments } from '../exposure/asterisk-conf.js';

export const ASTERISK_DIR = '/etc/asterisk';

/** One `key = value` (or `key => value`, or `key += value`) as written, with where it was written. */
export interface Setting {
  /** As written; compare case-insensitively (Asterisk's option names are). */
  readonly key: string;
  /** Unescaped (`\;` reads as `;`), the inline comment removed, trimmed. */
  readonly value: string;
  readonly op: '=' | '=>' | '+=';
  readonly file: string;
  /** 1-based. */
  readonly line: number;
}

/** A `[name]` section: a peer, a user, a template, `[general]`. */
export interface Category {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** `[name](!)`: a template, never a peer or a user itself. */
  readonly template: boolean;
  /** The templates named in `[name](a,b)`, in order. */
  readonly inherits: readonly string[];
  /** Its own settings, in order (those of `(+)` continuations appended). */
  readonly settings: Setting[];
}

export interface Include {
  readonly file: string;
  readonly line: number;
  /** As written after #include. */
  readonly target: string;
  readonly optional: boolean;
}

export interface AsteriskConfig {
  /** The main file, absolute. */
  readonly file: string;
  /** Every file read, in the order Asterisk reads them (the main file first). */
  readonly files: string[];
  readonly categories: Category[];
  /** `#include` lines whose files do not exist (a `#tryinclude` that finds nothing is not listed). */
  readonly missing: Include[];
  /** `#exec` lines: reported, never run (they would run a program as root). */
  readonly execs: { readonly file: string; readonly line: number; readonly command: string }[];
  /** Lines Asterisk would reject or ignore (a setting outside any category, an unclosed `[`). */
  readonly problems: { readonly file: string; readonly line: number; readonly text: string }[];
  /** For each included file: the category open where it was included (FreePBX's
   *  sip_general_custom.conf continues [general]); null at the top of a file. */
  readonly includedWithin: Map<string, string | null>;
}

type Item =
  | { kind: 'category'; name: string; line: number; template: boolean; append: boolean; inherits: string[] }
  | { kind: 'setting'; key: string; value: string; op: Setting['op']; line: number }
  | { kind: 'include'; target: string; optional: boolean; line: number }
  | { kind: 'exec'; command: string; line: number }
  | { kind: 'problem'; text: string; line: number };

/** One file's lines as Asterisk's parser sees them, in order. */
export function parseConfigText(text: string): Item[] {
  const raw = text.split(/\r?\n/);
  const code = stripComments(raw);
  const items: Item[] = [];
  code.forEach((codeLine, index) => {
    const line = index + 1;
    const trimmed = codeLine.trim();
    if (trimmed === '') return;
    if (trimmed.startsWith('[')) {
      const close = trimmed.indexOf(']');
      if (close < 0) {
        items.push({ kind: 'problem', text: raw[index]!.trim(), line });
        return;
      }
      const name = trimmed.slice(1, close).trim();
      const options = /^\(([^)]*)\)/.exec(trimmed.slice(close + 1).trim())?.[1] ?? '';
      const flags = options.split(',').map((o) => o.trim()).filter(Boolean);
      items.push({ kind: 'category', name, line, template: flags.includes('!'), append: flags.includes('+'), inherits: flags.filter((f) => f !== '!' && f !== '+') });
      return;
    }
    const directive = /^#\s*(include|tryinclude|exec)\s+(.+)$/i.exec(trimmed);
    if (directive) {
      const argument = directive[2]!.trim().replace(/^"(.*)"$/, '$1').replace(/^<(.*)>$/, '$1');
      const word = directive[1]!.toLowerCase();
      items.push(word === 'exec' ? { kind: 'exec', command: argument, line } : { kind: 'include', target: argument, optional: word === 'tryinclude', line });
      return;
    }
    if (trimmed.startsWith('#')) return;
    const eq = codeLine.indexOf('=');
    if (eq <= 0) {
      items.push({ kind: 'problem', text: raw[index]!.trim(), line });
      return;
    }
    const arrow = codeLine[eq + 1] === '>';
    const plus = codeLine[eq - 1] === '+';
    const key = codeLine.slice(0, plus ? eq - 1 : eq).trim();
    const value = codeLine.slice(eq + (arrow ? 2 : 1)).trim().replace(/\\;/g, ';');
    if (key === '') {
      items.push({ kind: 'problem', text: raw[index]!.trim(), line });
      return;
    }
    items.push({ kind: 'setting', key, value, op: arrow ? '=>' : plus ? '+=' : '=', line });
  });
  return items;
}

/** How deep includes may nest (Asterisk stops at the same kind of limit; a loop would never end). */
const MAX_DEPTH = 10;

/**
 * Reads `file` (relative names are under /etc/asterisk) and everything it includes, as Asterisk
 * does: an include's categories and settings take their place in the including file, so a setting
 * after the #include line continues the category the included file left open. Null when the main
 * file does not exist.
 */
export async function loadAsteriskConfig(host: Host, file: string): Promise<AsteriskConfig | null> {
  const main = path.posix.isAbsolute(file) ? file : path.posix.join(ASTERISK_DIR, file);
  const text = await host.readText(main);
  if (text === null) return null;
  const config: AsteriskConfig = { file: main, files: [], categories: [], missing: [], execs: [], problems: [], includedWithin: new Map() };
  const state: { current: Category | null } = { current: null };
  await readInto(host, config, state, main, text, [main]);
  return config;
}

async function readInto(host: Host, config: AsteriskConfig, state: { current: Category | null }, file: string, text: string, stack: readonly string[]): Promise<void> {
  config.files.push(file);
  for (const item of parseConfigText(text)) {
    switch (item.kind) {
      case 'category': {
        const earlier = item.append ? [...config.categories].reverse().find((c) => sameName(c.name, item.name)) : undefined;
        if (earlier) {
          state.current = earlier;
          break;
        }
        const category: Category = { name: item.name, file, line: item.line, template: item.template, inherits: item.inherits, settings: [] };
        config.categories.push(category);
        state.current = category;
        break;
      }
      case 'setting':
        if (!state.current) config.problems.push({ file, line: item.line, text: `${item.key} ${item.op} ${item.value}` });
        else state.current.settings.push({ key: item.key, value: item.value, op: item.op, file, line: item.line });
        break;
      case 'exec':
        config.execs.push({ file, line: item.line, command: item.command });
        break;
      case 'problem':
        config.problems.push({ file, line: item.line, text: item.text });
        break;
      case 'include': {
        const targets = await expandInclude(host, item.target);
        if (targets.length === 0 && !item.optional) config.missing.push({ file, line: item.line, target: item.target, optional: false });
        for (const target of targets) {
          if (stack.includes(target) || stack.length >= MAX_DEPTH) {
            config.problems.push({ file, line: item.line, text: `#include ${item.target}: ${stack.includes(target) ? 'includes itself' : 'nested too deep'}` });
            continue;
          }
          const included = await host.readText(target);
          if (included === null) {
            if (!item.optional) config.missing.push({ file, line: item.line, target: item.target, optional: false });
            continue;
          }
          if (!config.includedWithin.has(target)) config.includedWithin.set(target, state.current?.name ?? null);
          await readInto(host, config, state, target, included, [...stack, target]);
        }
        break;
      }
    }
  }
}

/**
 * An include's files, as Asterisk's glob(3) finds them: relative to /etc/asterisk; `*`, `?` and
 * `[...]` in the last part match names in that directory, sorted. Shared with the exposure step's
 * reader (steps/exposure/inventory.ts).
 */
export async function expandInclude(host: Host, target: string): Promise<string[]> {
  const absolute = path.posix.isAbsolute(target) ? target : path.posix.join(ASTERISK_DIR, target);
  const dir = path.posix.dirname(absolute);
  const pattern = path.posix.basename(absolute);
  if (!/[*?[]/.test(pattern)) return [absolute];
  return (await host.list(dir)).filter((name) => globMatches(pattern, name)).sort().map((name) => path.posix.join(dir, name));
}

/** One file name against a shell glob: `*`, `?`, `[a-c]`, `[!a-c]`; a leading dot only by a dot. */
export function globMatches(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  return matchFrom(pattern, 0, name, 0);
}

function matchFrom(pattern: string, p: number, name: string, n: number): boolean {
  if (p === pattern.length) return n === name.length;
  const c = pattern[p]!;
  if (c === '*') {
    for (let skip = n; skip <= name.length; skip++) if (matchFrom(pattern, p + 1, name, skip)) return true;
    return false;
  }
  if (n === name.length) return false;
  if (c === '?') return matchFrom(pattern, p + 1, name, n + 1);
  if (c === '[') {
    const close = pattern.indexOf(']', p + 2);
    if (close > 0) {
      const negate = pattern[p + 1] === '!';
      const set = pattern.slice(p + (negate ? 2 : 1), close);
      let inSet = false;
      for (let i = 0; i < set.length; i++) {
        if (set[i + 1] === '-' && i + 2 < set.length) {
          if (name[n]! >= set[i]! && name[n]! <= set[i + 2]!) inSet = true;
          i += 2;
        } else if (set[i] === name[n]) inSet = true;
      }
      return inSet !== negate && matchFrom(pattern, close + 1, name, n + 1);
    }
  }
  return c === name[n] && matchFrom(pattern, p + 1, name, n + 1);
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The categories of that name that are not templates (a peer, a user, [general]), in file order. */
export function categoriesNamed(config: AsteriskConfig, name: string): Category[] {
  return config.categories.filter((c) => !c.template && sameName(c.name, name));
}

/**
 * A category's settings as Asterisk builds it: each template's (recursively, in the order named),
 * then its own; `+=` appends to the value before it. The list keeps every setting in that order,
 * so "the effective value" of a single-valued option is the last one (see `valueOf`).
 */
export function effectiveSettings(config: AsteriskConfig, category: Category, seen: readonly Category[] = []): Setting[] {
  const out: Setting[] = [];
  for (const name of category.inherits) {
    const template = [...config.categories].reverse().find((c) => sameName(c.name, name) && c !== category && !seen.includes(c) && config.categories.indexOf(c) < config.categories.indexOf(category));
    if (template) out.push(...effectiveSettings(config, template, [...seen, category]));
  }
  for (const setting of category.settings) {
    if (setting.op !== '+=') {
      out.push(setting);
      continue;
    }
    const before = [...out].reverse().find((s) => sameName(s.key, setting.key));
    out.push({ ...setting, value: (before?.value ?? '') + setting.value });
  }
  return out;
}

/** The effective value of a single-valued option: the last one set (templates first, then its own). */
export function valueOf(settings: readonly Setting[], key: string): Setting | undefined {
  for (let i = settings.length - 1; i >= 0; i--) if (sameName(settings[i]!.key, key)) return settings[i];
  return undefined;
}

/** Every value of a multi-valued option (permit, deny, allow, disallow), in order. */
export function valuesOf(settings: readonly Setting[], key: string): Setting[] {
  return settings.filter((s) => sameName(s.key, key));
}

export { isFalse, isTrue, stripComments } from '../exposure/asterisk-conf.js';
