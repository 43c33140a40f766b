// A short PostgreSQL flap (issue 12): "the database system is shutting down", then "refuses
// connections", then back. The database probe words it differently each round and PostgreSQL's and
// Odoo's logs say it too; all of it is one outage: one root, one alert, one resolve.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../src/engine/run/alert-sink.js';
import { Engine } from '../src/engine/run/engine.js';
import { IncidentBook } from '../src/engine/incidents/incidents.js';
import { parseText } from '../src/engine/logs/parser.js';
import { loadPatterns } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import type { Finding, ProbeResult } from '../src/engine/core/types.js';
import { testConfig, testOdoo } from './helpers/config.js';

const FIXTURES = resolve(__dirname, 'fixtures');
const PATTERNS = resolve(__dirname, '..', 'patterns');

// The probe's own words for the two states (src/engine/probes/database.ts, codes 57P03 and ECONNREFUSED).
const shuttingDown: Finding = { key: 'not_ready', severity: 'critical', category: 'database', title: 'PostgreSQL at 127.0.0.1:55432 is shutting down', detail: '', hint: '' };
const refused: Finding = {
  key: 'down',
  severity: 'critical',
  category: 'database',
  title: 'PostgreSQL at 127.0.0.1:55432 refuses connections (is it running?)',
  detail: '',
  hint: '',
  fix: { id: 'restart-service', params: { service: 'postgresql' }, unattended: true },
};

let clock = Date.now();
const database = (findings: Finding[]): ProbeResult => ({
  probe: 'database',
  status: findings.length ? 'critical' : 'ok',
  summary: findings[0]?.title ?? 'ok',
  checkedAt: (clock += 1000),
  durationMs: 1,
  findings,
  data: null,
});

describe('a short PostgreSQL flap is one root', () => {
  it('the probe saying "shutting down", then "refuses connections", keeps one incident: one opened, one resolved', () => {
    const config = testConfig((c) => {
      c.probes.intervalMs = 3_600_000;
    });
    const engine = new Engine({ config, odoo: testOdoo(), patternsDir: PATTERNS, mode: 'console', sources: [] });
    const alerts: AlertEvent[] = [];
    engine.desk.alerts = { notify: (e) => alerts.push(e), close: async () => {} };

    engine.applyProbeResults([database([shuttingDown])]);
    const first = engine.book.list().find((i) => i.status !== 'resolved')!;
    expect(first.title).toMatch(/is shutting down/);
    engine.applyProbeResults([database([refused])]);
    const now = engine.book.list().filter((i) => i.status !== 'resolved');
    expect(now.map((i) => i.id)).toEqual([first.id]);
    // The incident says what holds now, and offers what helps now.
    expect(now[0]!.title).toMatch(/refuses connections/);
    expect(now[0]!.fix?.id).toBe('restart-service');
    expect(now[0]!.origin).toEqual({ kind: 'probe', probe: 'database', key: 'down' });
    engine.applyProbeResults([database([])]);
    expect(engine.book.get(first.id)?.status).toBe('resolved');

    expect(alerts.map((a) => [a.kind, a.incident.id])).toEqual([
      ['opened', first.id],
      ['resolved', first.id],
    ]);
  });

  it("PostgreSQL's and Odoo's records of the flap are symptoms of the probe's root", () => {
    const book = new IncidentBook();
    const matcher = new Matcher(loadPatterns(PATTERNS));
    const pgLog = readFileSync(join(FIXTURES, 'postgres', 'pg15_stderr_debian_prefix.log'), 'utf8');
    const pgRecords = parseText(pgLog, 'postgresql.log', { postgres: true }).filter((r) => /the database system is shutting down/.test(r.message));
    const odooLog = readFileSync(join(FIXTURES, 'logs', 'db_connection_threaded.log'), 'utf8');
    const odooRecords = parseText(odooLog, 'odoo.log').filter((r) => /the database system is shutting down|Connection refused/.test(r.exception ?? ''));
    expect(pgRecords.length).toBeGreaterThan(0);
    expect(odooRecords.length).toBeGreaterThan(0);
    const now = Date.now();
    for (const r of [...pgRecords, ...odooRecords]) for (const m of matcher.match(r).slice(0, 1)) book.addMatch(m, now);
    const logBorn = book.list();
    expect(logBorn.map((i) => i.origin.kind === 'pattern' && i.origin.patternId)).toEqual(expect.arrayContaining(['pg-not-accepting', 'db-unreachable']));

    // Before any probe has spoken, the records of one part are still one root.
    book.correlate(now);
    expect(book.list().filter((i) => i.rootId === null)).toHaveLength(1);

    book.applyFindings('database', [shuttingDown], now + 1000);
    book.correlate(now + 1000);
    const root = book.forFinding('database', 'not_ready')!;
    expect(book.list().filter((i) => i.status !== 'resolved' && i.rootId === null).map((i) => i.id)).toEqual([root.id]);
    book.applyFindings('database', [refused], now + 2000);
    book.correlate(now + 2000);
    expect(book.forFinding('database', 'down')).toBe(root);
    expect(book.list().filter((i) => i.status !== 'resolved' && i.rootId === null).map((i) => i.id)).toEqual([root.id]);
    for (const i of logBorn) expect(i.rootId, i.title).toBe(root.id);
  });
});
