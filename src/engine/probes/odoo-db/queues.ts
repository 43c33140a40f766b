// Module states, the outgoing mail queue and OCA's queue_job, read from Odoo's tables. Each query
// is skipped when its table does not exist (mail and queue_job are optional modules).
import type pg from 'pg';

export interface StuckModules {
  /** name → state, for modules in `to upgrade` / `to install` / `to remove`. */
  modules: { name: string; state: string }[];
  /** Seconds since the most recent of them was written (an update still running writes often). */
  quietSeconds: number | null;
}

export interface MailQueue {
  /** mail_mail rows in `exception` written in the last day. */
  exceptionsLastDay: number;
  outgoing: number;
  /** Age of the oldest outgoing mail that is due (scheduled_date past or unset). */
  oldestDueSeconds: number | null;
}

export interface JobQueue {
  failed: number;
  /** Pending/enqueued jobs that are due and older than the threshold. */
  latePending: number;
  oldestPendingSeconds: number | null;
}

export interface QueueReport {
  database: string;
  modules: StuckModules;
  mail: MailQueue | null;
  queueJob: JobQueue | null;
}

const MAX_MODULES = 50;

async function tables(client: pg.ClientBase): Promise<Set<string>> {
  const res = await client.query<{ relname: string }>(
    `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and c.relname = any($1::text[])`,
    [['ir_module_module', 'mail_mail', 'queue_job']],
  );
  return new Set(res.rows.map((r) => r.relname));
}

export async function readQueues(client: pg.ClientBase, database: string, queueJobPendingSeconds: number): Promise<QueueReport | null> {
  const have = await tables(client);
  if (!have.has('ir_module_module')) return null;
  const utcNow = `(now() at time zone 'UTC')`;
  const mods = await client.query<{ name: string; state: string; quiet_s: number | null }>(
    `select name, state, extract(epoch from ${utcNow} - max(write_date) over ())::float8 as quiet_s
       from ir_module_module where state in ('to upgrade', 'to install', 'to remove')
      order by name limit ${MAX_MODULES}`,
  );
  const modules: StuckModules = {
    modules: mods.rows.map((r) => ({ name: r.name, state: r.state })),
    quietSeconds: mods.rows[0]?.quiet_s ?? null,
  };

  let mail: MailQueue | null = null;
  if (have.has('mail_mail')) {
    const r = await client.query<{ exc: number; outgoing: number; oldest_s: number | null }>(
      `select count(*) filter (where state = 'exception' and write_date > ${utcNow} - interval '1 day')::int as exc,
              count(*) filter (where state = 'outgoing')::int as outgoing,
              extract(epoch from ${utcNow} - min(create_date) filter (
                where state = 'outgoing' and (scheduled_date is null or scheduled_date <= ${utcNow})))::float8 as oldest_s
         from mail_mail where state in ('exception', 'outgoing')`,
    );
    const row = r.rows[0];
    mail = { exceptionsLastDay: row?.exc ?? 0, outgoing: row?.outgoing ?? 0, oldestDueSeconds: row?.oldest_s ?? null };
  }

  let queueJob: JobQueue | null = null;
  if (have.has('queue_job')) {
    const r = await client.query<{ failed: number; late: number; oldest_s: number | null }>(
      `select count(*) filter (where state = 'failed')::int as failed,
              count(*) filter (where state in ('pending', 'enqueued')
                                 and (eta is null or eta <= ${utcNow})
                                 and date_created < ${utcNow} - make_interval(secs => $1))::int as late,
              extract(epoch from ${utcNow} - min(date_created) filter (where state in ('pending', 'enqueued')))::float8 as oldest_s
         from queue_job where state in ('failed', 'pending', 'enqueued')`,
      [queueJobPendingSeconds],
    );
    const row = r.rows[0];
    queueJob = { failed: row?.failed ?? 0, latePending: row?.late ?? 0, oldestPendingSeconds: row?.oldest_s ?? null };
  }
  return { database, modules, mail, queueJob };
}
