// Fix: free a stuck scheduled action by ending the PostgreSQL backend that holds its ir_cron row
// lock (Odoo's cron cursor, open for as long as the job runs) — and the job's own transaction,
// begun right after it — under terminate-idle's rules: Odoo's databases only,
// never a superuser's session, never our own, every condition re-checked when terminating.
// Ending them rolls the job's transaction back; Odoo then runs the job again (woken through its own
// `cron_trigger` channel), and verification waits for ir_cron.lastcall to advance.
import type pg from 'pg';
import { servedDatabases } from '../engine/probes/odoo-db/databases.js';
import { HOLDER_MATCH, stuckSeconds } from '../engine/probes/odoo-db/cron.js';
import { withPgClient } from '../engine/probes/pg-connect.js';
import type { Incident } from '../engine/core/types.js';
import type { Applied, DetectResult, Fix, FixContext, FixPlan, Verification } from './types.js';

export interface TerminateCronParams {
  stuckSeconds: number;
  /** Also end the job's own transaction (see JOB_OF_HOLDER): ending only the lock holder leaves a
   * job stuck in SQL running, and its worker busy. */
  prefork: boolean;
}

export interface StuckBackend {
  database: string;
  cronId: number;
  cronName: string;
  /** The lock holder. */
  pid: number;
  /** Statements of the same cron worker still running for the job (prefork only). */
  jobPids: number[];
  usename: string;
  applicationName: string;
  runningSeconds: number;
  /** ir_cron.lastcall before the fix (ISO text as PostgreSQL prints it, or null). */
  lastcall: string | null;
}

export interface TerminateCronData extends TerminateCronParams {
  targets: StuckBackend[];
}

/** Every safety rule in the WHERE clause, so terminating re-checks it: still the lock holder of a
 * cron row in this database, still running past the threshold, not a superuser, not us. */
const HOLDER_CONDITIONS = `
  a.datname = current_database()
  AND a.backend_type = 'client backend'
  AND ${HOLDER_MATCH}
  AND a.xact_start < now() - make_interval(secs => $1)
  AND r.rolsuper = false
  AND a.pid <> pg_backend_pid()`;

/** The job's own transaction: Odoo opens it (job_cr) right after acquiring the job, so it began
 * within seconds of the holder going idle in its transaction; same database, same role. */
const JOB_OF_HOLDER = `j.datname = current_database() AND j.pid <> h_pid AND j.pid <> pg_backend_pid()
       AND j.usesysid = h_usesysid AND j.state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
       AND j.xact_start >= h_state_change AND j.xact_start < h_state_change + interval '5 seconds'`;

export const LIST_SQL = `SELECT c.id AS cron_id, c.cron_name::text AS cron_name, a.pid, a.usename, a.application_name,
  floor(extract(epoch FROM now() - a.xact_start))::int AS running_s, c.lastcall::text AS lastcall,
  coalesce((SELECT array_agg(j.pid) FROM pg_stat_activity j JOIN pg_roles jr ON jr.oid = j.usesysid
     WHERE $2 AND jr.rolsuper = false AND ${JOB_OF_HOLDER.replace(/h_pid/g, 'a.pid').replace(/h_usesysid/g, 'a.usesysid').replace(/h_state_change/g, 'a.state_change')}), '{}') AS job_pids
FROM ir_cron c
JOIN pg_stat_activity a ON true
JOIN pg_roles r ON r.oid = a.usesysid
WHERE ${HOLDER_CONDITIONS}
ORDER BY a.xact_start`;

/** Ends the holders still matching, and the job statements of the same worker still running. */
export const TERMINATE_SQL = `WITH holders AS (
  SELECT a.pid, a.usesysid, a.state_change FROM ir_cron c JOIN pg_stat_activity a ON true JOIN pg_roles r ON r.oid = a.usesysid
  WHERE ${HOLDER_CONDITIONS} AND a.pid = ANY($3::int[])
), jobs AS (
  SELECT j.pid FROM pg_stat_activity j JOIN pg_roles jr ON jr.oid = j.usesysid JOIN holders h ON true
  WHERE $2 AND jr.rolsuper = false AND j.pid = ANY($4::int[])
    AND ${JOB_OF_HOLDER.replace(/h_pid/g, 'h.pid').replace(/h_usesysid/g, 'h.usesysid').replace(/h_state_change/g, 'h.state_change')}
)
SELECT pid, pg_terminate_backend(pid) AS terminated FROM (SELECT pid FROM holders UNION SELECT pid FROM jobs) t`;

