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
  /**
   * Incidents whose records were all read from history without a time of their own (stderr, where
   * Odoo's dying cron threads print, has none): they are older than the start, by how much unknown.
   */
  untimed?: ReadonlySet<string>;
  /** When the latest verified restart of Odoo for its dead cron threads (the follow-up) finished. */
  cronRestartedAt?: number | null;
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

/** Whether the incident was rebuilt from history: its records predate the start (or carry no time and were read then). */
function replayed(i: Incident, ctx: Pick<StaleContext, 'startedAt' | 'untimed'>): boolean {
  return i.status !== 'resolved' && (i.lastSeen < ctx.startedAt || (ctx.untimed?.has(i.id) ?? false));
}

/**
 * The odoo_db probe read ir_cron and no active scheduled action is overdue: cron threads or workers
 * are running them. (A crash younger than a cron's interval plus the grace is not overdue yet, so
 * this only judges records whose time is unknown; a live crash raises cron-overdue soon enough.)
 */
function cronsRun(r: ProbeResult | undefined): boolean {
  if (!passed(r) || r!.findings.some((f) => f.key === 'cron-overdue')) return false;
  const data = r!.data as { crons?: unknown[]; errors?: unknown[] } | null;
  return (data?.crons?.length ?? 0) > 0 && (data?.errors?.length ?? 0) === 0;
}

/** Why a replayed incident is already over, or null when it may be live (or is not replayed). */
export function staleReason(i: Incident, ctx: StaleContext): Stale | null {
  if (!replayed(i, ctx)) return null;
  // A record without a time of its own cannot be placed before or after a fix: what was verified
  // fixed since stays fixed until a probe or a live record says otherwise.
  const untimed = ctx.untimed?.has(i.id) ?? false;
  const before = (at: number) => untimed || i.lastSeen <= at;
  const fixedAt = ctx.verifiedFixAt.get(i.id);
  if (fixedAt !== undefined && before(fixedAt)) return { at: fixedAt, why: untimed ? 'a verified fix of it is on record and its record carries no time' : 'a verified fix came after its last record' };
  if (i.origin.kind !== 'pattern') return null;
  const probe = ctx.clearsWith.get(i.origin.patternId);
  if (probe && passed(ctx.probes[probe])) return { at: ctx.now, why: `the ${probe} probe passes now` };
  if (i.origin.patternId === 'cron-thread-crashed') {
    // Dead cron threads belong to one Odoo process: a process started after the record has live ones.
    if (!untimed && ctx.odooStartedAt !== null && ctx.odooStartedAt > i.lastSeen) return { at: ctx.now, why: 'Odoo was restarted after it' };
    const restarted = ctx.cronRestartedAt ?? null;
    if (restarted !== null && before(restarted)) return { at: restarted, why: 'Odoo was restarted for its dead cron threads (a verified fix) after it' };
    if (untimed && cronsRun(ctx.probes.odoo_db)) return { at: ctx.now, why: 'the odoo_db probe sees scheduled actions run' };
  }
  return null;
}

/** Whether the answer may still change once the probes have run (so the engine waits for them). */
export function awaitsProbes(i: Incident, ctx: Pick<StaleContext, 'startedAt' | 'clearsWith' | 'untimed'>): boolean {
  if (!replayed(i, ctx) || i.origin.kind !== 'pattern') return false;
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
