// The database probe: can Odoo's PostgreSQL be reached, how fast, how full are its connection slots,
// and which sessions hold transactions open or run for too long.
//
// One small long-lived pool per probe instance: reusing the connection keeps the probe cheap and lets
// it keep reporting when every other slot is taken. Every step is bounded (see pg-connect.ts) and the
// whole run is raced with the runner's AbortSignal, so a hanging server never hangs the engine.
import pg from 'pg';
import type { OdooConf } from '../config/types.js';
import { errorMessage } from '../core/errors.js';
import type { Finding, PatternFix, Severity } from '../core/types.js';
import {
  dbNames,
  describeTarget,
  pgClientConfig,
  pgTarget,
  pgTimeouts,
  raceAbort,
  type PgTarget,
  type PgTimeouts,
} from './pg-connect.js';
import { statusOfFindings, type Probe, type ProbeContext, type ProbeOutput } from './types.js';

export interface ConnectionCounts {
  /** Client backends connected now (ours included). */
  used: number;
  /** `max_connections`. */
  max: number;
  /** Slots only superusers (and, from PostgreSQL 16, `pg_use_reserved_connections`) may take. */
  reserved: number;
  /** used / (max - reserved), in percent: what Odoo (not a superuser) can still get. */
  percent: number;
}

export interface IdleInTxSession {
  pid: number;
  /** Seconds since the session went idle inside its transaction. */
  idleSeconds: number;
  /** Seconds since its transaction began. */
  transactionSeconds: number;
  database: string | null;
  usename: string | null;
  applicationName: string | null;
}

export interface LongQuery {
  pid: number;
  durationSeconds: number;
  /** First 200 characters, with password literals masked. */
  query: string;
  database: string | null;
  usename: string | null;
  applicationName: string | null;
  /** e.g. `Lock` when it waits for another session. */
  waitEventType: string | null;
}

export interface DatabaseData {
  /** `host:port` or the socket path; never the user's password. */
  target: string;
  database: string;
  user: string;
  serverVersion: string | null;
  /** Getting a connection (from the pool or a new one) plus `select 1`. */
  latencyMs: number | null;
  connections: ConnectionCounts | null;
  idleInTransaction: IdleInTxSession[];
  longQueries: LongQuery[];
  /** Lock requests not granted (pg_locks). */
  waitingLocks: number | null;
  /** Size of odoo.conf's db_name (the first one), when set and readable. */
  databaseSizeBytes: number | null;
  /** False when the role cannot see other roles' sessions (not superuser nor pg_read_all_stats). */
  seesAllSessions: boolean | null;
  /**
   * PostgreSQL's data directory (`data_directory`), when this role may read it (superuser or
   * pg_read_all_settings); the last one read is kept while the server is down. Its disk is one
   * PostgreSQL depends on (correlation/model.ts).
   */
  dataDirectory: string | null;
  /** Why the probe could not connect or query, when it could not. */
  error: { code: string | null; message: string } | null;
  /** Figures that could not be read (e.g. permission), one line each. */
  notes: string[];
}

const QUERY_PREVIEW_CHARS = 200;
const MAX_LISTED = 20;

const TERMINATE_IDLE: PatternFix = { id: 'terminate-idle', params: {}, unattended: true };
// Unattended use is still gated by config.fixes.unattended and the escalation ladder (probe:database:down).
const RESTART_POSTGRES: PatternFix = { id: 'restart-service', params: { service: 'postgresql' }, unattended: true };

interface PoolEntry {
  key: string;
  pool: pg.Pool;
  target: PgTarget;
  timeouts: PgTimeouts;
}

interface LastKnown {
  max: number;
  reserved: number;
}

/** pg errors carry a SQLSTATE (`code`) or, for socket errors, a Node errno code. */
function errCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** Errors that mean the connection itself is gone or unusable (as opposed to one failed statement). */
function isConnectionLevel(err: unknown): boolean {
  const code = errCode(err);
  if (code === null) return true; // "Connection terminated unexpectedly", "Query read timeout", ...
  return code.startsWith('08') || code.startsWith('57P') || /^E[A-Z]+$/.test(code);
}

