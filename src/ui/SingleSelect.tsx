// One of a few options: ↑/↓ to move, Enter to choose.
import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { ChoiceQuestion } from '../../steps/types.js';
import { fit, wrap } from './text.js';

export function SingleSelect({ question, initial, width, onSubmit, color = true }: { question: ChoiceQuestion; initial: string | undefined; width: number; onSubmit: (value: string) => void; color?: boolean }) {
  const start = Math.max(0, question.choices.findIndex((c) => c.value === initial));
  // A ref as well as state: keys can arrive faster than renders (see MultiSelect).
  const cursorRef = useRef(start);
  const [cursor, setCursor] = useState(start);
  useInput((input, key) => {
    if (key.upArrow || input === 'k') cursorRef.current = Math.max(0, cursorRef.current - 1);
    else if (key.downArrow || input === 'j') cursorRef.current = Math.min(question.choices.length - 1, cursorRef.current + 1);
    else if (key.return) {
      const choice = question.choices[cursorRef.current];
      if (choice) onSubmit(choice.value);
      return;
    }
    setCursor(cursorRef.current);
  });
  return (
    <Box flexDirection="column">
      <Text bold>{fit(question.prompt, width)}</Text>
      {question.help ? wrap(question.help, width).map((line, i) => <Text key={i} dimColor>{line}</Text>) : null}
      <Text> </Text>
      {question.choices.map((choice, index) => (
        <Text key={choice.value} color={color && index === cursor ? 'cyan' : undefined} bold={index === cursor}>
          {fit(`${index === cursor ? '›' : ' '} ${choice.label}`, width)}
        </Text>
      ))}
    </Box>
  );
}
