// What odoo-heal did and how well it works: current health, incidents (open and resolved), every fix
// attempt with its outcome, and per-pattern effectiveness (matches, attempts, success rate, mean time
// to recover). `buildReport` is pure; the helpers around it gather the inputs from an Engine (--auto,
// HTTP) or from the state dir (the `report` command, which runs in its own process).
//
// Incidents live in memory only (the engine's IncidentBook), so --auto keeps a bounded incident
// history in <stateDir>/incident-history.json next to report.json/report.md; `odoo-heal report` reads
// it to know resolved incidents and which pattern an attempt's incident came from.
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config, OdooConf } from '../config/types.js';
import { ensureDir, writeFileDurable, writeJsonDurable } from '../core/durable.js';
import type { Engine } from '../run/engine.js';
import { errorMessage } from '../core/errors.js';
import { CHECK_FORMAT, severityStatus, worstStatus, type HealthReport } from '../run/health.js';
import { IncidentBook } from '../incidents/incidents.js';
import { redactDeep, secretsOf } from './redact.js';
import type { AttemptOutcome, Incident, ProbeResult, Severity } from '../core/types.js';
import { PROBE_NAMES, STATUS_EXIT } from '../core/types.js';
import { listAttempts, type AttemptRecord } from '../../fixes/attempts.js';
import { renderReportJSON, renderReportMarkdown } from './report-format.js';
import { REPORT_FORMAT, type IncidentSourceKind, type ReportIncident, type ReportAttempt, type Effectiveness, type Report } from './report-types.js';

export const REPORT_JSON_FILE = 'report.json';
export const REPORT_MD_FILE = 'report.md';
export const INCIDENT_HISTORY_FILE = 'incident-history.json';
/** Bound on the persisted history: the oldest resolved incidents go first. */
export const INCIDENT_HISTORY_LIMIT = 2000;

export { REPORT_FORMAT, OUTCOMES } from './report-types.js';
export type { IncidentSourceKind, ReportIncident, ReportAttempt, Effectiveness, Report } from './report-types.js';

export interface ReportInput {
  host?: string;
  now: number;
  /** Only incidents active/resolved/attempted at or after this time, and attempts started since. */
  since?: number | null;
  health: HealthReport | null;
  incidents: readonly Incident[];
  attempts: readonly AttemptRecord[];
  warnings?: string[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms));

function zeroOutcomes(): Record<AttemptOutcome, number> {
  return { planned: 0, running: 0, verified: 0, failed: 0, rolled_back: 0, refused: 0 };
}

export function incidentKind(i: Incident): IncidentSourceKind {
  if (i.fingerprint.startsWith('engine:')) return 'engine';
  return i.origin.kind;
}

/** The effectiveness key: pattern id for log incidents, the fingerprint for probe/engine ones. */
export function incidentKey(i: Incident): string {
  return i.origin.kind === 'pattern' && !i.fingerprint.startsWith('engine:') ? i.origin.patternId : i.fingerprint;
}

/** Guidance-only records changed nothing and tried nothing: they are not counted as attempts. */
function countsAsAttempt(a: AttemptRecord): boolean {
  return a.outcome !== 'planned';
}

function isActive(i: Incident): boolean {
  return i.status !== 'resolved';
}

/** When the incident recovered: its first verified fix, else its resolution (while resolved). */
export function recoveredAt(i: Incident, attempts: readonly AttemptRecord[]): number | null {
  let best: number | null = null;
  for (const a of attempts) {
    if (a.incidentId !== i.id || a.outcome !== 'verified' || a.finishedAt === null) continue;
    if (best === null || a.finishedAt < best) best = a.finishedAt;
  }
  if (best !== null) return best;
  return i.status === 'resolved' ? i.resolvedAt : null;
}

function mean(values: number[]): number | null {
  if (values.length === 0) return null;
  return Math.round(values.reduce((s, v) => s + v, 0) / values.length);
}

