// A checklist: ↑/↓ to move, space to tick or untick, Enter to accept.
import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { MultiSelectQuestion } from '../../steps/types.js';
import { fit, wrap } from './text.js';

export function MultiSelect({ question, initial, width, onSubmit, color = true }: { question: MultiSelectQuestion; initial: readonly string[]; width: number; onSubmit: (values: string[]) => void; color?: boolean }) {
  // Keys can arrive faster than React renders (a slow SSH link delivers them in bursts), so the
  // handler works on refs that are always current, and renders from their copies in state.
  const cursorRef = useRef(0);
  const selectedRef = useRef<ReadonlySet<string>>(new Set(initial));
  const [cursor, setCursor] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(selectedRef.current);
  useInput((input, key) => {
    if (key.upArrow || input === 'k') cursorRef.current = Math.max(0, cursorRef.current - 1);
    else if (key.downArrow || input === 'j') cursorRef.current = Math.min(question.choices.length - 1, cursorRef.current + 1);
    else if (input === ' ') {
      const value = question.choices[cursorRef.current]?.value;
      if (value === undefined) return;
      const next = new Set(selectedRef.current);
      if (next.has(value)) next.delete(value);
      else next.add(value);
      selectedRef.current = next;
    } else if (key.return) {
      onSubmit(question.choices.map((c) => c.value).filter((v) => selectedRef.current.has(v)));
      return;
    }
    setCursor(cursorRef.current);
    setSelected(selectedRef.current);
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
