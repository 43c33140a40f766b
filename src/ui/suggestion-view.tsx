// A pattern drafted for an unclassified incident, waiting for a yes/no: the file as it would be
// written, what it was proved against, and where it goes. The engine drafts, proves and writes;
// this only shows state.suggestion. The draft is built from log text, so every line is sanitised.
import { Box, Text } from 'ink';
import { memo, type MutableRefObject } from 'react';
import { useEngine } from './context.js';
import { keysOf } from './keymap.js';
import { sanitizeText } from './sanitize.js';
import { ScrollText, type StyledLine } from './scroll-text.js';
import { useTheme } from './theme.js';

export const SuggestionView = memo(function SuggestionView({ width, height, scroll, maxScroll }: {
  width: number;
  height: number;
  scroll: number;
  maxScroll: MutableRefObject<number>;
}) {
  const theme = useTheme();
  const suggestion = useEngine((s) => s.suggestion);
  const title = useEngine((s) => (s.suggestion ? (s.incidents[s.suggestion.incidentId]?.title ?? s.suggestion.incidentId) : ''));
  if (!suggestion) return null;
  const lines: StyledLine[] = [
    ...suggestion.proof.map((l) => ({ text: sanitizeText(l), color: l.startsWith('NOT proved') ? ('red' as const) : ('green' as const) })),
    { text: '' },
    ...suggestion.fileText.split(/\r?\n/).map((l) => ({ text: sanitizeText(l) })),
  ];
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text wrap="truncate-end" bold inverse color={theme.color('green')}>
        {` Draft pattern ${sanitizeText(suggestion.patternId)} for “${sanitizeText(title)}” `}
      </Text>
      <Text wrap="truncate-end" bold>
        {suggestion.target ? `writes ${sanitizeText(suggestion.target)} (a new file; nothing is written until you confirm)` : 'no local pattern directory to write to'}
      </Text>
      <ScrollText lines={lines} width={width} height={height - 3} scroll={scroll} maxScroll={maxScroll} />
      {suggestion.refusal ? (
        <Text wrap="truncate-end" bold color={theme.color('yellow')}>
          {`Cannot be written: ${sanitizeText(suggestion.refusal)} · ${keysOf('cancel')} = close`}
        </Text>
      ) : (
        <Text wrap="truncate-end" bold color={theme.color('yellow')}>
          {`Write this pattern and load it? ${keysOf('confirm')} = write and load · ${keysOf('cancel')} = cancel (nothing written)`}
        </Text>
      )}
    </Box>
  );
});
