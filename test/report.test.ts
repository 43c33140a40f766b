// Reports built from a real state dir: attempts made by the real runAttempt with the real cron fix on
// a temp copy of the broken addon, incidents from the real Odoo 18 log through the real matcher.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IncidentBook } from '../src/engine/incidents/incidents.js';
import { parseText } from '../src/engine/logs/parser.js';
import { loadPatterns } from '../src/engine/patterns/load.js';
import { Matcher } from '../src/engine/patterns/matcher.js';
import {
  buildReport,
  mergeIncidents,
  readIncidentHistory,
  redactReport,
  saveIncidentHistory,
  REPORT_FORMAT,
  type Report,
} from '../src/engine/outputs/report.js';
import { formatDuration, renderReportJSON, renderReportMarkdown } from '../src/engine/outputs/report-format.js';
import type { Incident } from '../src/engine/core/types.js';
import { listAttempts, runAttempt, type AttemptRecord } from '../src/fixes/attempts.js';
import { getFix } from '../src/fixes/registry.js';
import { testConfig, testOdooConf } from './helpers/fix-context.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const REAL_PREFIX = '/tmp/realodoo/custom_addons';

let base: string;
let addons: string;
let stateDir: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'odoo-heal-report-'));
  addons = join(base, 'custom_addons');
  stateDir = join(base, 'state');
  mkdirSync(addons);
  cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** Incidents of real logs, the cron log's file path remapped into the temp addons root. */
function incidentsFromLogs(): { book: IncidentBook; cron: Incident; permission: Incident } {
  const matcher = new Matcher(loadPatterns(join(ROOT, 'patterns')));
  const book = new IncidentBook();
  const cronText = readFileSync(join(FIXTURES, 'logs/cron_deprecated_field.log'), 'utf8').replaceAll(REAL_PREFIX, addons);
  const permText = readFileSync(join(FIXTURES, 'logs/permission_denied_filestore.log'), 'utf8');
  for (const [text, source] of [[cronText, 'cron.log'], [permText, 'perm.log']] as const) {
    for (const r of parseText(text, source)) for (const m of matcher.match(r)) book.addMatch(m, Date.now());
  }
  const cron = book.find('cron-deprecated-fields');
  const permission = book.find('permission-denied');
  if (!cron || !permission) throw new Error('expected incidents not found in the real logs');
  return { book, cron, permission };
}

/** A clock that moves 1 s per reading, from `start`: attempt times are exact and ordered. */
function clock(start: number): () => number {
  let t = start - 1000;
  return () => (t += 1000);
}

/** Two real attempts on the cron incident: the first rolls back (module update fails), the second verifies. */
async function twoAttempts(cron: Incident, book: IncidentBook): Promise<{ failed: AttemptRecord; verified: AttemptRecord }> {
  // After every record of every log, so a --since between the attempts leaves the log-only incidents out.
  const start = Math.max(...book.list().map((i) => i.lastSeen)) + 60_000;
  const fix = getFix('cron-deprecated-fields')!;
  const odoo = testOdooConf({ addonsPath: [addons] });
  const probe = async (): Promise<never> => {
    throw new Error('no probe in this test');
  };
  const failing = testConfig(stateDir, { allowCommands: ['false'], moduleUpdate: ['false'] });
  const failed = await runAttempt(fix, cron, { config: failing, odoo, probe, now: clock(start) }, { who: 'test' });
  const plain = testConfig(stateDir);
  const verified = await runAttempt(fix, cron, { config: plain, odoo, probe, now: clock(start + 240_000) }, { who: 'auto' });
  return { failed, verified };
}

