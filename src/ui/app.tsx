// The console: a view on the engine's store. It renders state and sends intents; the only state it
// keeps is about the view itself (focus, selection, scroll, open overlays, a question being asked).
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import { errorMessage } from '../engine/core/errors.js';
import type { EngineIntents } from '../engine/state/intents.js';
import type { EngineStore } from '../engine/state/store.js';
import { DatabasePane } from './database-pane.js';
import { DiskPane } from './disk-pane.js';
import { installFastOutput } from './fast-output.js';
import { EngineContext, useEngine, useEngineHandle, type EngineHandle } from './context.js';
import { Footer, StatusLine, type LocalNotice } from './footer.js';
import { Header } from './header.js';
import { HelpOverlay } from './help-overlay.js';
import { useTerminalSize } from './hooks.js';
import { IncidentDetail } from './incident-detail.js';
import { IncidentPane } from './incident-pane.js';
import { actionFor, type Action } from './keymap.js';
import { computeLayout, MIN_COLUMNS, MIN_ROWS, tooSmall } from './layout.js';
import { LogPane } from './log-pane.js';
import { MemoryPane } from './memory-pane.js';
import { PlanView } from './plan-view.js';
import { SuggestionView } from './suggestion-view.js';
import { ProcessPane } from './process-pane.js';
import { sanitizeText } from './sanitize.js';
import { mountGuarded, type MountedView } from './mount.js';
import { createViewStore } from './view-store.js';
import { colorWanted, makeTheme, ThemeContext } from './theme.js';
import { nextLevel, sortIncidents } from './view-models.js';

type Focus = 'queue' | 'log' | 'process';
type InkKey = Parameters<Parameters<typeof useInput>[0]>[1];

/** The Key Ink reports for a plain printable character. */
const PLAIN_KEY: InkKey = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};
const FOCUS_ORDER: readonly Focus[] = ['queue', 'log', 'process'];

type Prompt = { kind: 'rollback'; question: string } | { kind: 'autoHeal'; on: boolean; question: string };

const STEP: Partial<Record<Action, number>> = { up: -1, down: 1, pageUp: -10, pageDown: 10 };

