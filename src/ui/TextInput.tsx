// A line of text: type, Backspace to erase, Enter to accept. The step checks the text; its message,
// if any, shows under the field.
import { Box, Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import type { TextQuestion } from '../../steps/types.js';
import { fit, wrap } from './text.js';

export function TextInput({ question, initial, width, error, onSubmit, color = true }: { question: TextQuestion; initial: string; width: number; error?: string | null; onSubmit: (value: string) => void; color?: boolean }) {
  const valueRef = useRef(initial);
  const [value, setValue] = useState(initial);
  useInput((input, key) => {
    if (key.return) {
      onSubmit(valueRef.current);
      return;
    }
    if (key.backspace || key.delete) valueRef.current = valueRef.current.slice(0, -1);
    else if (!key.ctrl && !key.meta && !key.escape && input && !/[\u0000-\u001f]/.test(input)) valueRef.current += input;
    setValue(valueRef.current);
  });
  return (
    <Box flexDirection="column">
      {wrap(question.prompt, width).map((line, i) => (
        <Text key={`p${i}`} bold>{line}</Text>
      ))}
      {question.help ? wrap(question.help, width).map((line, i) => <Text key={`h${i}`} dimColor>{line}</Text>) : null}
      <Text> </Text>
      <Text color={color ? 'cyan' : undefined}>{fit(`› ${question.secret ? '•'.repeat(value.length) : value}█`, width)}</Text>
      {error ? <Text color={color ? 'red' : undefined}>{fit(error, width)}</Text> : null}
    </Box>
  );
}