/** Odoo's own wake-up for its cron workers (ir_cron._notifydb): they LISTEN in database `postgres`
 * (NOTIFY is per database) and poll the database named in the payload now instead of in a minute. */
const NOTIFY_SQL = `SELECT pg_notify('cron_trigger', $1)`;

async function wakeCronWorkers(ctx: FixContext, database: string): Promise<void> {
  await onDb(ctx, 'postgres', (c) => c.query(NOTIFY_SQL, [database])).catch(() => undefined);
}

const PG_BUDGET_MS = 5000;
const APP = 'odoo-heal fix terminate-cron';
/** Cron workers poll every 60-70 s; the notify usually wakes them at once. */
const VERIFY_BUDGET_MS = 90_000;

interface ListRow {
  cron_id: number;
  cron_name: string | null;
  pid: number;
  usename: string | null;
  application_name: string | null;
  running_s: number;
  lastcall: string | null;
  job_pids: number[];
}

function onDb<T>(ctx: FixContext, database: string | null, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const odoo = database === null ? ctx.odoo : { ...ctx.odoo, dbName: database };
  return withPgClient(odoo, { budgetMs: PG_BUDGET_MS, applicationName: APP }, fn);
}

async function listTargets(ctx: FixContext, p: TerminateCronParams): Promise<StuckBackend[]> {
  const served = await onDb(ctx, null, (c) => servedDatabases(ctx.odoo, c));
  const out: StuckBackend[] = [];
  for (const database of served.names) {
    const rows = await onDb(ctx, database, async (c) => {
      const has = await c.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'ir_cron'`);
      if (has.rowCount === 0) return [];
      return (await c.query<ListRow>(LIST_SQL, [p.stuckSeconds, p.prefork])).rows;
    });
    for (const r of rows) {
      out.push({
        database,
        cronId: r.cron_id,
        cronName: r.cron_name ?? `#${r.cron_id}`,
        pid: r.pid,
        jobPids: r.job_pids ?? [],
        usename: r.usename ?? '',
        applicationName: r.application_name ?? '',
        runningSeconds: r.running_s,
        lastcall: r.lastcall,
      });
    }
  }
  return out;
}

