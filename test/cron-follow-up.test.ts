// After PostgreSQL comes back, a threaded Odoo that lived through the outage has lost its cron
// threads for good (odoo-facts.md; db_connection_threaded.stdout.log): the follow-up is a restart of
// Odoo, raised as its own root once the database root is healed, and ended by the restart itself.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../src/engine/run/alert-sink.js';
import { cronFollowUp } from '../src/engine/correlation/follow-ups.js';
import { Engine } from '../src/engine/run/engine.js';
import type { Finding, ProbeResult } from '../src/engine/core/types.js';
import { testConfig, testOdoo } from './helpers/config.js';
import { makeFixContext } from './helpers/fix-context.js';
import { restartService } from '../src/fixes/restart-service.js';
import { runAttempt } from '../src/fixes/attempts.js';
import { staleReason, type StaleContext } from '../src/engine/correlation/stale.js';
import type { Incident } from '../src/engine/core/types.js';
import type { EngineEvent } from '../src/engine/run/engine.js';

const PATTERNS = resolve(__dirname, '..', 'patterns');
const stderr = readFileSync(resolve(__dirname, 'fixtures', 'logs', 'db_connection_threaded.stdout.log'), 'utf8').split('\n');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(mode: 'threaded' | 'prefork') {
  const stateDir = mkdtempSync(join(tmpdir(), 'odoo-heal-cron-follow-'));
  dirs.push(stateDir);
  const config = testConfig((c) => {
    c.paths = { stateDir, backupDir: join(stateDir, 'b'), auditLog: join(stateDir, 'audit.log') };
  });
  const engine = new Engine({ config, odoo: testOdoo({ workers: mode === 'prefork' ? 2 : 0, maxCronThreads: 2 }), patternsDir: PATTERNS, mode: 'console', sources: [] });
  const alerts: AlertEvent[] = [];
  engine.desk.alerts = { notify: (e) => alerts.push(e), close: async () => {} };
  const at = Date.now();
  const process = (pid: number, uptimeSeconds = 600): ProbeResult => ({
    probe: 'process', status: 'ok', summary: '', checkedAt: Date.now(), durationMs: 1, findings: [],
    // The two fields the engine reads from ProcessData.
    data: { mode, main: { pid, uptimeSeconds } },
  });
  const down: Finding = { key: 'down', severity: 'critical', category: 'database', title: 'PostgreSQL at 127.0.0.1:55432 refuses connections (is it running?)', detail: '', hint: '' };
  const database = (up: boolean): ProbeResult => ({ probe: 'database', status: up ? 'ok' : 'critical', summary: '', checkedAt: at, durationMs: 1, findings: up ? [] : [down], data: null });
  return { engine, alerts, process, database };
}

const active = (e: Engine) => e.book.list().filter((i) => i.status !== 'resolved');