function isConnectTimeout(err: unknown): boolean {
  // pg-pool's / pg's own wording for connectionTimeoutMillis; the cause carries "timeout expired".
  const msgs = [errorMessage(err), errorMessage((err as { cause?: unknown } | null)?.cause ?? '')];
  return msgs.some((m) => /connection timeout|timeout exceeded when trying to connect|timeout expired/i.test(m));
}

function isReadTimeout(err: unknown): boolean {
  return errorMessage(err) === 'Query read timeout';
}

const QUOTED = String.raw`E?'(?:[^']|'')*(?:'|$)|"[^"]*(?:"|$)`;
// `password = 'x'` / `password=x` (conninfo strings, Odoo's `SET password='...'` as psycopg2 inlines it)
// and `PASSWORD 'x'` (CREATE/ALTER ROLE). A bare column name (`select password from ...`) is left alone.
const PASSWORD_ASSIGN = new RegExp(String.raw`(\bpassword"?\s*=\s*)(?:${QUOTED}|[^\s'",;)]+)`, 'gi');
const PASSWORD_LITERAL = new RegExp(String.raw`(\bpassword\s+)(?:${QUOTED})`, 'gi');
const PASSWORD_HASH = /\bmd5[0-9a-f]{32}\b|SCRAM-SHA-256\$[^\s'"]+|\$pbkdf2-sha\d+\$[^\s'"]+/gi;

/** Masks password literals and hashes before any query text leaves the probe. */
export function redactQuery(query: string): string {
  return query
    .replace(PASSWORD_ASSIGN, "$1'***'")
    .replace(PASSWORD_LITERAL, "$1'***'")
    .replace(PASSWORD_HASH, '***');
}

function preview(query: string): string {
  const flat = redactQuery(query).replace(/\s+/g, ' ').trim();
  return flat.length > QUERY_PREVIEW_CHARS ? `${flat.slice(0, QUERY_PREVIEW_CHARS - 1)}…` : flat;
}

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

const secs = (s: number): string => `${Math.round(s)} s`;

function finding(
  key: string,
  severity: Severity,
  category: Finding['category'],
  title: string,
  detail: string,
  hint: string,
  fix?: PatternFix,
): Finding {
  return fix ? { key, severity, category, title, detail, hint, fix } : { key, severity, category, title, detail, hint };
}

// ---------------------------------------------------------------------------------------------
// Failures to connect or query: one plain message and one key per cause.
// ---------------------------------------------------------------------------------------------

function slotsTitle(serverMessage: string, known: LastKnown | null): string {
  const reservedFull = /reserved/i.test(serverMessage);
  if (!known) return 'PostgreSQL is out of connection slots (the probe could not get one either, so the count is unknown)';
  if (reservedFull && known.reserved > 0) {
    const usable = known.max - known.reserved;
    return `PostgreSQL is out of connection slots (${usable}/${usable} usable slots used, ${known.reserved} of ${known.max} reserved for superusers)`;
  }
  return `PostgreSQL is out of connection slots (${known.max}/${known.max} used)`;
}

function failureFinding(
  err: unknown,
  target: PgTarget,
  timeouts: PgTimeouts,
  known: LastKnown | null,
  stage: 'connect' | 'query',
): Finding {
  const where = describeTarget(target);
  const code = errCode(err);
  const message = errorMessage(err);
  const detail = `${stage === 'connect' ? 'connecting' : 'querying'} as "${target.user}" to database "${target.database}" at ${where}: ${message}${code ? ` (${code})` : ''}`;

  if (code === 'ECONNREFUSED') {
    return finding(
      'down',
      'critical',
      'database',
      `PostgreSQL at ${where} refuses connections (is it running?)`,
      detail,
      'Start PostgreSQL (systemctl start postgresql) and check its log if it does not stay up.',
      RESTART_POSTGRES,
    );
  }
  if (code === 'ENOENT' && target.host.startsWith('/')) {
    return finding(
      'down',
      'critical',
      'database',
      `PostgreSQL has no socket at ${where} (is it running?)`,
      detail,
      'Start PostgreSQL; if it runs, check db_host/db_port in odoo.conf (socket directory and port).',
      RESTART_POSTGRES,
    );
  }
  if (code === '57P03') {
    const state = /starting up/i.test(message)
      ? 'is starting up'
      : /shutting down/i.test(message)
        ? 'is shutting down'
        : /recovery/i.test(message)
          ? 'is in recovery'
          : 'does not accept connections right now';
    return finding(
      'not_ready',
      'critical',
      'database',
      `PostgreSQL at ${where} ${state}`,
      detail,
      'It accepts connections again once it has finished; if this lasts, read the PostgreSQL log.',
    );
  }
  if (code === '57P01' || code === '57P02') {
    return finding(
      'down',
      'critical',
      'database',
      `PostgreSQL at ${where} closed the connection (${code === '57P01' ? 'administrator shutdown or terminated' : 'server crash'})`,
      detail,
      'Check whether PostgreSQL is restarting or was stopped; read its log.',
      RESTART_POSTGRES,
    );
  }
  if (code === '53300') {
    return finding(
      'slots',
      'critical',
      'database',
      slotsTitle(message, known),
      detail,
      'Odoo cannot open new connections. Ending sessions left idle in transaction frees slots; then lower db_maxconn × workers or raise max_connections.',
      TERMINATE_IDLE,
    );
  }
  if (code === '28P01' || code === '28000') {
    return finding(
      'auth',
      'critical',
      'config',
      `PostgreSQL at ${where} rejected the login of "${target.user}" (check db_user / db_password in odoo.conf and pg_hba.conf)`,
      detail,
      'Fix the credentials in odoo.conf or the pg_hba.conf rule for this user; nothing to heal automatically.',
    );
  }
  if (code === '3D000') {
    return finding(
      'no_database',
      'critical',
      'config',
      `Database "${target.database}" does not exist at ${where} (check db_name in odoo.conf)`,
      detail,
      'Set db_name to an existing database or create/restore it.',
    );
  }
  if (stage === 'connect' && isConnectTimeout(err)) {
    return finding(
      'timeout',
      'critical',
      'database',
      `no answer from PostgreSQL at ${where} within ${timeouts.connectMs} ms`,
      detail,
      'The host accepts the connection but PostgreSQL does not answer: it may be overloaded, stuck, or something else listens on this port.',
    );
  }
  if (isReadTimeout(err) || code === '57014') {
    return finding(
      'timeout',
      'critical',
      'database',
      `no answer from PostgreSQL at ${where} within ${code === '57014' ? timeouts.statementMs : timeouts.queryMs} ms (query)`,
      detail,
      'Connected, but a trivial query did not finish in time: the server may be overloaded or stuck on I/O.',
    );
  }
  return finding(
    'unreachable',
    'critical',
    code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'config' : 'database',
    `cannot ${stage === 'connect' ? 'connect to' : 'query'} PostgreSQL at ${where}: ${message}`,
    detail,
    code === 'ENOTFOUND' ? 'Check db_host in odoo.conf.' : 'Check that PostgreSQL runs and that this host can reach it.',
  );
}

// ---------------------------------------------------------------------------------------------
// Figures once connected
// ---------------------------------------------------------------------------------------------

interface Figures {
  serverVersion: string | null;
  connections: ConnectionCounts | null;
  waitingLocks: number | null;
  seesAllSessions: boolean | null;
  dataDirectory: string | null;
  idleInTransaction: IdleInTxSession[];
  longQueries: LongQuery[];
  databaseSizeBytes: number | null;
  notes: string[];
}

// Non-privileged roles see other roles' backends with backend_type NULL (but datid set), so
// "client backend or a hidden backend attached to a database" counts what max_connections limits.
const OVERVIEW_SQL = `
select current_setting('server_version') as version,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int
         + coalesce((select setting::int from pg_settings where name = 'reserved_connections'), 0) as reserved,
       (select count(*) from pg_stat_activity
          where backend_type = 'client backend' or (backend_type is null and datid is not null))::int as used,
       (select count(*) from pg_locks where not granted)::int as waiting_locks,
       (select rolsuper from pg_roles where rolname = current_user)
         or pg_has_role(current_user, 'pg_read_all_stats', 'member') as sees_all,
       -- pg_settings hides superuser-only settings from other roles: NULL, not an error.
       (select setting from pg_settings where name = 'data_directory') as data_directory`;

const IDLE_SQL = `
select pid, datname, usename, application_name,
       extract(epoch from now() - state_change)::float8 as idle_s,
       extract(epoch from now() - xact_start)::float8 as xact_s
  from pg_stat_activity
 where state in ('idle in transaction', 'idle in transaction (aborted)')
   and pid <> pg_backend_pid()
   and now() - state_change > make_interval(secs => $1)
 order by state_change
 limit ${MAX_LISTED}`;

const LONG_SQL = `
select pid, datname, usename, application_name, wait_event_type,
       extract(epoch from now() - query_start)::float8 as duration_s,
       left(query, 2000) as query
  from pg_stat_activity
 where state = 'active' and backend_type = 'client backend'
   and pid <> pg_backend_pid()
   and now() - query_start > make_interval(secs => $1)
 order by query_start
 limit ${MAX_LISTED}`;

interface OverviewRow {
  version: string;
  max_connections: number;
  reserved: number;
  used: number;
  waiting_locks: number;
  sees_all: boolean | null;
  data_directory: string | null;
}

interface IdleRow {
  pid: number;
  datname: string | null;
  usename: string | null;
  application_name: string | null;
  idle_s: number;
  xact_s: number | null;
}

interface LongRow {
  pid: number;
  datname: string | null;
  usename: string | null;
  application_name: string | null;
  wait_event_type: string | null;
  duration_s: number;
  query: string | null;
}

async function gatherFigures(
  client: pg.PoolClient,
  ctx: ProbeContext,
  sizeDb: string | null,
  signal: AbortSignal,
): Promise<Figures> {
  const notes: string[] = [];
  // A failed statement (permission, missing view) costs only its figure; a dead connection ends the run.
  const attempt = async <R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[] = []): Promise<R[] | null> => {
    try {
      const res = await raceAbort(client.query<R>(sql, params), signal);
      return res.rows;
    } catch (err) {
      if (signal.aborted || isConnectionLevel(err)) throw err;
      notes.push(`${what}: ${errorMessage(err)}`);
      return null;
    }
  };

  const t = ctx.config.thresholds;
  const overview = (await attempt<OverviewRow>('connections', OVERVIEW_SQL))?.[0] ?? null;
  const idleRows = (await attempt<IdleRow>('idle in transaction', IDLE_SQL, [Math.max(0, t.idleInTxSeconds)])) ?? [];
  const longRows = (await attempt<LongRow>('long queries', LONG_SQL, [Math.max(0, t.longQuerySeconds)])) ?? [];
  const sizeRows = sizeDb
    ? await attempt<{ size: string }>(`size of "${sizeDb}"`, 'select pg_database_size($1)::text as size', [sizeDb])
    : null;

  let connections: ConnectionCounts | null = null;
  if (overview) {
    const usable = Math.max(1, overview.max_connections - overview.reserved);
    connections = {
      used: overview.used,
      max: overview.max_connections,
      reserved: overview.reserved,
      // Superusers may also fill the reserved slots: cap so "all usable slots taken" reads 100%.
      percent: Math.min(100, Math.round((overview.used / usable) * 1000) / 10),
    };
  }
  const size = sizeRows?.[0]?.size;
  return {
    serverVersion: overview?.version ?? null,
    connections,
    waitingLocks: overview?.waiting_locks ?? null,
    seesAllSessions: overview ? overview.sees_all === true : null,
    dataDirectory: overview?.data_directory || null,
    idleInTransaction: idleRows.map((r) => ({
      pid: r.pid,
      idleSeconds: r.idle_s,
      transactionSeconds: r.xact_s ?? r.idle_s,
      database: r.datname,
      usename: r.usename,
      applicationName: r.application_name || null,
    })),
    longQueries: longRows.map((r) => ({
      pid: r.pid,
      durationSeconds: r.duration_s,
      query: preview(r.query ?? ''),
      database: r.datname,
      usename: r.usename,
      applicationName: r.application_name || null,
      waitEventType: r.wait_event_type,
    })),
    databaseSizeBytes: size !== undefined ? Number(size) : null,
    notes,
  };
}

