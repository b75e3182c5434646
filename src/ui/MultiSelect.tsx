// A checklist: ↑/↓ to move, space to tick or untick, Enter to accept.
import { Box, Text, useInput } from 'ink';
import { useState } from 'react';
import type { MultiSelectQuestion } from '../../steps/types.js';
import { fit, wrap } from './text.js';

export function MultiSelect({ question, initial, width, onSubmit, color = true }: { question: MultiSelectQuestion; initial: readonly string[]; width: number; onSubmit: (values: string[]) => void; color?: boolean }) {
  const [cursor, setCursor] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set(initial));
  useInput((input, key) => {
    if (key.upArrow || input === 'k') setCursor((c) => Math.max(0, c - 1));
    else if (key.downArrow || input === 'j') setCursor((c) => Math.min(question.choices.length - 1, c + 1));
    else if (input === ' ') {
      const value = question.choices[cursor]?.value;
      if (value === undefined) return;
      setSelected((current) => {
        const next = new Set(current);
        if (next.has(value)) next.delete(value);
        else next.add(value);
        return next;
      });
    } else if (key.return) {
      onSubmit(question.choices.map((c) => c.value).filter((v) => selected.has(v)));
    }
  });
  const current = question.choices[cursor];
  return (
    <Box flexDirection="column">
      <Text bold>{fit(question.prompt, width)}</Text>
      {question.help ? <Text dimColor>{fit(question.help, width)}</Text> : null}
      <Text> </Text>
      {question.choices.map((choice, index) => (
        <Text key={choice.value} color={color && index === cursor ? 'cyan' : undefined} bold={index === cursor}>
          {fit(`${index === cursor ? '›' : ' '} [${selected.has(choice.value) ? 'x' : ' '}] ${choice.label}`, width)}
        </Text>
      ))}
      <Text> </Text>
      {current?.detail ? wrap(current.detail, width).map((line, i) => <Text key={i} dimColor>{line}</Text>) : null}
    </Box>
  );
}
