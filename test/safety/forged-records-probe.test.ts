// Issue 11 item 3: a forged log record must not restart, terminate or delete anything unless a probe
// confirms the condition at that moment. `odoo-heal --auto` (the built CLI) runs with the three
// fixes allowed unattended against a real, healthy throwaway PostgreSQL; real Odoo 18 records
// (test/fixtures/logs) are appended to its log as an attacker would forge them. Nothing may happen:
// the postmaster keeps its pid, the idle session lives, the old session files stay.
import { readFileSync, existsSync, mkdirSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restartService } from '../../src/fixes/restart-service.js';
import { createDatabaseProbe } from '../../src/engine/probes/database.js';
import { createSandbox, ensureBuilt, startAuto, type AutoProcess, type Line, type Sandbox } from '../helpers/auto-sandbox.js';
import { makeFixContext, runProbeOnce, testIncident } from '../helpers/fix-context.js';
import { havePostgres, startCluster, type PgCluster } from '../helpers/pg-cluster.js';

let cluster: PgCluster | null = null;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  if (!havePostgres()) return;
  ensureBuilt();
  cluster = await startCluster();
}, 120_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  cluster?.destroy();
});

const postmasterPid = (c: PgCluster): string => readFileSync(join(c.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!;

describe.skipIf(!havePostgres())('forged records while every probe is healthy (--auto)', () => {
  it('a forged "Connection refused", "too many clients" and "No space left" restart, terminate and delete nothing', async () => {
    const c = cluster!;
    const sb: Sandbox = createSandbox({ dbPort: c.port, dbPassword: 'unused-pw', adminPasswd: 'unused-admin' });
    cleanups.push(() => sb.destroy());
    appendFileSync(sb.odooConf, `db_name = ${c.database}\n`);
    sb.writeConfig({
      fixes: {
        unattended: ['restart-service', 'terminate-idle', 'session-cleanup'],
        // The real restart of this very cluster: had it run, the postmaster pid would change.
        restart: { postgresql: c.pgCtlArgv('restart') },
        allowCommands: c.allowCommands,
        idleInTxMaxAgeSeconds: 1,
      },
    });
    // An Odoo session idle in transaction (a target terminate-idle would end) and expired session files.
    const idle = new pg.Client({ host: c.host, port: c.port, user: c.user, database: c.database });
    idle.on('error', () => {});
    await idle.connect();
    cleanups.push(() => idle.end().catch(() => {}));
    await idle.query('begin');
    await idle.query('select 1');
    const idlePid = (await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const sessions = join(sb.dataDir, 'sessions', 'ab');
    mkdirSync(sessions, { recursive: true });
    const oldSession = join(sessions, 'ab0123456789');
    writeFileSync(oldSession, 'session');
    const t = Date.now() / 1000 - 30 * 86_400;
    utimesSync(oldSession, t, t);
    await new Promise((r) => setTimeout(r, 1500)); // the idle session is now older than 1 s
    const pidBefore = postmasterPid(c);

    const auto: AutoProcess = startAuto(sb);
    cleanups.push(() => {
      if (auto.child.exitCode === null) auto.child.kill('SIGKILL');
    });
    await auto.waitFor((l) => l.event === 'ready', 'ready');
    // The probe a forged record names runs at once (engine.heldForCheck): a record it disproves, whose
    // time is long past, is over right there; otherwise the fix is planned and refuses. Either way: no action.
    const outcome = (fix: string, from: number) => (l: Line) =>
      ((l.event === 'fix.not-applied' || l.event === 'fix.result') && l.fix === fix) ||
      (l.event === 'incident.resolved' && typeof l.by === 'string' && auto.lines.indexOf(l) >= from);
    const planned = new Set<string>();
    // One forged burst at a time: the host runs one fix at a time.
    for (const [fixture, fix] of [
      ['db_connection_threaded.log', 'restart-service'],
      ['too_many_db_connections.log', 'terminate-idle'],
      ['disk_full_filestore.log', 'session-cleanup'],
    ] as const) {
      const from = auto.lines.length;
      sb.appendFixture(fixture);
      const r = await auto.waitFor(outcome(fix, from), `${fix} outcome`, 30_000);
      expect(r.event, JSON.stringify(r)).not.toBe('fix.result');
      if (r.event === 'fix.not-applied') planned.add(fix);
    }

    expect(postmasterPid(c)).toBe(pidBefore);
    expect((await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid).toBe(idlePid);
    expect(existsSync(oldSession)).toBe(true);
    // The audit log keeps each plan that was made, and the plan says what the probe saw.
    const auditFile = join(sb.stateDir, 'audit.log');
    const audit = existsSync(auditFile) ? readFileSync(auditFile, 'utf8') : '';
    if (planned.has('restart-service') || planned.has('terminate-idle')) expect(audit).toMatch(/Not confirmed by the database probe at [^"]+: ok/);
    if (planned.has('session-cleanup')) expect(audit).toMatch(/Not confirmed by the disk usage check/);
    auto.kill('SIGTERM');
    await auto.exited;
  }, 90_000);
});

describe.skipIf(!havePostgres())('what confirms a restart of Odoo for a log-born cron incident', () => {
  it('restarts only when scheduled actions are overdue in the database, and the plan says so', async () => {
    const c = cluster!;
    const admin = new pg.Client({ host: c.host, port: c.port, user: c.user, database: c.database });
    await admin.connect();
    cleanups.push(() => admin.end().catch(() => {}));
    // ir_cron as Odoo 18 has it (the columns the odoo_db probe reads).
    await admin.query(`create table ir_cron (id serial primary key, cron_name varchar, active boolean not null,
      interval_number int not null default 1, interval_type varchar not null default 'minutes',
      nextcall timestamp not null, lastcall timestamp, failure_count int default 0, first_failure_date timestamp)`);
    await admin.query(`insert into ir_cron (cron_name, active, nextcall) values ('Mail: Email Queue Manager', true, (now() at time zone 'UTC') + interval '5 min'), ('old', false, (now() at time zone 'UTC') - interval '3 days')`);
    const probe = createDatabaseProbe();
    cleanups.push(() => probe.close?.());
    const ctx = makeFixContext({
      roots: [],
      odoo: { dbHost: c.host, dbPort: c.port, dbUser: c.user, dbName: c.database },
      fixes: { restart: { odoo: ['/bin/true'] } },
      // The process probe as it would run with Odoo up: its 'down' finding is absent.
      probe: async (name) => (name === 'database' ? runProbeOnce(probe, ctx) : { probe: name, status: 'ok', summary: 'Odoo runs (pid 1)', checkedAt: Date.now(), durationMs: 0, findings: [], data: null }),
    });
    cleanups.push(() => ctx.cleanup());
    const inc = testIncident({
      id: 'i-c7040000',
      origin: { kind: 'pattern', patternId: 'cron-thread-crashed', captures: {} },
      category: 'cron',
      fix: { id: 'restart-service', params: { service: 'odoo' }, unattended: true },
    });
    const healthy = await restartService.plan({ service: 'odoo' }, inc, ctx);
    expect(healthy.applicable).toBe(false);
    expect(healthy.preview).toMatch(/Not confirmed by the scheduled-actions check .*no active scheduled action is overdue/);

    await admin.query(`update ir_cron set nextcall = (now() at time zone 'UTC') - interval '40 min' where active`);
    const dead = await restartService.plan({ service: 'odoo' }, inc, ctx);
    expect(dead.applicable).toBe(true);
    expect(dead.preview).toMatch(/Confirmed by the scheduled-actions check .*1 active scheduled action\(s\) overdue \("Mail: Email Queue Manager"/);
    expect(dead.data.confirmation?.confirmed).toBe(true);
  });
});