function sessionLabel(s: { pid: number; usename: string | null; database: string | null; applicationName: string | null }): string {
  const who = `${s.usename ?? '?'}@${s.database ?? '?'}`;
  return `pid ${s.pid} ${who}${s.applicationName ? ` (${s.applicationName})` : ''}`;
}

function figureFindings(fig: Figures, latencyMs: number, ctx: ProbeContext, where: string): Finding[] {
  const t = ctx.config.thresholds;
  const out: Finding[] = [];
  const c = fig.connections;
  if (c && c.percent >= Math.min(t.dbConnWarnPercent, t.dbConnCritPercent)) {
    const crit = c.percent >= t.dbConnCritPercent;
    out.push(
      finding(
        'connections',
        crit ? 'critical' : 'warning',
        'database',
        `PostgreSQL connections at ${Math.round(c.percent)}% (${c.used}/${c.max} used, ${c.reserved} reserved for superusers)`,
        `${c.used} client connections; max_connections ${c.max}, ${c.reserved} reserved for superusers; warn at ${t.dbConnWarnPercent}%, critical at ${t.dbConnCritPercent}%`,
        'When no slot is left Odoo fails with "too many clients". Look for sessions left idle in transaction; lower db_maxconn × workers or raise max_connections.',
      ),
    );
  }
  if (fig.idleInTransaction.length > 0) {
    const oldest = fig.idleInTransaction[0]!;
    const n = fig.idleInTransaction.length;
    out.push(
      finding(
        'idle_in_tx',
        'warning',
        'database',
        `${n} session${n === 1 ? '' : 's'} idle in transaction for over ${t.idleInTxSeconds} s (oldest ${secs(oldest.idleSeconds)}, pid ${oldest.pid})`,
        fig.idleInTransaction
          .map((s) => `${sessionLabel(s)} idle ${secs(s.idleSeconds)}, transaction open ${secs(s.transactionSeconds)}`)
          .join('\n'),
        'A session idle inside a transaction holds its locks and a connection slot; ending it rolls its transaction back.',
        TERMINATE_IDLE,
      ),
    );
  }
  if (fig.longQueries.length > 0) {
    const longest = fig.longQueries[0]!;
    const n = fig.longQueries.length;
    out.push(
      finding(
        'long_queries',
        'warning',
        'database',
        `${n} quer${n === 1 ? 'y' : 'ies'} running over ${t.longQuerySeconds} s (longest ${secs(longest.durationSeconds)}, pid ${longest.pid})`,
        fig.longQueries
          .map((q) => `${sessionLabel(q)} running ${secs(q.durationSeconds)}${q.waitEventType ? ` waiting on ${q.waitEventType}` : ''}: ${q.query}`)
          .join('\n'),
        'Long queries may be a report or a stuck cron; a query waiting on Lock is blocked by another session.',
      ),
    );
  }
  if (latencyMs > t.dbLatencyWarnMs) {
    out.push(
      finding(
        'latency',
        'warning',
        'database',
        `PostgreSQL at ${where} answers slowly (connect + select 1 took ${Math.round(latencyMs)} ms)`,
        `warn above ${t.dbLatencyWarnMs} ms`,
        'Check the database host load (CPU, I/O wait) and the network between Odoo and PostgreSQL.',
      ),
    );
  }
  return out;
}

