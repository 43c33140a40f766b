// The fix plan waiting for a yes/no: what will change (diff, command or SQL), then progress while
// it runs. The engine decides and does everything; this only shows state.plan and state.busy.
import { Box, Text } from 'ink';
import { memo, type MutableRefObject } from 'react';
import { useEngine } from './context.js';
import { keysOf } from './keymap.js';
import { sanitizeText } from './sanitize.js';
import { ScrollText, type StyledLine } from './scroll-text.js';
import { useTheme } from './theme.js';

/** Colours a unified diff; commands and SQL stay plain. */
export function previewLines(preview: string): StyledLine[] {
  return preview.split(/\r?\n/).map((raw) => {
    const text = sanitizeText(raw);
    if (raw.startsWith('+++') || raw.startsWith('---')) return { text, bold: true };
    if (raw.startsWith('@@')) return { text, color: 'cyan' as const };
    if (raw.startsWith('+')) return { text, color: 'green' as const };
    if (raw.startsWith('-')) return { text, color: 'red' as const };
    return { text };
  });
}

export const PlanView = memo(function PlanView({ width, height, scroll, maxScroll }: {
  width: number;
  height: number;
  scroll: number;
  maxScroll: MutableRefObject<number>;
}) {
  const theme = useTheme();
  const plan = useEngine((s) => s.plan);
  const busy = useEngine((s) => s.busy);
  const title = useEngine((s) => (s.plan ? (s.incidents[s.plan.incidentId]?.title ?? s.plan.incidentId) : ''));
  if (!plan) return null;
  const running = busy !== null && busy.incidentId === plan.incidentId;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text wrap="truncate-end" bold inverse color={theme.color('green')}>
        {` Fix plan: ${sanitizeText(plan.fixId)} for “${sanitizeText(title)}” `}
      </Text>
      <Text wrap="truncate-end" bold>
        {sanitizeText(plan.summary)}
      </Text>
      <ScrollText lines={previewLines(plan.preview)} width={width} height={height - 3} scroll={scroll} maxScroll={maxScroll} />
      {running ? (
        <Text wrap="truncate-end" color={theme.color('cyan')}>
          ⟳ running: {sanitizeText(busy.step)}
        </Text>
      ) : busy ? (
        <Text wrap="truncate-end" color={theme.color('yellow')}>
          another fix is running ({sanitizeText(busy.fixId)}); wait for it to finish
        </Text>
      ) : (
        <Text wrap="truncate-end" bold color={theme.color('yellow')}>
          {`Apply this fix? ${keysOf('confirm')} = apply (backup, apply, verify, roll back on failure) · ${keysOf('cancel')} = cancel`}
        </Text>
      )}
    </Box>
  );
});
