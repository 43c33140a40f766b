// One-shot health: every probe once plus a scan of recent log records, folded into one status.
// Shared by `odoo-heal check`, the HTTP /health endpoint and reports.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config, OdooConf } from '../config/types.js';
import { IncidentBook, incidentId, isAlarm } from '../incidents/incidents.js';
import { CRON_FOLLOW_UP_KEY } from '../correlation/follow-ups.js';
import { listAttempts } from '../../fixes/attempts.js';
import { staleReason, verifiedFixes } from '../correlation/stale.js';
import type { ProcessData } from '../probes/process.js';
import { parseText } from '../logs/parser.js';
import { postgresLogs } from '../probes/postgres-log-discovery.js';
import { readTail } from '../logs/tail.js';
import { OdooEventTally } from '../logs/odoo-events.js';
import { judgeLogRates, withLogRates } from '../probes/log-rates.js';
import { Matcher } from '../patterns/matcher.js';
import { UnclassifiedGrouper } from '../unclassified/grouper.js';
import { createDatabaseProbe } from '../probes/database.js';
import { createOdooConfProbe } from '../config-audit/probe.js';
import { createOdooDbProbe } from '../probes/odoo-db/probe.js';
import { hostProbes, runProbe, runProbes } from '../probes/run.js';
import type { Incident, LogRecord, ProbeName, ProbeResult, Severity, Status } from '../core/types.js';
import { STATUS_EXIT } from '../core/types.js';
import { deploymentOf } from './deployment.js';

export const CHECK_FORMAT = 'odoo-heal/check@1';

export interface HealthReport {
  format: typeof CHECK_FORMAT;
  host: string;
  status: Status;
  exitCode: number;
  checkedAt: string;
  durationMs: number;
  probes: ProbeResult[];
  incidents: Incident[];
  logScan: { sources: string[]; records: number; since: string; errors: string[] };
}

/** CRITICAL beats WARNING beats UNKNOWN beats OK (the usual Nagios aggregation). */
const STATUS_ORDER: Status[] = ['ok', 'unknown', 'warning', 'critical'];

export function worstStatus(statuses: Iterable<Status>): Status {
  let worst: Status = 'ok';
  for (const s of statuses) if (STATUS_ORDER.indexOf(s) > STATUS_ORDER.indexOf(worst)) worst = s;
  return worst;
}

export function severityStatus(sev: Severity): Status {
  return sev === 'critical' ? 'critical' : sev === 'warning' ? 'warning' : 'ok';
}

/** Recent journal lines of the Odoo unit (stderr-only failures live there), when systemd runs. */
function readJournal(unit: string, seconds: number, timeoutMs: number): Promise<string[]> {
  if (!existsSync('/run/systemd/system')) return Promise.resolve([]);
  return new Promise((resolve) => {
    execFile(
      'journalctl',
      ['-u', unit, '--since', `-${Math.max(1, Math.round(seconds / 60))}min`, '-o', 'short-iso', '--no-pager', '-q'],
      { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 },
      (err, stdout) => resolve(err ? [] : stdout.split('\n')),
    );
  });
}

export interface HealthOptions {
  config: Config;
  odoo: OdooConf;
  matcher: Matcher;
  /** Overall budget: the report is produced within it even if the database hangs. */
  budgetMs: number;
  now?: () => number;
  /** Also run the sampled filestore check. */
  deep?: boolean;
}

