// The odoo.conf audit rules on real conf files: Debian's packaged odoo.conf, a production prefork
// one, and the real-Odoo harness's (shared/real-odoo/up.sh writes it), each with host facts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOdooConf } from '../src/engine/config/odoo-conf.js';
import { auditOdooConf, optionLines, type AuditFacts } from '../src/engine/config-audit/rules.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'config');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function load(name: string, patch: (t: string) => string = (t) => t) {
  const path = join(FIXTURES, name);
  const text = patch(readFileSync(path, 'utf8'));
  return { odoo: parseOdooConf(text, path), lines: optionLines(text), text };
}

const facts = (over: Partial<AuditFacts> = {}): AuditFacts => ({
  pg: { maxConnections: 300, reserved: 3, otherDatabasesUse: 0 },
  ramBytes: 16 * GiB,
  workerVmsBytes: 250 * MiB,
  geventListening: true,
  nginxRunning: false,
  writable: null,
  longCrons: null,
  nginx: null,
  odooMajor: 18,
  ...over,
});

describe('odoo.conf audit', () => {
  it('a sound production prefork config has no finding', () => {
    const { odoo, lines } = load('odoo-full.conf');
    expect(auditOdooConf(odoo, lines, facts())).toEqual([]);
  });

  it('connections: (1 + workers + cron) × db_maxconn against max_connections − reserved − other databases, naming the line', () => {
    const { odoo, lines, text } = load('odoo-full.conf');
    // (1 + 4 + 1) × 32 = 192 > 100 − 3 − 20 = 77
    const [f, ...rest] = auditOdooConf(odoo, lines, facts({ pg: { maxConnections: 100, reserved: 3, otherDatabasesUse: 20 } }));
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ key: 'connections', option: 'db_maxconn', suggest: 'db_maxconn = 12', severity: 'warning' });
    expect(text.split('\n')[f!.line! - 1]).toBe('db_maxconn = 32');
    expect(f!.title).toBe('db_maxconn = 32 lets Odoo open 192 connections; PostgreSQL has 77 for it');
    expect(f!.why).toContain('20 used by other databases');
  });

  it('memory: hard × workers beyond RAM; soft/hard below a fresh worker\'s VMS are errors (respawn loop, MemoryError)', () => {
    const { odoo, lines } = load('odoo-full.conf');
    const keys = (f: AuditFacts) => auditOdooConf(odoo, lines, f).map((x) => `${x.key}:${x.severity}:${x.line}`);
    // 2.5 GiB × (4 + 1) = 12.5 GiB > 8 GiB
    expect(keys(facts({ ramBytes: 8 * GiB }))).toEqual(['memory-hard-total:warning:19']);
    expect(keys(facts({ workerVmsBytes: 2.2 * GiB }))).toEqual(['memory-soft-below-worker:error:18']);
    expect(keys(facts({ workerVmsBytes: 3 * GiB }))).toEqual(['memory-soft-below-worker:error:18', 'memory-hard-below-worker:error:19']);
  });

  it('time limits: real below cpu; real below the cron poll while limit_time_real_cron is unset, not once it is set', () => {
    const low = load('odoo-full.conf', (t) => t.replace('limit_time_real = 1200', 'limit_time_real = 30'));
    expect(auditOdooConf(low.odoo, low.lines, facts()).map((f) => f.key)).toEqual(['time-real-below-cpu', 'time-real-below-cron-poll']);
    const cronSet = load('odoo-full.conf', (t) => t.replace('limit_time_real = 1200', 'limit_time_real = 30\nlimit_time_real_cron = 600'));
    expect(auditOdooConf(cronSet.odoo, cronSet.lines, facts()).map((f) => f.key)).toEqual(['time-real-below-cpu']);
  });

  it('limit_time_real_cron unset while crons outgrow limit_time_real: names them and why; not once it is set', () => {
    const { odoo, lines } = load('odoo-full.conf');
    const job = { database: 'prod', active: true, intervalSeconds: 3600, lateSeconds: 0, sinceLastSeconds: 700, failureCount: 0, failingSeconds: null };
    const longCrons = {
      unfinished: [{ database: 'prod', id: 12, name: 'Mail: Fetchmail Service', unfinishedRuns: 2 }],
      running: [{ ...job, id: 31, name: 'Inventory: Run Scheduler', running: { pid: 4242, seconds: 1100, applicationName: null, superuser: false } }],
    };
    const [f, ...rest] = auditOdooConf(odoo, lines, facts({ longCrons }));
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ key: 'cron-time-limit', option: 'limit_time_real_cron', line: null, severity: 'warning', suggest: expect.stringMatching(/^limit_time_real_cron = 6000 /) });
    expect(f!.title).toBe('limit_time_real_cron is unset, so cron workers get limit_time_real (1200 s), and 2 crons outgrow it');
    expect(f!.why).toContain('"Mail: Fetchmail Service" (id 12, prod): its last 2 runs did not finish (ir_cron_progress.timed_out_counter 2)');
    expect(f!.why).toContain('"Inventory: Run Scheduler" (id 31, prod): running for 1100 s of the 1200 s it is allowed');
    // Set explicitly (the facts are then not even read), or no long cron: nothing to say.
    const set = load('odoo-full.conf', (t) => t.replace('limit_time_real = 1200', 'limit_time_real = 1200\nlimit_time_real_cron = 3600'));
    expect(auditOdooConf(set.odoo, set.lines, facts({ longCrons }))).toEqual([]);
    expect(auditOdooConf(odoo, lines, facts({ longCrons: { unfinished: [], running: [] } }))).toEqual([]);
  });

  it('gevent not listening in prefork, proxy_mode off behind nginx', () => {
    const noProxy = load('odoo-full.conf', (t) => t.replace('proxy_mode = True', 'proxy_mode = False'));
    const list = auditOdooConf(noProxy.odoo, noProxy.lines, facts({ geventListening: false, nginxRunning: true }));
    expect(list.map((f) => `${f.key}:${f.line}:${f.suggest}`)).toEqual(['gevent-not-listening:null:gevent_port = 18072  (free it, or proxy /websocket to the port gevent really uses)', 'proxy-mode-off:22:proxy_mode = True']);
  });

  it("security: Debian's packaged config (list_db default, all interfaces, admin_passwd unset) exposes the database manager", () => {
    const { odoo, lines } = load('odoo-debian.conf');
    const list = auditOdooConf(odoo, lines, facts({ workerVmsBytes: null }));
    expect(list.map((f) => f.key)).toEqual(['database-manager-exposed']);
    expect(list[0]!.title).toContain('admin_passwd is unset');
    // Bound to loopback, or with list_db off, it is not exposed.
    const local = load('odoo-debian.conf', (t) => `${t.trimEnd()}\nhttp_interface = 127.0.0.1\n`);
    expect(auditOdooConf(local.odoo, local.lines, facts())).toEqual([]);
    const plain = load('odoo-debian.conf', (t) => `${t.trimEnd()}\nadmin_passwd = hunter2\n`);
    expect(auditOdooConf(plain.odoo, plain.lines, facts())[0]).toMatchObject({ option: 'list_db', title: expect.stringContaining('in plain text') });
  });

  it('facts that cannot be read drop their rules, never the audit', () => {
    const { odoo, lines } = load('odoo-full.conf', (t) => t.replace('db_maxconn = 32', 'db_maxconn = 500'));
    expect(auditOdooConf(odoo, lines, facts({ pg: null, ramBytes: null, workerVmsBytes: null, geventListening: null }))).toEqual([]);
  });
});