function Console() {
  const { store, intents } = useEngineHandle();
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize();
  const incidents = useEngine((s) => s.incidents);
  const hasPlan = useEngine((s) => s.plan !== null);
  const hasSuggestion = useEngine((s) => s.suggestion !== null);
  const sorted = useMemo(() => sortIncidents(incidents), [incidents]);

  const [focus, setFocus] = useState<Focus>('queue');
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [detailOpen, setDetailOpen] = useState(false);
  const [help, setHelp] = useState(false);
  const [prompt, setPrompt] = useState<Prompt | null>(null);
  const [filterDraft, setFilterDraft] = useState<string | null>(null);
  const [expanded, setExpanded] = useState(false);
  const [logSkip, setLogSkip] = useState(0);
  const [procScroll, setProcScroll] = useState(0);
  const [overlayScroll, setOverlayScroll] = useState(0);
  /** An intent whose result has not reached the store yet, in words for the status line. */
  const [pending, setPending] = useState<string | null>(null);
  const [localNotice, setLocalNotice] = useState<LocalNotice | null>(null);
  const overlayMax = useRef(0);

  // The selection follows its incident when the queue re-sorts; if it vanished, the top one.
  const selected = sorted.find((i) => i.id === selectedId) ?? sorted[0] ?? null;

  useEffect(() => {
    setOverlayScroll(0);
    if (hasPlan || hasSuggestion) setPending(null);
  }, [hasPlan, hasSuggestion]);

  const note = (text: string, severity: LocalNotice['severity'] = 'info') =>
    setLocalNotice({ text, severity, at: Date.now() });

  /** Sends an intent; a rejection becomes a notice instead of an unhandled error. */
  const send = (fn: () => Promise<void> | void, after?: () => void) => {
    try {
      const result = fn();
      if (result instanceof Promise) {
        result.then(after, (err: unknown) => {
          after?.();
          note(errorMessage(err), 'critical');
        });
      } else {
        after?.();
      }
    } catch (err) {
      after?.();
      note(errorMessage(err), 'critical');
    }
  };

  const layout = computeLayout(columns, rows);

  const move = (action: Action) => {
    const step = STEP[action] ?? 0;
    if (focus === 'queue') {
      if (sorted.length === 0) return;
      const index = Math.max(0, sorted.findIndex((i) => i.id === selected?.id));
      const next = sorted[Math.max(0, Math.min(sorted.length - 1, index + step))];
      if (next) setSelectedId(next.id);
    } else if (focus === 'log') {
      // Scrolling up means more rows hidden below; down returns towards the newest.
      setLogSkip((s) => Math.max(0, Math.min(store.getState().tail.length * 4, s - step)));
    } else {
      setProcScroll((s) => Math.max(0, s + step));
    }
  };

  const handleText = (input: string, key: InkKey) => {
    if (key.return) {
      const text = (filterDraft ?? '').trim();
      send(() => intents.setTailFilter(text));
      setFilterDraft(null);
      setLogSkip(0);
    } else if (key.escape) {
      setFilterDraft(null);
    } else if (key.backspace || key.delete) {
      setFilterDraft((d) => (d ?? '').slice(0, -1));
    } else if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow) {
      setFilterDraft((d) => `${d ?? ''}${sanitizeText(input)}`.slice(0, 200));
    }
  };

  const handleKey = (input: string, key: InkKey) => {
      const action = actionFor(input, key);
      if (filterDraft !== null) {
        if (input === 'c' && key.ctrl) exit();
        else handleText(input, key);
        return;
      }
      if (action === 'quit') {
        exit();
        return;
      }
      if (help) {
        if (action === 'help' || action === 'back') setHelp(false);
        return;
      }
      if (action === 'help') {
        setHelp(true);
        return;
      }
      const state = store.getState();
      if (prompt) {
        if (action === 'confirm') {
          if (prompt.kind === 'rollback') send(() => intents.rollbackLast());
          else send(() => intents.setAutoHeal(prompt.on));
          setPrompt(null);
        } else if (action === 'cancel' || action === 'back') {
          setPrompt(null);
          note('cancelled');
        }
        return;
      }
      if (state.plan) {
        if (action === 'confirm') {
          if (state.busy) note(`a fix is already running (${state.busy.fixId})`, 'warning');
          else send(() => intents.confirmPlan());
        } else if (action === 'cancel' || action === 'back') {
          send(() => intents.cancelPlan());
        } else if (action && action in STEP) {
          setOverlayScroll((s) => Math.max(0, Math.min(overlayMax.current, s + (STEP[action] ?? 0))));
        }
        return;
      }
      if (state.suggestion) {
        if (action === 'confirm') {
          setPending('writing the pattern');
          send(() => intents.confirmSuggestion(), () => setPending(null));
        } else if (action === 'cancel' || action === 'back') {
          send(() => intents.dismissSuggestion());
          note('pattern draft closed: nothing written');
        } else if (action && action in STEP) {
          setOverlayScroll((s) => Math.max(0, Math.min(overlayMax.current, s + (STEP[action] ?? 0))));
        }
        return;
      }
      if (detailOpen) {
        if (action === 'back' || action === 'open') {
          setDetailOpen(false);
          return;
        }
        if (action && action in STEP) {
          setOverlayScroll((s) => Math.max(0, Math.min(overlayMax.current, s + (STEP[action] ?? 0))));
          return;
        }
      }
      switch (action) {
        case 'up':
        case 'down':
        case 'pageUp':
        case 'pageDown':
          move(action);
          return;
        case 'open':
          if (selected) {
            setSelectedId(selected.id);
            setOverlayScroll(0);
            setDetailOpen(true);
          }
          return;
        case 'plan':
          if (!selected) note('no incident selected', 'warning');
          else if (!selected.fix) note(`no automatic fix for “${selected.title}”`, 'warning');
          else {
            setPending('preparing the fix plan');
            send(() => intents.requestPlan(selected.id), () => setPending(null));
          }
          return;
        case 'suggest':
          if (!selected) note('no incident selected', 'warning');
          else {
            // The engine says why when the incident is not unclassified.
            setPending('drafting and proving a pattern');
            send(() => intents.suggestPattern(selected.id), () => setPending(null));
          }
          return;
        case 'rollback': {
          const last = [...state.attempts].reverse().find((a) => a.outcome === 'verified');
          const what = last ? `${last.fixId} (attempt ${last.id})` : 'the most recent verified fix';
          setPrompt({ kind: 'rollback', question: `Roll back ${what}?` });
          return;
        }
        case 'snooze':
          if (selected) send(() => intents.snooze(selected.id));
          return;
        case 'dismiss':
          if (selected) send(() => intents.dismiss(selected.id));
          return;
        case 'autoHeal': {
          const on = !state.autoHeal;
          setPrompt({
            kind: 'autoHeal',
            on,
            question: on
              ? 'Turn auto-heal ON for this run (allowlisted fixes run unattended)?'
              : 'Turn auto-heal OFF for this run?',
          });
          return;
        }
        case 'filter':
          setFilterDraft(state.filters.tailText);
          return;
        case 'level':
          send(() => intents.setTailMinLevel(nextLevel(state.filters.tailMinLevel)));
          setLogSkip(0);
          return;
        case 'pause':
          send(() => intents.setTailPaused(!state.filters.tailPaused));
          return;
        case 'expand':
          setExpanded((e) => !e);
          return;
        case 'focus':
          setFocus((f) => FOCUS_ORDER[(FOCUS_ORDER.indexOf(f) + 1) % FOCUS_ORDER.length] ?? 'queue');
          return;
        default:
          return;
      }
  };

  // Keys typed faster than a frame (tmux send-keys, a paste, key repeat over slow SSH) arrive as one
  // input string: queue them and handle one per render, so each key sees the state the previous made.
  const [queued, setQueued] = useState<string>('');
  useEffect(() => {
    if (queued.length === 0) return;
    const [first = '', ...rest] = queued;
    setQueued(rest.join(''));
    handleKey(first, PLAIN_KEY);
  }, [queued]);

  useInput(
    (input, key) => {
      if (filterDraft === null && input.length > 1 && !key.ctrl && !key.meta && /^[\x20-\x7e]+$/.test(input)) {
        setQueued((q) => q + input);
        return;
      }
      handleKey(input, key);
    },
    // Without raw mode (stdin not a TTY) Ink's useInput throws; compare with true (it can be undefined).
    { isActive: isRawModeSupported === true },
  );

  if (tooSmall(columns, rows)) {
    return (
      <Box width={columns} height={Math.max(1, rows - 1)}>
        <Text wrap="wrap">
          odoo-heal needs a terminal of at least {MIN_COLUMNS}x{MIN_ROWS} (this one is {columns}x{rows}). Enlarge it,
          or press q to quit.
        </Text>
      </Box>
    );
  }

  const { top } = layout;
  let body;
  if (help) {
    body = <HelpOverlay width={layout.width} height={layout.bodyHeight} />;
  } else if (hasPlan) {
    body = <PlanView width={layout.width} height={layout.bodyHeight} scroll={overlayScroll} maxScroll={overlayMax} />;
  } else if (hasSuggestion) {
    body = <SuggestionView width={layout.width} height={layout.bodyHeight} scroll={overlayScroll} maxScroll={overlayMax} />;
  } else if (detailOpen && selected) {
    body = (
      <IncidentDetail
        incidentId={selected.id}
        width={layout.width}
        height={layout.bodyHeight}
        scroll={overlayScroll}
        maxScroll={overlayMax}
      />
    );
  } else {
    body = (
      <>
        <Box flexDirection="row" height={top.height}>
          <ProcessPane width={top.process} height={top.height} focused={focus === 'process'} scroll={procScroll} />
          <Box width={1} />
          <DatabasePane width={top.database} height={top.height} />
          <Box width={1} />
          {top.columns === 4 ? (
            <>
              <MemoryPane width={top.memory} height={top.height} chart={top.charts} />
              <Box width={1} />
              <DiskPane width={top.disk} height={top.height} />
            </>
          ) : (
            <Box flexDirection="column" width={top.memory}>
              <MemoryPane width={top.memory} height={top.memoryHeight} chart={top.charts} />
              <DiskPane width={top.disk} height={top.height - top.memoryHeight} />
            </Box>
          )}
        </Box>
        <IncidentPane
          width={layout.width}
          height={layout.queueHeight}
          focused={focus === 'queue'}
          selectedId={selected?.id ?? null}
        />
        <LogPane width={layout.width} height={layout.logHeight} focused={focus === 'log'} expanded={expanded} skip={logSkip} />
      </>
    );
  }
  const question = prompt?.question ?? null;
  return (
    <Box flexDirection="column" width={layout.width} height={layout.height}>
      <Header width={layout.width} />
      <Box flexDirection="column" height={layout.bodyHeight} overflowY="hidden">
        {body}
      </Box>
      <StatusLine
        width={layout.width}
        question={question}
        filterDraft={filterDraft}
        pending={pending}
        localNotice={localNotice}
      />
      <Footer
        width={layout.width}
        mode={question || hasPlan || hasSuggestion ? 'prompt' : 'browse'}
        unclassified={selected?.origin.kind === 'unclassified'}
      />
    </Box>
  );
}