export async function checkHealth(opts: HealthOptions): Promise<HealthReport> {
  const now = opts.now ?? Date.now;
  const started = now();
  const { config, odoo } = opts;
  const probeTimeout = Math.max(100, Math.min(config.probes.timeoutMs, opts.budgetMs - 200));
  const probes = [...hostProbes(), createDatabaseProbe(), createOdooConfProbe({ when: 'every-run' })];
  // Odoo's tables (the filestore sample only for `check --deep`: it stats files) once the database
  // probe has answered: no second connection racing the latency measurement, and no pointless
  // queries when PostgreSQL is down.
  const odooDb = createOdooDbProbe({ everyRun: true, filestore: opts.deep ? 'always' : 'off' });
  const runOdooDb = async (first: ProbeResult[]): Promise<ProbeResult> => {
    const db = first.find((r) => r.probe === 'database');
    const left = opts.budgetMs - (now() - started) - 300;
    if (db && (db.status === 'ok' || db.status === 'warning') && left >= 200) {
      return runProbe(odooDb, { config, odoo, now }, Math.min(probeTimeout, left));
    }
    const why = !db || (db.status !== 'ok' && db.status !== 'warning') ? 'PostgreSQL is not answering (see the database probe)' : 'no time left in the budget';
    return { probe: 'odoo_db', status: 'unknown', summary: `not checked: ${why}`, checkedAt: now(), durationMs: 0, findings: [], data: null };
  };
  const since = started - config.logs.recentSeconds * 1000;

  const files = [...new Set([...(odoo.logfile ? [odoo.logfile] : []), ...config.logs.files])];
  const errors: string[] = [];
  const scan = async (): Promise<LogRecord[]> => {
    const records: LogRecord[] = [];
    const postgres = (await postgresLogs(config.logs.postgres, odoo, probeTimeout)).filter((f) => !files.includes(f));
    for (const file of [...files, ...postgres]) {
      try {
        const lines = await readTail(file, config.logs.recentBytes);
        records.push(...parseText(lines.join('\n'), file, { postgres: postgres.includes(file) }));
      } catch (err) {
        errors.push(`${file}: ${(err as Error).message}`);
      }
    }
    const journal = await readJournal(config.odoo.unit, config.logs.recentSeconds, probeTimeout);
    if (journal.length > 0) records.push(...parseText(journal.join('\n'), 'journald'));
    return records.filter((r) => r.time === null || r.time >= since);
  };

  const [results, records, attempts] = await Promise.all([
    runProbes(probes, { config, odoo, now }, probeTimeout)
      .then(async (first) => [...first, await runOdooDb(first)])
      .finally(() => Promise.allSettled(probes.map((p) => p.close?.()))),
    scan(),
    // Past fixes: an incident whose records all predate a verified fix is healed, not CRITICAL.
    listAttempts(config.paths.stateDir).then(
      (r) => r.attempts,
      () => [],
    ),
  ]);

  // Worker recycles and registry reloads, as rates over the part of the log this check read.
  const tally = new OdooEventTally(now);
  for (const r of records) tally.add(r);
  const judged = judgeLogRates(tally, now(), config.thresholds, { windowSeconds: config.logs.recentSeconds });
  const procAt = results.findIndex((r) => r.probe === 'process');
  if (procAt >= 0) results[procAt] = withLogRates(results[procAt]!, judged);

  const book = new IncidentBook();
  const grouper = new UnclassifiedGrouper(config.unclassified);
  const timed = new Set<string>();
  const untimed = new Set<string>();
  for (const r of records) {
    const m = opts.matcher.match(r)[0];
    const i = m ? book.addMatch(m, now()) : grouper.unmatched(r, book, now());
    if (i) (r.time === null ? untimed : timed).add(i.id);
    grouper.follows(r);
  }
  for (const id of timed) untimed.delete(id);
  for (const i of book.list()) grouper.escalate(i);
  // Every record is history here: what a probe now disproves (or a fix healed since) is over.
  const byProbe: Partial<Record<ProbeName, ProbeResult>> = Object.fromEntries(results.map((r) => [r.probe, r]));
  const proc = byProbe.process;
  const main = (proc?.data as ProcessData | null | undefined)?.main;
  const fixes = verifiedFixes(attempts);
  const staleCtx = {
    startedAt: started,
    now: now(),
    probes: byProbe,
    clearsWith: new Map(opts.matcher.patterns.flatMap((p) => (p.clearsWith ? [[p.id, p.clearsWith] as const] : []))),
    verifiedFixAt: fixes,
    odooStartedAt: main && proc ? proc.checkedAt - main.uptimeSeconds * 1000 : null,
    untimed,
    cronRestartedAt: fixes.get(incidentId(`engine:${CRON_FOLLOW_UP_KEY}`)) ?? null,
  };
  for (const i of book.list()) {
    const stale = staleReason(i, staleCtx);
    if (stale) book.resolve(i.id, stale.at);
  }
  for (const r of results) book.applyFindings(r.probe, r.findings, now());
  book.correlate(now(), deploymentOf(byProbe, odoo));
  const incidents = book.list().filter((i) => i.status !== 'resolved');

  // A probe whose every finding is a symptom counts through the root's incident, not again.
  const rootOnly = (r: ProbeResult): Status => {
    if (r.findings.length === 0 || r.status === 'unknown') return r.status;
    const symptom = (key: string) => book.forFinding(r.probe, key)?.rootId != null;
    return r.findings.every((f) => symptom(f.key)) ? 'ok' : r.status;
  };
  const status = worstStatus([...results.map(rootOnly), ...incidents.filter(isAlarm).map((i) => severityStatus(i.severity))]);
  return {
    format: CHECK_FORMAT,
    host: hostname(),
    status,
    exitCode: STATUS_EXIT[status],
    checkedAt: new Date(started).toISOString(),
    durationMs: now() - started,
    probes: results,
    incidents,
    logScan: { sources: files, records: records.length, since: new Date(since).toISOString(), errors },
  };
}
