// The race of issue 12: Odoo logs "failed to connect" before the database probe's next round sees
// PostgreSQL down. The record must not become a root of its own (alerted, or healed apart from the
// probe's root): the engine runs the database probe at once and decides after it. No probe round
// runs here at all (the interval is longer than the test), so only that check can name the root.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../src/engine/run/alert-sink.js';
import { Engine, type EngineEvent } from '../src/engine/run/engine.js';
import { testConfig, testOdoo } from './helpers/config.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const LOGS = resolve(__dirname, 'fixtures', 'logs');
const PATTERNS = resolve(__dirname, '..', 'patterns');
const outageLog = readFileSync(join(LOGS, 'db_connection_threaded.log'), 'utf8');

/** Odoo's records of the outage (db_connection_threaded.log), stamped as if logged now. */
function liveOutageLines(): string[] {
  const lines = outageLog.split('\n');
  const first = lines.findIndex((l) => / odoo\.sql_db: Connection to the database failed/.test(l));
  const last = lines.findLastIndex((l) => /OperationalError|RegistryError/.test(l));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const d = new Date();
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
  return lines.slice(first, last + 1).map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}/, stamp));
}

async function waitFor<T>(what: string, get: () => T | undefined | null | false, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!havePostgres())('a log record before the probe round (real cluster)', () => {
  let cluster: PgCluster;
  let stateDir: string;
  beforeAll(async () => {
    cluster = await startCluster();
    stateDir = mkdtempSync(join(tmpdir(), 'odoo-heal-race-'));
  }, 60_000);
  afterAll(() => {
    cluster?.destroy();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('runs the database probe at once: one root alert, the records its symptoms, one restart of the root, one resolve', async () => {
    const config = testConfig((c) => {
      c.paths = { stateDir, backupDir: join(stateDir, 'backups'), auditLog: join(stateDir, 'audit.log') };
      c.probes.intervalMs = 3_600_000; // the first round at start, then none during the test
      c.probes.timeoutMs = 3000;
      c.escalation.threshold = 1;
      c.escalation.ladders = { 'probe:database:down': [{ action: 'fix', fix: 'restart-service', params: { service: 'postgresql' } }] };
      c.fixes.restart = { postgresql: cluster.startArgv };
      c.fixes.allowCommands = cluster.allowCommands;
      c.fixes.commandTimeoutMs = 30_000;
    });
    const odoo = testOdoo({ dbHost: cluster.host, dbPort: cluster.port, dbUser: cluster.user, dbName: cluster.database, httpPort: 9 });
    const events: EngineEvent[] = [];
    const alerts: AlertEvent[] = [];
    const engine = new Engine({ config, odoo, patternsDir: PATTERNS, mode: 'auto', sources: [], emit: (e) => events.push(e) });
    engine.desk.alerts = { notify: (e) => alerts.push(e), close: async () => {} };
    try {
      await engine.start();
      await waitFor('the first probe round', () => engine.store.getState().probes.database);
      expect(engine.store.getState().probes.database?.status).not.toBe('critical');

      // Only what the outage brings counts (Odoo itself is not running here: its probes fail from the start).
      const fromAlert = alerts.length;
      const fromEvent = events.length;
      cluster.stop();
      engine.ingest('odoo.log', liveOutageLines());
      engine.flushNow();

      const fixed = await waitFor('the restart', () => events.slice(fromEvent).find((e) => e.event === 'fix.result'));
      expect(fixed.outcome, String(fixed.message)).toBe('verified');
      expect(cluster.isRunning()).toBe(true);
      await waitFor('the resolve', () => alerts.slice(fromAlert).find((a) => a.kind === 'resolved'));
      const told = alerts.slice(fromAlert);
      const said = events.slice(fromEvent);

      const root = engine.book.find('probe:database:down');
      expect(root, 'the database probe named the root').toBeDefined();
      const logBorn = engine.book.list().filter((i) => i.origin.kind === 'pattern' || i.origin.kind === 'unclassified');
      expect(logBorn.length).toBeGreaterThanOrEqual(2);
      // Every record of the outage is the probe root's symptom, and none of them was alerted or healed.
      for (const i of logBorn) expect(i.rootId, i.title).toBe(root!.id);
      expect(told.filter((a) => a.kind === 'opened').map((a) => a.incident.id)).toEqual([root!.id]);
      const symptoms = told.find((a) => a.kind === 'opened')!.symptoms!.map((s) => s.id);
      expect(symptoms).toEqual(expect.arrayContaining(logBorn.map((i) => i.id)));
      // (A "PostgreSQL answers slowly" warning of the first round on a loaded box may resolve too: not the outage's.)
      const resolvedIds = told.filter((a) => a.kind === 'resolved').map((a) => a.incident.id);
      expect(resolvedIds.filter((id) => id === root!.id)).toHaveLength(1);
      expect(resolvedIds.filter((id) => logBorn.some((i) => i.id === id))).toEqual([]);
      const fixes = said.filter((e) => e.event === 'fix.result');
      expect(fixes.map((e) => e.incident)).toEqual([root!.id]);
      // The records' own opened events carry the link the check found.
      const opened = said.filter((e) => e.event === 'incident.opened' && logBorn.some((i) => i.id === e.incident));
      expect(opened.length).toBe(logBorn.length);
      for (const e of opened) expect(e.rootId).toBe(root!.id);
    } finally {
      await engine.stop();
      if (!cluster.isRunning()) cluster.start();
    }
  }, 90_000);
});
