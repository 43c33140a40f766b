// Where and how odoo-heal connects to Odoo's PostgreSQL: the odoo.conf `db_*` keys turned into pg
// settings with timeouts on every step. Shared by the database probe and by fixes that need one
// short-lived connection (e.g. terminating idle backends).
//
// Why every timeout: pg waits forever by default on a host that accepts and never answers
// (connectionTimeoutMillis = 0), `query_timeout` does not cover connecting and leaves the query running
// on the server, so the server-side `statement_timeout` / `lock_timeout` do the real bounding and the
// client-side ones are only safety nets (see shared/docs/platform-notes.md, "pg for health probes").
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import pg from 'pg';
import type { OdooConf } from '../config/types.js';

/** What a connection goes to. Carries the password, so never print it: use `describeTarget`. */
export interface PgTarget {
  /** Host name / IP, or a directory holding the Unix socket (starts with `/`). */
  host: string;
  port: number;
  user: string;
  database: string;
  password: string | undefined;
}

/** Every time bound of one connection, in milliseconds. */
export interface PgTimeouts {
  /** TCP connect + startup + authentication. */
  connectMs: number;
  /** Server-side bound of each statement (the server cancels it). */
  statementMs: number;
  /** Server-side bound of waiting for a lock. */
  lockMs: number;
  /** Server ends our session if it sits in an open transaction this long (we never mean to). */
  idleInTxMs: number;
  /** Client-side bound of each query (safety net if the server stops answering mid-query). */
  queryMs: number;
}

export const APPLICATION_NAME = 'odoo-heal';

/** Debian/Ubuntu's socket directory: libpq's default there, so Odoo's too when `db_host` is unset. */
const DEFAULT_SOCKET_DIR = '/var/run/postgresql';

/**
 * The target Odoo itself uses. Unset keys fall back like libpq (which Odoo's psycopg2 uses): PG*
 * environment variables, then the Unix socket, port 5432, the OS user name. `db_name` may list several
 * databases (`db1,db2`); the first one is probed. Without `db_name`, `postgres` (what Odoo's database
 * manager connects to).
 */
export function pgTarget(odoo: OdooConf, env: NodeJS.ProcessEnv = process.env): PgTarget {
  const host =
    nonEmpty(odoo.dbHost) ?? nonEmpty(env.PGHOST) ?? (existsSync(DEFAULT_SOCKET_DIR) ? DEFAULT_SOCKET_DIR : '127.0.0.1');
  const envPort = Number(env.PGPORT);
  const port = odoo.dbPort ?? (Number.isInteger(envPort) && envPort > 0 ? envPort : 5432);
  const user = nonEmpty(odoo.dbUser) ?? nonEmpty(env.PGUSER) ?? safeUserName();
  const database = firstDbName(odoo.dbName) ?? nonEmpty(env.PGDATABASE) ?? 'postgres';
  const password = nonEmpty(odoo.dbPassword) ?? undefined;
  return { host, port, user, database, password };
}

/** The databases named by `db_name` (comma-separated in recent Odoo), first one first. */
export function dbNames(dbName: string | null): string[] {
  if (!dbName) return [];
  return dbName
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function firstDbName(dbName: string | null): string | null {
  return dbNames(dbName)[0] ?? null;
}

function nonEmpty(v: string | null | undefined): string | null {
  return v === undefined || v === null || v.trim() === '' ? null : v;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'odoo';
  }
}

/** `127.0.0.1:5433` or `/var/run/postgresql/.s.PGSQL.5432`: where, never who or with what password. */
export function describeTarget(target: Pick<PgTarget, 'host' | 'port'>): string {
  if (target.host.startsWith('/')) return `${target.host.replace(/\/+$/, '')}/.s.PGSQL.${target.port}`;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${host}:${target.port}`;
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, Math.floor(v)));

/**
 * Splits a total budget (e.g. the probe runner's per-probe timeout) so that a hang at any step is
 * reported by us, with a plain message, before the caller gives up: connecting may use 60% of it,
 * each statement 30% on the server, the client-side net fires at 40%.
 */
export function pgTimeouts(budgetMs: number): PgTimeouts {
  const budget = Number.isFinite(budgetMs) && budgetMs > 0 ? budgetMs : 5000;
  const statementMs = clamp(budget * 0.3, 50, 10_000);
  return {
    connectMs: clamp(budget * 0.6, 50, 15_000),
    statementMs,
    lockMs: statementMs,
    idleInTxMs: clamp(budget * 2, 1000, 60_000),
    queryMs: Math.max(statementMs + 25, clamp(budget * 0.4, 75, 15_000)),
  };
}

/** Settings for `new pg.Client(...)` / `new pg.Pool(...)`. */
export function pgClientConfig(
  target: PgTarget,
  timeouts: PgTimeouts,
  applicationName: string = APPLICATION_NAME,
): pg.ClientConfig {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    // Empty string rather than undefined would make pg send an empty password; undefined lets it
    // fall back to PGPASSWORD / ~/.pgpass like libpq.
    ...(target.password !== undefined ? { password: target.password } : {}),
    application_name: applicationName,
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    lock_timeout: timeouts.lockMs,
    idle_in_transaction_session_timeout: timeouts.idleInTxMs,
    query_timeout: timeouts.queryMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** Rejects with the signal's reason as soon as it aborts; otherwise settles like `promise`. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Opens one connection with all timeouts set, or throws pg's error (with `.code`). The client has an
 * 'error' handler so a backend terminated by the server (57P01) or a dropped socket never crashes the
 * process; the next query on it just fails. The caller must `end()` it (see `withPgClient`).
 */
export async function openPgClient(
  odoo: OdooConf,
  opts: { budgetMs: number; signal?: AbortSignal; applicationName?: string },
): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig(pgTarget(odoo), pgTimeouts(opts.budgetMs), opts.applicationName));
  client.on('error', () => {
    /* reported by the failing query; see above */
  });
  try {
    await raceAbort(client.connect(), opts.signal);
    return client;
  } catch (err) {
    void client.end().catch(() => {});
    throw err;
  }
}

/** Runs `fn` with one short-lived connection and always closes it. */
export async function withPgClient<T>(
  odoo: OdooConf,
  opts: { budgetMs: number; signal?: AbortSignal; applicationName?: string },
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = await openPgClient(odoo, opts);
  try {
    return await raceAbort(fn(client), opts.signal);
  } finally {
    void client.end().catch(() => {});
  }
}
