// The database probe against real throwaway PostgreSQL clusters (never the machine's own on 5432)
// and a TCP server that accepts and never answers.
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config, OdooConf } from '../src/engine/config/types.js';
import { createDatabaseProbe, redactQuery, type DatabaseData } from '../src/engine/probes/database.js';
import { describeTarget, openPgClient, pgTarget, pgTimeouts, withPgClient } from '../src/engine/probes/pg-connect.js';
import type { Probe, ProbeOutput } from '../src/engine/probes/types.js';
import type { Finding } from '../src/engine/core/types.js';
import { testConfig, testCtx, testOdoo } from './helpers/config.js';
import { startHangServer, type HangServer } from './helpers/hang-server.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const BUDGET_MS = 2000;

function config(edit: (c: Config) => void = () => undefined): Config {
  return testConfig((c) => {
    c.probes.timeoutMs = BUDGET_MS;
    edit(c);
  });
}

/** Runs the probe the way the runner does: with a signal that aborts when the budget is spent. */
async function runWithin(
  probe: Probe<DatabaseData>,
  odoo: OdooConf,
  cfg: Config = config(),
): Promise<ProbeOutput<DatabaseData>> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('budget spent')), cfg.probes.timeoutMs);
  try {
    return await probe.run(testCtx(cfg, odoo), ac.signal);
  } finally {
    clearTimeout(timer);
  }
}

const pidOf = (c: pg.Client): number => (c as unknown as { processID: number }).processID;

/** Status 'ok', or a failure that shows what the probe found instead. */
function expectOk(out: ProbeOutput<DatabaseData>): void {
  expect(out.findings).toEqual([]);
  expect(out.status).toBe('ok');
}

const keys = (out: ProbeOutput<DatabaseData>): string[] => out.findings.map((f) => f.key);

