// One root cause, one incident. The real records of a PostgreSQL outage (Odoo 18, threaded; see
// test/fixtures/logs/MANIFEST or ../shared/odoo-logs/MANIFEST.md) plus the real probes against a
// throwaway cluster that is really stopped: five incidents, one root, four symptoms.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertSink } from '../src/engine/outputs/alerts/dispatcher.js';
import { correlate } from '../src/engine/correlation/correlate.js';
import { checkingProbes, classify, NO_DEPLOYMENT } from '../src/engine/correlation/model.js';
import { Engine } from '../src/engine/run/engine.js';
import { IncidentBook } from '../src/engine/incidents/incidents.js';
import { parseText } from '../src/engine/logs/parser.js';
import { loadPatterns } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import { createDatabaseProbe } from '../src/engine/probes/database.js';
import { createOdooHttpProbe } from '../src/engine/probes/odoo-http.js';
import { runProbes } from '../src/engine/probes/run.js';
import { createServicesProbe } from '../src/engine/probes/services.js';
import type { Probe } from '../src/engine/probes/types.js';
import type { Incident } from '../src/engine/core/types.js';
import { startReceiver, type AlertReceiver } from './helpers/alert-receiver.js';
import { testConfig, testOdoo } from './helpers/config.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';

const LOGS = resolve(__dirname, 'fixtures', 'logs');
const PATTERNS = resolve(__dirname, '..', 'patterns');
const outageLog = readFileSync(join(LOGS, 'db_connection_threaded.log'), 'utf8');
const outageStderr = readFileSync(join(LOGS, 'db_connection_threaded.stdout.log'), 'utf8');

/** The records of the outage (from the first failure to the last), re-stamped as if logged now. */
function liveOutageLines(now = Date.now()): string[] {
  const lines = outageLog.split('\n');
  const first = lines.findIndex((l) => / odoo\.sql_db: Connection to the database failed/.test(l));
  const last = lines.findLastIndex((l) => /OperationalError|RegistryError/.test(l));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const d = new Date(now);
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
  return lines.slice(first, last + 1).map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}/, stamp));
}