describe('cron follow-up after a PostgreSQL outage', () => {
  it('threaded: the dead cron threads are a symptom while PostgreSQL is down, then a restart root of their own; a restart ends them', () => {
    const { engine, alerts, process, database } = setup('threaded');
    engine.applyProbeResults([process(4242), database(false)]);
    engine.ingest('stderr', stderr);
    engine.flushNow();
    const dbRoot = active(engine).find((i) => i.origin.kind === 'probe' && i.origin.probe === 'database')!;
    const crashed = active(engine).find((i) => i.origin.kind === 'pattern' && i.origin.patternId === 'cron-thread-crashed')!;
    expect(crashed.rootId).toBe(dbRoot.id);

    engine.applyProbeResults([process(4242), database(true)]);
    const followUp = active(engine).find((i) => i.origin.kind === 'engine')!;
    expect(followUp).toMatchObject({ rootId: null, severity: 'critical', fix: { id: 'restart-service', params: { service: 'odoo' } } });
    expect(followUp.detail).toContain('pid 4242');
    // The stderr traceback is evidence of the same follow-up, not a second restart.
    expect(engine.book.get(crashed.id)?.rootId).toBe(followUp.id);
    expect(alerts.filter((a) => a.kind === 'opened').map((a) => a.incident.id)).toEqual([dbRoot.id, followUp.id]);
    // Fixes follow the graph: asking for the traceback's plan gives the follow-up's restart.
    expect(engine.store.getState().incidents[followUp.id]?.rootId).toBeNull();

    engine.applyProbeResults([process(5151, 0), database(true)]);
    expect(engine.book.get(followUp.id)?.status).toBe('resolved');
    expect(engine.book.get(crashed.id)?.status).toBe('resolved');
  });

  it('an outage first seen before any process round (a log record checked at start) still raises the follow-up', () => {
    const { engine, alerts, process, database } = setup('threaded');
    // The database probe a log record asked for lands before the first round knew Odoo's pid.
    engine.applyProbeResults([database(false)]);
    engine.applyProbeResults([process(4242), database(false)]);
    engine.applyProbeResults([process(4242), database(true)]);
    const followUp = active(engine).find((i) => i.origin.kind === 'engine');
    expect(followUp?.detail).toContain('pid 4242');
    expect(alerts.filter((a) => a.kind === 'opened').map((a) => a.incident.id)).toContain(followUp!.id);
  });

  it('prefork respawns its cron workers, and a threaded Odoo restarted during the outage has fresh threads: no follow-up', () => {
    const prefork = setup('prefork');
    prefork.engine.applyProbeResults([prefork.process(10), prefork.database(false)]);
    prefork.engine.applyProbeResults([prefork.process(10), prefork.database(true)]);
    expect(active(prefork.engine).filter((i) => i.origin.kind === 'engine')).toEqual([]);

    const restarted = setup('threaded');
    restarted.engine.applyProbeResults([restarted.process(10), restarted.database(false)]);
    restarted.engine.applyProbeResults([restarted.process(11), restarted.database(true)]);
    expect(active(restarted.engine).filter((i) => i.origin.kind === 'engine')).toEqual([]);
    expect(cronFollowUp({ since: 0, odooPid: null }, 1, { mode: 'threaded', maxCronThreads: 2, pid: 5 })).toBeNull();
    expect(cronFollowUp({ since: 0, odooPid: 5 }, 1, { mode: 'threaded', maxCronThreads: 0, pid: 5 })).toBeNull();
  });
});

