// The store and intents reach the panes through context so that pane props stay primitive
// (width, height, focus) and React.memo can skip panes whose inputs did not change.
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { EngineIntents } from '../engine/state/intents.js';
import type { EngineState } from '../engine/state/store.js';
import type { ViewStore } from './view-store.js';

export interface EngineHandle {
  /** Read-only for the UI: the engine's store itself, or the console's coalescing view of it. */
  store: ViewStore;
  intents: EngineIntents;
}

export const EngineContext = createContext<EngineHandle | null>(null);

export function useEngineHandle(): EngineHandle {
  const handle = useContext(EngineContext);
  if (!handle) throw new Error('console component rendered outside <EngineContext>');
  return handle;
}

/**
 * Subscribes to one slice of the store. The selector must return a primitive or an object that is
 * already in the state (never a fresh object: zustand 5 would re-render forever).
 */
export function useEngine<T>(selector: (s: EngineState) => T): T {
  return useStore(useEngineHandle().store, selector);
}
