// A fixed-height window over a list of lines, scrolled with the arrow keys, PgUp/PgDn, Home/End
// (and j/k). Lines are pre-cut to the width so one line is always one row.
import { Box, Text, useInput } from 'ink';
import { useEffect, useState } from 'react';
import { fit } from './text.js';

export interface StyledLine {
  readonly text: string;
  readonly color?: string;
  readonly bold?: boolean;
  readonly dim?: boolean;
}

export function ScrollView({ lines, height, width, active = true, color = true }: { lines: readonly StyledLine[]; height: number; width: number; active?: boolean; color?: boolean }) {
  const [offset, setOffset] = useState(0);
  const maxOffset = Math.max(0, lines.length - height);
  useEffect(() => {
    if (offset > maxOffset) setOffset(maxOffset);
  }, [maxOffset, offset]);
  useInput(
    (input, key) => {
      if (key.downArrow || input === 'j') setOffset((o) => Math.min(maxOffset, o + 1));
      else if (key.upArrow || input === 'k') setOffset((o) => Math.max(0, o - 1));
      else if (key.pageDown || input === ' ') setOffset((o) => Math.min(maxOffset, o + height - 1));
      else if (key.pageUp) setOffset((o) => Math.max(0, o - height + 1));
      else if (key.home) setOffset(0);
      else if (key.end) setOffset(maxOffset);
    },
    { isActive: active },
  );
  const visible = lines.slice(offset, offset + height);
  const more = lines.length > height;
  return (
    <Box flexDirection="column">
      {visible.map((line, index) => (
        <Text key={offset + index} color={color ? line.color : undefined} bold={line.bold} dimColor={line.dim}>
          {fit(line.text, width) || ' '}
        </Text>
      ))}
      {more ? (
        <Text dimColor>
          {fit(`── lines ${offset + 1}-${Math.min(lines.length, offset + height)} of ${lines.length} · ↑/↓ PgUp/PgDn to scroll`, width)}
        </Text>
      ) : null}
    </Box>
  );
}

/** Colours for a unified diff, line by line. */
export function diffLines(text: string): StyledLine[] {
  return text.split('\n').map((line) => {
    if (line.startsWith('+++') || line.startsWith('---')) return { text: line, bold: true };
    if (line.startsWith('+')) return { text: line, color: 'green' };
    if (line.startsWith('-')) return { text: line, color: 'red' };
    if (line.startsWith('@@')) return { text: line, color: 'cyan' };
    if (line.startsWith('#')) return { text: line, dim: true };
    return { text: line };
  });
}
