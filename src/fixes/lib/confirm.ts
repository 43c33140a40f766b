// Probe confirmation before a disruptive action (restart, terminate, delete). Anyone who can reach
// Odoo's login page can forge log records, so an incident born from log text is only a reason to
// LOOK: the action runs when a probe, run at plan time, sees the condition itself. An incident born
// from a probe is confirmed by the same probe still reporting the same finding. The plan carries the
// confirmation (what was checked, when, what it saw) so the admin, the audit log and --json see what
// the decision relied on.
import type { Incident, ProbeName, ProbeResult } from '../../engine/core/types.js';
import type { FixContext } from '../types.js';

export interface Confirmation {
  confirmed: boolean;
  /** What was checked: "database probe", "disk usage of /var/lib/odoo/sessions", ... */
  check: string;
  /** One line: what the check saw. */
  observed: string;
  checkedAt: number;
}

export function confirmationLine(c: Confirmation): string {
  return `${c.confirmed ? 'Confirmed' : 'Not confirmed'} by the ${c.check} at ${new Date(c.checkedAt).toISOString()}: ${c.observed}`;
}

/** Whether the incident comes from a log record (pattern or unclassified) rather than from a probe. */
export function logDerived(incident: Incident): boolean {
  return incident.origin.kind !== 'probe';
}

async function runProbe(ctx: FixContext, name: ProbeName): Promise<{ result: ProbeResult | null; error: string | null }> {
  try {
    return { result: await ctx.probe(name), error: null };
  } catch (err) {
    return { result: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Runs `name` and confirms when `evidence` returns a line (the condition holds); a probe that fails
 * or reports `unknown` confirms nothing.
 */
export async function probeConfirms(ctx: FixContext, name: ProbeName, evidence: (r: ProbeResult) => string | null): Promise<Confirmation> {
  const checkedAt = Date.now();
  const check = `${name} probe`;
  const { result, error } = await runProbe(ctx, name);
  if (!result) return { confirmed: false, check, observed: `the probe failed (${error ?? 'no result'})`, checkedAt };
  if (result.status === 'unknown') return { confirmed: false, check, observed: `the probe could not tell (${result.summary})`, checkedAt };
  const seen = evidence(result);
  return seen ? { confirmed: true, check, observed: seen, checkedAt } : { confirmed: false, check, observed: `${result.status}: ${result.summary}`, checkedAt };
}

/** The evidence line of a non-info finding with one of `keys` (or matching the predicate). */
export function findingWith(match: (f: ProbeResult['findings'][number]) => boolean): (r: ProbeResult) => string | null {
  return (r) => {
    const f = r.findings.find((x) => x.severity !== 'info' && match(x));
    return f ? `${f.severity}: ${f.title}` : null;
  };
}

/** A probe-born incident: the same probe, now, still reports the same finding. Null for log-born ones. */
export async function originStillHolds(incident: Incident, ctx: FixContext): Promise<Confirmation | null> {
  if (incident.origin.kind !== 'probe') return null;
  const { key } = incident.origin;
  return probeConfirms(ctx, incident.origin.probe, findingWith((f) => f.key === key));
}
