// The log tail: newest at the bottom, coloured by level, tracebacks collapsed to their exception
// line (`e` expands), filtered by text and minimum level. Only the rows on screen are built.
import { Text } from 'ink';
import { memo, useMemo } from 'react';
import { useEngine, useEngineHandle } from './context.js';
import { Line, PaneFrame } from './pane-frame.js';
import { sanitizeText } from './sanitize.js';
import { LEVEL_COLOR, useTheme } from './theme.js';
import { visibleLogRows } from './view-models.js';

export interface LogPaneProps {
  width: number;
  height: number;
  focused: boolean;
  expanded: boolean;
  /** Rows scrolled up from the newest. */
  skip: number;
}

export const LogPane = memo(function LogPane({ width, height, focused, expanded, skip }: LogPaneProps) {
  const theme = useTheme();
  const { store } = useEngineHandle();
  const tail = useEngine((s) => s.tail);
  const dropped = useEngine((s) => s.tailDropped);
  const text = useEngine((s) => s.filters.tailText);
  const minLevel = useEngine((s) => s.filters.tailMinLevel);
  const paused = useEngine((s) => s.filters.tailPaused);
  // A paused tail freezes at what was on screen when pausing, whether or not the engine keeps
  // appending to state.tail meanwhile.
  const untilSeq = useMemo(() => {
    if (!paused) return null;
    const current = store.getState().tail;
    return current[current.length - 1]?.seq ?? 0;
  }, [paused, store]);
  const { rows } = visibleLogRows(
    tail,
    { text, minLevel, untilSeq },
    { height: height - 1, skip, expanded, columns: width },
  );
  const extra = (
    <Text>
      {text ? <Text color={theme.color('cyan')}>filter “{sanitizeText(text)}” </Text> : null}
      {minLevel !== 'DEBUG' ? <Text color={theme.color('cyan')}>≥{minLevel} </Text> : null}
      {paused ? <Text inverse color={theme.color('yellow')}> PAUSED </Text> : null}
      {skip > 0 ? <Text dimColor> ↑{skip}</Text> : null}
      {dropped > 0 ? <Text dimColor> ({dropped} older dropped)</Text> : null}
    </Text>
  );
  return (
    <PaneFrame title="Log" extra={extra} width={width} height={height} focused={focused}>
      {rows.length === 0 ? (
        <Line dim>{tail.length === 0 ? 'no log records yet' : 'no records match the filter'}</Line>
      ) : (
        rows.map((row) => {
          const color = LEVEL_COLOR[row.level];
          return (
            <Line key={row.key} color={color ? theme.color(color) : undefined} dim={row.level === 'DEBUG'}>
              {row.text}
            </Line>
          );
        })
      )}
    </PaneFrame>
  );
});
