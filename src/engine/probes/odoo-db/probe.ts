// The odoo_db probe: what Odoo's own tables say about its health, in each database it serves —
// scheduled actions (overdue, failing, stuck), modules left mid-update, the mail queue, OCA's
// queue_job, and (sampled, rarely) whether the filestore holds the files ir_attachment names.
//
// Cost: the queries run at most every probes.odooDbIntervalMs (a minute by default) on short-lived
// connections with every pg timeout set (pg-connect.ts); between two runs the last result is
// returned as is. The filestore sample runs every filestoreIntervalMs, or every run for `check --deep`.
import type { Config, OdooConf } from '../../config/types.js';
import { resolveOdooDataDir } from '../../config/odoo-conf.js';
import { errorMessage } from '../../core/errors.js';
import type { Finding, PatternFix } from '../../core/types.js';
import { withPgClient } from '../pg-connect.js';
import { statusOfFindings, type Probe, type ProbeContext, type ProbeOutput } from '../types.js';
import { describeJob, readCrons, stuckSeconds, type CronJob, type CronReport } from './cron.js';
import { servedDatabases } from './databases.js';
import { sampleFilestore, type FilestoreSample } from './filestore.js';
import { readQueues, type QueueReport } from './queues.js';

export type { CronJob, CronReport } from './cron.js';
export type { FilestoreSample } from './filestore.js';
export type { QueueReport } from './queues.js';

export interface OdooDbData {
  databases: string[];
  /** More databases than are looked at (see MAX_DATABASES). */
  truncated: boolean;
  crons: CronReport[];
  queues: QueueReport[];
  /** Last filestore sample per database, null when none ran yet (or it is off). */
  filestore: FilestoreSample[] | null;
  filestoreAt: number | null;
  /** When the tables were last queried (epoch ms): results are reused until the next interval. */
  queriedAt: number;
  stuckAfterSeconds: number;
  /** Why a database could not be read, one line each. */
  errors: string[];
}

export type FilestoreMode = 'off' | 'interval' | 'always';

export interface OdooDbProbeOptions {
  /** `always`: every run (check --deep); `interval`: every filestoreIntervalMs (console, --auto). */
  filestore?: FilestoreMode;
  /** Ignore odooDbIntervalMs and query every run (check, fixes' verification). */
  everyRun?: boolean;
}

/** Modules in `to upgrade`/`to install` written this recently may be an update in progress. */
const MODULES_QUIET_SECONDS = 300;
const MAX_NAMED = 5;

const RESTART_ODOO: PatternFix = { id: 'restart-service', params: { service: 'odoo' }, unattended: false };
const TERMINATE_CRON: PatternFix = { id: 'terminate-cron', params: {}, unattended: false };

