// No stale alarms at start (issue 12 §4): a console restarted after an outage or a fix rebuilds its
// incidents from the log's history; what is already over must start resolved, not CRITICAL.
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../src/engine/run/alert-sink.js';
import { Engine, type EngineEvent } from '../src/engine/run/engine.js';
import { overallStatus } from '../src/ui/view-models.js';
import { testConfig, testOdoo } from './helpers/config.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const FIXTURES = resolve(__dirname, 'fixtures');
const PATTERNS = resolve(__dirname, '..', 'patterns');

async function waitFor<T>(get: () => T | undefined | null | false, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!havePostgres())('no stale alarms at start', () => {
  let cluster: PgCluster;
  let root: string;
  beforeAll(async () => {
    cluster = await startCluster();
    root = mkdtempSync(join(tmpdir(), 'odoo-heal-stale-'));
  }, 60_000);
  afterAll(() => {
    cluster?.destroy();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function engineOn(logfile: string, addons: string, stateDir: string) {
    const config = testConfig((c) => {
      c.paths = { stateDir, backupDir: join(stateDir, 'backups'), auditLog: join(stateDir, 'audit.log') };
      c.probes.intervalMs = 60_000;
      c.probes.timeoutMs = 3000;
      c.escalation.threshold = 1;
    });
    const odoo = testOdoo({ addonsPath: [addons], logfile, dbHost: cluster.host, dbPort: cluster.port, dbUser: cluster.user, dbName: cluster.database, httpPort: 9 });
    const events: EngineEvent[] = [];
    const alerts: AlertEvent[] = [];
    const engine = new Engine({ config, odoo, patternsDir: PATTERNS, mode: 'console', sources: [{ kind: 'file', path: logfile, start: 'start' }], emit: (e) => events.push(e) });
    engine.desk.alerts = { notify: (e) => alerts.push(e), close: async () => {} };
    return { engine, events, alerts };
  }

  it('an outage replayed from the log while PostgreSQL is up starts resolved: no CRITICAL, no alert', async () => {
    const dir = join(root, 'outage');
    mkdirSync(dir);
    const logfile = join(dir, 'odoo.log');
    cpSync(join(FIXTURES, 'logs', 'db_connection_threaded.log'), logfile);
    const { engine, events, alerts } = engineOn(logfile, dir, join(dir, 'state'));
    try {
      await engine.start();
      // Until the first probe round the header says STARTING, not CRITICAL for history.
      await waitFor(() => Object.keys(engine.store.getState().probes).length > 0);
      await waitFor(() => engine.store.getState().probes.database);
      const state = engine.store.getState();
      expect(state.probes.database?.status).not.toBe('critical');
      const dbIncidents = Object.values(state.incidents).filter((i) => i.category === 'database' && i.origin.kind === 'pattern');
      expect(dbIncidents.map((i) => i.title)).toContain('PostgreSQL is unreachable');
      for (const i of dbIncidents) expect(i.status, i.title).toBe('resolved');
      expect(events.filter((e) => e.event === 'incident.stale').length).toBeGreaterThan(0);
      expect(alerts.filter((a) => dbIncidents.some((i) => i.id === a.incident.id) && a.kind !== 'resolved')).toEqual([]);
      const critical = Object.values(state.incidents).filter((i) => i.status !== 'resolved' && i.severity === 'critical' && i.category === 'database');
      expect(critical).toEqual([]);
      expect(overallStatus(state)).not.toBeNull();
    } finally {
      await engine.stop();
    }
  }, 60_000);

  it('the cron incident fixed before a restart does not reopen from its old record; a new record does', async () => {
    const dir = join(root, 'cron');
    const addons = join(dir, 'addons');
    mkdirSync(addons, { recursive: true });
    cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
    const log = readFileSync(join(FIXTURES, 'logs', 'cron_deprecated_field.log'), 'utf8').split('\n');
    const start = log.findIndex((l) => / CRITICAL healdb odoo\.service\.server: Failed to initialize database/.test(l));
    const end = log.findIndex((l, i) => i > start && /^\d{4}-\d\d-\d\d /.test(l));
    const record = `${log.slice(start, end).join('\n').replaceAll('/tmp/realodoo/custom_addons', addons)}\n`;
    const logfile = join(dir, 'odoo.log');
    writeFileSync(logfile, record);
    const stateDir = join(dir, 'state');

    const first = engineOn(logfile, addons, stateDir);
    await first.engine.start();
    const incident = await waitFor(() => Object.values(first.engine.store.getState().incidents).find((i) => i.category === 'cron' && i.status === 'open'));
    await first.engine.requestPlan(incident.id);
    await first.engine.confirmPlan();
    expect(first.engine.store.getState().attempts.at(-1)?.outcome).toBe('verified');
    await first.engine.stop();

    // The console restarts on the same log: the record is history older than the verified fix.
    const second = engineOn(logfile, addons, stateDir);
    try {
      await second.engine.start();
      const again = await waitFor(() => second.engine.store.getState().incidents[incident.id]);
      expect(again.status).toBe('resolved');
      expect(second.alerts.filter((a) => a.incident.id === incident.id)).toEqual([]);
      expect(second.events).toContainEqual(expect.objectContaining({ event: 'incident.stale', incident: incident.id, why: 'a verified fix came after its last record' }));
      // The same failure logged again now is live: it reopens.
      const d = new Date(Date.now() + 1000);
      const p = (n: number, w = 2) => String(n).padStart(w, '0');
      const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},000`;
      appendFileSync(logfile, record.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}/, stamp));
      await waitFor(() => second.engine.store.getState().incidents[incident.id]?.status === 'open');
    } finally {
      await second.engine.stop();
    }
  }, 60_000);
});