export interface ConsoleAppProps {
  engine: { store: EngineStore; intents: EngineIntents };
  /** false: no colour at all (NO_COLOR, --no-color). */
  color?: boolean;
}

export function ConsoleApp({ engine, color = true }: ConsoleAppProps) {
  const theme = useMemo(() => makeTheme(color), [color]);
  // The panes read the engine's store through a view that coalesces log storms (view-store.ts).
  const { store, intents } = engine;
  const handle = useMemo<EngineHandle>(() => ({ store: createViewStore(store), intents }), [store, intents]);
  return (
    <EngineContext.Provider value={handle}>
      <ThemeContext.Provider value={theme}>
        <Console />
      </ThemeContext.Provider>
    </EngineContext.Provider>
  );
}

export interface RenderConsoleOptions {
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  /** Default: on unless NO_COLOR is set. */
  color?: boolean;
}

/** waitUntilExit() resolves once the console has ended (q, a signal, a hang-up) and the terminal is restored. */
export type ConsoleHandle = MountedView;

export function renderConsole(
  engine: { store: EngineStore; intents: EngineIntents },
  opts: RenderConsoleOptions = {},
): ConsoleHandle {
  // Ink 6 rebuilds every cell of the frame on each render; this reuses unchanged rows (same bytes).
  // Only for the pinned Ink 6.8.0: Ink 7 does this itself but needs Node 22 (see fast-output.ts).
  installFastOutput();
  return mountGuarded(<ConsoleApp engine={{ store: engine.store, intents: engine.intents }} color={opts.color ?? colorWanted(process.env)} />, {
    stdout: opts.stdout,
    stdin: opts.stdin,
    stderr: opts.stderr,
    maxFps: 20,
  });
}
