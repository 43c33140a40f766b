// Small hooks shared by the panes.
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';
import { MIN_COLUMNS, MIN_ROWS } from './layout.js';

/** Current time, refreshed every `intervalMs` (only the component using it re-renders). */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    timer.unref?.();
    return () => clearInterval(timer);
  }, [intervalMs]);
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
