// Fix: free PostgreSQL connection slots by terminating sessions left idle inside a transaction for
// longer than fixes.idleInTxMaxAgeSeconds — in Odoo's database only, never an active query, never a
// superuser's session, never our own. Ending such a session rolls its open transaction back, which is
// what PostgreSQL's own idle_in_transaction_session_timeout would do.
import { dbNames, withPgClient } from '../engine/probes/pg-connect.js';
import type { Incident, ProbeResult } from '../engine/core/types.js';
import { pollProbe } from './fix-util.js';
import { type Confirmation, confirmationLine, findingWith, originStillHolds, probeConfirms } from './lib/confirm.js';
import type { Applied, DetectResult, Fix, FixContext, FixPlan, Verification } from './types.js';

export interface TerminateIdleParams {
  database: string;
  maxAgeSeconds: number;
}

export interface IdleBackend {
  pid: number;
  usename: string;
  applicationName: string;
  clientAddr: string | null;
  idleSeconds: number;
  query: string;
}

export interface TerminateIdleData {
  database: string;
  maxAgeSeconds: number;
  targets: IdleBackend[];
  /** What the plan relied on: the database probe seeing the connection slots exhausted. */
  confirmation?: Confirmation;
}

/**
 * Every safety condition lives in the WHERE clause, so it is evaluated again at terminate time: a
 * session that ran a new statement since the plan (state changed) is no longer a target.
 */
const TARGET_CONDITIONS = `
  a.datname = $1
  AND a.backend_type = 'client backend'
  AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
  AND a.state_change < now() - make_interval(secs => $2)
  AND r.rolsuper = false
  AND a.pid <> pg_backend_pid()`;

export const LIST_SQL = `SELECT a.pid, a.usename, a.application_name, a.client_addr::text AS client_addr,
  floor(extract(epoch FROM now() - a.state_change))::int AS idle_seconds, left(a.query, 200) AS query
FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
WHERE ${TARGET_CONDITIONS}
ORDER BY a.state_change`;

export const TERMINATE_SQL = `SELECT a.pid, pg_terminate_backend(a.pid) AS terminated
FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
WHERE ${TARGET_CONDITIONS}
  AND a.pid = ANY($3::int[])`;

interface ListRow {
  pid: number;
  usename: string | null;
  application_name: string | null;
  client_addr: string | null;
  idle_seconds: number;
  query: string | null;
}

const PG_BUDGET_MS = 5000;

async function listTargets(ctx: FixContext, p: TerminateIdleParams): Promise<IdleBackend[]> {
  return withPgClient(ctx.odoo, { budgetMs: PG_BUDGET_MS, applicationName: 'odoo-heal fix terminate-idle' }, async (client) => {
    const res = await client.query<ListRow>(LIST_SQL, [p.database, p.maxAgeSeconds]);
    return res.rows.map((r) => ({
      pid: r.pid,
      usename: r.usename ?? '',
      applicationName: r.application_name ?? '',
      clientAddr: r.client_addr,
      idleSeconds: r.idle_seconds,
      query: r.query ?? '',
    }));
  });
}

/** Free slots back: the database probe answers and reports no slot shortage. */
export function slotsAvailable(r: ProbeResult): boolean {
  if (r.status === 'unknown') return false;
  return !r.findings.some((f) => f.key === 'slots' || f.key === 'down' || (f.key === 'connections' && f.severity === 'critical'));
}

/** Slots exhausted now: out of slots (53300) or connections at the critical threshold. */
async function confirmExhausted(incident: Incident, ctx: FixContext): Promise<Confirmation> {
  return (
    (await originStillHolds(incident, ctx)) ??
    probeConfirms(ctx, 'database', findingWith((f) => f.key === 'slots' || (f.key === 'connections' && f.severity === 'critical')))
  );
}

