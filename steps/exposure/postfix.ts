/**
 * Postfix main.cf: read parameters and set one with a minimal edit. Pure.
 * Syntax per postconf(5): a logical line starts with non-whitespace; a line that starts with whitespace
 * continues it; empty lines and lines whose first non-whitespace character is '#' are ignored (also
 * between continuation lines). There are no inline comments: '#' after text is part of the value.
 */
import { joinLines, removeLine, replaceLine, splitLines, insertLine, type Line } from './lines.js';

export interface MainCfParameter {
  /** Whitespace-joined value of the logical line. */
  value: string;
  /** 0-based line of `key =`. */
  line: number;
  /** Last continuation line (= line when there is none). */
  endLine: number;
}

interface LogicalLine extends MainCfParameter {
  key: string;
  /** Physical lines of the logical line, without comment/blank lines between them. */
  lines: number[];
}

function logicalLines(lines: readonly Line[]): LogicalLine[] {
  const out: LogicalLine[] = [];
  let current: LogicalLine | null = null;
  const pieces: string[] = [];
  const finish = (): void => {
    if (current === null) return;
    current.value = pieces.filter((p) => p !== '').join(' ');
    out.push(current);
    current = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]?.text ?? '';
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (/^\s/.test(text)) {
      if (current !== null) {
        (current as LogicalLine).lines.push(i);
        (current as LogicalLine).endLine = i;
        pieces.push(trimmed);
      }
      continue;
    }
    finish();
    pieces.length = 0;
    const m = /^([^\s=]+)\s*=\s*(.*?)\s*$/.exec(text);
    if (m === null) continue; // not a parameter; postfix warns and skips it
    current = { key: m[1] ?? '', value: '', line: i, endLine: i, lines: [i] };
    pieces.push(m[2] ?? '');
  }
  finish();
  return out;
}

/** Parameters by name; the last occurrence wins. */
export function parseMainCf(text: string): Map<string, MainCfParameter> {
  const params = new Map<string, MainCfParameter>();
  for (const l of logicalLines(splitLines(text))) params.set(l.key, { value: l.value, line: l.line, endLine: l.endLine });
  return params;
}

/** Effective inet_interfaces; Postfix's default is "all". */
export function inetInterfaces(text: string): string {
  return parseMainCf(text).get('inet_interfaces')?.value ?? 'all';
}

/** True when inet_interfaces names only loopback: loopback-only, localhost, 127.0.0.0/8, [::1]. */
export function isLoopbackInterfaces(value: string): boolean {
  const items = value
    .split(/[\s,]+/)
    .map((s) => s.toLowerCase())
    .filter((s) => s !== '');
  if (items.length === 0) return false;
  return items.every(
    (s) =>
      s === 'loopback-only' ||
      s === 'localhost' ||
      /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(s) ||
      /^\[?(::1|0*:(0*:){6}0*1)\]?$/.test(s),
  );
}

/**
 * Sets `key = value`: the last occurrence's logical line (its continuation lines included) becomes the one
 * line `key = value`; comment and blank lines inside it stay. Without an occurrence the line is appended.
 * Returns the text unchanged when the value already is `value`.
 */
export function setMainCfParameter(text: string, key: string, value: string): string {
  const lines = splitLines(text);
  const last = logicalLines(lines)
    .filter((l) => l.key === key)
    .pop();
  const wanted = value.trim().split(/\s+/).join(' ');
  if (last !== undefined) {
    if (last.value === wanted) return text;
    let out = replaceLine(lines, last.line, `${key} = ${value}`);
    for (const i of last.lines.slice(1).reverse()) out = removeLine(out, i);
    return joinLines(out);
  }
  const out = insertLine(lines, lines.length, `${key} = ${value}`);
  const added = out[out.length - 1];
  if (added !== undefined && added.eol === '') added.eol = out[out.length - 2]?.eol || '\n'; // main.cf ends with a newline
  return joinLines(out);
}
