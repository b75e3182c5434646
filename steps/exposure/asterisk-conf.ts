/**
 * Asterisk .conf files (manager.conf, sip.conf, ...): parse, read one setting, set one with a minimal edit. Pure.
 * Syntax per main/config.c: ';' starts a comment unless escaped as '\;' (which reads as ';'), `;--` ... `--;`
 * is a (nestable, multi-line) block comment, `[name]` may carry `(!)`, `(+)` or template names after it,
 * `#include` / `#tryinclude` take a file with or without quotes, entries are `key = value` or `key => value`.
 * Section and key names compare case-insensitively. Sections repeated under one name are read as one (as
 * `(+)` does); included files are listed, not followed.
 */
import { indentOf, insertLine, joinLines, replaceLine, splitLines, type Line } from './lines.js';

export interface AsteriskEntry {
  key: string;
  /** Unescaped value, inline comment removed. */
  value: string;
  line: number;
  op: '=' | '=>';
}

export interface AsteriskSection {
  name: string;
  headerLine: number;
  entries: AsteriskEntry[];
  /** Last entry line, = headerLine if the section has none. */
  lastContentLine: number;
}

interface EntrySpan extends AsteriskEntry {
  /** Span of the value as written in the line. */
  valueStart: number;
  valueEnd: number;
}

interface Parsed {
  sections: (AsteriskSection & { entries: EntrySpan[] })[];
  includes: { file: string; line: number }[];
}

/** The code part of each line: comment characters blanked to spaces so that columns stay aligned. */
function codeLines(lines: readonly Line[]): string[] {
  return stripComments(lines.map((l) => l.text));
}

/**
 * The code part of each line, as Asterisk's parser sees it: `;` ends a line unless written `\;`;
 * `;--` opens a block comment that runs, across lines and nested, to its `--;` (blanked to spaces, so
 * the columns of what follows on the line stay where they were written).
 */
export function stripComments(texts: readonly string[]): string[] {
  let depth = 0;
  return texts.map((t) => {
    let out = '';
    let i = 0;
    while (i < t.length) {
      if (t.startsWith(';--', i) && t[i - 1] !== '\\') {
        depth++;
        out += '   ';
        i += 3;
      } else if (depth > 0) {
        if (t.startsWith('--;', i)) {
          depth--;
          out += '   ';
          i += 3;
        } else {
          out += ' ';
          i++;
        }
      } else if (t[i] === ';' && t[i - 1] !== '\\') {
        break; // line comment
      } else {
        out += t[i];
        i++;
      }
    }
    return out;
  });
}

function parse(lines: readonly Line[]): Parsed {
  const result: Parsed = { sections: [], includes: [] };
  let section: Parsed['sections'][number] | null = null;
  codeLines(lines).forEach((code, i) => {
    const trimmed = code.trim();
    if (trimmed === '') return;
    if (trimmed.startsWith('[')) {
      const close = trimmed.indexOf(']');
      if (close < 0) return;
      section = { name: trimmed.slice(1, close).trim(), headerLine: i, entries: [], lastContentLine: i };
      result.sections.push(section);
      return;
    }
    const include = /^#(?:try)?include\s+(.+)$/i.exec(trimmed);
    if (include !== null) {
      const file = (include[1] ?? '').trim().replace(/^"(.*)"$/, '$1').replace(/^<(.*)>$/, '$1');
      result.includes.push({ file, line: i });
      return;
    }
    if (trimmed.startsWith('#')) return; // #exec and friends
    const eq = code.indexOf('=');
    if (eq <= 0 || section === null) return; // Asterisk rejects entries outside a section
    const op = code[eq + 1] === '>' ? '=>' : '=';
    const key = code.slice(0, eq).trim();
    if (key === '') return;
    let valueStart = eq + op.length;
    while (valueStart < code.length && /\s/.test(code[valueStart] ?? '')) valueStart++;
    let valueEnd = code.length;
    while (valueEnd > valueStart && /\s/.test(code[valueEnd - 1] ?? '')) valueEnd--;
    const value = code.slice(valueStart, valueEnd).replace(/\\;/g, ';');
    const s = section as Parsed['sections'][number];
    s.entries.push({ key, value, line: i, op, valueStart, valueEnd });
    s.lastContentLine = i;
  });
  return result;
}

