// The engine's single source of truth: a zustand vanilla store. Only the engine writes it (in
// batches, at most once per tick/flush); views subscribe with selectors and send intents to the
// engine instead of writing here.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AttemptSummary, Incident, Level, ProbeName, ProbeResult, TailEntry } from '../core/types.js';

export interface OdooInfo {
  version: string | null;
  mode: 'threaded' | 'prefork' | 'stopped' | 'unknown';
  configPath: string | null;
}

/** A pending plan shown to the user before they confirm it. */
export interface PlanView {
  incidentId: string;
  fixId: string;
  /** Human-readable preview: unified diff, command line or SQL. */
  preview: string;
  summary: string;
}

/** A pattern drafted for an unclassified incident, shown before the user confirms writing it. */
export interface SuggestionView {
  incidentId: string;
  patternId: string;
  /** The pattern file exactly as confirming writes it. */
  fileText: string;
  /** What the draft was proved against, one line each. */
  proof: string[];
  /** Where confirming writes it. */
  target: string | null;
  /** Why confirming cannot write it (not proved, no local directory), or null when it can. */
  refusal: string | null;
}

export interface EngineState {
  hostname: string;
  startedAt: number;
  odoo: OdooInfo;
  probes: Partial<Record<ProbeName, ProbeResult>>;
  /** Small history series for charts, newest last, bounded. */
  history: { cpu: number[]; memUsedPercent: number[]; dbLatencyMs: number[] };
  incidents: Record<string, Incident>;
  attempts: AttemptSummary[];
  tail: TailEntry[];
  tailDropped: number;
  /** `unclassified`: records no pattern explained that went to an unclassified incident. */
  counters: { linesRead: number; records: number; matches: number; unclassified: number };
  autoHeal: boolean;
  plan: PlanView | null;
  suggestion: SuggestionView | null;
  /** The fix currently running, if any (at most one at a time per host). */
  busy: { incidentId: string; fixId: string; step: string } | null;
  /** Last message for the status line (errors from intents, results of fixes). */
  notice: { text: string; severity: 'info' | 'warning' | 'critical'; at: number } | null;
  filters: { tailText: string; tailMinLevel: Level; tailPaused: boolean };
}

export type EngineStore = StoreApi<EngineState>;

export const TAIL_CAPACITY = 500;
export const HISTORY_CAPACITY = 120;

export function initialState(hostname: string, now: number): EngineState {
  return {
    hostname,
    startedAt: now,
    odoo: { version: null, mode: 'unknown', configPath: null },
    probes: {},
    history: { cpu: [], memUsedPercent: [], dbLatencyMs: [] },
    incidents: {},
    attempts: [],
    tail: [],
    tailDropped: 0,
    counters: { linesRead: 0, records: 0, matches: 0, unclassified: 0 },
    autoHeal: false,
    plan: null,
    suggestion: null,
    busy: null,
    notice: null,
    filters: { tailText: '', tailMinLevel: 'DEBUG', tailPaused: false },
  };
}

export function createEngineStore(hostname: string, now = Date.now()): EngineStore {
  return createStore<EngineState>()(() => initialState(hostname, now));
}

/** Appends to a bounded series without mutating the old array (selectors compare by reference). */
export function pushBounded<T>(series: readonly T[], items: readonly T[], capacity: number): T[] {
  const next = series.concat(items);
  return next.length > capacity ? next.slice(next.length - capacity) : next;
}