/** A stand-in for Odoo's HTTP side answering what Odoo 18 answers while its database is down. */
async function odooHealthDown(): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/web/health')) {
      res.statusCode = 500;
      res.end('{"status": "fail", "db_server_status": false}');
    } else {
      res.end('{"jsonrpc": "2.0", "id": null, "result": {"server_version": "18.0", "server_version_info": [18, 0, 0, "final", 0, ""]}}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

const roots = (list: readonly Incident[]) => list.filter((i) => i.status !== 'resolved' && i.rootId === null);

describe('correlation model (pure)', () => {
  const base = { count: 1, sample: null, detail: '', hint: '', fix: null, resolvedAt: null, snoozedUntil: null, rootId: null, severity: 'critical', category: 'other' } as const;
  const probe = (id: string, p: Incident['origin'] & { kind: 'probe' }, firstSeen = 1000): Incident => ({
    ...base,
    id,
    fingerprint: `probe:${p.probe}:${p.key}`,
    origin: p,
    title: id,
    status: 'open',
    firstSeen,
    lastSeen: firstSeen,
  });

  it('a full disk holding the data dir is the root of a failing Odoo HTTP; the outside URL follows nginx first', () => {
    const disk = probe('disk', { kind: 'probe', probe: 'disk', key: 'disk:/srv' });
    const http = probe('http', { kind: 'probe', probe: 'odoo_http', key: 'http-error' });
    const url = probe('url', { kind: 'probe', probe: 'network', key: 'endpoint:shop' });
    const nginx = probe('nginx', { kind: 'probe', probe: 'services', key: 'service:nginx' });
    const deployment = { mounts: ['/', '/srv'], odooWrites: ['/srv/odoo/data'] };
    const links = correlate([disk, http, url], { now: 2000, deployment, settleMs: 60_000 });
    expect(Object.fromEntries(links)).toEqual({ disk: null, http: 'disk', url: 'disk' });
    // Without the data dir on that disk, the disk is unrelated; with nginx down the URL is nginx's.
    const apart = correlate([disk, http, url, nginx], { now: 2000, deployment: NO_DEPLOYMENT, settleMs: 60_000 });
    expect(Object.fromEntries(apart)).toEqual({ disk: null, http: null, url: 'nginx', nginx: null });
  });

  it("a full disk holding PostgreSQL's data directory is the root of PostgreSQL down and of everything that needs it", () => {
    const disk = probe('disk', { kind: 'probe', probe: 'disk', key: 'disk:/var/lib/postgresql' });
    const db = probe('db', { kind: 'probe', probe: 'database', key: 'down' }, 1500);
    const services = probe('svc', { kind: 'probe', probe: 'services', key: 'service:postgresql' }, 1500);
    const http = probe('http', { kind: 'probe', probe: 'odoo_http', key: 'db-unreachable' }, 1600);
    const cron: Incident = { ...probe('cron', { kind: 'probe', probe: 'process', key: 'x' }, 1700), origin: { kind: 'pattern', patternId: 'cron-thread-crashed', captures: {} } };
    const deployment = { mounts: ['/', '/var/lib/postgresql'], odooWrites: ['/srv/odoo/data'], postgresData: '/var/lib/postgresql/16/main' };
    const links = correlate([disk, db, services, http, cron], { now: 2000, deployment, settleMs: 60_000 });
    expect(Object.fromEntries(links)).toEqual({ disk: null, db: 'disk', svc: 'disk', http: 'disk', cron: 'disk' });
    // The data directory on another file system: that disk is unrelated, PostgreSQL is the root.
    const elsewhere = correlate([disk, db, services, http], { now: 2000, deployment: { ...deployment, postgresData: '/srv/pg/data' }, settleMs: 60_000 });
    expect(Object.fromEntries(elsewhere)).toEqual({ disk: null, db: null, svc: 'db', http: 'db' });
    // Unknown data directory (the role may not read data_directory): no guess.
    const unknown = correlate([disk, db], { now: 2000, deployment: { ...deployment, postgresData: null }, settleMs: 60_000 });
    expect(Object.fromEntries(unknown)).toEqual({ disk: null, db: null });
    // The probes a log record blaming PostgreSQL runs at once: the database's, and the disk's too once its data directory is known.
    expect(checkingProbes({ component: 'postgresql', rank: 2, writes: null }, NO_DEPLOYMENT)).toEqual(['database']);
    expect(checkingProbes({ component: 'postgresql', rank: 2, writes: null }, deployment).sort()).toEqual(['database', 'disk']);
  });

  it('after the root is resolved, second-hand evidence of the same part settles under it; dependents stand alone', () => {
    const db = { ...probe('db', { kind: 'probe', probe: 'database', key: 'down' }), status: 'resolved' as const, resolvedAt: 5000 };
    const odooSays = probe('odoo-says', { kind: 'probe', probe: 'odoo_http', key: 'db-unreachable' });
    const cron: Incident = { ...probe('cron', { kind: 'probe', probe: 'process', key: 'x' }), origin: { kind: 'pattern', patternId: 'cron-thread-crashed', captures: {} } };
    const during = correlate([db, odooSays, cron], { now: 6000, deployment: NO_DEPLOYMENT, settleMs: 60_000 });
    expect(Object.fromEntries(during)).toEqual({ 'odoo-says': 'db', cron: null });
    const later = correlate([db, odooSays, cron], { now: 5000 + 60_000, deployment: NO_DEPLOYMENT, settleMs: 60_000 });
    expect(later.get('odoo-says')).toBeNull();
  });

  it("a probe's failure in the minute after the part it depends on healed is that root's echo; past the minute it stands alone", () => {
    const db = { ...probe('db', { kind: 'probe', probe: 'database', key: 'down' }), status: 'resolved' as const, resolvedAt: 5000 };
    const workers = probe('workers', { kind: 'probe', probe: 'process', key: 'cron-workers' }, 5000);
    expect(correlate([db, workers], { now: 5000, deployment: NO_DEPLOYMENT, settleMs: 60_000 }).get('workers')).toBe('db');
    expect(correlate([db, workers], { now: 5000 + 60_000, deployment: NO_DEPLOYMENT, settleMs: 60_000 }).get('workers')).toBeNull();
  });

  it('an unclassified record whose exception is a lost database connection is PostgreSQL evidence; a SQL error is not', () => {
    const [lost] = parseText(outageStderr.split('\n').slice(1, 15).join('\n'), 'stderr');
    const asUnclassified = (exception: string): Incident => ({
      ...base,
      id: 'u',
      fingerprint: 'unclassified:x',
      origin: { kind: 'unclassified', signature: 'x', exceptionClass: 'psycopg2.OperationalError', addon: null, frame: null, logger: null, request: null },
      title: 'unclassified',
      status: 'open',
      firstSeen: 1,
      lastSeen: 1,
      sample: { ...lost!, exception },
    });
    expect(lost!.exception).toContain('psycopg2.OperationalError: server closed the connection unexpectedly');
    expect(classify(asUnclassified(lost!.exception!))?.component).toBe('postgresql');
    expect(classify(asUnclassified('psycopg2.errors.UndefinedColumn: column "x" does not exist'))).toBeNull();
  });
});

describe.skipIf(!havePostgres())('PostgreSQL stopped: one root incident (real cluster, real records)', () => {
  let cluster: PgCluster;
  let http: { port: number; server: Server };
  let receiver: AlertReceiver;
  let stateDir: string;
  beforeAll(async () => {
    cluster = await startCluster();
    http = await odooHealthDown();
    receiver = await startReceiver();
    stateDir = mkdtempSync(join(tmpdir(), 'odoo-heal-correlate-'));
  }, 60_000);
  afterAll(async () => {
    cluster?.destroy();
    http?.server.close();
    await receiver?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('the five incidents of the outage are one root with four symptoms, one alert and one resolve', async () => {
    const config = testConfig((c) => {
      c.paths = { stateDir, backupDir: join(stateDir, 'backups'), auditLog: join(stateDir, 'audit.log') };
      c.probes.timeoutMs = 3000;
      c.services = [{ name: 'postgresql', unit: 'postgresql', processes: ['postgres'], tcp: `${cluster.host}:${cluster.port}` }];
      c.alerts.targets = [{ kind: 'webhook', url: receiver.url('/hook'), minSeverity: 'warning' }];
    });
    const odoo = testOdoo({ dbHost: cluster.host, dbPort: cluster.port, dbUser: cluster.user, dbName: cluster.database, httpPort: http.port });
    const engine = new Engine({ config, odoo, patternsDir: PATTERNS, mode: 'auto', sources: [] });
    const sink = createAlertSink(config.alerts, { log: () => {}, batchMs: 50 });
    engine.desk.alerts = sink;
    const probes: Probe[] = [createDatabaseProbe(), createServicesProbe({ systemdDir: '/nonexistent/systemd' }), createOdooHttpProbe()];
    const round = async () => engine.applyProbeResults(await runProbes(probes, engine.probeContext(), config.probes.timeoutMs));
    try {
      cluster.stop();
      // Odoo's records arrive first (they are what the admin saw first), then a probe round.
      engine.ingest('odoo.log', liveOutageLines());
      engine.flushNow();
      await new Promise((r) => setTimeout(r, 150)); // the first alert batch goes out alone
      await round();

      const active = engine.book.list().filter((i) => i.status !== 'resolved');
      const titles = active.map((i) => i.title);
      expect(titles).toEqual(
        expect.arrayContaining([
          'PostgreSQL is unreachable',
          'Odoo failed to connect to PostgreSQL (logged at INFO only)',
          'Odoo reports its database unreachable',
          `PostgreSQL at ${cluster.host}:${cluster.port} refuses connections (is it running?)`,
        ]),
      );
      expect(titles.some((t) => /^postgresql (is failing|is not running)$/.test(t))).toBe(true);
      expect(active).toHaveLength(5);
      const [root] = roots(active);
      expect(roots(active)).toHaveLength(1);
      expect(root!.origin).toEqual({ kind: 'probe', probe: 'database', key: 'down' });
      expect(engine.book.symptomsOf(root!.id)).toHaveLength(4);
      // The store (console, /incidents) carries the links.
      const stored = Object.values(engine.store.getState().incidents);
      expect(stored.filter((i) => i.rootId === root!.id)).toHaveLength(4);

      await new Promise((r) => setTimeout(r, 200));
      cluster.start();
      await round();
      expect(engine.book.get(root!.id)?.status).toBe('resolved');
      // Odoo's log incidents settle under the healed root instead of standing up as new roots.
      // (A "PostgreSQL answers slowly" warning on a loaded test box may come and go: not the outage's.)
      const outage = new Set(active.map((i) => i.id));
      expect(roots(engine.book.list()).filter((i) => outage.has(i.id))).toEqual([]);
      await sink.close(5000);
      const bodies = receiver.received.map((r) => r.body as { kind: string; incident: { id: string } });
      // One incident is alerted (auto mode: 'opened', and 'needs-human' with its plan unless both fit
      // one batch, as restarts are not allowlisted here), and one resolve closes it.
      const problems = bodies.filter((b) => (b.kind === 'opened' || b.kind === 'needs-human') && outage.has(b.incident.id));
      expect(new Set(problems.map((b) => b.incident.id)).size).toBe(1);
      expect(problems.filter((b) => b.kind === 'opened').length).toBeLessThanOrEqual(1);
      expect(bodies.filter((b) => b.kind === 'resolved')).toHaveLength(1);
    } finally {
      await Promise.allSettled(probes.map((p) => p.close?.()));
      await engine.stop();
    }
  }, 60_000);

  it('check-style book: a replayed outage is disproved once the probe passes, and the cron threads it killed stand alone', () => {
    const book = new IncidentBook();
    const matcher = new Matcher(loadPatterns(PATTERNS));
    for (const r of [...parseText(outageLog, 'odoo.log'), ...parseText(outageStderr, 'stderr')]) for (const m of matcher.match(r)) book.addMatch(m, Date.now());
    book.correlate(Date.now());
    const active = book.list().filter((i) => i.status !== 'resolved');
    const cron = active.find((i) => i.origin.kind === 'pattern' && i.origin.patternId === 'cron-thread-crashed');
    expect(cron, 'the stderr-only cron thread crash').toBeDefined();
    // While PostgreSQL's incidents are open, the dead cron threads are their symptom.
    expect(cron!.rootId).not.toBeNull();
    for (const i of active) if (i.rootId === null) expect(classify(i)?.component).toBe('postgresql');
    // PostgreSQL is back (its incidents resolved): the cron threads stay dead and become the root.
    for (const i of active) if (i !== cron) book.resolve(i.id, Date.now() - 120_000);
    book.correlate(Date.now());
    expect(book.get(cron!.id)?.rootId).toBeNull();
    expect(cron!.fix).toMatchObject({ id: 'restart-service', params: { service: 'odoo' } });
  });
});
