// Renders a Report (see report.ts) as versioned JSON (`odoo-heal/report@1`, docs/json-format.md) or
// as Markdown (also the default human output of `odoo-heal report`), and shapes incidents for the
// HTTP `/incidents` endpoint (`odoo-heal/incidents@1`).
import { statedLevel } from '../logs/record-level.js';
import type { Effectiveness, Report, ReportAttempt, ReportIncident } from './report-types.js';
import { safeJsonStringify, sanitizeBlock } from '../text/terminal-safe.js';
import type { Incident } from '../core/types.js';
import { incidentRate } from '../incidents/incidents.js';

export const INCIDENTS_FORMAT = 'odoo-heal/incidents@1';

export function renderReportJSON(report: Report): string {
  // Also written to report.json in the state dir, which an admin may `cat`: C1/bidi escaped.
  return `${safeJsonStringify(report, 2)}\n`;
}

/** `850 ms`, `42 s`, `3.5 min`, `2.1 h`, `3.0 d`. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  const min = s / 60;
  if (min < 90) return `${min < 10 ? min.toFixed(1) : Math.round(min)} min`;
  const h = min / 60;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} d`;
}

export function formatRate(rate: number | null): string {
  return rate === null ? '—' : `${Math.round(rate * 100)}%`;
}

/** `2026-11-28 19:55:04` (UTC), the form the other commands print. */
function when(isoTime: string | null): string {
  return isoTime === null ? '—' : isoTime.slice(0, 19).replace('T', ' ');
}

/** A table cell: one line, pipes escaped, long text cut (the JSON has it whole). */
function cell(text: string, max = 120): string {
  const one = text.replace(/\r?\n.*/s, ' …').replace(/\|/g, '\\|').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((c) => cell(c)).join(' | ')} |`)];
}

function incidentRows(incidents: ReportIncident[]): string[][] {
  return incidents.map((i) => [
    `\`${i.id}\``,
    i.status,
    i.severity,
    String(i.count),
    when(i.firstSeen),
    when(i.lastSeen),
    formatDuration(i.timeToRecoverMs),
    i.title,
  ]);
}

function attemptRows(attempts: ReportAttempt[]): string[][] {
  return attempts.map((a) => [
    `\`${a.id}\``,
    when(a.startedAt),
    a.fixId,
    `\`${a.incidentId}\``,
    a.outcome.replace('_', ' '),
    a.who,
    formatDuration(a.durationMs),
    a.message,
  ]);
}

function effectivenessRows(rows: Effectiveness[]): string[][] {
  return rows.map((e) => [
    `\`${e.key}\``,
    String(e.incidents),
    String(e.matches),
    String(e.attempts),
    String(e.outcomes.verified),
    formatRate(e.successRate),
    formatDuration(e.meanTimeToRecoverMs),
  ]);
}

export function renderReportMarkdown(report: Report): string {
  const out: string[] = [];
  const s = report.summary;
  out.push(`# odoo-heal report — ${report.host}`);
  out.push('');
  out.push(`Generated ${when(report.generatedAt)} UTC, covering ${report.since ? `since ${when(report.since)} UTC` : 'all recorded history'}.`);
  out.push('');
  out.push(
    `**Health: ${s.status.toUpperCase()}** · incidents: ${s.incidents.open} open, ${s.incidents.resolved} resolved ` +
      `(${s.incidents.bySeverity.critical} critical, ${s.incidents.bySeverity.warning} warning, ${s.incidents.bySeverity.info} info) · ` +
      `fix attempts: ${s.attempts.total} (${s.attempts.byOutcome.verified} verified, success rate ${formatRate(s.attempts.successRate)}) · ` +
      `mean time to recover: ${formatDuration(s.meanTimeToRecoverMs)}`,
  );

  out.push('', '## Health', '');
  if (!report.health) {
    out.push('Current health is unknown (the check did not finish in time).');
  } else if (report.health.probes.length === 0) {
    out.push(`No probe results yet (checked ${when(report.health.checkedAt)} UTC).`);
  } else {
    out.push(`Checked ${when(report.health.checkedAt)} UTC.`, '');
    out.push(...table(['Probe', 'Status', 'Summary'], report.health.probes.map((p) => [p.probe, p.status.toUpperCase(), p.summary])));
  }

  const open = report.incidents.filter((i) => i.status !== 'resolved');
  const resolved = report.incidents.filter((i) => i.status === 'resolved');
  const incidentHeader = ['Incident', 'Status', 'Severity', 'Count', 'First seen', 'Last seen', 'Recovered in', 'Title'];
  out.push('', `## Open incidents (${open.length})`, '');
  out.push(...(open.length ? table(incidentHeader, incidentRows(open)) : ['None.']));
  out.push('', `## Resolved incidents (${resolved.length})`, '');
  out.push(...(resolved.length ? table(incidentHeader, incidentRows(resolved)) : ['None.']));

  out.push('', `## Fix attempts (${report.attempts.length})`, '');
  out.push(
    ...(report.attempts.length
      ? table(['Attempt', 'Started (UTC)', 'Fix', 'Incident', 'Outcome', 'Who', 'Took', 'Message'], attemptRows(report.attempts))
      : ['None.']),
  );

  out.push('', '## Pattern effectiveness', '');
  if (report.effectiveness.length === 0) {
    out.push('Nothing matched and nothing was fixed in this period.');
  } else {
    out.push(...table(['Pattern', 'Incidents', 'Matches', 'Attempts', 'Verified', 'Success rate', 'Mean time to recover'], effectivenessRows(report.effectiveness)));
    out.push('', 'Success rate = verified attempts / attempts (guidance-only plans are not attempts). Time to recover = first seen → first verified fix, else → resolution.');
  }

  if (report.warnings.length) {
    out.push('', '## Warnings', '');
    for (const w of report.warnings) out.push(`- ${cell(w, 400)}`);
  }
  // Also written to report.md in the state dir, which an admin may `cat`: no escape sequences.
  return sanitizeBlock(`${out.join('\n')}\n`);
}

// ------------------------------------------------------------------------------------ /incidents

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** One incident as the HTTP API shows it: the detect fields plus lifecycle (resolved/snoozed). */
export function incidentJSON(i: Incident): Record<string, unknown> {
  const s = i.sample;
  return {
    id: i.id,
    fingerprint: i.fingerprint,
    origin: i.origin,
    title: i.title,
    severity: i.severity,
    category: i.category,
    status: i.status,
    count: i.count,
    ratePerMinute: Math.round(incidentRate(i) * 100) / 100,
    firstSeen: new Date(i.firstSeen).toISOString(),
    lastSeen: new Date(i.lastSeen).toISOString(),
    resolvedAt: isoOrNull(i.resolvedAt),
    snoozedUntil: isoOrNull(i.snoozedUntil),
    hint: i.hint,
    detail: i.detail,
    fix: i.fix,
    rootId: i.rootId,
    sample: s
      ? { source: s.source, line: s.line, kind: s.kind, level: statedLevel(s), text: s.lines[0] ?? '', exception: s.exception }
      : null,
  };
}

export function incidentsJSON(host: string, incidents: readonly Incident[], now: number): Record<string, unknown> {
  return {
    format: INCIDENTS_FORMAT,
    host,
    generatedAt: new Date(now).toISOString(),
    incidents: incidents.map(incidentJSON),
  };
}
