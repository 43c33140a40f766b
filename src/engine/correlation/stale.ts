// No stale alarms at start: an incident rebuilt from log history (all its records older than the
// watch) is over already when a probe now shows the opposite, or when a fix of it was verified
// after its last record. Pure: the engine and `check` pass what they know.
import type { Incident, ProbeName, ProbeResult } from '../core/types.js';

export interface StaleContext {
  /** When watching began: records before it are history. */
  startedAt: number;
  now: number;
  /** This round's probe results (a probe that has not run proves nothing). */
  probes: Partial<Record<ProbeName, ProbeResult>>;
  /** Pattern id → the probe whose pass ends its incidents (Pattern.clearsWith). */
  clearsWith: ReadonlyMap<string, ProbeName>;
  /** Incident id → when its latest verified fix attempt finished. */
  verifiedFixAt: ReadonlyMap<string, number>;
  /** When Odoo's running main process started, if known. */
  odooStartedAt: number | null;
}

export interface Stale {
  /** When it ended: the fix's time, or now for a probe's word. */
  at: number;
  why: string;
}

/** A probe that ran and did not fail: the component answers (a warning is about figures, not reachability). */
function passed(r: ProbeResult | undefined): boolean {
  return r !== undefined && (r.status === 'ok' || r.status === 'warning');
}

/** Why a replayed incident is already over, or null when it may be live (or is not replayed). */
export function staleReason(i: Incident, ctx: StaleContext): Stale | null {
  if (i.status === 'resolved' || i.lastSeen >= ctx.startedAt) return null;
  const fixedAt = ctx.verifiedFixAt.get(i.id);
  if (fixedAt !== undefined && i.lastSeen <= fixedAt) return { at: fixedAt, why: 'a verified fix came after its last record' };
  if (i.origin.kind !== 'pattern') return null;
  const probe = ctx.clearsWith.get(i.origin.patternId);
  if (probe && passed(ctx.probes[probe])) return { at: ctx.now, why: `the ${probe} probe passes now` };
  // Dead cron threads belong to one Odoo process: a process started after the record has live ones.
  if (i.origin.patternId === 'cron-thread-crashed' && ctx.odooStartedAt !== null && ctx.odooStartedAt > i.lastSeen) {
    return { at: ctx.now, why: 'Odoo was restarted after it' };
  }
  return null;
}

/** Whether the answer may still change once the probes have run (so the engine waits for them). */
export function awaitsProbes(i: Incident, ctx: Pick<StaleContext, 'startedAt' | 'clearsWith'>): boolean {
  if (i.status === 'resolved' || i.lastSeen >= ctx.startedAt || i.origin.kind !== 'pattern') return false;
  return ctx.clearsWith.has(i.origin.patternId) || i.origin.patternId === 'cron-thread-crashed';
}

/** Incident id → finish time of its latest verified attempt. */
export function verifiedFixes(attempts: readonly { incidentId: string; outcome: string; finishedAt: number | null }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of attempts) {
    if (a.outcome !== 'verified' || a.finishedAt === null) continue;
    if ((out.get(a.incidentId) ?? -Infinity) < a.finishedAt) out.set(a.incidentId, a.finishedAt);
  }
  return out;
}