describe('report', () => {
  it('counts real attempts per pattern: 2 attempts, 1 verified → 50%, MTTR = first seen → verified fix', async () => {
    const { book, cron, permission } = incidentsFromLogs();
    const { failed, verified } = await twoAttempts(cron, book);
    expect(failed.outcome).toBe('rolled_back');
    expect(verified.outcome).toBe('verified');
    book.resolve(cron.id, verified.finishedAt!);

    const { attempts, warnings } = await listAttempts(stateDir);
    expect(warnings).toEqual([]);
    expect(attempts.map((a) => a.id)).toEqual([failed.id, verified.id]);

    const now = verified.finishedAt! + 1000;
    const report = buildReport({ now, health: null, incidents: book.list(), attempts });
    expect(report.format).toBe(REPORT_FORMAT);

    const eff = report.effectiveness.find((e) => e.key === 'cron-deprecated-fields')!;
    expect(eff).toMatchObject({ kind: 'pattern', incidents: 1, open: 0, resolved: 1, matches: cron.count, attempts: 2, recovered: 1 });
    expect(eff.outcomes).toMatchObject({ verified: 1, rolled_back: 1, failed: 0, refused: 0 });
    expect(eff.successRate).toBe(0.5);
    expect(eff.meanTimeToRecoverMs).toBe(verified.finishedAt! - cron.firstSeen);
    expect(eff.meanTimeToRecoverMs).toBeGreaterThan(300_000);

    // The permission incident matched but was never attempted: no rate, still open, no recovery.
    const perm = report.effectiveness.find((e) => e.key === 'permission-denied')!;
    expect(perm).toMatchObject({ attempts: 0, successRate: null, open: 1, recovered: 0, meanTimeToRecoverMs: null, matches: permission.count });
    expect(perm.matches).toBeGreaterThan(1);

    expect(report.summary.attempts).toMatchObject({ total: 2, successRate: 0.5 });
    expect(report.summary.incidents.resolved).toBe(1);
    expect(report.summary.status).toBe('unknown');
    const ri = report.incidents.find((i) => i.id === cron.id)!;
    expect(ri.attempts).toEqual([failed.id, verified.id]);
    expect(ri.recoveredAt).toBe(new Date(verified.finishedAt!).toISOString());
    const ra = report.attempts.find((a) => a.id === failed.id)!;
    expect(ra).toMatchObject({ key: 'cron-deprecated-fields', outcome: 'rolled_back', fixId: 'cron-deprecated-fields' });
    expect(ra.rollback).toMatchObject({ ok: true, automatic: true });
  });

  it('--since keeps only attempts started since, and incidents active or resolved since', async () => {
    const { book, cron } = incidentsFromLogs();
    const { failed, verified } = await twoAttempts(cron, book);
    book.resolve(cron.id, verified.finishedAt!);
    const { attempts } = await listAttempts(stateDir);
    const now = verified.finishedAt! + 1000;

    const afterFirst = buildReport({ now, since: failed.finishedAt! + 1, health: null, incidents: book.list(), attempts });
    expect(afterFirst.attempts.map((a) => a.id)).toEqual([verified.id]);
    const eff = afterFirst.effectiveness.find((e) => e.key === 'cron-deprecated-fields')!;
    expect(eff.attempts).toBe(1);
    expect(eff.successRate).toBe(1);
    // The permission incident's records are older than the window: left out.
    expect(afterFirst.incidents.map((i) => i.id)).toEqual([cron.id]);
    expect(afterFirst.since).toBe(new Date(failed.finishedAt! + 1).toISOString());

    const later = buildReport({ now, since: now, health: null, incidents: book.list(), attempts });
    expect(later.attempts).toEqual([]);
    expect(later.incidents).toEqual([]);
    expect(later.effectiveness).toEqual([]);
    expect(later.summary.attempts.successRate).toBeNull();
  });

  it('attributes attempts whose incident is unknown to their fix, and keeps guidance plans out of the rate', () => {
    const rec = (id: string, outcome: AttemptRecord['outcome'], fixId = 'restart-service'): AttemptRecord => ({
      version: 1, id, incidentId: 'i-00000000', fixId, who: 'auto', startedAt: 1000, finishedAt: 2000, outcome, message: '',
      dryRun: false, plan: null, applied: null, postFix: {}, verification: null, rollback: null, error: null,
    });
    const r = buildReport({ now: 5000, health: null, incidents: [], attempts: [rec('a-1', 'verified'), rec('a-2', 'failed'), rec('a-3', 'planned'), rec('a-4', 'refused')] });
    expect(r.effectiveness).toHaveLength(1);
    expect(r.effectiveness[0]).toMatchObject({ key: 'fix:restart-service', kind: 'unknown', attempts: 3, successRate: 1 / 3 });
    expect(r.effectiveness[0]!.outcomes.planned).toBe(1);
  });

  it('renders versioned JSON and Markdown with every section, redacting secrets', async () => {
    const { book, cron } = incidentsFromLogs();
    const { verified } = await twoAttempts(cron, book);
    book.resolve(cron.id, verified.finishedAt!);
    const { attempts } = await listAttempts(stateDir);
    const report = buildReport({ now: verified.finishedAt! + 1000, health: null, incidents: book.list(), attempts, warnings: ['db_password=hunter2secret in a message'] });

    const json = JSON.parse(renderReportJSON(report)) as Report;
    expect(json.format).toBe('odoo-heal/report@1');
    expect(Object.keys(json)).toEqual(['format', 'host', 'generatedAt', 'since', 'health', 'summary', 'incidents', 'attempts', 'effectiveness', 'warnings']);
    expect(json.effectiveness.find((e) => e.key === 'cron-deprecated-fields')!.successRate).toBe(0.5);

    const md = renderReportMarkdown(report);
    expect(md).toMatch(/^# odoo-heal report — /);
    expect(md).toContain('## Open incidents (2)');
    expect(md).toContain('## Resolved incidents (1)');
    expect(md).toContain('## Fix attempts (2)');
    expect(md).toMatch(/\| `cron-deprecated-fields` \| 1 \| \d+ \| 2 \| 1 \| 50% \| [\d.]+ min \|/);
    expect(md).toContain(`| \`${verified.id}\` |`);
    expect(md).toContain('rolled back');
    // Every table row has the header's column count (cells with | are escaped).
    for (const line of md.split('\n').filter((l) => l.startsWith('| `a-'))) expect(line.split(/(?<!\\)\|/).length).toBe(10);

    const config = testConfig(stateDir);
    const safe = redactReport(report, config, { dbPassword: 'hunter2secret', adminPasswd: null });
    expect(renderReportJSON(safe)).not.toContain('hunter2secret');
    expect(renderReportMarkdown(safe)).not.toContain('hunter2secret');
  });

  it('keeps an incident history in the state dir; a stale re-read does not reopen a resolved incident', async () => {
    const { book, cron } = incidentsFromLogs();
    book.resolve(cron.id, cron.lastSeen + 10_000);
    await saveIncidentHistory(stateDir, book.list());
    expect((statSync(join(stateDir, 'incident-history.json')).mode & 0o777).toString(8)).toBe('600');
    const { incidents, warning } = await readIncidentHistory(stateDir);
    expect(warning).toBeNull();
    expect(incidents.find((i) => i.id === cron.id)).toMatchObject({ status: 'resolved', sample: null, count: cron.count });

    // A fresh check sees the same old records (active, fewer counted): stays resolved, count kept.
    const fresh = incidentsFromLogs().cron;
    const merged = mergeIncidents(incidents, [{ ...fresh, count: 1 }]);
    expect(merged.find((i) => i.id === cron.id)).toMatchObject({ status: 'resolved', count: cron.count });
    // Activity after the resolution reopens it.
    const again = mergeIncidents(incidents, [{ ...fresh, lastSeen: cron.lastSeen + 20_000 }]);
    expect(again.find((i) => i.id === cron.id)!.status).toBe('open');

    writeFileSync(join(stateDir, 'incident-history.json'), '{"version": 1, "incid');
    const damaged = await readIncidentHistory(stateDir);
    expect(damaged.incidents).toEqual([]);
    expect(damaged.warning).toMatch(/incident-history\.json: ignored/);
    expect(existsSync(join(stateDir, 'incident-history.json'))).toBe(true);
  });

  it('formats durations for people', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(5 * 60_000)).toBe('5.0 min');
    expect(formatDuration(3 * 3_600_000)).toBe('3.0 h');
    expect(formatDuration(3 * 86_400_000)).toBe('3.0 d');
  });
});
