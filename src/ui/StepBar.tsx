// One line per step with its state, so the admin always sees where the session stands.
import { Box, Text } from 'ink';
import type { StepId } from '../change.js';
import type { StepStatus } from '../journal.js';
import { fit } from './text.js';

export interface StepRow {
  readonly id: StepId;
  readonly title: string;
  readonly built: boolean;
  readonly status: StepStatus;
}

const MARK: Record<StepStatus | 'coming', string> = {
  pending: '○',
  skipped: '–',
  applied: '✔',
  'awaiting-confirmation': '⧗',
  confirmed: '✔',
  'rolled-back': '↺',
  failed: '✘',
  coming: '·',
};

export function statusLabel(row: StepRow): string {
  if (!row.built) return 'coming in a later version';
  return row.status;
}

export function StepList({ rows, current, cursor, width, color = true }: { rows: readonly StepRow[]; current?: StepId; cursor?: number; width: number; color?: boolean }) {
  return (
    <Box flexDirection="column">
      {rows.map((row, index) => {
        const mark = row.built ? MARK[row.status] : MARK.coming;
        const pointer = cursor === index ? '›' : row.id === current ? '▸' : ' ';
        const tone = !row.built ? undefined : row.status === 'applied' || row.status === 'confirmed' ? 'green' : row.status === 'failed' ? 'red' : row.status === 'rolled-back' ? 'yellow' : undefined;
        return (
          <Text key={row.id} dimColor={!row.built} bold={cursor === index} color={color ? tone : undefined}>
            {/* a two-digit number takes its extra column from the title's padding: the ids stay aligned */}
            {fit(`${pointer} ${mark} ${String(index + 1)}. ${row.title.padEnd(23 - String(index + 1).length)} ${row.id.padEnd(15)} ${statusLabel(row)}`, width)}
          </Text>
        );
      })}
    </Box>
  );
}
