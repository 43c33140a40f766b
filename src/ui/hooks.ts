// Small hooks shared by the panes.
import { useStdout } from 'ink';
import { useEffect, useReducer, useRef, useState } from 'react';
import { MIN_COLUMNS, MIN_ROWS } from './layout.js';

/**
 * The current time for a component that shows something derived from it (a clock, an age).
 * `shown(now)` says what the component draws for a given time; it is re-checked every `everyMs`
 * and the component re-renders only when that text changes. Ink redraws the whole frame on every
 * render, so a clock showing HH:MM must cost one frame a minute, not one per check.
 */
export function useClock(shown: (now: number) => string, everyMs: number): number {
  const now = Date.now();
  const latest = useRef({ shown, text: '' });
  latest.current = { shown, text: shown(now) };
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const timer = setInterval(() => {
      const { shown: f, text } = latest.current;
      if (f(Date.now()) !== text) rerender();
    }, everyMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export interface TerminalSize {
  columns: number;
  rows: number;
}

function sizeOf(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns || MIN_COLUMNS, rows: stdout.rows || MIN_ROWS };
}

/** Ink 6 has no size hook and only re-lays out on width changes: follow 'resize' ourselves. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => sizeOf(stdout));
  useEffect(() => {
    const onResize = () =>
      setSize((prev) => {
        const next = sizeOf(stdout);
        return prev.columns === next.columns && prev.rows === next.rows ? prev : next;
      });
    stdout.on('resize', onResize);
    onResize();
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
