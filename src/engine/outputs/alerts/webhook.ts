// Generic JSON webhook (n8n, Zapier, a custom receiver): one documented, versioned object per
// delivery, `odoo-heal/alert@1` (docs/json-format.md). Within a version fields are only added;
// renaming or removing one bumps the version.
import type { AttemptSummary, Category, Severity } from '../../core/types.js';
import type { AlertEvent, AlertKind } from '../../run/alert-sink.js';

export const WEBHOOK_FORMAT = 'odoo-heal/alert@1';

export interface WebhookIncident {
  id: string;
  fingerprint: string;
  title: string;
  severity: Severity;
  category: Category;
  count: number;
  /** ISO 8601 UTC. */
  firstSeen: string;
  lastSeen: string;
  hint: string;
}

export interface WebhookAttempt {
  id: string;
  fixId: string;
  who: string;
  outcome: AttemptSummary['outcome'];
  message: string;
  startedAt: string;
  finishedAt: string | null;
}

export interface WebhookAlert {
  kind: AlertKind;
  incident: WebhookIncident;
  plan?: { summary: string; preview: string };
  attempt?: WebhookAttempt;
  /** Incidents caused by this one (same cause, not alerted on their own): id and title. */
  symptoms?: { id: string; title: string }[];
}

/** One alert: `kind` + `incident` (+ plan/attempt). Many at once: kind `summary` + `alerts`. */
export type WebhookPayload =
  | ({ format: typeof WEBHOOK_FORMAT } & WebhookAlert & { host: string; at: string })
  | { format: typeof WEBHOOK_FORMAT; kind: 'summary'; alerts: WebhookAlert[]; host: string; at: string };

const iso = (ms: number): string => new Date(ms).toISOString();

export function webhookAlert(event: AlertEvent): WebhookAlert {
  const i = event.incident;
  const out: WebhookAlert = {
    kind: event.kind,
    incident: {
      id: i.id,
      fingerprint: i.fingerprint,
      title: i.title,
      severity: i.severity,
      category: i.category,
      count: i.count,
      firstSeen: iso(i.firstSeen),
      lastSeen: iso(i.lastSeen),
      hint: i.hint,
    },
  };
  if (event.plan) out.plan = { summary: event.plan.summary, preview: event.plan.preview };
  if (event.symptoms && event.symptoms.length > 0) out.symptoms = event.symptoms.map((s) => ({ id: s.id, title: s.title }));
  if (event.attempt) {
    const a = event.attempt;
    out.attempt = {
      id: a.id,
      fixId: a.fixId,
      who: a.who,
      outcome: a.outcome,
      message: a.message,
      startedAt: iso(a.startedAt),
      finishedAt: a.finishedAt === null ? null : iso(a.finishedAt),
    };
  }
  return out;
}

export function webhookPayload(events: readonly AlertEvent[], host: string, at: number): WebhookPayload {
  if (events.length === 1) return { format: WEBHOOK_FORMAT, ...webhookAlert(events[0]!), host, at: iso(at) };
  return { format: WEBHOOK_FORMAT, kind: 'summary', alerts: events.map(webhookAlert), host, at: iso(at) };
}
