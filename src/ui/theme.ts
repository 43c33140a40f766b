// Colours: only the 16 basic ANSI names (no true-colour: tmux and old SSH clients mangle it), and
// none at all under NO_COLOR or --no-color. Components ask `theme.color(...)`, which returns
// undefined when colour is off, so Ink emits no colour codes.
import { createContext, useContext } from 'react';
import type { Level, Severity, Status } from '../engine/core/types.js';

export type BasicColor = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'white';

export interface Theme {
  enabled: boolean;
  color(c: BasicColor): BasicColor | undefined;
}

export function makeTheme(enabled: boolean): Theme {
  return { enabled, color: (c) => (enabled ? c : undefined) };
}

/** https://no-color.org: a present, non-empty NO_COLOR disables colour. */
export function colorWanted(env: NodeJS.ProcessEnv, flag = true): boolean {
  return flag && !(typeof env.NO_COLOR === 'string' && env.NO_COLOR !== '');
}

export const ThemeContext = createContext<Theme>(makeTheme(true));
export const useTheme = (): Theme => useContext(ThemeContext);

export const STATUS_COLOR: Record<Status, BasicColor> = {
  ok: 'green',
  warning: 'yellow',
  critical: 'red',
  unknown: 'gray',
};

export const SEVERITY_COLOR: Record<Severity, BasicColor> = {
  info: 'cyan',
  warning: 'yellow',
  critical: 'red',
};

export const LEVEL_COLOR: Record<Level, BasicColor | null> = {
  DEBUG: 'gray',
  INFO: null,
  WARNING: 'yellow',
  ERROR: 'red',
  CRITICAL: 'magenta',
};

/** Bar colour by fill: green below 75%, yellow below 90%, red above. */
export function fillColor(ratio: number | null): BasicColor {
  if (ratio === null || !Number.isFinite(ratio)) return 'gray';
  return ratio >= 0.9 ? 'red' : ratio >= 0.75 ? 'yellow' : 'green';
}
