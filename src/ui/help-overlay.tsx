// Every key, straight from the keymap.
import { Box, Text } from 'ink';
import { memo } from 'react';
import { KEYMAP, keysOf } from './keymap.js';
import { useTheme } from './theme.js';

export const HelpOverlay = memo(function HelpOverlay({ width, height }: { width: number; height: number }) {
  const theme = useTheme();
  const keyWidth = Math.max(...KEYMAP.map((b) => b.keys.length)) + 2;
  // Two columns when the list does not fit in one.
  const room = height - 2;
  const perColumn = KEYMAP.length > room ? Math.ceil(KEYMAP.length / 2) : KEYMAP.length;
  const columns = [KEYMAP.slice(0, perColumn), KEYMAP.slice(perColumn)].filter((c) => c.length > 0);
  const columnWidth = Math.floor(width / columns.length);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text wrap="truncate-end" bold inverse color={theme.color('cyan')}>
        {` Keys — ${keysOf('help')} or ${keysOf('back')} closes `}
      </Text>
      <Box flexDirection="row">
        {columns.map((col, c) => (
          <Box key={c} flexDirection="column" width={columnWidth}>
            {col.map((b) => (
              <Text key={b.action} wrap="truncate-end">
                <Text bold color={theme.color('yellow')}>
                  {b.keys.padEnd(keyWidth)}
                </Text>
                {b.description}
              </Text>
            ))}
          </Box>
        ))}
      </Box>
    </Box>
  );
});