export const terminateCron: Fix<TerminateCronParams, TerminateCronData> = {
  id: 'terminate-cron',
  title: "End a stuck scheduled action's backend (Odoo's databases only)",

  detect(incident: Incident, ctx: FixContext): DetectResult<TerminateCronParams> {
    // Only what the odoo_db probe saw in the database; a log line never names the target.
    if (incident.origin.kind !== 'probe' || incident.origin.probe !== 'odoo_db' || incident.origin.key !== 'cron-stuck') {
      return { ok: false, reason: 'only for the "scheduled action stuck" incident of the odoo_db probe' };
    }
    const t = ctx.config.thresholds;
    return { ok: true, params: { stuckSeconds: stuckSeconds(t.cronStuckSeconds, ctx.odoo.limitTimeRealCron, ctx.odoo.limitTimeReal), prefork: true } };
  },

  async plan(params, incident, ctx): Promise<FixPlan<TerminateCronData>> {
    const targets = await listTargets(ctx, params);
    const base = { fixId: this.id, incidentId: incident.id };
    const data: TerminateCronData = { ...params, targets };
    const why =
      "A scheduled action that hangs keeps its ir_cron row locked (Odoo's cron cursor stays in its transaction while the job runs), " +
      'so no worker can run it again and its cron worker/thread serves nothing else. Ending that backend rolls the job back; ' +
      'Odoo records the failure and runs the job again.';
    if (targets.length === 0) {
      return { ...base, summary: `No scheduled action holds its lock for over ${params.stuckSeconds} s`, why, preview: 'Nothing to terminate.', actions: [], applicable: false, data };
    }
    const list = targets
      .map(
        (t) =>
          `  ${t.database}: cron "${t.cronName}" (id ${t.cronId}) running ${t.runningSeconds} s — lock held by pid ${t.pid} ${t.usename}` +
          `${t.applicationName ? ` (${t.applicationName})` : ''}${t.jobPids.length ? `; its job's statements: pid ${t.jobPids.join(', ')}` : ''}`,
      )
      .join('\n');
    const byDb = [...new Set(targets.map((t) => t.database))];
    const actions = byDb.map((db) => {
      const ts = targets.filter((t) => t.database === db);
      return { kind: 'sql' as const, sql: `-- database ${db}\n${TERMINATE_SQL}`, params: [params.stuckSeconds, params.prefork, ts.map((t) => t.pid), ts.flatMap((t) => t.jobPids)] };
    });
    return {
      ...base,
      summary: `End ${targets.length} stuck scheduled action${targets.length > 1 ? 's' : ''}' backend${targets.length > 1 ? 's' : ''} (${targets.map((t) => `"${t.cronName}"`).join(', ')})`,
      why,
      preview:
        `Backends to end (Odoo's databases only, not superusers; conditions re-checked at run time):\n${list}\n\n` +
        `SQL, in each database:\n${TERMINATE_SQL}\n-- $1 = ${params.stuckSeconds} (stuck after, s), $2 = ${params.prefork} (the job's own transaction too)\n` +
        `then, in database postgres: ${NOTIFY_SQL.replace('$1', `'<database>'`)}  -- wakes Odoo's cron workers\n` +
        "Verify: each cron's lastcall advances (it ran again).\nRollback: not possible (PostgreSQL rolled the job's transaction back; Odoo runs it again).",
      actions,
      applicable: true,
      data,
    };
  },

  async apply(plan, ctx): Promise<Applied> {
    const terminated: number[] = [];
    const planned = plan.data.targets.flatMap((t) => [t.pid, ...t.jobPids]);
    for (const db of [...new Set(plan.data.targets.map((t) => t.database))]) {
      const ts = plan.data.targets.filter((t) => t.database === db);
      ctx.progress(`ending ${ts.length} stuck cron backend(s) in ${db}`);
      await onDb(ctx, db, async (c) => {
        const res = await c.query<{ pid: number; terminated: boolean }>(TERMINATE_SQL, [
          plan.data.stuckSeconds,
          plan.data.prefork,
          ts.map((t) => t.pid),
          ts.flatMap((t) => t.jobPids),
        ]);
        terminated.push(...res.rows.filter((r) => r.terminated).map((r) => r.pid));
      });
      await wakeCronWorkers(ctx, db);
    }
    return { backups: [], commands: [], undo: { terminated, skipped: planned.filter((p) => !terminated.includes(p)) } };
  },

  async verify(plan, applied, ctx): Promise<Verification> {
    const undo = applied.undo as { terminated: number[]; skipped: number[] } | null;
    if (!undo || undo.terminated.length === 0) {
      return { ok: false, detail: 'no backend was ended: each had finished or stopped matching the stuck conditions since the plan' };
    }
    // Done when every cron ran again: lastcall moved past what it was when planned.
    const deadline = Date.now() + VERIFY_BUDGET_MS;
    let waiting = plan.data.targets;
    let nudged = Date.now();
    while (waiting.length > 0) {
      const still: typeof waiting = [];
      for (const t of waiting) {
        const advanced = await onDb(ctx, t.database, async (c) => {
          const r = await c.query<{ advanced: boolean }>(
            `SELECT lastcall IS NOT NULL AND ($2::timestamp IS NULL OR lastcall > $2::timestamp) AS advanced FROM ir_cron WHERE id = $1`,
            [t.cronId, t.lastcall],
          );
          return r.rows[0]?.advanced === true;
        });
        if (!advanced) still.push(t);
      }
      waiting = still;
      if (waiting.length === 0 || Date.now() > deadline) break;
      if (Date.now() - nudged > 15_000) {
        // A worker busy when the first notify came misses it; ask again now and then.
        for (const db of new Set(waiting.map((t) => t.database))) await wakeCronWorkers(ctx, db);
        nudged = Date.now();
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const ended = `ended backend${undo.terminated.length > 1 ? 's' : ''} ${undo.terminated.join(', ')}`;
    if (waiting.length > 0) {
      return { ok: false, detail: `${ended}, but ${waiting.map((t) => `"${t.cronName}"`).join(', ')} did not run again within ${VERIFY_BUDGET_MS / 1000} s (lastcall unchanged): are cron workers running?` };
    }
    return { ok: true, detail: `${ended}; ${plan.data.targets.map((t) => `"${t.cronName}"`).join(', ')} ran again (lastcall advanced)` };
  },

  async rollback(): Promise<void> {
    // An ended backend cannot be brought back; PostgreSQL rolled its transaction back. Nothing to undo.
  },
};
