// The two bottom lines: a status line (question asked, fix progress, last notice, filter input)
// and the key hints, which come from the keymap.
import { Box, Text } from 'ink';
import { memo } from 'react';
import { useEngine } from './context.js';
import { footerHints, keysOf, type FooterMode } from './keymap.js';
import { sanitizeText } from './sanitize.js';
import { useTheme, type BasicColor } from './theme.js';

export interface LocalNotice {
  text: string;
  severity: 'info' | 'warning' | 'critical';
  at: number;
}

const NOTICE_COLOR: Record<LocalNotice['severity'], BasicColor> = { info: 'green', warning: 'yellow', critical: 'red' };

export const StatusLine = memo(function StatusLine({ width, question, filterDraft, pending, localNotice }: {
  width: number;
  question: string | null;
  filterDraft: string | null;
  /** An intent under way whose result has not reached the store yet ("preparing the fix plan"). */
  pending: string | null;
  localNotice: LocalNotice | null;
}) {
  const theme = useTheme();
  const busy = useEngine((s) => s.busy);
  const notice = useEngine((s) => s.notice);
  const linesRead = useEngine((s) => s.counters.linesRead);
  const matches = useEngine((s) => s.counters.matches);
  let content;
  if (filterDraft !== null) {
    content = (
      <Text wrap="truncate-start">
        <Text bold color={theme.color('cyan')}>
          filter log:{' '}
        </Text>
        {sanitizeText(filterDraft)}
        <Text inverse> </Text>
        <Text dimColor>{`  ${keysOf('open')} apply · ${keysOf('back')} cancel · empty clears`}</Text>
      </Text>
    );
  } else if (question) {
    content = (
      <Text wrap="truncate-end" bold color={theme.color('yellow')}>
        {`${question} [${keysOf('confirm')}/${keysOf('cancel')}]`}
      </Text>
    );
  } else if (busy) {
    content = (
      <Text wrap="truncate-end" color={theme.color('cyan')}>
        ⟳ {sanitizeText(busy.fixId)} on {busy.incidentId}: {sanitizeText(busy.step)}
      </Text>
    );
  } else if (pending) {
    content = (
      <Text wrap="truncate-end" color={theme.color('cyan')}>
        ⟳ {pending}…
      </Text>
    );
  } else {
    const latest = localNotice && (!notice || localNotice.at >= notice.at) ? localNotice : notice;
    content = latest ? (
      <Text wrap="truncate-end" color={theme.color(NOTICE_COLOR[latest.severity])}>
        {sanitizeText(latest.text)}
      </Text>
    ) : (
      <Text wrap="truncate-end" dimColor>
        {`${linesRead} lines read · ${matches} matches`}
      </Text>
    );
  }
  return (
    <Box width={width} height={1} overflowY="hidden">
      {content}
    </Box>
  );
});

export const Footer = memo(function Footer({ width, mode, unclassified }: { width: number; mode: FooterMode; unclassified: boolean }) {
  return (
    <Box width={width} height={1} overflowY="hidden">
      <Text wrap="truncate-end" dimColor>
        {footerHints(mode, unclassified).join('  ')}
      </Text>
    </Box>
  );
});
