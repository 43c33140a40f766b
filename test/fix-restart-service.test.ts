import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident, ProbeName } from '../src/engine/core/types.js';
import { createDatabaseProbe } from '../src/engine/probes/database.js';

import { restartService } from '../src/fixes/restart-service.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';
import { makeFixContext, runProbeOnce, type TestFixContext, testIncident } from './helpers/fix-context.js';

function incident(service: string): Incident {
  return testIncident({
    id: 'i-5e7f1c00',
    fingerprint: 'probe:database:down',
    origin: { kind: 'probe', probe: 'database', key: 'down' },
    title: 'PostgreSQL is down',
    category: 'database',
    fix: { id: 'restart-service', params: { service }, unattended: false },
  });
}

describe.skipIf(!havePostgres())('restart-service fix against a throwaway PostgreSQL cluster', () => {
  let cluster: PgCluster;
  let ctx: TestFixContext | undefined;
  const probe = createDatabaseProbe();
  beforeAll(async () => {
    cluster = await startCluster({ maxConnections: 10 });
  });
  afterAll(async () => {
    ctx?.cleanup();
    await probe.close?.();
    cluster?.destroy();
  });

  function context(restart: Record<string, string[]>, allow: string[]): TestFixContext {
    ctx?.cleanup();
    const c: TestFixContext = makeFixContext({
      roots: [],
      odoo: { dbHost: cluster.host, dbPort: cluster.port, dbUser: cluster.user, dbName: cluster.database },
      fixes: { restart, allowCommands: allow, commandTimeoutMs: 30_000 },
      systemd: false,
      // The real database probe, as the engine runs it.
      probe: (name: ProbeName) => {
        if (name !== 'database') throw new Error(`unexpected probe ${name}`);
        return runProbeOnce(probe, c);
      },
    });
    ctx = c;
    return c;
  }

  it('restarts a stopped cluster with the configured pg_ctl command and verifies with the database probe', async () => {
    const c = context({ postgresql: cluster.pgCtlArgv('start') }, ['runuser', 'pg_ctl']);
    cluster.stop();
    expect(cluster.isRunning()).toBe(false);
    expect((await c.probe('database')).status).toBe('critical');

    const d = restartService.detect(incident('postgresql'), c);
    expect(d).toEqual({ ok: true, params: { service: 'postgresql' } });
    if (!d.ok) return;
    const plan = await restartService.plan(d.params, incident('postgresql'), c);
    expect(plan.applicable).toBe(true);
    expect(plan.actions).toEqual([{ kind: 'command', argv: cluster.pgCtlArgv('start') }]);
    expect(plan.preview).toMatch(/nothing to undo/);
    expect(cluster.isRunning()).toBe(false); // plan has no side effect

    const applied = await restartService.apply(plan, c);
    expect(applied.commands[0]?.exitCode).toBe(0);
    expect(cluster.isRunning()).toBe(true);
    const v = await restartService.verify(plan, applied, c);
    expect(v).toMatchObject({ ok: true });
  });

  it('refuses a command outside the allowlist and fails verification when the service stays down', async () => {
    const c = context({ postgresql: cluster.pgCtlArgv('start') }, ['pg_ctl']);
    c.config.fixes.commandTimeoutMs = 1000;
    cluster.stop();
    try {
      const d = restartService.detect(incident('postgresql'), c);
      if (!d.ok) throw new Error(d.reason);
      const plan = await restartService.plan(d.params, incident('postgresql'), c);
      await expect(restartService.apply(plan, c)).rejects.toThrow(/not in fixes.allowCommands/);
      const v = await restartService.verify(plan, { backups: [], commands: [], undo: null }, c);
      expect(v.ok).toBe(false);
      expect(v.detail).toMatch(/still unhealthy/);
    } finally {
      cluster.start();
    }
  });

  it('plans systemctl restart of the unit under systemd, and guidance when nothing is configured', async () => {
    const c = context({}, []);
    cluster.stop();
    try {
      c.systemd = true;
      const plan = await restartService.plan({ service: 'postgresql' }, incident('postgresql'), c);
      expect(plan.actions).toEqual([{ kind: 'command', argv: ['systemctl', 'restart', 'postgresql'] }]);
      expect(plan.preview).toMatch(/^Confirmed by the database probe at .*: critical: PostgreSQL .* refuses connections/);
      c.systemd = false;
      const none = await restartService.plan({ service: 'postgresql' }, incident('postgresql'), c);
      expect(none.applicable).toBe(false);
      expect(none.summary).toMatch(/no restart command configured/);
      expect(restartService.detect(incident('mysql'), c).ok).toBe(false);
    } finally {
      cluster.start();
    }
  });

  it('does not restart a service its probe sees healthy (the incident no longer holds)', async () => {
    const c = context({ postgresql: cluster.pgCtlArgv('restart') }, ['runuser', 'pg_ctl']);
    const plan = await restartService.plan({ service: 'postgresql' }, incident('postgresql'), c);
    expect(plan.applicable).toBe(false);
    expect(plan.actions).toEqual([]);
    expect(plan.summary).toMatch(/^Not restarting postgresql: the database probe does not confirm it is down/);
    expect(plan.preview).toMatch(/^Not confirmed by the database probe at .*: ok: PostgreSQL/);
  });
});
