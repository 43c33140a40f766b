// Mattermost incoming-webhook payload, exactly the fields Mattermost documents
// (https://developers.mattermost.com/integrate/webhooks/incoming/): text, username, icon_url,
// channel (optional) and message attachments [{fallback, color, title, text, fields}].
import type { AlertTarget } from '../../config/types.js';
import type { AlertEvent, AlertKind } from '../../run/alert-sink.js';

export interface MattermostField {
  short: boolean;
  title: string;
  value: string;
}

export interface MattermostAttachment {
  fallback: string;
  color: string;
  title: string;
  text: string;
  fields: MattermostField[];
}

export interface MattermostPayload {
  text: string;
  username: string;
  icon_url?: string;
  channel?: string;
  attachments: MattermostAttachment[];
}

export type Tone = 'critical' | 'warning' | 'info' | 'resolved';

/** Attachment side-bar colour per tone (documented in docs/json-format.md). */
export const COLORS: Record<Tone, string> = {
  critical: '#d00000',
  warning: '#f0ad4e',
  info: '#439fe0',
  resolved: '#2eb886',
};

export const DEFAULT_USERNAME = 'odoo-heal';
/** Attachments per summary message; the rest are counted in its text. */
export const SUMMARY_MAX_ATTACHMENTS = 20;
/** Mattermost renders long posts poorly; a plan preview is cut here. */
const PREVIEW_MAX = 3000;

/** Good news is green whatever the incident's severity; a failed fix or a give-up is critical. */
export function toneOf(event: AlertEvent): Tone {
  switch (event.kind) {
    case 'resolved':
      return 'resolved';
    case 'fix-result':
      return event.attempt?.outcome === 'verified' ? 'resolved' : 'critical';
    case 'gave-up':
      return 'critical';
    default:
      return event.incident.severity;
  }
}

const VERB: Record<AlertKind, string> = {
  opened: 'new incident',
  'needs-human': 'needs a human',
  'fix-result': 'fix ran',
  'gave-up': 'auto-heal gave up',
  resolved: 'resolved',
};

function verb(event: AlertEvent): string {
  if (event.kind === 'fix-result') return event.attempt?.outcome === 'verified' ? 'fixed' : `fix ${event.attempt?.outcome?.replace('_', ' ') ?? 'failed'}`;
  return VERB[event.kind];
}

export function headline(event: AlertEvent, host: string): string {
  return `odoo-heal on ${host}: ${verb(event)} — ${event.incident.title}`;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function fence(text: string): string {
  const cut = text.length > PREVIEW_MAX ? `${text.slice(0, PREVIEW_MAX)}\n… (cut)` : text;
  // A ``` inside the preview would end the code block early.
  return `\`\`\`\n${cut.replace(/```/g, "'''")}\n\`\`\``;
}

export function attachment(event: AlertEvent): MattermostAttachment {
  const i = event.incident;
  const tone = toneOf(event);
  const parts: string[] = [];
  if (event.attempt) parts.push(`Attempt ${event.attempt.id} (${event.attempt.fixId}): ${event.attempt.outcome} — ${event.attempt.message}`);
  if (event.kind === 'needs-human') {
    parts.push(event.plan ? `Plan: ${event.plan.summary}\n${fence(event.plan.preview)}` : 'No fix plan is available: see the hint.');
  }
  if (i.detail) parts.push(i.detail);
  if (event.symptoms && event.symptoms.length > 0) {
    parts.push(`Also caused by this (${event.symptoms.length}):\n${event.symptoms.map((s) => `- ${s.title}`).join('\n')}`);
  }
  if (i.hint) parts.push(i.hint);
  const fields: MattermostField[] = [
    { short: true, title: 'Severity', value: i.severity },
    { short: true, title: 'Category', value: i.category },
    { short: true, title: 'Incident', value: i.id },
    { short: true, title: 'Count', value: String(i.count) },
    { short: true, title: 'First seen', value: iso(i.firstSeen) },
    { short: true, title: 'Last seen', value: iso(i.lastSeen) },
  ];
  if (i.fix) fields.push({ short: true, title: 'Fix', value: i.fix.id });
  if (event.symptoms && event.symptoms.length > 0) fields.push({ short: true, title: 'Symptoms', value: String(event.symptoms.length) });
  if (event.attempt) fields.push({ short: true, title: 'Outcome', value: event.attempt.outcome });
  return {
    fallback: `[${tone}] ${verb(event)}: ${i.title}`,
    color: COLORS[tone],
    title: i.title,
    text: parts.join('\n\n'),
    fields,
  };
}

type TargetLook = Pick<AlertTarget, 'channel' | 'username' | 'iconUrl'>;

function envelope(text: string, target: TargetLook, attachments: MattermostAttachment[]): MattermostPayload {
  const payload: MattermostPayload = { text, username: target.username ?? DEFAULT_USERNAME, attachments };
  // Optional keys are omitted rather than sent empty: Mattermost treats channel "" as an error.
  if (target.iconUrl) payload.icon_url = target.iconUrl;
  if (target.channel) payload.channel = target.channel;
  return payload;
}

/** One alert, or a summary of several that fired at once (one attachment each, capped). */
export function mattermostPayload(events: readonly AlertEvent[], host: string, target: TargetLook): MattermostPayload {
  if (events.length === 1) return envelope(headline(events[0]!, host), target, [attachment(events[0]!)]);
  const shown = events.slice(0, SUMMARY_MAX_ATTACHMENTS);
  const more = events.length - shown.length;
  const text = `odoo-heal on ${host}: ${events.length} alerts at once${more > 0 ? ` (${more} more not shown)` : ''}`;
  return envelope(text, target, shown.map(attachment));
}