export const terminateIdle: Fix<TerminateIdleParams, TerminateIdleData> = {
  id: 'terminate-idle',
  title: 'Terminate sessions idle in transaction (Odoo database only)',

  detect(_incident: Incident, ctx: FixContext): DetectResult<TerminateIdleParams> {
    // Only the database Odoo is configured for: without db_name we cannot tell Odoo's sessions from
    // another application's, so we refuse rather than guess.
    const names = dbNames(ctx.odoo.dbName);
    if (names.length !== 1) {
      return {
        ok: false,
        reason:
          names.length === 0
            ? "Odoo's database is unknown (db_name is not set in odoo.conf); refusing to end sessions in an unknown database"
            : `db_name lists several databases (${names.join(', ')}); refusing to guess which one`,
      };
    }
    const maxAgeSeconds = ctx.config.fixes.idleInTxMaxAgeSeconds;
    if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds < 0) return { ok: false, reason: `fixes.idleInTxMaxAgeSeconds is invalid (${maxAgeSeconds})` };
    return { ok: true, params: { database: names[0]!, maxAgeSeconds } };
  },

  async plan(params, incident, ctx): Promise<FixPlan<TerminateIdleData>> {
    const confirmation = await confirmExhausted(incident, ctx);
    const seen = confirmationLine(confirmation);
    if (!confirmation.confirmed) {
      return {
        fixId: this.id,
        incidentId: incident.id,
        summary: `Not terminating sessions in ${params.database}: the ${confirmation.check} does not confirm the connection slots are exhausted`,
        why: 'Sessions are only ended when a probe sees the slots exhausted at that moment: a log record alone can be forged by anyone who reaches Odoo.',
        preview: `${seen}\nNothing to apply.`,
        actions: [],
        applicable: false,
        data: { ...params, targets: [], confirmation },
      };
    }
    const targets = await listTargets(ctx, params);
    const sqlParams = [params.database, params.maxAgeSeconds, targets.map((t) => t.pid)];
    const list = targets.length
      ? targets.map((t) => `  pid ${t.pid} ${t.usename}${t.applicationName ? ` (${t.applicationName})` : ''}${t.clientAddr ? ` from ${t.clientAddr}` : ''}, idle in transaction ${t.idleSeconds} s: ${t.query.replace(/\s+/g, ' ').slice(0, 120)}`).join('\n')
      : '  (none)';
    const base = { fixId: this.id, incidentId: incident.id };
    const data: TerminateIdleData = { ...params, targets, confirmation };
    const why =
      'A session idle inside a transaction holds a connection slot and its locks; when slots run out Odoo ' +
      'fails with "too many clients" / "remaining connection slots are reserved". Ending it rolls back its ' +
      'unfinished transaction, nothing committed is lost.';
    if (targets.length === 0) {
      return {
        ...base,
        summary: `No session idle in transaction for over ${params.maxAgeSeconds} s in ${params.database}`,
        why,
        preview: `${seen}\nNothing to terminate in database ${params.database}.`,
        actions: [],
        applicable: false,
        data,
      };
    }
    return {
      ...base,
      summary: `Terminate ${targets.length} session(s) idle in transaction for over ${params.maxAgeSeconds} s in ${params.database}`,
      why,
      preview:
        `${seen}\n` +
        `Sessions to end (not superusers, not active, database ${params.database} only):\n${list}\n\n` +
        `SQL (conditions re-checked at run time):\n${TERMINATE_SQL}\n-- $1 = ${params.database}, $2 = ${params.maxAgeSeconds}, $3 = {${targets.map((t) => t.pid).join(',')}}\n` +
        'Rollback: not possible (the ended sessions\' transactions are rolled back by PostgreSQL; clients reconnect).',
      actions: [{ kind: 'sql', sql: TERMINATE_SQL, params: sqlParams }],
      applicable: true,
      data,
    };
  },

  async apply(plan, ctx): Promise<Applied> {
    const pids = plan.data.targets.map((t) => t.pid);
    ctx.progress(`terminating ${pids.length} session(s) in ${plan.data.database}`);
    const terminated = await withPgClient(ctx.odoo, { budgetMs: PG_BUDGET_MS, applicationName: 'odoo-heal fix terminate-idle' }, async (client) => {
      const res = await client.query<{ pid: number; terminated: boolean }>(TERMINATE_SQL, [plan.data.database, plan.data.maxAgeSeconds, pids]);
      return res.rows.filter((r) => r.terminated).map((r) => r.pid);
    });
    return { backups: [], commands: [], undo: { terminated, skipped: pids.filter((p) => !terminated.includes(p)) } };
  },

  async verify(plan, applied, ctx): Promise<Verification> {
    const undo = applied.undo as { terminated: number[]; skipped: number[] } | null;
    const terminated = undo?.terminated ?? [];
    // The terminated backends must be gone (pg_terminate_backend only signals; they exit promptly).
    const deadline = Date.now() + 5000;
    let left: number[] = terminated;
    while (left.length > 0) {
      left = await withPgClient(ctx.odoo, { budgetMs: PG_BUDGET_MS }, async (client) => {
        const res = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])', [terminated]);
        return res.rows.map((r) => r.pid);
      });
      if (left.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (left.length > 0) return { ok: false, detail: `session(s) ${left.join(', ')} still present after pg_terminate_backend` };
    const probe = await pollProbe(ctx, 'database', slotsAvailable, Math.max(ctx.config.probes.timeoutMs * 2, 2000));
    const skipped = undo?.skipped.length ? ` (${undo.skipped.length} planned session(s) had become active or gone and were left alone)` : '';
    if (!probe.ok) {
      return { ok: false, detail: `ended ${terminated.length} session(s)${skipped}, but the database probe still reports no free slots: ${probe.last?.summary ?? probe.error ?? '?'}` };
    }
    return { ok: true, detail: `ended ${terminated.length} session(s)${skipped}; free connection slots are back (${probe.last?.summary ?? ''})` };
  },

  async rollback(): Promise<void> {
    // An ended session cannot be brought back; PostgreSQL rolled its transaction back. Nothing to undo.
  },
};
