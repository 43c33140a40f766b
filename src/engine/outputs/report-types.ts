// The report's shape, read by both the builder (report.ts) and the renderers (report-format.ts).
import type { AttemptOutcome, Incident, PatternFix, Severity, Status } from '../core/types.js';
import type { HealthReport } from '../run/health.js';

export const REPORT_FORMAT = 'odoo-heal/report@1';

export const OUTCOMES: readonly AttemptOutcome[] = ['planned', 'running', 'verified', 'failed', 'rolled_back', 'refused'];

/** Where an incident comes from, which is also the key its effectiveness is counted under. */
export type IncidentSourceKind = 'pattern' | 'probe' | 'engine' | 'unclassified' | 'unknown';

export interface ReportIncident {
  id: string;
  fingerprint: string;
  kind: IncidentSourceKind;
  /** Pattern id, probe fingerprint (`probe:database:down`) or engine fingerprint. */
  key: string;
  title: string;
  severity: Severity;
  category: string;
  status: Incident['status'];
  count: number;
  firstSeen: string;
  lastSeen: string;
  resolvedAt: string | null;
  /** First verified fix, else the resolution; null while unrecovered. */
  recoveredAt: string | null;
  timeToRecoverMs: number | null;
  detail: string;
  fix: PatternFix | null;
  attempts: string[];
}

export interface ReportAttempt {
  id: string;
  incidentId: string;
  /** Effectiveness key of the attempt's incident, or null when the incident is not known any more. */
  key: string | null;
  fixId: string;
  who: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  outcome: AttemptOutcome;
  message: string;
  rollback: { at: string; ok: boolean; automatic: boolean; who: string } | null;
}

export interface Effectiveness {
  key: string;
  kind: IncidentSourceKind;
  title: string;
  incidents: number;
  open: number;
  resolved: number;
  /** Sum of the incidents' match counts (log records or failing probe rounds). */
  matches: number;
  /** Attempts that tried to heal (every outcome except guidance-only `planned`). */
  attempts: number;
  outcomes: Record<AttemptOutcome, number>;
  /** verified / attempts; null when there was no attempt. */
  successRate: number | null;
  /** Incidents with a recovery time. */
  recovered: number;
  meanTimeToRecoverMs: number | null;
}

export interface Report {
  format: typeof REPORT_FORMAT;
  host: string;
  generatedAt: string;
  since: string | null;
  /** Current health, same content as `check --json` (format odoo-heal/check@1); null if not known. */
  health: HealthReport | null;
  summary: {
    status: Status;
    incidents: { total: number; open: number; resolved: number; bySeverity: Record<Severity, number> };
    attempts: { total: number; byOutcome: Record<AttemptOutcome, number>; successRate: number | null };
    meanTimeToRecoverMs: number | null;
  };
  incidents: ReportIncident[];
  attempts: ReportAttempt[];
  effectiveness: Effectiveness[];
  warnings: string[];
}