export function buildReport(input: ReportInput): Report {
  const since = input.since ?? null;
  const allAttempts = [...input.attempts].filter((a) => !a.dryRun).sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
  const attempts = since === null ? allAttempts : allAttempts.filter((a) => a.startedAt >= since);
  const attemptedIds = new Set(attempts.map((a) => a.incidentId));
  const incidents = input.incidents.filter(
    (i) => since === null || i.lastSeen >= since || (i.resolvedAt ?? -Infinity) >= since || attemptedIds.has(i.id),
  );
  const byId = new Map(incidents.map((i) => [i.id, i]));
  // Keys of incidents outside the window are still known, so their attempts are attributed right.
  const keyOf = new Map(input.incidents.map((i) => [i.id, i]));

  const reportIncidents: ReportIncident[] = incidents.map((i) => {
    // Recovery uses every attempt: a fix verified before `since` still ended an incident seen since.
    const rec = recoveredAt(i, allAttempts);
    const ttr = rec === null ? null : Math.max(0, rec - i.firstSeen);
    return {
      id: i.id,
      fingerprint: i.fingerprint,
      kind: incidentKind(i),
      key: incidentKey(i),
      title: i.title,
      severity: i.severity,
      category: i.category,
      status: i.status,
      count: i.count,
      firstSeen: iso(i.firstSeen),
      lastSeen: iso(i.lastSeen),
      resolvedAt: isoOrNull(i.resolvedAt),
      recoveredAt: isoOrNull(rec),
      timeToRecoverMs: ttr,
      detail: i.detail,
      fix: i.fix,
      attempts: attempts.filter((a) => a.incidentId === i.id).map((a) => a.id),
    };
  });

  const reportAttempts: ReportAttempt[] = attempts.map((a) => {
    const inc = keyOf.get(a.incidentId);
    return {
      id: a.id,
      incidentId: a.incidentId,
      key: inc ? incidentKey(inc) : null,
      fixId: a.fixId,
      who: a.who,
      startedAt: iso(a.startedAt),
      finishedAt: isoOrNull(a.finishedAt),
      durationMs: a.finishedAt === null ? null : a.finishedAt - a.startedAt,
      outcome: a.outcome,
      message: a.message,
      rollback: a.rollback ? { at: iso(a.rollback.at), ok: a.rollback.ok, automatic: a.rollback.automatic, who: a.rollback.who } : null,
    };
  });

  // Per-pattern effectiveness.
  const groups = new Map<string, Effectiveness & { ttrs: number[] }>();
  const group = (key: string, kind: IncidentSourceKind, title: string): Effectiveness & { ttrs: number[] } => {
    let g = groups.get(key);
    if (!g) {
      g = { key, kind, title, incidents: 0, open: 0, resolved: 0, matches: 0, attempts: 0, outcomes: zeroOutcomes(), successRate: null, recovered: 0, meanTimeToRecoverMs: null, ttrs: [] };
      groups.set(key, g);
    }
    return g;
  };
  for (const ri of reportIncidents) {
    const g = group(ri.key, ri.kind, ri.title);
    g.incidents++;
    if (ri.status === 'resolved') g.resolved++;
    else g.open++;
    g.matches += ri.count;
    if (ri.timeToRecoverMs !== null) {
      g.recovered++;
      g.ttrs.push(ri.timeToRecoverMs);
    }
  }
  for (const a of attempts) {
    const inc = byId.get(a.incidentId) ?? keyOf.get(a.incidentId);
    const g = inc ? group(incidentKey(inc), incidentKind(inc), inc.title) : group(`fix:${a.fixId}`, 'unknown', `attempts of ${a.fixId} on incidents no longer known`);
    g.outcomes[a.outcome]++;
    if (countsAsAttempt(a)) g.attempts++;
  }
  const effectiveness: Effectiveness[] = [...groups.values()]
    .map(({ ttrs, ...g }) => ({
      ...g,
      successRate: g.attempts === 0 ? null : g.outcomes.verified / g.attempts,
      meanTimeToRecoverMs: mean(ttrs),
    }))
    .sort((a, b) => b.attempts - a.attempts || b.matches - a.matches || a.key.localeCompare(b.key));

  const bySeverity: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const i of incidents) bySeverity[i.severity]++;
  const byOutcome = zeroOutcomes();
  for (const a of attempts) byOutcome[a.outcome]++;
  const counted = attempts.filter(countsAsAttempt).length;

  return {
    format: REPORT_FORMAT,
    host: input.host ?? input.health?.host ?? hostname(),
    generatedAt: iso(input.now),
    since: isoOrNull(since),
    health: input.health,
    summary: {
      status: input.health?.status ?? 'unknown',
      incidents: {
        total: incidents.length,
        open: incidents.filter(isActive).length,
        resolved: incidents.filter((i) => !isActive(i)).length,
        bySeverity,
      },
      attempts: { total: attempts.length, byOutcome, successRate: counted === 0 ? null : byOutcome.verified / counted },
      meanTimeToRecoverMs: mean(reportIncidents.flatMap((i) => (i.timeToRecoverMs === null ? [] : [i.timeToRecoverMs]))),
    },
    incidents: reportIncidents,
    attempts: reportAttempts,
    effectiveness,
    warnings: input.warnings ?? [],
  };
}

/** The report with every known secret and secret-shaped value replaced (log details, messages). */
export function redactReport<T>(value: T, config: Pick<Config, 'alerts' | 'http'>, odoo: Pick<OdooConf, 'dbPassword' | 'adminPasswd'> | null): T {
  return redactDeep(value, secretsOf(config, odoo));
}

// ------------------------------------------------------------------------------------ from an engine

/**
 * The engine's current view in the `check --json` shape: its latest probe results and active
 * incidents, no new probing (the engine probes on its own interval). Before the first probe round
 * the status is UNKNOWN.
 */