function ago(seconds: number | null): string {
  if (seconds === null) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

function named(jobs: CronJob[], what: (j: CronJob) => string): string {
  const shown = jobs.slice(0, MAX_NAMED).map((j) => `${describeJob(j)} ${what(j)}`);
  return jobs.length > MAX_NAMED ? `${shown.join(', ')} and ${jobs.length - MAX_NAMED} more` : shown.join(', ');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export interface CronVerdict {
  overdue: CronJob[];
  failing: CronJob[];
  running: CronJob[];
  stuck: CronJob[];
}

/** All databases' crons in one verdict (what the console's cron line and the findings show). */
export function cronVerdict(reports: readonly CronReport[]): CronVerdict {
  return {
    overdue: reports.flatMap((r) => r.overdue),
    failing: reports.flatMap((r) => r.failing),
    running: reports.flatMap((r) => r.running),
    stuck: reports.flatMap((r) => r.stuck),
  };
}

export function cronFindings(reports: readonly CronReport[], odoo: OdooConf, deactivated: CronJob[]): Finding[] {
  const v = cronVerdict(reports);
  const out: Finding[] = [];
  if (v.overdue.length > 0) {
    const noThreads = odoo.maxCronThreads === 0;
    out.push({
      key: 'cron-overdue',
      severity: 'critical',
      category: 'cron',
      title: `Scheduled actions are not running: ${plural(v.overdue.length, 'cron')} overdue (${named(v.overdue, (j) => `due ${ago(j.lateSeconds)} ago`)})`,
      detail:
        `nextcall is older than each cron's interval plus the grace period, and no backend holds their row lock, so no cron ` +
        `worker or thread is running them${noThreads ? '; odoo.conf sets max_cron_threads = 0, so this server runs none' : ''}`,
      hint: noThreads
        ? 'This server runs no scheduled actions (max_cron_threads = 0). If no other Odoo server runs them for this database, set max_cron_threads = 1 or more in odoo.conf and restart Odoo.'
        : "Odoo's cron threads/workers are dead or busy elsewhere (threaded mode loses them when PostgreSQL restarts; the message is on stderr only). Restart Odoo and check the crons run again (lastcall advances).",
      ...(noThreads ? {} : { fix: RESTART_ODOO }),
    });
  }
  if (v.failing.length > 0) {
    out.push({
      key: 'cron-failing',
      severity: 'warning',
      category: 'cron',
      title: `${plural(v.failing.length, 'scheduled action')} failing: ${named(v.failing, (j) => `${plural(j.failureCount ?? 0, 'failure')} in a row since ${ago(j.failingSeconds)} ago`)}`,
      detail: 'ir_cron.failure_count counts consecutive failures; Odoo (17.3+) deactivates a cron after 5 failures spread over at least 7 days',
      hint: 'Find the traceback in the log ("Call from cron ... for server action ... failed" / "Exception in cron") and fix the action or its data.',
    });
  }
  if (deactivated.length > 0) {
    out.push({
      key: 'cron-deactivated',
      severity: 'warning',
      category: 'cron',
      title: `Odoo deactivated ${plural(deactivated.length, 'failing scheduled action')}: ${named(deactivated, () => '')}`.trimEnd(),
      detail: 'each was failing and is now inactive: Odoo disables a cron that keeps failing, and it will not run again until re-enabled',
      hint: 'Fix the cause (see its traceback in the log), then re-enable it in Settings → Technical → Scheduled Actions.',
    });
  }
  if (v.stuck.length > 0) {
    out.push({
      key: 'cron-stuck',
      severity: 'warning',
      category: 'cron',
      title: `${plural(v.stuck.length, 'scheduled action')} stuck: ${named(v.stuck, (j) => `running for ${ago(j.running?.seconds ?? null)}`)}`,
      detail: `backend${v.stuck.length > 1 ? 's' : ''} ${v.stuck.map((j) => `pid ${j.running!.pid}`).join(', ')} hold the job's ir_cron row lock longer than the stuck threshold; the job cannot be run by another worker meanwhile`,
      hint: 'Ending the backend that holds the lock rolls the job back and frees it; find out from the log why it hangs (a lock wait, an external call without a timeout).',
      fix: TERMINATE_CRON,
    });
  }
  return out;
}

function queueFindings(reports: readonly QueueReport[], config: Config): Finding[] {
  const out: Finding[] = [];
  const stuckMods = reports.filter((r) => r.modules.modules.length > 0 && (r.modules.quietSeconds ?? Infinity) >= MODULES_QUIET_SECONDS);
  if (stuckMods.length > 0) {
    const list = stuckMods.flatMap((r) => r.modules.modules.map((m) => `${m.name} (${m.state}, ${r.database})`));
    out.push({
      key: 'modules-pending',
      severity: 'warning',
      category: 'module',
      title: `${plural(list.length, 'module')} left mid-update: ${list.slice(0, MAX_NAMED).join(', ')}${list.length > MAX_NAMED ? ` and ${list.length - MAX_NAMED} more` : ''}`,
      detail: "ir_module_module.state is still 'to upgrade' / 'to install' / 'to remove' (an interrupted update); meanwhile Odoo skips every scheduled action of that database (\"Skipping database ... because of modules to install/upgrade/remove\") and may reload its registry in a loop",
      hint: 'Finish the update (odoo-bin -c odoo.conf -d DB -u MODULE --stop-after-init), or cancel it from Apps (Cancel Upgrade/Install).',
    });
  }
  const mailExc = reports.filter((r) => (r.mail?.exceptionsLastDay ?? 0) > 0);
  if (mailExc.length > 0) {
    const n = mailExc.reduce((s, r) => s + (r.mail?.exceptionsLastDay ?? 0), 0);
    out.push({
      key: 'mail-exceptions',
      severity: 'warning',
      category: 'other',
      title: `${plural(n, 'outgoing mail')} failed to send in the last day (${mailExc.map((r) => r.database).join(', ')})`,
      detail: "mail_mail rows in state 'exception': the SMTP server refused them or could not be reached",
      hint: 'Read failure_reason in Settings → Technical → Emails, test the outgoing mail server, then retry the mails.',
    });
  }
  const backlog = reports.filter((r) => (r.mail?.oldestDueSeconds ?? 0) > config.thresholds.mailBacklogSeconds);
  if (backlog.length > 0) {
    const oldest = Math.max(...backlog.map((r) => r.mail!.oldestDueSeconds!));
    out.push({
      key: 'mail-backlog',
      severity: 'warning',
      category: 'cron',
      title: `Outgoing mail backlog: the oldest due mail has waited ${ago(oldest)} (${backlog.map((r) => `${r.mail!.outgoing} queued in ${r.database}`).join(', ')})`,
      detail: 'mail_mail rows stay outgoing until the "Mail: Email Queue Manager" scheduled action sends them',
      hint: 'Check that scheduled actions run (the cron line) and that the outgoing mail server answers.',
    });
  }
  const failedJobs = reports.filter((r) => (r.queueJob?.failed ?? 0) > 0);
  if (failedJobs.length > 0) {
    out.push({
      key: 'queue-job-failed',
      severity: 'warning',
      category: 'other',
      title: `queue_job: ${failedJobs.map((r) => `${plural(r.queueJob!.failed, 'failed job')} in ${r.database}`).join(', ')}`,
      detail: "queue_job rows in state 'failed' (OCA queue_job): they will not run again by themselves",
      hint: 'Open Queue → Jobs, read each exception, fix the cause and requeue them.',
    });
  }
  const lateJobs = reports.filter((r) => (r.queueJob?.latePending ?? 0) > 0);
  if (lateJobs.length > 0) {
    out.push({
      key: 'queue-job-late',
      severity: 'warning',
      category: 'worker',
      title: `queue_job: ${lateJobs.map((r) => `${plural(r.queueJob!.latePending, 'job')} pending for over ${ago(config.thresholds.queueJobPendingSeconds)} in ${r.database}`).join(', ')}`,
      detail: 'due jobs that no job runner picked up: the runner is not started (server_wide_modules = queue_job, [queue_job] channels) or is saturated',
      hint: 'Check that queue_job is in server_wide_modules and its channels in odoo.conf, and the runner in the log ("queue job runner ready").',
    });
  }
  return out;
}

function filestoreFindings(samples: readonly FilestoreSample[]): Finding[] {
  const out: Finding[] = [];
  const missing = samples.filter((s) => s.missing.length > 0);
  if (missing.length > 0) {
    const sampled = missing.reduce((s, x) => s + x.sampled, 0);
    const n = missing.reduce((s, x) => s + x.missing.length, 0);
    out.push({
      key: 'filestore-missing',
      severity: 'critical',
      category: 'permission',
      title: `Filestore: ${n} of ${sampled} sampled attachments missing (${missing.map((s) => s.database).join(', ')})`,
      detail: missing
        .map((s) => `${s.directory}: ${s.missing.slice(0, MAX_NAMED).map((m) => `${m.storeFname} (ir_attachment ${m.id})`).join(', ')}`)
        .join('; '),
      hint: 'A database restored without its filestore, or a filestore copied in part: restore <data_dir>/filestore/<db> from the backup that matches the database.',
    });
  }
  const wrong = samples.filter((s) => s.wrongSize.length > 0);
  if (wrong.length > 0) {
    out.push({
      key: 'filestore-size',
      severity: 'warning',
      category: 'disk',
      title: `Filestore: ${wrong.reduce((s, x) => s + x.wrongSize.length, 0)} sampled attachments differ from their recorded size`,
      detail: wrong
        .map((s) => s.wrongSize.map((w) => `${s.directory}/${w.storeFname}: ${w.actual} bytes, ir_attachment ${w.id} says ${w.expected}`).join('; '))
        .join('; '),
      hint: 'Truncated files (a full disk during a write, a partial copy): restore them from a backup.',
    });
  }
  return out;
}

/** Jobs seen failing and active before, now inactive: Odoo deactivated them (and reset their counters). */
function newlyDeactivated(before: readonly CronReport[] | null, now: readonly CronReport[]): CronJob[] {
  if (!before) return [];
  return now.flatMap((r) => {
    const prev = before.find((b) => b.database === r.database);
    return prev ? prev.failing.filter((j) => j.active && !r.activeIds.includes(j.id)) : [];
  });
}

export function createOdooDbProbe(opts: OdooDbProbeOptions = {}): Probe<OdooDbData> {
  const mode = opts.filestore ?? 'interval';
  let last: ProbeOutput<OdooDbData> | null = null;
  let lastAt = -Infinity;
  let filestore: FilestoreSample[] | null = null;
  let filestoreAt: number | null = null;
  let deactivated: CronJob[] = [];

  async function query(ctx: ProbeContext, signal: AbortSignal): Promise<ProbeOutput<OdooDbData>> {
    const { config, odoo } = ctx;
    const budgetMs = config.probes.timeoutMs;
    const stuckAfter = stuckSeconds(config.thresholds.cronStuckSeconds, odoo.limitTimeRealCron, odoo.limitTimeReal);
    const t = { graceSeconds: config.thresholds.cronGraceSeconds, stuckSeconds: stuckAfter };
    const now = Date.now();
    const wantFilestore = mode === 'always' || (mode === 'interval' && (filestoreAt === null || now - filestoreAt >= config.probes.filestoreIntervalMs));
    const dataDir = wantFilestore ? resolveOdooDataDir(odoo, config.odoo.user ?? 'odoo') : null;

    const served = await withPgClient(odoo, { budgetMs, signal, applicationName: 'odoo-heal probe odoo_db' }, (c) => servedDatabases(odoo, c));
    const crons: CronReport[] = [];
    const queues: QueueReport[] = [];
    const samples: FilestoreSample[] = [];
    const errors: string[] = [];
    for (const db of served.names) {
      signal.throwIfAborted();
      try {
        await withPgClient({ ...odoo, dbName: db }, { budgetMs, signal, applicationName: 'odoo-heal probe odoo_db' }, async (c) => {
          const cr = await readCrons(c, db, t);
          if (!cr) return; // not an Odoo database
          crons.push(cr);
          const q = await readQueues(c, db, config.thresholds.queueJobPendingSeconds);
          if (q) queues.push(q);
          if (dataDir) samples.push(await sampleFilestore(c, db, `${dataDir}/filestore/${db}`, config.probes.filestoreSample));
        });
      } catch (err) {
        if (signal.aborted) throw err;
        errors.push(`${db}: ${errorMessage(err).split('\n', 1)[0]}`);
      }
    }
    if (served.names.length > 0 && errors.length === served.names.length) {
      // Nothing could be read: the database probe says why. Keep what we knew so incidents do not
      // flap closed while PostgreSQL is down (they are its symptoms, not resolved).
      throw new Error(errors[0]);
    }
    if (dataDir) {
      filestore = samples;
      filestoreAt = now;
    }
    const justDeactivated = newlyDeactivated(last?.data?.crons ?? null, crons);
    // Keep a deactivation in view until its cron runs again or is re-enabled (it does not reappear).
    deactivated = [...deactivated.filter((d) => !crons.some((r) => r.database === d.database && r.activeIds.includes(d.id))), ...justDeactivated];
    const findings = [...cronFindings(crons, odoo, deactivated), ...queueFindings(queues, config), ...filestoreFindings(filestore ?? [])];
    const data: OdooDbData = {
      databases: served.names,
      truncated: served.truncated,
      crons,
      queues,
      filestore,
      filestoreAt,
      queriedAt: now,
      stuckAfterSeconds: stuckAfter,
      errors,
    };
    const v = cronVerdict(crons);
    const active = crons.reduce((s, r) => s + r.activeCount, 0);
    const summary =
      crons.length === 0
        ? served.names.length === 0
          ? 'no Odoo database found'
          : `no Odoo tables in ${served.names.join(', ')}`
        : `${plural(crons.length, 'database')}: ${active} active crons, ${v.overdue.length} overdue, ${v.failing.length} failing, ${v.running.length} running` +
          (filestore ? `; filestore ${filestore.reduce((s, f) => s + f.missing.length, 0)}/${filestore.reduce((s, f) => s + f.sampled, 0)} missing` : '');
    return { status: statusOfFindings(findings), summary, findings, data };
  }

  return {
    name: 'odoo_db',
    async run(ctx, signal) {
      const now = Date.now();
      if (!opts.everyRun && last && now - lastAt < ctx.config.probes.odooDbIntervalMs) return last;
      try {
        last = await query(ctx, signal);
        lastAt = now;
        return last;
      } catch (err) {
        if (signal.aborted) throw err;
        // Retry on the next round, not a minute later.
        lastAt = -Infinity;
        const reason = errorMessage(err).split('\n', 1)[0] ?? 'unknown error';
        return { status: 'unknown', summary: `cannot read Odoo's tables: ${reason}`, findings: last?.findings ?? [], data: last?.data ?? null };
      }
    },
  };
}

/**
 * A fresh answer to "are Odoo's scheduled actions running?" for a fix or a correlation rule to
 * confirm a log-based suspicion (e.g. before restarting Odoo for dead cron threads): queries now,
 * never a cached result. `confirmed` is true only when the database says crons are overdue; `read`
 * is false when no served database's ir_cron could be read (then nothing is known either way).
 */
export async function confirmCronsNotRunning(
  config: Config,
  odoo: OdooConf,
): Promise<{ confirmed: boolean; overdue: CronJob[]; detail: string; read: boolean }> {
  const probe = createOdooDbProbe({ filestore: 'off', everyRun: true });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${config.probes.timeoutMs * 2} ms`)), config.probes.timeoutMs * 2);
  try {
    const r = await probe.run({ config, odoo, now: Date.now }, controller.signal);
    if (r.status === 'unknown' || !r.data) return { confirmed: false, overdue: [], detail: r.summary, read: false };
    const overdue = cronVerdict(r.data.crons).overdue;
    return { confirmed: overdue.length > 0, overdue, detail: r.summary, read: r.data.crons.length > 0 };
  } catch (err) {
    return { confirmed: false, overdue: [], detail: errorMessage(err), read: false };
  } finally {
    clearTimeout(timer);
  }
}
