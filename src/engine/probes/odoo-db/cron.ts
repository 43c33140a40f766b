// Scheduled actions (ir_cron) as the database shows them: overdue (nobody runs them: dead cron
// threads, max_cron_threads = 0, a cron worker stuck elsewhere), failing (Odoo 17.3+ counts
// consecutive failures and deactivates a cron that keeps failing), and running (a backend holds the
// job's row lock: Odoo 18's _acquire_one_job keeps `SELECT ... FOR NO KEY UPDATE SKIP LOCKED` open
// on its cron cursor while the job runs).
//
// Which backend holds a job's row lock, without taking any lock ourselves (HOLDER_MATCH):
// - Odoo's cron cursor sits `idle in transaction` after its acquiring `SELECT ... FROM ir_cron ...
//   FOR NO KEY UPDATE SKIP LOCKED`, and psycopg2 interpolates parameters client-side, so the text
//   pg_stat_activity shows for it ends in `AND id = <cron id>` (Odoo 15+; `FOR UPDATE NOWAIT` before).
//   This is the usual case: while the job runs, its own cursor also key-share-locks the row (the
//   ir_cron_progress foreign key), which turns the row's xmax into a multixact id.
// - otherwise a locked row's xmax is the single locking transaction's id: pg_stat_activity.backend_xid.
import type pg from 'pg';

export interface CronRunner {
  /** Backend holding the job's row lock (Odoo's cron cursor). */
  pid: number;
  /** Seconds since that transaction began: how long the job has been running. */
  seconds: number;
  applicationName: string | null;
  superuser: boolean;
}

export interface CronJob {
  database: string;
  id: number;
  name: string;
  active: boolean;
  intervalSeconds: number;
  /** Seconds since nextcall (positive: due that long ago). */
  lateSeconds: number | null;
  /** Seconds since lastcall (Odoo 16+), null when never run or unknown. */
  sinceLastSeconds: number | null;
  /** Consecutive failures (Odoo 17.3+; null before). */
  failureCount: number | null;
  /** Seconds since the first of those failures. */
  failingSeconds: number | null;
  running: CronRunner | null;
}

export interface CronReport {
  database: string;
  activeCount: number;
  /** Ids of the active crons (to notice one Odoo deactivates between two looks). */
  activeIds: number[];
  overdue: CronJob[];
  failing: CronJob[];
  running: CronJob[];
  /** Running longer than the stuck threshold. */
  stuck: CronJob[];
  /** Whether this Odoo version records failures (ir_cron.failure_count). */
  tracksFailures: boolean;
}

export interface CronThresholds {
  graceSeconds: number;
  stuckSeconds: number;
}

const MAX_ROWS = 500;

interface Columns {
  name: string;
  lastcall: boolean;
  failures: boolean;
}

async function columnsOf(client: pg.ClientBase): Promise<Columns | null> {
  const res = await client.query<{ column_name: string; data_type: string }>(
    `select column_name, data_type from information_schema.columns
      where table_schema = current_schema() and table_name = 'ir_cron'`,
  );
  if (res.rows.length === 0) return null;
  const type = new Map(res.rows.map((r) => [r.column_name, r.data_type]));
  // cron_name is a stored char since Odoo 13; translated (jsonb) names would show as JSON text.
  const name = !type.has('cron_name')
    ? `'#' || c.id`
    : type.get('cron_name') === 'jsonb'
      ? `coalesce(c.cron_name->>'en_US', '#' || c.id)`
      : `coalesce(c.cron_name, '#' || c.id)`;
  return { name, lastcall: type.has('lastcall'), failures: type.has('failure_count') && type.has('first_failure_date') };
}

/** The backend holding cron `c`'s row lock (see the header); shared with the terminate-cron fix. */
export const HOLDER_MATCH = `(
    (a.backend_xid IS NOT NULL AND a.backend_xid::text = c.xmax::text)
    OR (a.state LIKE 'idle in transaction%'
        AND a.query ~* 'from\\s+"?ir_cron"?\\M' AND a.query ~* 'for\\s+(no\\s+key\\s+)?update'
        AND substring(a.query from '\\mid\\s*=\\s*(\\d+)') = c.id::text))`;

/** interval_type → seconds (months as 30 days: only the grace period depends on it). */
const INTERVAL_SECONDS = `c.interval_number * case c.interval_type
    when 'minutes' then 60 when 'hours' then 3600 when 'days' then 86400
    when 'weeks' then 604800 when 'months' then 2592000 else 86400 end`;