export function healthFromEngine(engine: Engine, now: number = Date.now()): HealthReport {
  const s = engine.store.getState();
  const probes = PROBE_NAMES.map((n) => s.probes[n]).filter((p): p is ProbeResult => p !== undefined);
  const incidents = engine.book.list().filter(isActive).map((i) => ({ ...i }));
  const status = probes.length === 0 ? 'unknown' : worstStatus([...probes.map((p) => p.status), ...incidents.map((i) => severityStatus(i.severity))]);
  const sources = [...new Set([...engine.sourceNames, ...s.tail.map((t) => t.record.source)])];
  return {
    format: CHECK_FORMAT,
    host: s.hostname,
    status,
    exitCode: STATUS_EXIT[status],
    checkedAt: iso(probes.reduce((t, p) => Math.max(t, p.checkedAt), 0) || now),
    durationMs: probes.reduce((t, p) => Math.max(t, p.durationMs), 0),
    probes,
    incidents,
    logScan: { sources, records: s.counters.records, since: iso(s.startedAt), errors: [] },
  };
}

// ------------------------------------------------------------------------------------ incident history

/** Persisted incidents, without their sample record (the report does not show it; keeps the file small). */
export async function readIncidentHistory(stateDir: string): Promise<{ incidents: Incident[]; warning: string | null }> {
  const path = join(stateDir, INCIDENT_HISTORY_FILE);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { incidents: [], warning: null };
    return { incidents: [], warning: `${path}: ${errorMessage(err)}` };
  }
  try {
    return { incidents: IncidentBook.fromJSON(JSON.parse(text)).list(), warning: null };
  } catch (err) {
    return { incidents: [], warning: `${path}: ignored, ${errorMessage(err)}` };
  }
}

/**
 * Merges incident lists by id; a later list wins for an incident both know, except that counts and
 * first-seen times are never lost (a restarted engine starts counting from zero).
 */
export function mergeIncidents(...lists: ReadonlyArray<readonly Incident[]>): Incident[] {
  const byId = new Map<string, Incident>();
  for (const list of lists) {
    for (const i of list) {
      const prev = byId.get(i.id);
      if (!prev) {
        byId.set(i.id, { ...i });
        continue;
      }
      // Like IncidentBook.addMatch: records from before a resolution (a fresh check re-reading the
      // last minutes of the log) do not reopen it; only activity after it does.
      const staleReopen = prev.status === 'resolved' && prev.resolvedAt !== null && isActive(i) && i.lastSeen <= prev.resolvedAt;
      const base = staleReopen ? prev : i;
      byId.set(i.id, {
        ...base,
        count: Math.max(i.count, prev.count),
        firstSeen: Math.min(i.firstSeen, prev.firstSeen),
        lastSeen: Math.max(i.lastSeen, prev.lastSeen),
      });
    }
  }
  return [...byId.values()];
}

function boundHistory(incidents: Incident[]): Incident[] {
  if (incidents.length <= INCIDENT_HISTORY_LIMIT) return incidents;
  // Drop the oldest resolved first, then the oldest of the rest.
  const sorted = [...incidents].sort((a, b) => Number(isActive(b)) - Number(isActive(a)) || b.lastSeen - a.lastSeen);
  return sorted.slice(0, INCIDENT_HISTORY_LIMIT);
}

export async function saveIncidentHistory(stateDir: string, incidents: Incident[]): Promise<void> {
  await ensureDir(stateDir);
  const slim = boundHistory(incidents).map((i) => ({ ...i, sample: null }));
  await writeJsonDurable(join(stateDir, INCIDENT_HISTORY_FILE), { version: 1, incidents: slim }, { mode: 0o600 });
}

/** Everything a report needs from the state dir and a live engine (periodic report, HTTP). */
export async function reportFromEngine(
  engine: Engine,
  opts: { since?: number | null; now?: number; historyDir?: string } = {},
): Promise<{ report: Report; incidents: Incident[] }> {
  const now = opts.now ?? Date.now();
  const warnings: string[] = [];
  const history = await readIncidentHistory(opts.historyDir ?? engine.config.paths.stateDir);
  if (history.warning) warnings.push(history.warning);
  // Attempts are always where runAttempt put them: the configured state dir.
  const { attempts, warnings: damaged } = await listAttempts(engine.config.paths.stateDir);
  warnings.push(...damaged);
  const incidents = mergeIncidents(history.incidents, engine.book.list());
  const report = buildReport({ now, since: opts.since ?? null, health: healthFromEngine(engine, now), incidents, attempts, warnings });
  return { report, incidents };
}

/**
 * For --auto: writes report.json and report.md into the state dir (each atomically: a reader sees
 * the old or the new report, never half of one) and updates the incident history.
 */
export async function writePeriodicReport(engine: Engine, stateDir: string = engine.config.paths.stateDir): Promise<{ json: string; md: string }> {
  const { report, incidents } = await reportFromEngine(engine, { historyDir: stateDir });
  const safe = redactReport(report, engine.config, engine.odoo);
  await ensureDir(stateDir);
  await saveIncidentHistory(stateDir, incidents);
  const json = join(stateDir, REPORT_JSON_FILE);
  const md = join(stateDir, REPORT_MD_FILE);
  await writeFileDurable(json, renderReportJSON(safe), { mode: 0o600 });
  await writeFileDurable(md, renderReportMarkdown(safe), { mode: 0o600 });
  return { json, md };
}
