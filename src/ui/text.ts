// Text helpers for the terminal UI. Everything is laid out in whole lines so that scrolling and the
// 80x24 budget can be counted exactly.
import { expandTabs } from '../preview.js';

/** Word-wraps plain text to a width; long words are cut. Keeps blank lines. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of expandTabs(text).split('\n')) {
    if (paragraph.trim() === '') {
      lines.push('');
      continue;
    }
    // At most half the width: an indent as wide as the line leaves no room, and the cut below never ends.
    const indent = (/^\s*/.exec(paragraph)?.[0] ?? '').slice(0, Math.floor(width / 2));
    let line = '';
    for (const word of paragraph.trim().split(/\s+/)) {
      let rest = word;
      while (rest.length > width - indent.length) {
        if (line) {
          lines.push(indent + line);
          line = '';
        }
        lines.push(indent + rest.slice(0, width - indent.length));
        rest = rest.slice(width - indent.length);
      }
      if (!rest) continue;
      if (!line) line = rest;
      else if (indent.length + line.length + 1 + rest.length <= width) line += ' ' + rest;
      else {
        lines.push(indent + line);
        line = rest;
      }
    }
    if (line) lines.push(indent + line);
  }
  return lines;
}

/** Cuts a line to the width, marking the cut. */
export function fit(line: string, width: number): string {
  const expanded = expandTabs(line);
  return expanded.length <= width ? expanded : expanded.slice(0, Math.max(0, width - 1)) + '…';
}
