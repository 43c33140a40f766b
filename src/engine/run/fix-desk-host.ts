// What the fix desk needs from the engine that owns it: an interface, so fix-desk.ts never imports
// engine.ts (the engine creates the desk, not the other way round).
import type { Config, OdooConf } from '../config/types.js';
import type { Finding, Incident, ProbeName, ProbeResult } from '../core/types.js';
import type { IncidentBook } from '../incidents/incidents.js';
import type { EngineStore } from '../state/store.js';

export type EngineEvent = { level: 'info' | 'warning' | 'error'; event: string; [k: string]: unknown };

export interface FixDeskHost {
  readonly config: Config;
  readonly odoo: OdooConf;
  readonly store: EngineStore;
  readonly book: IncidentBook;
  runProbe(name: ProbeName): Promise<ProbeResult>;
  notice(text: string, severity?: 'info' | 'warning' | 'critical'): void;
  markIncidentsDirty(): void;
  raiseFinding(finding: Finding): Incident;
  emitEvent(event: EngineEvent): void;
}
