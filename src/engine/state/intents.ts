// What a view may ask of the engine. The console calls these; it never writes the store.
import type { Level } from '../core/types.js';

export interface EngineIntents {
  /** Ask for the fix plan of an incident; the plan appears in state.plan (or a notice says why not). */
  requestPlan(incidentId: string): Promise<void>;
  /** Apply state.plan: backup, apply, verify, roll back on failure. Progress in state.busy. */
  confirmPlan(): Promise<void>;
  cancelPlan(): void;
  /** Draft and prove a pattern for an unclassified incident; the draft appears in state.suggestion
   * (or a notice says why not). Nothing is written. */
  suggestPattern(incidentId: string): Promise<void>;
  /** Write state.suggestion into the local pattern directory and load it; a notice says what happened. */
  confirmSuggestion(): Promise<void>;
  dismissSuggestion(): void;
  /** Roll back the most recent verified attempt. */
  rollbackLast(): Promise<void>;
  snooze(incidentId: string, ms?: number): void;
  dismiss(incidentId: string): void;
  setAutoHeal(on: boolean): void;
  setTailFilter(text: string): void;
  setTailMinLevel(level: Level): void;
  setTailPaused(paused: boolean): void;
}
