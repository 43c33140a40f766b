// A pane: a title row (inverse when focused, so focus shows without colour) and a fixed-size,
// clipped body. Borders would cost two rows and two columns per pane, which 80x24 cannot spare.
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useTheme, type BasicColor } from './theme.js';

export interface PaneFrameProps {
  title: string;
  /** Extra text after the title (status, counts, a sparkline). */
  extra?: ReactNode;
  width: number;
  height: number;
  focused?: boolean;
  titleColor?: BasicColor;
  children?: ReactNode;
}

export function PaneFrame({ title, extra, width, height, focused = false, titleColor, children }: PaneFrameProps) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" width={width} height={height} overflowY="hidden">
      <Box flexShrink={0} height={1}>
      <Text wrap="truncate-end">
        <Text bold inverse={focused} color={theme.color(focused ? 'cyan' : (titleColor ?? 'blue'))}>
          {focused ? `▶${title}` : ` ${title}`}
        </Text>
        {extra ? <Text> {extra}</Text> : null}
      </Text>
      </Box>
      <Box flexDirection="column" height={Math.max(0, height - 1)} overflowY="hidden">
        {children}
      </Box>
    </Box>
  );
}

/** One clipped line of text. */
export function Line({ children, color, dim, bold, inverse }: {
  children: ReactNode;
  color?: BasicColor | undefined;
  dim?: boolean;
  bold?: boolean;
  inverse?: boolean;
}) {
  return (
    <Text wrap="truncate-end" color={color} dimColor={dim} bold={bold} inverse={inverse}>
      {children}
    </Text>
  );
}
