// Turns the records no pattern explains into unclassified incidents: which records qualify, which
// the admin chose to ignore, how severe each is, and which request failed with it. One instance per
// scan or per engine; every reader of logs (the byte scanner's tally, the live pipeline, a worker
// thread) feeds it the same way, so `detect`, `check` and the console agree.
import { incidentId, incidentRate, unclassifiedFingerprint, type IncidentBook } from '../incidents/incidents.js';
import type { Incident, LogRecord, Severity } from '../core/types.js';
import { failedRequestOf, isUnclassifiedCandidate, signatureOf } from '../incidents/signature.js';

/** `off`: no unclassified incidents; `warning`: at most WARNING (CRITICAL above the rate);
 * `critical`: every unclassified error is CRITICAL. */
export type UnclassifiedMode = 'off' | 'warning' | 'critical';

export interface UnclassifiedPolicy {
  mode: UnclassifiedMode;
  /** Occurrences per minute above which an unclassified incident is CRITICAL (in `warning` mode). */
  criticalPerMinute: number;
  /** Signatures, incident ids, or `/regex/` tested against the signature and the title. */
  ignore: string[];
}

export const DEFAULT_UNCLASSIFIED: UnclassifiedPolicy = { mode: 'warning', criticalPerMinute: 10, ignore: [] };

/** A `/regex/` ignore entry's source, or null for a literal entry. */
export function ignoreRegexSource(entry: string): string | null {
  return entry.length >= 2 && entry.startsWith('/') && entry.endsWith('/') ? entry.slice(1, -1) : null;
}

/** Severity of one record by its level, before the mode applies. */
function levelSeverity(record: LogRecord): Severity {
  if (record.kind === 'raw') return 'warning';
  switch (record.level) {
    case 'CRITICAL':
      return 'critical';
    case 'ERROR':
    case 'WARNING':
      return 'warning';
    default:
      return 'info';
  }
}

/** The severity a record gives its incident under `mode`. */
export function recordSeverity(record: LogRecord, mode: UnclassifiedMode): Severity {
  const s = levelSeverity(record);
  if (s === 'info') return s;
  return mode === 'critical' ? 'critical' : 'warning';
}

/** werkzeug logs the access line of a failed request right after the error, from the same process. */
interface Awaiting {
  incident: Incident;
  record: LogRecord;
}

export class UnclassifiedGrouper {
  private readonly literal = new Set<string>();
  private readonly patterns: RegExp[] = [];
  private readonly awaiting = new Map<string, Awaiting>();

  constructor(readonly policy: UnclassifiedPolicy = DEFAULT_UNCLASSIFIED) {
    for (const entry of policy.ignore) {
      const src = ignoreRegexSource(entry);
      if (src === null) this.literal.add(entry);
      else this.patterns.push(new RegExp(src));
    }
  }

  get enabled(): boolean {
    return this.policy.mode !== 'off';
  }

  /**
   * A record the matcher left unexplained. Adds it to its unclassified incident and returns that
   * incident, or null when the record does not qualify, is ignored, or the mode is off.
   */
  unmatched(record: LogRecord, book: IncidentBook, now: number): Incident | null {
    if (!this.enabled || !isUnclassifiedCandidate(record)) return null;
    const sig = signatureOf(record);
    if (this.ignored(sig.key, sig.title)) return null;
    const incident = book.addUnclassified(sig, record, recordSeverity(record, this.policy.mode), now);
    this.escalate(incident);
    if (record.kind === 'odoo') {
      if (this.awaiting.size > 256) this.awaiting.clear();
      this.awaiting.set(record.source, { incident, record });
    }
    return incident;
  }

  /** In `warning` mode, an unclassified incident above the rate becomes CRITICAL (counts merged
   * from another thread change the rate, hence public). */
  escalate(incident: Incident): void {
    if (
      incident.origin.kind === 'unclassified' &&
      this.policy.mode === 'warning' &&
      incident.severity === 'warning' &&
      incidentRate(incident) > this.policy.criticalPerMinute
    ) {
      incident.severity = 'critical';
    }
  }

  /** Every record, after `unmatched` for the unexplained ones, in source order: when the record
   * right after an unclassified error is werkzeug's 5xx line of the same process, it names the
   * failed request. Returns the incident when it learnt its request (its origin is a new object
   * then, so views see the change). */
  follows(record: LogRecord): Incident | null {
    if (this.awaiting.size === 0) return null;
    const a = this.awaiting.get(record.source);
    if (!a || a.record === record) return null;
    this.awaiting.delete(record.source);
    if (record.kind !== 'odoo' || a.record.kind !== 'odoo' || record.pid !== a.record.pid) return null;
    const request = failedRequestOf(record);
    const o = a.incident.origin;
    if (request === null || o.kind !== 'unclassified' || o.request !== null) return null;
    a.incident.origin = { ...o, request };
    return a.incident;
  }

  private ignored(signature: string, title: string): boolean {
    if (this.literal.has(signature)) return true;
    if (this.literal.size > 0 && this.literal.has(incidentId(unclassifiedFingerprint(signature)))) return true;
    for (const re of this.patterns) if (re.test(signature) || re.test(title)) return true;
    return false;
  }

}
