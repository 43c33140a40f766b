// What the panes read: the engine's store, with log-driven updates coalesced. The engine flushes
// followed logs into the store every 100 ms; under a log storm every flush changes the tail, the
// counters and usually an incident count, and Ink redraws the whole frame (the full 120x40 grid,
// ~10 MB of garbage) for each. People cannot read a tail moving 10 times a second, so log-driven
// changes reach the panes at most every `LOG_FRAME_MS`; everything else (keys, plans, fix
// progress, filters, probe rounds) goes through at once and brings any pending log change with it.
// The first log change after a quiet spell is shown at once too: only storms are slowed down.
import type { StoreApi } from 'zustand';
import type { EngineState, EngineStore } from '../engine/state/store.js';

/** At most this often (ms) a log flush reaches the screen during a burst. */
export const LOG_FRAME_MS = 250;

export type ViewStore = Pick<StoreApi<EngineState>, 'getState' | 'getInitialState' | 'subscribe'>;

type Listener = (state: EngineState, previous: EngineState) => void;

/** A change that only a log flush makes (new records, counters), as opposed to anything else. */
function logDriven(next: EngineState, prev: EngineState): boolean {
  if (next.tail === prev.tail && next.counters === prev.counters) return false;
  for (const key of Object.keys(next) as (keyof EngineState)[]) {
    if (next[key] !== prev[key] && key !== 'tail' && key !== 'tailDropped' && key !== 'counters' && key !== 'incidents') {
      return false;
    }
  }
  return true;
}

/**
 * A read-only store over `source` for zustand's `useStore`. It follows `source` only while someone
 * listens (the mounted console), so it needs no disposal: the last unsubscribe stops it.
 */
export function createViewStore(source: EngineStore, frameMs = LOG_FRAME_MS): ViewStore {
  const listeners = new Set<Listener>();
  let view: EngineState | null = null;
  let lastLogFrame = 0;
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;

  const publish = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const previous = view ?? source.getState();
    view = source.getState();
    if (view === previous) return;
    for (const listener of [...listeners]) listener(view, previous);
  };

  const onSourceChange = (next: EngineState, previous: EngineState) => {
    if (!logDriven(next, previous)) {
      publish();
      return;
    }
    if (timer) return; // a frame is already scheduled; it will show the latest state
    const wait = lastLogFrame + frameMs - Date.now();
    const logFrame = () => {
      lastLogFrame = Date.now();
      publish();
    };
    if (wait <= 0) {
      logFrame();
    } else {
      timer = setTimeout(logFrame, wait);
      timer.unref?.();
    }
  };

  return {
    getState: () => view ?? source.getState(),
    getInitialState: () => source.getInitialState(),
    subscribe(listener: Listener) {
      listeners.add(listener);
      if (!unsubscribe) {
        view = source.getState();
        unsubscribe = source.subscribe(onSourceChange);
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0 || !unsubscribe) return;
        unsubscribe();
        unsubscribe = null;
        if (timer) clearTimeout(timer);
        timer = null;
        view = null;
      };
    },
  };
}