function okSummary(data: DatabaseData): string {
  const parts = [`PostgreSQL${data.serverVersion ? ` ${data.serverVersion.split(' ')[0]}` : ''} at ${data.target}`];
  if (data.latencyMs !== null) parts.push(`${Math.round(data.latencyMs)} ms`);
  if (data.connections) parts.push(`${data.connections.used}/${data.connections.max} connections`);
  if (data.databaseSizeBytes !== null) parts.push(`${data.database} ${formatBytes(data.databaseSizeBytes)}`);
  if (data.waitingLocks) parts.push(`${data.waitingLocks} waiting locks`);
  return parts.join(', ');
}

// ---------------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------------

export function createDatabaseProbe(): Probe<DatabaseData> {
  let entry: PoolEntry | null = null;
  let known: LastKnown | null = null;
  /** data_directory as last read: a server that is down (or full) cannot be asked. */
  let dataDirectory: string | null = null;

  /** The pool for these settings; a changed odoo.conf / budget replaces it. */
  function poolFor(odoo: OdooConf, budgetMs: number): PoolEntry {
    const target = pgTarget(odoo);
    const timeouts = pgTimeouts(budgetMs);
    const key = JSON.stringify([target, timeouts]);
    if (entry && entry.key === key) return entry;
    if (entry) void entry.pool.end().catch(() => {});
    const pool = new pg.Pool({
      ...pgClientConfig(target, timeouts),
      max: 2,
      // Keep the connection between runs (cheap checks, and a slot already in hand when the server
      // fills up), but let a one-shot `check` exit without waiting for it.
      idleTimeoutMillis: 60_000,
      allowExitOnIdle: true,
    });
    // Without these a backend terminated by the server (57P01) or a killed server emits 'error' on an
    // idle or checked-out client and crashes the process. The failure shows in the next run instead.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    // What we learnt about slots belongs to one server.
    if (entry === null || describeTarget(entry.target) !== describeTarget(target)) known = null;
    entry = { key, pool, target, timeouts };
    return entry;
  }

  async function run(ctx: ProbeContext, signal: AbortSignal): Promise<ProbeOutput<DatabaseData>> {
    signal.throwIfAborted();
    const { pool, target, timeouts } = poolFor(ctx.odoo, ctx.config.probes.timeoutMs);
    const where = describeTarget(target);
    const sizeDb = dbNames(ctx.odoo.dbName)[0] ?? null;
    const data: DatabaseData = {
      target: where,
      database: target.database,
      user: target.user,
      serverVersion: null,
      latencyMs: null,
      connections: null,
      idleInTransaction: [],
      longQueries: [],
      waitingLocks: null,
      databaseSizeBytes: null,
      seesAllSessions: null,
      dataDirectory,
      error: null,
      notes: [],
    };
    const fail = (err: unknown, stage: 'connect' | 'query'): ProbeOutput<DatabaseData> => {
      const f = failureFinding(err, target, timeouts, known, stage);
      data.error = { code: errCode(err), message: errorMessage(err) };
      return { status: statusOfFindings([f]), summary: f.title, findings: [f], data };
    };

    // A pooled connection may have died since the last run (server restarted): one retry with a
    // fresh connection tells "connection was stale" from "server is down".
    for (let tries = 0; ; tries++) {
      const reused = pool.idleCount > 0;
      const started = performance.now();
      let client: pg.PoolClient;
      const pending = pool.connect();
      try {
        client = await raceAbort(pending, signal);
      } catch (err) {
        // If we gave up first, the connection may still arrive: hand it back broken so it closes.
        pending.then((c) => c.release(true), () => {});
        if (signal.aborted) throw signal.reason;
        return fail(err, 'connect');
      }
      try {
        await raceAbort(client.query('select 1'), signal);
        const latencyMs = performance.now() - started;
        const fig = await gatherFigures(client, ctx, sizeDb, signal);
        client.release();
        Object.assign(data, fig, { latencyMs });
        if (fig.connections) known = { max: fig.connections.max, reserved: fig.connections.reserved };
        dataDirectory = fig.dataDirectory ?? dataDirectory;
        data.dataDirectory = dataDirectory;
        const findings = figureFindings(fig, latencyMs, ctx, where);
        const status = statusOfFindings(findings);
        return { status, summary: status === 'ok' ? okSummary(data) : findings.map((f) => f.title).join('; '), findings, data };
      } catch (err) {
        // Never hand a connection in an unknown state back to the pool.
        client.release(err instanceof Error ? err : true);
        if (signal.aborted) throw signal.reason;
        if (reused && tries === 0 && isConnectionLevel(err) && !isReadTimeout(err)) continue;
        return fail(err, 'query');
      }
    }
  }

  return {
    name: 'database',
    run,
    async close() {
      const e = entry;
      entry = null;
      if (e) await e.pool.end().catch(() => {});
    },
  };
}