describe('the follow-up restart is confirmed by the process probe, not by log text', () => {
  const followUp = (pid: number) => {
    const finding = cronFollowUp({ since: 0, odooPid: pid }, 1, { mode: 'threaded', maxCronThreads: 2, pid })!;
    return {
      id: 'i-follow', fingerprint: `engine:${finding.key}`, origin: { kind: 'engine' as const, key: finding.key }, title: finding.title,
      severity: finding.severity, category: finding.category, hint: finding.hint, status: 'open' as const, count: 1, firstSeen: 1, lastSeen: 1,
      sample: null, detail: finding.detail, fix: finding.fix!, resolvedAt: null, snoozedUntil: null, rootId: null,
    };
  };
  const processNow = (pid: number) => async (): Promise<ProbeResult> => ({
    probe: 'process', status: 'ok', summary: `threaded pid ${pid}`, checkedAt: Date.now(), durationMs: 1, findings: [], data: { mode: 'threaded', main: { pid } },
  });

  it('applies while the process that lived through the outage still runs, and not once it was replaced', async () => {
    const same = makeFixContext({ roots: [], fixes: { restart: { odoo: ['/bin/true'] }, allowCommands: ['/bin/true'] }, probe: processNow(4242) });
    const other = makeFixContext({ roots: [], fixes: { restart: { odoo: ['/bin/true'] }, allowCommands: ['/bin/true'] }, probe: processNow(5151) });
    try {
      const ok = await restartService.plan({ service: 'odoo' }, followUp(4242), same);
      expect(ok.applicable).toBe(true);
      expect(ok.preview).toContain('threaded Odoo pid 4242 that lived through the PostgreSQL outage still runs');
      const no = await restartService.plan({ service: 'odoo' }, followUp(4242), other);
      expect(no.applicable).toBe(false);
    } finally {
      same.cleanup();
      other.cleanup();
    }
  });

  it('a "cron threads crashed" traceback replayed from stderr (it has no time) stays over after the verified restart of Odoo', async () => {
    // 1. The outage and its follow-up: Odoo (pid 4242) restarted by the fix, verified.
    const { engine, process, database } = setup('threaded');
    const stateDir = engine.config.paths.stateDir;
    engine.applyProbeResults([process(4242), database(false)]);
    engine.ingest('stderr', stderr);
    engine.flushNow();
    engine.applyProbeResults([process(4242), database(true)]);
    const followUp = active(engine).find((i) => i.origin.kind === 'engine')!;
    const config = testConfig((c) => {
      c.paths = engine.config.paths;
      c.fixes.restart = { odoo: ['/bin/true'] };
      c.fixes.allowCommands = ['/bin/true'];
    });
    const odoo = testOdoo({ workers: 0, maxCronThreads: 2, httpPort: 9 });
    const probe = async (): Promise<ProbeResult> => process(4242);
    const attempt = await runAttempt(restartService, followUp, { config, odoo, probe, systemd: false }, { who: 'test' });
    expect(attempt.outcome, attempt.message).toBe('verified');
    await engine.stop();

    // 2. The console restarts and replays the stderr file: the traceback carries no time.
    const stderrFile = join(stateDir, 'odoo-stderr.log');
    writeFileSync(stderrFile, stderr.join('\n'));
    const restarted = async (dir: string) => {
      const c = testConfig((x) => {
        x.paths = { stateDir: dir, backupDir: join(dir, 'b'), auditLog: join(dir, 'audit.log') };
        x.probes.intervalMs = 3_600_000;
        x.probes.timeoutMs = 1000;
      });
      // A closed port and no HTTP: nothing on this machine is probed.
      const o = testOdoo({ workers: 0, maxCronThreads: 2, httpPort: 9, dbHost: '127.0.0.1', dbPort: 9 });
      const events: EngineEvent[] = [];
      const next = new Engine({ config: c, odoo: o, patternsDir: PATTERNS, mode: 'console', sources: [{ kind: 'file', path: stderrFile, start: 'start' }], emit: (e) => events.push(e) });
      const alerts: AlertEvent[] = [];
      next.desk.alerts = { notify: (e) => alerts.push(e), close: async () => {} };
      await next.start();
      const until = Date.now() + 20_000;
      while (!next.store.getState().probes.database && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      await next.stop();
      const crash = next.book.list().find((i) => i.origin.kind === 'pattern' && i.origin.patternId === 'cron-thread-crashed')!;
      return { crash, events, alerts };
    };
    const after = await restarted(stateDir);
    expect(after.crash, 'the replayed traceback').toBeDefined();
    expect(after.crash.status).toBe('resolved');
    expect(after.events).toContainEqual(expect.objectContaining({ event: 'incident.stale', incident: after.crash.id, why: expect.stringMatching(/restarted for its dead cron threads/) }));
    expect(after.alerts.filter((a) => a.incident.id === after.crash.id)).toEqual([]);

    // Without that fix on record, the same replay is live: nothing disproves it.
    const fresh = mkdtempSync(join(tmpdir(), 'odoo-heal-cron-replay-'));
    dirs.push(fresh);
    const without = await restarted(fresh);
    expect(without.crash.status).not.toBe('resolved');
  }, 60_000);

  it('an untimed replayed crash is disproved by scheduled actions that run (odoo_db probe), a timed one only by the restart', () => {
    const startedAt = 1_000_000;
    const crash = (lastSeen: number): Incident => ({
      id: 'crash', fingerprint: 'cron-thread-crashed', origin: { kind: 'pattern', patternId: 'cron-thread-crashed', captures: {} },
      title: 'Cron threads crashed', severity: 'critical', category: 'cron', hint: '', status: 'open', count: 1,
      firstSeen: lastSeen, lastSeen, sample: null, detail: '', fix: null, resolvedAt: null, snoozedUntil: null, rootId: null,
    });
    const odooDb = (findings: Finding[]): ProbeResult => ({
      probe: 'odoo_db', status: findings.length ? 'critical' : 'ok', summary: '', checkedAt: startedAt + 10, durationMs: 1, findings,
      data: { crons: [{ db: 'healdb' }], errors: [] },
    });
    const overdue: Finding = { key: 'cron-overdue', severity: 'critical', category: 'cron', title: 'Scheduled actions are not running', detail: '', hint: '' };
    const ctx = (probe: ProbeResult, untimed: boolean): StaleContext => ({
      startedAt, now: startedAt + 20, probes: { odoo_db: probe }, clearsWith: new Map(), verifiedFixAt: new Map(), odooStartedAt: null,
      untimed: new Set(untimed ? ['crash'] : []), cronRestartedAt: null,
    });
    // Read at start from stderr: its lastSeen is the reading time, its real time unknown.
    expect(staleReason(crash(startedAt + 5), ctx(odooDb([]), true))?.why).toBe('the odoo_db probe sees scheduled actions run');
    expect(staleReason(crash(startedAt + 5), ctx(odooDb([overdue]), true))).toBeNull();
    // A record with its own time from a minute ago: crons are not overdue yet whatever happened.
    expect(staleReason(crash(startedAt - 60_000), ctx(odooDb([]), false))).toBeNull();
    // Read live (not from history): never stale.
    expect(staleReason(crash(startedAt + 5), ctx(odooDb([]), false))).toBeNull();
  });
});
