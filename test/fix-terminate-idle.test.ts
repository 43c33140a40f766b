import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseProbe } from '../src/engine/probes/database.js';
import type { Incident, ProbeName } from '../src/engine/core/types.js';
import { terminateIdle } from '../src/fixes/terminate-idle.js';
import { makeFixContext, runProbeOnce, type TestFixContext, testIncident } from './helpers/fix-context.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const incident: Incident = testIncident({
  id: 'i-1d1e0000',
  fingerprint: 'probe:database:idle_in_tx',
  origin: { kind: 'probe', probe: 'database', key: 'idle_in_tx' },
  title: 'sessions idle in transaction',
  severity: 'warning',
  category: 'database',
  fix: { id: 'terminate-idle', params: {}, unattended: true },
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!havePostgres())('terminate-idle fix on a throwaway cluster', () => {
  let cluster: PgCluster;
  const clients: pg.Client[] = [];
  const probe = createDatabaseProbe();
  let ctx: TestFixContext | undefined;

  async function connect(user: string, database: string): Promise<pg.Client> {
    const c = new pg.Client({ host: cluster.host, port: cluster.port, user, database, application_name: `test-${user}-${database}` });
    c.on('error', () => {});
    await c.connect();
    clients.push(c);
    return c;
  }
  const pidOf = async (c: pg.Client): Promise<number> => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

  beforeAll(async () => {
    cluster = await startCluster({ maxConnections: 20 });
    const admin = await connect('postgres', 'postgres');
    await admin.query('create role odoo login');
    await admin.query('create database healdb owner odoo');
    await admin.query('create database otherdb owner odoo');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await probe.close?.();
    ctx?.cleanup();
    cluster?.destroy();
  });

  it('ends only old idle-in-transaction sessions of non-superusers in Odoo\'s database', async () => {
    const idle1 = await connect('odoo', 'healdb');
    const idle2 = await connect('odoo', 'healdb');
    const otherDb = await connect('odoo', 'otherdb');
    const superuser = await connect('postgres', 'healdb');
    const active = await connect('odoo', 'healdb');
    for (const c of [idle1, idle2, otherDb, superuser]) await c.query('begin');
    const activePid = await pidOf(active);
    // Asked before the wait: any statement resets a session's idle time.
    const expectedTargets = [await pidOf(idle1), await pidOf(idle2)].sort();
    for (const c of [idle1, idle2]) await c.query('select 1');
    const running = active.query('select pg_sleep(5)');
    await sleep(1500);

    const c: TestFixContext = makeFixContext({
      roots: [],
      odoo: { dbHost: cluster.host, dbPort: cluster.port, dbUser: 'odoo', dbName: 'healdb' },
      fixes: { idleInTxMaxAgeSeconds: 1 },
      probe: (name: ProbeName) => {
        if (name !== 'database') throw new Error(`unexpected probe ${name}`);
        return runProbeOnce(probe, c);
      },
    });
    // The probe that raised the incident must still see the sessions idle in transaction (1 s here).
    c.config.thresholds = { ...c.config.thresholds, idleInTxSeconds: 1 };
    ctx = c;
    const d = terminateIdle.detect(incident, c);
    expect(d).toEqual({ ok: true, params: { database: 'healdb', maxAgeSeconds: 1 } });
    if (!d.ok) return;
    const plan = await terminateIdle.plan(d.params, incident, c);
    const targets = plan.data.targets.map((t) => t.pid).sort();
    expect(targets).toEqual(expectedTargets);
    expect(plan.preview).toContain('pg_terminate_backend');
    expect(plan.preview).toMatch(/^Confirmed by the database probe at .*: warning: .*idle in transaction/i);
    expect(plan.actions[0]).toMatchObject({ kind: 'sql' });

    const applied = await terminateIdle.apply(plan, c);
    expect((applied.undo as { terminated: number[] }).terminated.sort()).toEqual(targets);
    expect(await terminateIdle.verify(plan, applied, c)).toMatchObject({ ok: true });

    // Terminated sessions are gone; the others survive.
    await expect(idle1.query('select 1')).rejects.toThrow();
    await expect(idle2.query('select 1')).rejects.toThrow();
    expect((await otherDb.query<{ n: number }>('select 1 as n')).rows[0]?.n).toBe(1);
    expect((await superuser.query<{ n: number }>('select 1 as n')).rows[0]?.n).toBe(1);
    await running; // the active query ran to completion
    expect(await pidOf(active)).toBe(activePid);
  });

  it('refuses when Odoo\'s database is unknown', () => {
    const c = makeFixContext({ roots: [], odoo: { dbName: null } });
    try {
      const d = terminateIdle.detect(incident, c);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(/db_name/);
    } finally {
      c.cleanup();
    }
  });
});