function cronSql(cols: Columns): string {
  // nextcall/lastcall are naive UTC timestamps (Odoo stores UTC without a zone).
  const utcNow = `(now() at time zone 'UTC')`;
  const failures = cols.failures
    ? `c.failure_count, extract(epoch from ${utcNow} - c.first_failure_date)::float8 as failing_s`
    : 'null::int as failure_count, null::float8 as failing_s';
  return `
select c.id, ${cols.name} as name, c.active, (${INTERVAL_SECONDS})::float8 as interval_s,
       extract(epoch from ${utcNow} - c.nextcall)::float8 as late_s,
       ${cols.lastcall ? `extract(epoch from ${utcNow} - c.lastcall)::float8` : 'null::float8'} as since_last_s,
       ${failures},
       a.pid as lock_pid, extract(epoch from now() - a.xact_start)::float8 as running_s,
       a.application_name, coalesce(r.rolsuper, false) as rolsuper
  from ir_cron c
  left join lateral (
         select a.pid, a.xact_start, a.application_name, a.usesysid from pg_stat_activity a
          where a.datname = current_database() and a.pid <> pg_backend_pid() and ${HOLDER_MATCH}
          order by a.xact_start limit 1) a on true
  left join pg_roles r on r.oid = a.usesysid
 where c.active or a.pid is not null${cols.failures ? ' or c.failure_count > 0' : ''}
 order by c.id
 limit ${MAX_ROWS}`;
}

interface Row {
  id: number;
  name: string;
  active: boolean;
  interval_s: number;
  late_s: number | null;
  since_last_s: number | null;
  failure_count: number | null;
  failing_s: number | null;
  lock_pid: number | null;
  running_s: number | null;
  application_name: string | null;
  rolsuper: boolean;
}

/** Null when the database has no ir_cron (not an Odoo database). `client` is connected to `database`. */
export async function readCrons(client: pg.ClientBase, database: string, t: CronThresholds): Promise<CronReport | null> {
  const cols = await columnsOf(client);
  if (!cols) return null;
  const res = await client.query<Row>(cronSql(cols));
  const jobs: CronJob[] = res.rows.map((r) => ({
    database,
    id: r.id,
    name: r.name,
    active: r.active,
    intervalSeconds: r.interval_s,
    lateSeconds: r.late_s,
    sinceLastSeconds: r.since_last_s,
    failureCount: r.failure_count,
    failingSeconds: r.failing_s,
    running:
      r.lock_pid === null
        ? null
        : { pid: r.lock_pid, seconds: r.running_s ?? 0, applicationName: r.application_name, superuser: r.rolsuper },
  }));
  const active = jobs.filter((j) => j.active);
  return {
    database,
    activeCount: active.length,
    activeIds: active.map((j) => j.id),
    // A running job is not overdue: it is being run (stuck, perhaps, which is its own finding).
    overdue: active.filter((j) => j.running === null && j.lateSeconds !== null && j.lateSeconds > j.intervalSeconds + t.graceSeconds),
    // An inactive cron does not run: its last count is history, not a failing action.
    failing: active.filter((j) => (j.failureCount ?? 0) > 0),
    running: jobs.filter((j) => j.running !== null),
    stuck: jobs.filter((j) => j.running !== null && j.running.seconds > t.stuckSeconds),
    tracksFailures: cols.failures,
  };
}

/**
 * How long a cron may run before it counts as stuck: the configured threshold, else what Odoo
 * itself allows (limit_time_real_cron; -1 or unset means limit_time_real; 0 means no limit, and
 * then limit_time_real still says how long anything should take).
 */
export function stuckSeconds(configured: number | null, limitTimeRealCron: number, limitTimeReal: number | null): number {
  if (configured !== null) return configured;
  if (limitTimeRealCron > 0) return limitTimeRealCron;
  return limitTimeReal && limitTimeReal > 0 ? limitTimeReal : 120;
}

export function describeJob(j: CronJob): string {
  return `"${j.name}" (id ${j.id}${j.database ? `, ${j.database}` : ''})`;
}

export interface UnfinishedCron {
  database: string;
  id: number;
  name: string;
  /** Runs in a row that did not finish (ir_cron_progress.timed_out_counter of the latest run). */
  unfinishedRuns: number;
}

/**
 * Active crons whose latest run did not finish and that no backend runs now (Odoo 17.3+). Odoo
 * commits an ir_cron_progress row with timed_out_counter = previous + 1 before it calls the job and
 * resets it to 0 when the job returns (odoo/addons/base/models/ir_cron.py _run_job): a latest row
 * still above 0 is a run that was killed — the worker's time limit, a crash or a restart — and Odoo
 * fails the job after 3 in a row ("Job 'x' (id) timed out"). A first-ever run leaves 0 either way.
 * Empty when the table or column is missing (older Odoo).
 */
export async function readUnfinishedCrons(client: pg.ClientBase, database: string): Promise<UnfinishedCron[]> {
  const cols = await columnsOf(client);
  const has = await client.query(
    `select 1 from information_schema.columns
      where table_schema = current_schema() and table_name = 'ir_cron_progress' and column_name = 'timed_out_counter'`,
  );
  if (!cols || has.rows.length === 0) return [];
  const res = await client.query<{ id: number; name: string; n: number }>(`
select c.id, ${cols.name} as name, p.timed_out_counter as n
  from ir_cron c
  join lateral (select timed_out_counter from ir_cron_progress where cron_id = c.id order by id desc limit 1) p on true
 where c.active and p.timed_out_counter > 0
   and not exists (select 1 from pg_stat_activity a
                    where a.datname = current_database() and a.pid <> pg_backend_pid() and ${HOLDER_MATCH})
 order by c.id
 limit ${MAX_ROWS}`);
  return res.rows.map((r) => ({ database, id: r.id, name: r.name, unfinishedRuns: r.n }));
}
