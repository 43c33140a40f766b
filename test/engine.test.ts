// The engine end to end in-process: a followed log file, the real patterns, the real fixes on a temp
// copy of the broken addon, the store as the console sees it.
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../src/engine/run/alert-sink.js';
import { defaultSources, Engine } from '../src/engine/run/engine.js';
import type { EngineState } from '../src/engine/state/store.js';
import type { ProbeResult } from '../src/engine/core/types.js';
import { testConfig, testOdoo } from './helpers/config.js';

const FIXTURES = resolve(__dirname, 'fixtures');
const PATTERNS = resolve(__dirname, '..', 'patterns');
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** The real cron incident record, with its path moved into the temp addons root. */
function cronRecord(addons: string): string {
  const log = readFileSync(join(FIXTURES, 'logs', 'cron_deprecated_field.log'), 'utf8').split('\n');
  const start = log.findIndex((l) => / CRITICAL healdb odoo\.service\.server: Failed to initialize database/.test(l));
  const end = log.findIndex((l, i) => i > start && /^\d{4}-\d\d-\d\d /.test(l));
  return `${log.slice(start, end).join('\n').replaceAll('/tmp/realodoo/custom_addons', addons)}\n`;
}

async function waitFor<T>(get: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sandbox(opts: { auto: boolean; unattended?: string[] }) {
  const root = mkdtempSync(join(tmpdir(), 'odoo-heal-engine-'));
  const addons = join(root, 'addons');
  mkdirSync(addons);
  cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
  const logfile = join(root, 'odoo.log');
  writeFileSync(logfile, '');
  const config = testConfig((c) => {
    c.paths = { stateDir: join(root, 'state'), backupDir: join(root, 'state', 'backups'), auditLog: join(root, 'state', 'audit.log') };
    c.escalation.threshold = 1;
    c.escalation.ladders = {};
    c.probes.intervalMs = 60_000;
    c.probes.timeoutMs = 1000;
    c.fixes.unattended = opts.unattended ?? ['cron-deprecated-fields'];
  });
  // A closed port: the DB probe must never talk to the machine's own PostgreSQL here.
  const odoo = testOdoo({ addonsPath: [addons], logfile, dbHost: '127.0.0.1', dbPort: 9, dataDir: join(root, 'data') });
  const alerts: AlertEvent[] = [];
  const engine = new Engine({
    config,
    odoo,
    patternsDir: PATTERNS,
    mode: opts.auto ? 'auto' : 'console',
    sources: [{ kind: 'file', path: logfile, start: 'end' }],
  });
  engine.desk.alerts = { notify: (e) => alerts.push(e), close: async () => {} };
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  cleanups.push(() => engine.stop());
  const xml = join(addons, 'legacy_cron', 'data', 'ir_cron_data.xml');
  return { root, addons, logfile, engine, alerts, xml, config, odoo };
}

const cronIncident = (s: EngineState) =>
  Object.values(s.incidents).find((i) => i.origin.kind === 'pattern' && i.origin.patternId.includes('cron-deprecated'));

describe('engine', () => {
  it('console flow: followed log → incident → plan → confirm → verified → rollback byte-identical', async () => {
    const { engine, logfile, addons, xml } = sandbox({ auto: false });
    const before = sha(xml);
    await engine.start();
    appendFileSync(logfile, cronRecord(addons));
    const incident = await waitFor(() => cronIncident(engine.store.getState()));
    expect(incident.fix?.params.file).toBe(xml);
    expect(engine.store.getState().tail.length).toBeGreaterThan(0);

    await engine.requestPlan(incident.id);
    const plan = engine.store.getState().plan;
    expect(plan?.fixId).toBe('cron-deprecated-fields');
    expect(plan?.preview).toContain('-            <field name="numbercall">-1</field>');
    expect(sha(xml)).toBe(before); // planning has no side effects

    await engine.confirmPlan();
    const s = engine.store.getState();
    expect(s.plan).toBeNull();
    expect(s.attempts.at(-1)?.outcome).toBe('verified');
    expect(readFileSync(xml, 'utf8')).not.toMatch(/numbercall|doall/);
    expect(s.incidents[incident.id]?.status).toBe('resolved');

    await engine.rollbackLast();
    expect(sha(xml)).toBe(before);
    expect(engine.store.getState().notice?.text).toContain(`restored ${xml}`);
    expect(engine.store.getState().attempts.at(-1)?.outcome).toBe('rolled_back');
  });

  it('auto mode runs an allowed fix unattended and alerts with the plan when policy forbids it', async () => {
    const allowed = sandbox({ auto: true });
    await allowed.engine.start();
    appendFileSync(allowed.logfile, cronRecord(allowed.addons));
    await waitFor(() => allowed.engine.store.getState().attempts.find((a) => a.outcome === 'verified'));
    expect(readFileSync(allowed.xml, 'utf8')).not.toMatch(/numbercall/);
    // The same record again right after the verified fix (in flight, replayed): no second attempt.
    const seen = allowed.engine.store.getState().counters.matches;
    appendFileSync(allowed.logfile, cronRecord(allowed.addons));
    await waitFor(() => allowed.engine.store.getState().counters.matches > seen);
    await new Promise((r) => setTimeout(r, 300));
    expect(allowed.engine.store.getState().attempts.filter((a) => a.fixId === 'cron-deprecated-fields')).toHaveLength(1);

    const forbidden = sandbox({ auto: true, unattended: [] });
    const before = sha(forbidden.xml);
    await forbidden.engine.start();
    appendFileSync(forbidden.logfile, cronRecord(forbidden.addons));
    const alert = await waitFor(() =>
      forbidden.alerts.find((a) => a.kind === 'needs-human' && a.incident.fix?.id === 'cron-deprecated-fields'),
    );
    expect(alert.plan?.preview).toContain('numbercall');
    expect(sha(forbidden.xml)).toBe(before);
    expect(forbidden.engine.store.getState().attempts).toHaveLength(0);
    expect(allowed.alerts.some((a) => a.kind === 'needs-human' && a.incident.fix?.id === 'cron-deprecated-fields')).toBe(false);

    // Failing probes come back every round: a human is asked once per problem, not once per round.
    // (After the round started at start: a tick while it runs is skipped, and a loaded box is slow.)
    await waitFor(() => forbidden.engine.store.getState().probes.database);
    for (let i = 0; i < 3; i++) await forbidden.engine.probeTick();
    await new Promise((r) => setTimeout(r, 300));
    const asked = forbidden.alerts.filter((a) => a.kind === 'needs-human' && a.incident.origin.kind === 'probe');
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked.map((a) => a.incident.fingerprint)).size).toBe(asked.length);
  });

  it('auto mode rewrites escalation.json when what it decides changes, not on every round a problem repeats', async () => {
    const { engine, root } = sandbox({ auto: true, unattended: [] });
    const stateDir = join(root, 'state');
    mkdirSync(stateDir, { recursive: true });
    let writes = 0; // write-file-atomic renames a temp file onto escalation.json once per write
    const watcher = watch(stateDir, (_event, name) => {
      if (name === 'escalation.json') writes++;
    });
    cleanups.push(() => watcher.close());
    const file = join(stateDir, 'escalation.json');
    const saved = () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { keys: Record<string, { consecutive: number }> }) : null);
    const down = {
      probe: 'database' as const,
      status: 'critical' as const,
      summary: 'down',
      checkedAt: Date.now(),
      durationMs: 1,
      findings: [{ key: 'down', severity: 'critical' as const, title: 'PostgreSQL down', detail: '', hint: '', category: 'database' as const }],
      data: null,
    };
    engine.applyProbeResults([down]);
    await waitFor(() => saved()?.keys['probe:database:down']);
    // The same failure, round after round (threshold 1: every count past it decides the same).
    for (let i = 0; i < 6; i++) {
      engine.applyProbeResults([{ ...down, checkedAt: Date.now() }]);
      await new Promise((r) => setTimeout(r, 5));
    }
    // It passes: consecutive sightings start over, which a restart must know.
    engine.applyProbeResults([{ ...down, status: 'ok', findings: [], checkedAt: Date.now() }]);
    await waitFor(() => saved()?.keys['probe:database:down']?.consecutive === 0);
    await waitFor(() => writes >= 2);
    // 8 observations; written on the first and on the recovery (plus at most one when the clock's
    // coarse lastBadAt step happens to tick over during the test).
    expect(writes).toBeLessThanOrEqual(3);
  });

  it('a successor engine (an --auto reload) reads what was written while neither was running', async () => {
    const { engine, logfile, addons, config, odoo } = sandbox({ auto: false });
    await engine.start();
    appendFileSync(logfile, '2026-11-28 19:49:43,210 4242 INFO healdb odoo.modules.loading: loading 1 modules...\n');
    await waitFor(() => engine.store.getState().counters.linesRead >= 1);
    await engine.stop();
    // Written in the gap between the two engines: the old one has stopped, the new one not started.
    appendFileSync(logfile, cronRecord(addons));
    const sources = defaultSources(config, odoo, 'end', engine.readPositions()).filter((s) => s.kind === 'file');
    expect(sources).toEqual([expect.objectContaining({ path: logfile, resume: expect.objectContaining({ offset: expect.any(Number) }) })]);
    const next = new Engine({ config, odoo, patternsDir: PATTERNS, mode: 'console', sources });
    cleanups.push(() => next.stop());
    await next.start();
    const incident = await waitFor(() => cronIncident(next.store.getState()));
    expect(incident.count).toBe(1);
    // Nothing the first engine read is read again.
    expect(next.store.getState().tail.some((t) => t.record.message.includes('loading 1 modules'))).toBe(false);
    expect(next.store.getState().counters.records).toBe(1);
  });

  it('batches store updates: a burst of records is one update, not one per line', async () => {
    const { engine } = sandbox({ auto: false });
    let updates = 0;
    // Updates of the log tail: the probe check the burst asks for (PostgreSQL out of slots) adds its own.
    const unsubscribe = engine.store.subscribe((now, before) => {
      if (now.tail !== before.tail) updates++;
    });
    const lines = readFileSync(join(FIXTURES, 'logs', 'too_many_db_connections.log'), 'utf8').split('\n');
    engine.ingest('flood', lines);
    await waitFor(() => engine.store.getState().counters.records > 0);
    unsubscribe();
    const s = engine.store.getState();
    expect(s.counters.linesRead).toBe(lines.length);
    expect(s.tail.length).toBeLessThanOrEqual(500);
    expect(updates).toBeLessThanOrEqual(2);
  });

  it('keeps the tail bounded in a flood and counts every record it had to drop', () => {
    const { engine } = sandbox({ auto: false });
    const lines = readFileSync(join(FIXTURES, 'logs', 'too_many_db_connections.log'), 'utf8').split('\n');
    // Several floods between two flushes, then one between each: both paths of the ring buffer.
    for (let i = 0; i < 4; i++) engine.ingest('flood', lines);
    engine.flushNow();
    engine.ingest('flood', lines);
    engine.flushNow();
    const s = engine.store.getState();
    expect(s.tail).toHaveLength(500);
    expect(s.tail.length + s.tailDropped).toBe(s.counters.records);
    expect(s.tail.at(-1)!.seq).toBe(s.counters.records);
  });

  it('log incidents of a database outage end when the database probe passes after a quiet minute', () => {
    const { engine } = sandbox({ auto: false });
    const outage = readFileSync(join(FIXTURES, 'logs', 'db_connection_threaded.log'), 'utf8').split('\n');
    engine.ingest('odoo.log', outage);
    engine.flushNow();
    const open = () => engine.book.list().filter((i) => i.status === 'open' && i.category === 'database').map((i) => i.title);
    expect(open()).toContain('PostgreSQL is unreachable');
    const result = (status: 'ok' | 'critical') => ({ probe: 'database' as const, status, summary: '', checkedAt: Date.now(), durationMs: 1, findings: [], data: null });
    engine.applyProbeResults([result('critical')]);
    expect(open()).toContain('PostgreSQL is unreachable');
    engine.applyProbeResults([result('ok')]);
    expect(open()).toEqual([]);
    // A record of the same problem written after that is not over yet, whatever the probe says.
    const now = new Date(Date.now() + 1000);
    const p2 = (n: number) => String(n).padStart(2, '0');
    const ts = `${now.getFullYear()}-${p2(now.getMonth() + 1)}-${p2(now.getDate())} ${p2(now.getHours())}:${p2(now.getMinutes())}:${p2(now.getSeconds())},000`;
    engine.ingest('odoo.log', [`${ts} 8378 INFO healdb odoo.sql_db: Connection to the database failed`]);
    engine.flushNow();
    engine.applyProbeResults([result('ok')]);
    expect(open()).toContain('Odoo failed to connect to PostgreSQL (logged at INFO only)');
  });

  it('a probe round that changes nothing the store shows keeps the same incident objects', () => {
    const { engine } = sandbox({ auto: false });
    const outage = readFileSync(join(FIXTURES, 'logs', 'db_connection_threaded.log'), 'utf8').split('\n');
    engine.ingest('odoo.log', outage);
    engine.flushNow();
    const before = engine.store.getState();
    expect(Object.keys(before.incidents).length).toBeGreaterThan(0);
    const disk = (status: 'ok' | 'warning', findings: ProbeResult['findings'] = []): ProbeResult => ({
      probe: 'disk', status, summary: '', checkedAt: Date.now(), durationMs: 1, findings, data: null,
    });
    engine.applyProbeResults([disk('ok')]);
    const after = engine.store.getState();
    expect(after.probes.disk?.status).toBe('ok');
    expect(after.incidents).toBe(before.incidents);
    expect(after.history).toBe(before.history);
    expect(after.odoo).toBe(before.odoo);
    // A finding changes the map, but the incidents that did not change keep their objects.
    const finding = { key: '/var', severity: 'warning' as const, title: 'Disk /var 92% full', detail: '', hint: '', category: 'disk' as const };
    engine.applyProbeResults([disk('warning', [finding])]);
    const withFinding = engine.store.getState().incidents;
    expect(withFinding).not.toBe(before.incidents);
    for (const [id, incident] of Object.entries(before.incidents)) expect(withFinding[id]).toBe(incident);
    const diskIncident = Object.values(withFinding).find((i) => i.origin.kind === 'probe');
    expect(diskIncident?.title).toBe('Disk /var 92% full');
    // The same finding again counts it again: a new object for that incident only.
    engine.applyProbeResults([disk('warning', [finding])]);
    const again = engine.store.getState().incidents;
    expect(again[diskIncident!.id]?.count).toBe(2);
    for (const id of Object.keys(before.incidents)) expect(again[id]).toBe(before.incidents[id]);
  });
});
