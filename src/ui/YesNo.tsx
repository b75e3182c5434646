// A yes/no question: ←/→ or y/n to choose, Enter to accept.
import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { BooleanQuestion } from '../../steps/types.js';
import { fit, wrap } from './text.js';

export function YesNo({ question, initial, width, onSubmit, color = true }: { question: BooleanQuestion; initial: boolean; width: number; onSubmit: (value: boolean) => void; color?: boolean }) {
  // A ref as well as state: keys can arrive faster than renders (see MultiSelect).
  const valueRef = useRef(initial);
  const [value, setValue] = useState(initial);
  useInput((input, key) => {
    if (key.leftArrow || key.rightArrow || input === ' ') valueRef.current = !valueRef.current;
    else if (input === 'y') valueRef.current = true;
    else if (input === 'n') valueRef.current = false;
    else if (key.return) {
      onSubmit(valueRef.current);
      return;
    }
    setValue(valueRef.current);
  });
  return (
    <Box flexDirection="column">
      <Text bold>{fit(question.prompt, width)}</Text>
      {question.help ? wrap(question.help, width).map((line, i) => <Text key={i} dimColor>{line}</Text>) : null}
      <Text> </Text>
      <Text>
        <Text color={color && value ? 'cyan' : undefined} bold={value}>{value ? '› [Yes]' : '  [Yes]'}</Text>
        <Text>   </Text>
        <Text color={color && !value ? 'cyan' : undefined} bold={!value}>{!value ? '› [No]' : '  [No]'}</Text>
      </Text>
    </Box>
  );
}