function only(out: ProbeOutput<DatabaseData>, key: string): Finding {
  const f = out.findings.find((x) => x.key === key);
  if (!f) throw new Error(`no '${key}' finding; got: ${JSON.stringify(out.findings)}`);
  return f;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!havePostgres())('database probe on a real cluster', () => {
  let cluster: PgCluster;
  let admin: pg.Client;
  const probes: Probe<DatabaseData>[] = [];
  const clients: pg.Client[] = [];

  const newProbe = (): Probe<DatabaseData> => {
    const p = createDatabaseProbe();
    probes.push(p);
    return p;
  };
  const odooAs = (user: string, over: Partial<OdooConf> = {}): OdooConf =>
    testOdoo({ dbHost: cluster.host, dbPort: cluster.port, dbUser: user, dbName: 'postgres', ...over });
  /** A plain client that the test controls (holds slots, idles in transaction, ...). */
  async function connectAs(user: string): Promise<pg.Client> {
    const c = new pg.Client({ host: cluster.host, port: cluster.port, user, database: 'postgres' });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  }
  async function connectAdmin(): Promise<pg.Client> {
    const c = new pg.Client({ host: cluster.host, port: cluster.port, user: 'postgres', database: 'postgres' });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  beforeAll(async () => {
    cluster = await startCluster({ maxConnections: 5, superuserReserved: 1 });
    admin = await connectAdmin();
    await admin.query('create role odoo login');
    await admin.query(`create role pwuser login password 'right-secret'`);
    await admin.query('create table t (id int)');
    // Password auth for one role only (the cluster trusts everyone else).
    const hba = join(cluster.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `host all pwuser 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    await admin.query('select pg_reload_conf()');
    // The admin session uses a slot the slot tests count on: give it back.
    await admin.end();
  });

  // Each probe keeps a connection: close them so one test's slots never leak into the next.
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    await Promise.all(probes.splice(0).map((p) => p.close?.()));
  });

  afterAll(() => {
    cluster?.destroy();
  });

  it('reports latency, connections, size and version of a running server', async () => {
    const probe = newProbe();
    // Latency has its own test below; a loaded 2-core box must not turn this one into a warning.
    const out = await runWithin(probe, odooAs('postgres'), config((c) => (c.thresholds.dbLatencyWarnMs = 5000)));
    expect(out.findings).toEqual([]);
    expect(out.status).toBe('ok');
    const d = out.data!;
    expect(d.target).toBe(`127.0.0.1:${cluster.port}`);
    expect(d.latencyMs).toBeGreaterThan(0);
    expect(d.serverVersion).toMatch(/^\d+\.\d+/);
    expect(d.connections).toMatchObject({ max: 5, reserved: 1 });
    expect(d.connections!.used).toBeGreaterThanOrEqual(1);
    expect(d.databaseSizeBytes).toBeGreaterThan(1_000_000);
    expect(d.seesAllSessions).toBe(true);
    // A superuser may read data_directory (the disk PostgreSQL depends on, correlation/model.ts).
    expect(d.dataDirectory).toBe(realpathSync(cluster.dataDir));
    expect(d.error).toBeNull();
    // A plain role may not: no value, no error, no note.
    const plainProbe = newProbe();
    const plain = await runWithin(plainProbe, odooAs('odoo'), config((c) => (c.thresholds.dbLatencyWarnMs = 5000)));
    await plainProbe.close?.();
    expect(plain.data!.dataDirectory).toBeNull();
    expect(plain.data!.notes).toEqual([]);
    expect(out.summary).toContain(`127.0.0.1:${cluster.port}`);

    // The same instance keeps one connection and reuses it on the next run.
    const again = await runWithin(probe, odooAs('postgres'));
    expect(again.status).toBe('ok');
    const c = await connectAs('postgres');
    const ours = await c.query(`select count(*)::int as n from pg_stat_activity where application_name = 'odoo-heal'`);
    expect(ours.rows[0].n).toBe(1);

    const slow = await runWithin(probe, odooAs('postgres'), config((cfg) => (cfg.thresholds.dbLatencyWarnMs = 0)));
    expect(keys(slow)).toEqual(['latency']);
    expect(slow.status).toBe('warning');
    expect(only(slow, 'latency').title).toMatch(/answers slowly \(connect \+ select 1 took \d+ ms\)/);
  });

  it('connects through the Unix socket when db_host is a directory', async () => {
    const socketDir = dirname(cluster.dataDir);
    const out = await runWithin(newProbe(), odooAs('postgres', { dbHost: socketDir }));
    expectOk(out);
    expect(out.data!.target).toBe(`${socketDir}/.s.PGSQL.${cluster.port}`);
  });

  it('sends its timeouts and application name with the connection', async () => {
    const odoo = odooAs('odoo');
    const rows = await withPgClient(odoo, { budgetMs: 1000 }, async (c) => {
      const res = await c.query<{ name: string; setting: string }>(
        `select name, setting from pg_settings
          where name in ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'application_name')`,
      );
      return Object.fromEntries(res.rows.map((r) => [r.name, r.setting]));
    });
    const t = pgTimeouts(1000);
    expect(rows).toEqual({
      application_name: 'odoo-heal',
      statement_timeout: String(t.statementMs),
      lock_timeout: String(t.lockMs),
      idle_in_transaction_session_timeout: String(t.idleInTxMs),
    });
    expect(t.statementMs).toBeLessThan(t.queryMs);
    expect(t.connectMs).toBeLessThan(1000);
  });

  it('lists sessions idle in transaction, long queries and waiting locks, without credentials', async () => {
    const idle = await connectAs('postgres');
    await idle.query('begin');
    await idle.query('select 1');
    await idle.query('lock table t in access exclusive mode');
    const blocked = await connectAs('odoo');
    const blockedQuery = blocked.query(`select count(*) from t /* alter role x password 'hunter2' */`).catch(() => null);
    await until('the blocked query to wait', async () => {
      const res = await idle.query(`select count(*)::int as n from pg_locks where not granted`);
      return res.rows[0].n > 0;
    });

    const probe = newProbe();
    const cfg = config((c) => {
      c.thresholds.idleInTxSeconds = 0;
      c.thresholds.longQuerySeconds = 0;
    });
    const out = await runWithin(probe, odooAs('postgres'), cfg);
    expect(keys(out).sort()).toEqual(['idle_in_tx', 'long_queries']);

    const idleFinding = only(out, 'idle_in_tx');
    expect(idleFinding.fix?.id).toBe('terminate-idle');
    expect(idleFinding.detail).toContain(`pid ${pidOf(idle)}`);
    expect(out.data!.idleInTransaction.map((s) => s.pid)).toEqual([pidOf(idle)]);
    expect(out.data!.idleInTransaction[0]).toMatchObject({ database: 'postgres', usename: 'postgres' });

    const long = only(out, 'long_queries');
    expect(long.severity).toBe('warning');
    expect(out.data!.longQueries.map((q) => q.pid)).toEqual([pidOf(blocked)]);
    expect(out.data!.longQueries[0]!.waitEventType).toBe('Lock');
    expect(out.data!.longQueries[0]!.query).toContain('select count(*) from t');
    expect(out.data!.waitingLocks).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(out)).not.toContain('hunter2');

    await idle.query('rollback');
    await blockedQuery;
  });

  it('reports a wrong password as a configuration problem without printing it', async () => {
    const probe = newProbe();
    const out = await runWithin(probe, odooAs('pwuser', { dbPassword: 'wrong-secret' }));
    const f = only(out, 'auth');
    expect(out.status).toBe('critical');
    expect(f.category).toBe('config');
    expect(f.fix).toBeUndefined();
    expect(f.title).toContain('"pwuser"');
    expect(out.data!.error?.code).toBe('28P01');
    expect(JSON.stringify(out)).not.toContain('wrong-secret');

    const ok = await runWithin(newProbe(), odooAs('pwuser', { dbPassword: 'right-secret' }));
    expectOk(ok);
  });

  it('names a missing database', async () => {
    const out = await runWithin(newProbe(), odooAs('odoo', { dbName: 'no_such_db' }));
    expect(keys(out)).toEqual(['no_database']);
    expect(out.findings[0]!.title).toContain('"no_such_db"');
  });

  it('reports out of connection slots for a non-superuser, says what it knows, and recovers', async () => {
    const odoo = odooAs('odoo');
    const probe = newProbe();
    expectOk(await runWithin(probe, odoo)); // learns max_connections, keeps its slot

    /** Takes slots as `odoo` until the server refuses (53300). */
    const fill = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        try {
          await connectAs('odoo');
        } catch (err) {
          expect((err as { code?: string }).code).toBe('53300');
          return;
        }
      }
      throw new Error('never ran out of slots');
    };
    await fill();

    // The probe still has its own connection: it can count, and every usable slot is taken.
    const full = await runWithin(probe, odoo);
    const conn = only(full, 'connections');
    expect(conn.severity).toBe('critical');
    expect(full.data!.connections).toMatchObject({ used: 4, max: 5, reserved: 1, percent: 100 });

    // Lose that connection (an admin terminates it) and let someone else take the slot.
    const su = await connectAs('postgres'); // superuser: gets a reserved slot
    await su.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'odoo-heal'`);
    await until('the slot to free', async () => {
      const r = await su.query(`select count(*)::int as n from pg_stat_activity where application_name = 'odoo-heal'`);
      return r.rows[0].n === 0;
    });
    await su.end();
    clients.splice(clients.indexOf(su), 1);
    await fill();

    const out = await runWithin(probe, odoo);
    expect(keys(out)).toEqual(['slots']);
    const slots = only(out, 'slots');
    expect(out.status).toBe('critical');
    expect(slots.title).toBe(
      'PostgreSQL is out of connection slots (4/4 usable slots used, 1 of 5 reserved for superusers)',
    );
    expect(slots.fix?.id).toBe('terminate-idle');
    expect(out.data!.error?.code).toBe('53300');

    // A probe that never got in cannot know the count, and says so.
    const fresh = await runWithin(newProbe(), odoo);
    expect(only(fresh, 'slots').title).toMatch(/out of connection slots .*count is unknown/);

    await Promise.all(clients.splice(0).map((c) => c.end()));
    const back = await runWithin(probe, odoo);
    expectOk(back);
  });

  it('reports a stopped server as down and the same probe recovers after a restart', async () => {
    const probe = newProbe();
    const odoo = odooAs('postgres');
    expectOk(await runWithin(probe, odoo));

    cluster.stop();
    const down = await runWithin(probe, odoo);
    expect(keys(down)).toEqual(['down']);
    const f = only(down, 'down');
    expect(f.title).toBe(`PostgreSQL at 127.0.0.1:${cluster.port} refuses connections (is it running?)`);
    expect(f.severity).toBe('critical');
    expect(f.fix).toEqual({ id: 'restart-service', params: { service: 'postgresql' }, unattended: true });
    expect(down.data!.error?.code).toBe('ECONNREFUSED');

    cluster.start();
    const up = await runWithin(probe, odoo);
    expectOk(up);
    expect(up.data!.serverVersion).not.toBeNull();
  });

  it('tells a server that is shutting down from one that is down', async () => {
    const holder = await connectAs('postgres'); // a smart shutdown waits for this session
    const pid = Number(readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGTERM'); // what `pg_ctl stop -m smart` sends
    const odoo = odooAs('postgres');
    let out = await runWithin(newProbe(), odoo);
    for (let i = 0; i < 20 && !keys(out).includes('not_ready'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      out = await runWithin(newProbe(), odoo);
    }
    expect(keys(out)).toEqual(['not_ready']);
    expect(out.findings[0]!.title).toBe(`PostgreSQL at 127.0.0.1:${cluster.port} is shutting down`);
    expect(out.data!.error?.code).toBe('57P03');

    await holder.end();
    clients.splice(clients.indexOf(holder), 1);
    await until('the server to stop', () => !cluster.isRunning(), 10_000);
    cluster.start();
  });

  it('survives the server being killed while it holds a connection, then recovers', async () => {
    const probe = newProbe();
    const odoo = odooAs('postgres');
    expectOk(await runWithin(probe, odoo)); // pool now holds an idle connection

    cluster.kill();
    // Give the idle connection time to see its backend die: an unhandled 'error' would fail this file.
    await new Promise((r) => setTimeout(r, 200));
    const down = await runWithin(probe, odoo);
    expect(keys(down)).toEqual(['down']);

    cluster.start();
    const up = await runWithin(probe, odoo);
    expectOk(up);
  });
});

describe('database probe against a host that accepts and never answers', () => {
  let hang: HangServer;
  const probe = createDatabaseProbe();

  beforeAll(async () => {
    hang = await startHangServer();
  });
  afterAll(async () => {
    await probe.close?.();
    await hang.close();
  });

  it("reports 'timeout' with a plain message before the runner's budget", async () => {
    const cfg = config((c) => {
      c.probes.timeoutMs = 1000;
    });
    const odoo = testOdoo({ dbHost: hang.host, dbPort: hang.port, dbUser: 'odoo', dbName: 'odoo' });
    const started = Date.now();
    const out = await runWithin(probe, odoo, cfg);
    const elapsed = Date.now() - started;
    const connectMs = pgTimeouts(1000).connectMs;
    expect(keys(out)).toEqual(['timeout']);
    expect(out.findings[0]!.title).toBe(`no answer from PostgreSQL at 127.0.0.1:${hang.port} within ${connectMs} ms`);
    expect(out.status).toBe('critical');
    expect(hang.accepted()).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeLessThan(2 * cfg.probes.timeoutMs); // loose: it answered, it did not hang
    // The half-open connection was dropped, not left behind.
    await until('the probe to drop its socket', () => hang.open() === 0);
  });

  it('stops promptly when the runner aborts first', async () => {
    const odoo = testOdoo({ dbHost: hang.host, dbPort: hang.port, dbUser: 'odoo', dbName: 'odoo' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('runner gave up')), 100);
    const run = probe.run(testCtx(config((c) => (c.probes.timeoutMs = 10_000)), odoo), ac.signal);
    await expect(run).rejects.toThrow('runner gave up');
  });

  it('opens a fix connection with the same bounds', async () => {
    const odoo = testOdoo({ dbHost: hang.host, dbPort: hang.port, dbUser: 'odoo' });
    await expect(openPgClient(odoo, { budgetMs: 500 })).rejects.toThrow(/timeout/i);
  });
});

describe('database probe without a server', () => {
  it('reports a missing socket as down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-nosock-'));
    const probe = createDatabaseProbe();
    try {
      const out = await runWithin(probe, testOdoo({ dbHost: dir, dbPort: 5432, dbUser: 'odoo' }));
      expect(keys(out)).toEqual(['down']);
      expect(out.findings[0]!.title).toBe(`PostgreSQL has no socket at ${dir}/.s.PGSQL.5432 (is it running?)`);
    } finally {
      await probe.close?.();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connection settings from odoo.conf', () => {
  it('follows odoo.conf, then libpq-style fallbacks, and never shows the password', () => {
    const t = pgTarget(
      testOdoo({ dbHost: 'db.local', dbPort: 6432, dbUser: 'odoo', dbPassword: 's3cret', dbName: 'prod,staging' }),
      {},
    );
    expect(t).toEqual({ host: 'db.local', port: 6432, user: 'odoo', database: 'prod', password: 's3cret' });
    expect(describeTarget(t)).toBe('db.local:6432');

    const env = pgTarget(testOdoo(), { PGHOST: '/run/pg', PGPORT: '5433', PGUSER: 'me', PGDATABASE: 'x' });
    expect(env).toEqual({ host: '/run/pg', port: 5433, user: 'me', database: 'x', password: undefined });
    expect(describeTarget(env)).toBe('/run/pg/.s.PGSQL.5433');
  });

  it('masks password literals in query text', () => {
    expect(redactQuery(`ALTER ROLE odoo WITH PASSWORD 'it''s secret' VALID UNTIL 'x'`)).toBe(
      `ALTER ROLE odoo WITH PASSWORD '***' VALID UNTIL 'x'`,
    );
    expect(redactQuery(`select dblink('host=h password=abc user=u')`)).not.toContain('abc');
    expect(redactQuery(`create role r password 'md5a1b2c3d4e5f60718293a4b5c6d7e8f9`)).not.toContain('a1b2');
    // What Odoo sends (psycopg2 inlines parameters) and what must stay readable.
    expect(redactQuery(`UPDATE "res_users" SET "password" = '$pbkdf2-sha512$600000$c2FsdA$aGFzaA' WHERE id IN (2)`)).toBe(
      `UPDATE "res_users" SET "password" = '***' WHERE id IN (2)`,
    );
    expect(redactQuery(`SELECT COALESCE(password, '') FROM res_users WHERE id=2`)).toBe(
      `SELECT COALESCE(password, '') FROM res_users WHERE id=2`,
    );
    expect(redactQuery(`UPDATE res_users SET "password" = 'plain text' WHERE id = 2`)).not.toContain('plain text');
    expect(redactQuery(`select 1 /* $pbkdf2-sha512$1$salt$hash */`)).toBe('select 1 /* *** */');
  });
});
