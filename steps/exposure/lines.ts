/**
 * Physical lines of a text file, each with its own terminator, so that an edit can touch one line and
 * leave every other byte alone (CRLF files stay CRLF, a missing final newline stays missing).
 * Shared by the exposure parsers/editors; pure.
 */
export interface Line {
  /** The line without its terminator. */
  text: string;
  /** '\n', '\r\n', or '' for a last line that has no terminator. */
  eol: string;
}

export function splitLines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      out.push({ text: text.slice(start), eol: '' });
      break;
    }
    const cr = nl > start && text[nl - 1] === '\r';
    out.push({ text: text.slice(start, cr ? nl - 1 : nl), eol: cr ? '\r\n' : '\n' });
    start = nl + 1;
  }
  return out;
}

export function joinLines(lines: readonly Line[]): string {
  return lines.map((l) => l.text + l.eol).join('');
}

/** The line break the file uses: that of its first terminated line, '\n' if it has none. */
export function fileEol(lines: readonly Line[]): string {
  return lines.find((l) => l.eol !== '')?.eol ?? '\n';
}

/** Inserts `text` as a new line before index `at` (at = lines.length appends). */
export function insertLine(lines: readonly Line[], at: number, text: string): Line[] {
  const eol = fileEol(lines);
  const out = lines.map((l) => ({ ...l }));
  const prev = out[at - 1];
  if (at === out.length && prev !== undefined && prev.eol === '') {
    // Appending after an unterminated last line: terminate it, and keep the new last line unterminated.
    prev.eol = eol;
    out.push({ text, eol: '' });
  } else {
    out.splice(at, 0, { text, eol });
  }
  return out;
}

/** Replaces the text of line `i`, keeping its terminator. */
export function replaceLine(lines: readonly Line[], i: number, text: string): Line[] {
  return lines.map((l, j) => (j === i ? { text, eol: l.eol } : l));
}

/** Removes line `i`; if it was the unterminated last line, the new last line becomes unterminated. */
export function removeLine(lines: readonly Line[], i: number): Line[] {
  const removed = lines[i];
  const out = lines.filter((_, j) => j !== i).map((l) => ({ ...l }));
  const last = out[out.length - 1];
  if (removed !== undefined && removed.eol === '' && i === lines.length - 1 && last !== undefined) last.eol = '';
  return out;
}

/** Leading whitespace of a line. */
export function indentOf(text: string): string {
  return /^[ \t]*/.exec(text)?.[0] ?? '';
}