export function parseAsteriskConf(text: string): { sections: AsteriskSection[]; includes: { file: string; line: number }[] } {
  const parsed = parse(splitLines(text));
  return {
    sections: parsed.sections.map((s) => ({
      name: s.name,
      headerLine: s.headerLine,
      lastContentLine: s.lastContentLine,
      entries: s.entries.map(({ key, value, line, op }) => ({ key, value, line, op })),
    })),
    includes: parsed.includes,
  };
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function lastEntry(parsed: Parsed, section: string, key: string): EntrySpan | undefined {
  return parsed.sections
    .filter((s) => sameName(s.name, section))
    .flatMap((s) => s.entries)
    .filter((e) => sameName(e.key, key))
    .pop();
}

/** The value of the last `key` in `[section]`, undefined if absent. */
export function getSetting(text: string, section: string, key: string): string | undefined {
  return lastEntry(parse(splitLines(text)), section, key)?.value;
}

/**
 * Sets `key = value` in `[section]`: the last existing entry's value changes in place (spacing around
 * '=' and an inline comment stay); else `key = value` goes after the section's last entry (before blank
 * lines and #include lines that follow it); else `[section]` and the entry are appended.
 * Returns the text unchanged when the value already is `value`.
 */
export function setInSection(text: string, section: string, key: string, value: string): string {
  const lines = splitLines(text);
  const parsed = parse(lines);
  const escaped = value.replace(/;/g, '\\;');
  const entry = lastEntry(parsed, section, key);
  if (entry !== undefined) {
    if (entry.value === value) return text;
    const old = lines[entry.line]?.text ?? '';
    const gap = entry.valueStart === entry.valueEnd && !/\s/.test(old[entry.valueStart - 1] ?? '') ? ' ' : '';
    return joinLines(replaceLine(lines, entry.line, old.slice(0, entry.valueStart) + gap + escaped + old.slice(entry.valueEnd)));
  }
  const target = parsed.sections.filter((s) => sameName(s.name, section)).pop();
  if (target !== undefined) {
    const anchor = lines[target.lastContentLine]?.text ?? '';
    const indent = target.lastContentLine === target.headerLine ? '' : indentOf(anchor);
    return joinLines(insertLine(lines, target.lastContentLine + 1, `${indent}${key} = ${escaped}`));
  }
  let out = lines;
  const lastLine = out[out.length - 1];
  if (lastLine !== undefined && lastLine.text.trim() !== '') out = insertLine(out, out.length, '');
  out = insertLine(out, out.length, `[${section}]`);
  out = insertLine(out, out.length, `${key} = ${escaped}`);
  return joinLines(out);
}

/** ast_true(): how Asterisk reads a yes/no option. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['yes', 'true', 'y', 't', '1', 'on'].includes(value.trim().toLowerCase());
}

/** ast_false(). */
export function isFalse(value: string | undefined): boolean {
  return value !== undefined && ['no', 'false', 'n', 'f', '0', 'off'].includes(value.trim().toLowerCase());
}

/** The AMI settings of manager.conf [general]; Asterisk's defaults apply when absent. */
export function amiSettings(text: string): { enabled: boolean; port: number; bindaddr: string } {
  const parsed = parse(splitLines(text));
  const get = (key: string): string | undefined => lastEntry(parsed, 'general', key)?.value;
  const port = Number(get('port'));
  const bindaddr = get('bindaddr');
  return {
    enabled: isTrue(get('enabled') ?? 'no'),
    port: Number.isInteger(port) && port > 0 && port <= 65535 ? port : 5038,
    bindaddr: bindaddr === undefined || bindaddr === '' ? '0.0.0.0' : bindaddr,
  };
}
