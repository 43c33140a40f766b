// A window onto a list of display lines, for overlays whose content can be longer than the screen.
// Long lines wrap (a record or a diff must be readable in full); scrolling moves by whole lines.
import { Box, Text } from 'ink';
import type { MutableRefObject } from 'react';
import type { BasicColor } from './theme.js';
import { useTheme } from './theme.js';

export interface StyledLine {
  text: string;
  color?: BasicColor;
  bold?: boolean;
  dim?: boolean;
}

export function ScrollText({ lines, width, height, scroll, maxScroll }: {
  lines: StyledLine[];
  width: number;
  height: number;
  scroll: number;
  /** Receives the largest useful scroll offset, so the key handler can clamp. */
  maxScroll?: MutableRefObject<number>;
}) {
  const theme = useTheme();
  // Rows the lines take once wrapped (approximate for wide characters, which only makes the
  // limit more generous).
  const rows = lines.reduce((n, l) => n + Math.max(1, Math.ceil(l.text.length / Math.max(1, width))), 0);
  const max = rows <= height ? 0 : lines.some((l) => l.text.length > width) ? lines.length - 1 : lines.length - height;
  if (maxScroll) maxScroll.current = Math.max(0, max);
  const start = Math.min(Math.max(0, scroll), Math.max(0, max));
  const shown = lines.slice(start, start + height);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {shown.map((l, i) =>
        l.text === '' ? (
          <Box key={start + i} height={1} flexShrink={0} />
        ) : (
          // flexShrink 0: Yoga would otherwise squeeze wrapped lines on top of each other when
          // the window overflows; the overflow is clipped at the bottom instead.
          <Box key={start + i} flexShrink={0}>
            <Text wrap="wrap" color={l.color ? theme.color(l.color) : undefined} bold={l.bold} dimColor={l.dim}>
              {l.text}
            </Text>
          </Box>
        ),
      )}
    </Box>
  );
}
