// Every key of the console, in one place. The input handler asks `actionFor`, the help overlay
// lists KEYMAP, the footer shows the bindings marked `footer`. Adding a key here is the only way
// to add a key.
import type { Key } from 'ink';

export type Action =
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'open'
  | 'back'
  | 'plan'
  | 'suggest'
  | 'confirm'
  | 'cancel'
  | 'rollback'
  | 'snooze'
  | 'dismiss'
  | 'autoHeal'
  | 'filter'
  | 'level'
  | 'pause'
  | 'expand'
  | 'focus'
  | 'help'
  | 'refresh'
  | 'quit';

export type FooterMode = 'browse' | 'prompt';

export interface Binding {
  action: Action;
  /** How the key is written in the help overlay. */
  keys: string;
  /** Short label for the footer, and when it is shown there: while browsing panes, while a plan or
   * question waits for an answer, or both; `unclassified`: only while the selected incident is one.
   * Bindings without one appear only in the help overlay. */
  footer?: { label: string; when: FooterMode | 'both'; unclassified?: true };
  description: string;
  match(input: string, key: Key): boolean;
}

const plain = (key: Key): boolean => !key.ctrl && !key.meta;

export const KEYMAP: readonly Binding[] = [
  {
    action: 'up',
    keys: '↑ / k',
    footer: { label: '↑↓ move', when: 'both' },
    description: 'move up in the focused pane',
    match: (i, k) => k.upArrow || (i === 'k' && plain(k)),
  },
  {
    action: 'down',
    keys: '↓ / j',
    description: 'move down in focused pane',
    match: (i, k) => k.downArrow || (i === 'j' && plain(k)),
  },
  { action: 'pageUp', keys: 'PgUp', description: 'page up', match: (_i, k) => k.pageUp },
  { action: 'pageDown', keys: 'PgDn', description: 'page down', match: (_i, k) => k.pageDown },
  {
    action: 'open',
    keys: 'Enter',
    footer: { label: '⏎ open', when: 'browse' },
    description: 'open / close the incident',
    match: (_i, k) => k.return,
  },
  { action: 'back', keys: 'Esc', footer: { label: 'Esc back', when: 'prompt' }, description: 'close detail, help, prompt', match: (_i, k) => k.escape },
  {
    action: 'plan',
    keys: 'f',
    footer: { label: 'f fix', when: 'browse' },
    description: 'fix plan for the incident',
    match: (i, k) => i === 'f' && plain(k),
  },
  {
    action: 'suggest',
    keys: 'p',
    footer: { label: 'p pattern', when: 'browse', unclassified: true },
    description: 'draft a pattern (unclassified)',
    match: (i, k) => i === 'p' && plain(k),
  },
  {
    action: 'confirm',
    keys: 'y',
    footer: { label: 'y yes', when: 'prompt' },
    description: 'yes: apply plan / confirm',
    match: (i, k) => i === 'y' && plain(k),
  },
  {
    action: 'cancel',
    keys: 'n',
    footer: { label: 'n no', when: 'prompt' },
    description: 'no: cancel plan / question',
    match: (i, k) => i === 'n' && plain(k),
  },
  {
    action: 'rollback',
    keys: 'u',
    footer: { label: 'u undo', when: 'browse' },
    description: 'roll back last fix (asks)',
    match: (i, k) => i === 'u' && plain(k),
  },
  {
    action: 'snooze',
    keys: 'i',
    footer: { label: 'i snooze', when: 'browse' },
    description: 'snooze selected incident',
    match: (i, k) => i === 'i' && plain(k),
  },
  {
    action: 'dismiss',
    keys: 'x',
    description: 'dismiss selected incident',
    match: (i, k) => i === 'x' && plain(k),
  },
  {
    action: 'autoHeal',
    keys: 'A',
    footer: { label: 'A auto', when: 'browse' },
    description: 'auto-heal on/off (asks)',
    match: (i, k) => i === 'A' && plain(k),
  },
  {
    action: 'filter',
    keys: '/',
    footer: { label: '/ filter', when: 'browse' },
    description: 'filter the log by text',
    match: (i, k) => i === '/' && plain(k),
  },
  {
    action: 'level',
    keys: 'L',
    description: 'cycle log minimum level',
    match: (i, k) => i === 'L' && plain(k),
  },
  {
    action: 'pause',
    keys: 'space',
    description: 'pause / resume the log',
    match: (i, k) => i === ' ' && plain(k),
  },
  {
    action: 'expand',
    keys: 'e',
    description: 'expand / fold tracebacks',
    match: (i, k) => i === 'e' && plain(k),
  },
  {
    action: 'focus',
    keys: 'Tab',
    footer: { label: 'tab pane', when: 'browse' },
    description: 'next pane: queue/log/procs',
    match: (_i, k) => k.tab,
  },
  {
    action: 'help',
    keys: '?',
    footer: { label: '? help', when: 'both' },
    description: 'this help',
    match: (i) => i === '?',
  },
  {
    action: 'quit',
    keys: 'q / Ctrl-C',
    footer: { label: 'q quit', when: 'both' },
    description: 'quit, restore terminal',
    match: (i, k) => (i === 'q' && plain(k)) || (i === 'c' && k.ctrl),
  },
];

export function actionFor(input: string, key: Key): Action | null {
  for (const binding of KEYMAP) if (binding.match(input, key)) return binding.action;
  return null;
}

/** The footer's key hints for a mode, in keymap order; `unclassified`: the selected incident is one. */
export function footerHints(mode: FooterMode, unclassified = false): string[] {
  return KEYMAP.flatMap((b) =>
    b.footer && (b.footer.when === mode || b.footer.when === 'both') && (!b.footer.unclassified || unclassified) ? [b.footer.label] : [],
  );
}

/** How a binding's key is written (for in-pane hints that must stay in step with the keymap). */
export function keysOf(action: Action): string {
  return KEYMAP.find((b) => b.action === action)?.keys ?? '?';
}

/** The fleet view (`odoo-heal fleet`): the console's own bindings for what both do, plus refresh. */
const FLEET_SHARED: readonly Action[] = ['up', 'down', 'pageUp', 'pageDown', 'open', 'back', 'help', 'quit'];
export const FLEET_KEYMAP: readonly Binding[] = [
  ...KEYMAP.filter((b) => FLEET_SHARED.includes(b.action)).map((b) =>
    b.action === 'open' ? { ...b, description: 'open / close the host', footer: { label: '⏎ host', when: 'both' as const } } : b,
  ),
  {
    action: 'refresh',
    keys: 'r',
    footer: { label: 'r refresh', when: 'both' },
    description: 'read Prometheus again now',
    match: (i, k) => i === 'r' && plain(k),
  },
];

export function fleetActionFor(input: string, key: Key): Action | null {
  for (const binding of FLEET_KEYMAP) if (binding.match(input, key)) return binding.action;
  return null;
}
