// The HTTP API against a real Engine (default config, temp state dir, the repo's patterns, no log
// sources) listening on 127.0.0.1 port 0, fed real Odoo 18 log files with engine.ingest(). The
// database and Odoo HTTP probes point at a closed local port, so health is deterministically CRITICAL
// without touching the machine's own services.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, defaultOdooConf } from '../src/engine/config/defaults.js';
import type { Config } from '../src/engine/config/types.js';
import { Engine } from '../src/engine/run/engine.js';
import { startHttpApi, tokenMatches, type HttpApi } from '../src/engine/outputs/http-api.js';
import { PROBE_NAMES, STATUS_EXIT } from '../src/engine/core/types.js';
import { ATTEMPT_ID_RE } from '../src/fixes/attempts.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const TOKEN = 'tok-0123456789abcdef0123456789abcdef';
const DB_PASSWORD = 'Sup3rSecretDbPassw0rd';
/** With a token set, reads of /incidents and /metrics need it too (http.requireTokenForReads). */
const AUTH = { authorization: `Bearer ${TOKEN}` };

let tmp: string;
let addons: string;
let config: Config;
let engine: Engine;
let api: HttpApi;
let base: string;

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'odoo-heal-http-'));
  addons = join(tmp, 'custom_addons');
  mkdirSync(addons);
  cpSync(join(FIXTURES, 'legacy_cron'), join(addons, 'legacy_cron'), { recursive: true });
  const port = await closedPort();
  config = defaultConfig({ env: { XDG_STATE_HOME: join(tmp, 'xdg') }, isRoot: false, home: '/nonexistent-home' });
  config.services = [];
  config.endpoints = [];
  config.probes.timeoutMs = 2000;
  config.odoo.url = `http://127.0.0.1:${port}`;
  config.http = { ...config.http, enabled: true, port: 0, token: TOKEN };
  const odoo = { ...defaultOdooConf(), addonsPath: [addons], dbHost: '127.0.0.1', dbPort: port, dbPassword: DB_PASSWORD };
  engine = new Engine({ config, odoo, patternsDir: join(ROOT, 'patterns'), mode: 'console', sources: [] });
  api = await startHttpApi(engine, config);
  base = `http://127.0.0.1:${api.port}`;
});

afterAll(async () => {
  await api?.close();
  await engine?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function ingestLog(name: string, remap = false): void {
  let text = readFileSync(join(FIXTURES, 'logs', name), 'utf8');
  if (remap) text = text.replaceAll('/tmp/realodoo/custom_addons', addons);
  engine.ingest(name, text.split('\n'));
}

interface IncidentJSON {
  id: string;
  fingerprint: string;
  origin: { kind: string; patternId?: string };
  status: string;
  severity: string;
  count: number;
  fix: { id: string; unattended: boolean } | null;
}

async function getIncidents(): Promise<{ format: string; incidents: IncidentJSON[] }> {
  const res = await fetch(`${base}/incidents`, { headers: AUTH });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as { format: string; incidents: IncidentJSON[] };
}

async function waitForIncidents(patternIds: string[]): Promise<IncidentJSON[]> {
  // The last record of an ingested batch is complete once the engine's flush timer runs.
  for (let i = 0; i < 100; i++) {
    const { incidents } = await getIncidents();
    if (patternIds.every((p) => incidents.some((x) => x.origin.patternId === p))) return incidents;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`incidents ${patternIds.join(', ')} never appeared`);
}

const byPattern = (list: IncidentJSON[], id: string): IncidentJSON => list.find((i) => i.origin.patternId === id)!;

function post(path: string, headers: Record<string, string> = {}, body?: string): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers, body });
}

/** Minimal check of the Prometheus text format: HELP/TYPE before samples, valid names, labels and values. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Map<string, string>();
  const helped = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (m) {
      helped.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      expect(typed.has(m[1]!), `duplicate TYPE for ${m[1]}`).toBe(false);
      typed.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    expect(m, `bad sample line: ${line}`).not.toBeNull();
    const name = m![1]!;
    expect(typed.has(name) && helped.has(name), `${name} sampled before its HELP/TYPE`).toBe(true);
    if (typed.get(name) === 'counter') expect(name.endsWith('_total')).toBe(true);
    const key = `${name}${m![2] ?? ''}`;
    expect(samples.has(key), `duplicate sample ${key}`).toBe(false);
    samples.set(key, Number(m![3]));
  }
  return samples;
}

function findPromtool(): string | null {
  for (const candidate of [process.env.PROMTOOL, 'promtool']) {
    if (!candidate) continue;
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return candidate;
  }
  return null;
}

describe('HTTP API', () => {
  it('is off by default and binds loopback; this one listens on 127.0.0.1', () => {
    const d = defaultConfig({ env: {}, isRoot: false, home: '/nonexistent-home' });
    expect(d.http).toMatchObject({ enabled: false, listen: '127.0.0.1', token: null });
    expect(api.address).toBe('127.0.0.1');
    expect(api.port).toBeGreaterThan(0);
  });

  it('GET /health answers in the check --json shape (CRITICAL: database and Odoo unreachable → 503)', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(503);
    const h = (await res.json()) as Record<string, unknown> & { probes: Array<{ probe: string; status: string }>; incidents: Array<{ fingerprint: string }> };
    expect(Object.keys(h).sort()).toEqual(['checkedAt', 'durationMs', 'exitCode', 'format', 'host', 'incidents', 'logScan', 'probes', 'status']);
    expect(h.format).toBe('odoo-heal/check@1');
    expect(h.status).toBe('critical');
    expect(h.exitCode).toBe(STATUS_EXIT.critical);
    expect(typeof h.host).toBe('string');
    expect(Number.isNaN(Date.parse(h.checkedAt as string))).toBe(false);
    // Every probe, the odoo.conf audit (odoo_conf) included: the engine audits at start and on change.
    expect(h.probes.map((p) => p.probe).sort()).toEqual([...PROBE_NAMES].sort());
    expect(h.probes.find((p) => p.probe === 'database')!.status).toBe('critical');
    expect(h.incidents.some((i) => i.fingerprint.startsWith('probe:database:'))).toBe(true);
    expect(h.logScan).toMatchObject({ records: 0, errors: [] });
  });

  it('GET /incidents lists the incidents of ingested real logs', async () => {
    expect((await getIncidents()).format).toBe('odoo-heal/incidents@1');
    ingestLog('cron_deprecated_field.log', true);
    ingestLog('permission_denied_filestore.log');
    const incidents = await waitForIncidents(['cron-deprecated-fields', 'permission-denied']);
    const cron = byPattern(incidents, 'cron-deprecated-fields');
    expect(cron).toMatchObject({ status: 'open', severity: 'critical', fix: { id: 'cron-deprecated-fields', unattended: true } });
    expect(cron.id).toMatch(/^i-[0-9a-f]{8}$/);
    expect(byPattern(incidents, 'permission-denied')).toMatchObject({ status: 'open', count: 8, fix: { id: 'permissions' } });
  });

  it('POST /incidents/<id>/fix: 401 without or with a wrong token, 405/404/413 for bad requests', async () => {
    const incidents = await waitForIncidents(['cron-deprecated-fields']);
    const path = `/incidents/${byPattern(incidents, 'cron-deprecated-fields').id}/fix`;
    const none = await post(path);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await none.json()) as { error: string }).error).toMatch(/bearer token/);
    expect((await post(path, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await post(path, { authorization: `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}` })).status).toBe(401);
    expect((await post(path, { authorization: TOKEN })).status).toBe(401);
    expect((await fetch(`${base}${path}`)).status).toBe(405);
    expect((await post('/incidents/i-00000000/fix', { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    expect((await post(path, { authorization: `Bearer ${TOKEN}` }, 'x'.repeat(10_000))).status).toBe(413);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await post('/health')).status).toBe(405);
    // Nothing ran.
    expect(existsSync(join(config.paths.stateDir, 'attempts'))).toBe(false);
  });

  it('POST fix of an incident policy does not allow unattended → 403, nothing runs', async () => {
    const incidents = await waitForIncidents(['permission-denied']);
    const res = await post(`/incidents/${byPattern(incidents, 'permission-denied').id}/fix`, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/policy does not allow permissions unattended/);
    expect(existsSync(join(config.paths.stateDir, 'attempts'))).toBe(false);
  });

  it('POST fix of an allowed incident runs the real fix and answers with the attempt id', async () => {
    const incidents = await waitForIncidents(['cron-deprecated-fields']);
    const id = byPattern(incidents, 'cron-deprecated-fields').id;
    const xml = join(addons, 'legacy_cron', 'data', 'ir_cron_data.xml');
    expect(readFileSync(xml, 'utf8')).toMatch(/numbercall/);
    const res = await post(`/incidents/${id}/fix`, { authorization: `Bearer ${TOKEN}` }, '{}');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { format: string; incident: string; attempt: { id: string; outcome: string; fixId: string } };
    expect(body.format).toBe('odoo-heal/http-fix@1');
    expect(body.incident).toBe(id);
    expect(body.attempt.id).toMatch(ATTEMPT_ID_RE);
    expect(body.attempt).toMatchObject({ outcome: 'verified', fixId: 'cron-deprecated-fields' });
    expect(readdirSync(join(config.paths.stateDir, 'attempts'))).toEqual([`${body.attempt.id}.json`]);
    expect(readFileSync(xml, 'utf8')).not.toMatch(/numbercall|doall/);
    expect(engine.store.getState().attempts.map((a) => a.id)).toContain(body.attempt.id);
    // The verified fix resolved the incident; fixing it again is a conflict.
    expect(byPattern((await getIncidents()).incidents, 'cron-deprecated-fields').status).toBe('resolved');
    expect((await post(`/incidents/${id}/fix`, { authorization: `Bearer ${TOKEN}` })).status).toBe(409);
  });

  it('GET /metrics is valid Prometheus text with probes, incidents, attempts and log counters', async () => {
    // The followed log may still complete a record while the request runs: the counters served
    // must lie between the store's before and after it.
    const before = engine.store.getState().counters;
    const res = await fetch(`${base}/metrics`, { headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const s = parseMetrics(text);
    expect(s.get('odoo_heal_up')).toBe(1);
    expect(s.get('odoo_heal_health_status{status="critical"}')).toBe(1);
    expect(s.get('odoo_heal_health_status{status="ok"}')).toBe(0);
    expect(s.get('odoo_heal_probe_status{probe="database",status="critical"}')).toBe(1);
    expect(s.get('odoo_heal_fix_attempts_total{fix="cron-deprecated-fields"}')).toBe(1);
    expect(s.get('odoo_heal_fix_attempt_outcomes{fix="cron-deprecated-fields",outcome="verified"}')).toBe(1);
    expect(s.get('odoo_heal_incidents{severity="critical",status="resolved"}')).toBeGreaterThanOrEqual(1);
    // Fleet labels: the build, and open incidents by the rule that raised them.
    const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const build = [...s.keys()].filter((k) => k.startsWith('odoo_heal_build_info{'));
    expect(build).toEqual([`odoo_heal_build_info{version="${version}",odoo_version="unknown",odoo_mode="${engine.store.getState().odoo.mode}",mode="console"}`]);
    const open = engine.book.list().filter((i) => i.status !== 'resolved');
    expect(open.length).toBeGreaterThan(0);
    const dbProbe = open.filter((i) => i.origin.kind === 'probe' && i.origin.probe === 'database' && i.severity === 'critical').length;
    expect(dbProbe).toBeGreaterThan(0);
    expect(s.get('odoo_heal_open_incidents{rule="probe:database",kind="probe",severity="critical"}')).toBe(dbProbe);
    expect(s.get('odoo_heal_circuit_breakers_open')).toBe(0);
    const after = engine.store.getState().counters;
    expect(before.linesRead).toBeGreaterThan(0);
    for (const [metric, key] of [
      ['odoo_heal_log_lines_read_total', 'linesRead'],
      ['odoo_heal_log_records_total', 'records'],
      ['odoo_heal_pattern_matches_total', 'matches'],
    ] as const) {
      expect(s.get(metric), metric).toBeGreaterThanOrEqual(before[key]);
      expect(s.get(metric), metric).toBeLessThanOrEqual(after[key]);
    }

    const promtool = findPromtool();
    if (!promtool) {
      console.warn('promtool not found (Debian package prometheus, or set PROMTOOL=/path/to/promtool): skipping `promtool check metrics`');
      return;
    }
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('GET /metrics counts worker recycles by reason and registry reloads from real Odoo lines', async () => {
    ingestLog('worker_limit_time.log');
    ingestLog('registry_signaling.log');
    engine.flushNow();
    const s = parseMetrics(await (await fetch(`${base}/metrics`, { headers: AUTH })).text());
    // 8 workers killed at limit_time_real (two kill lines repeated), 2 at limit_time_cpu; the label has four fixed values.
    const recycles = [...s.keys()].filter((k) => k.startsWith('odoo_heal_odoo_worker_recycles_total{'));
    expect(recycles.sort()).toEqual(['cpu', 'max-request', 'memory', 'time-real'].map((r) => `odoo_heal_odoo_worker_recycles_total{reason="${r}"}`));
    expect(s.get('odoo_heal_odoo_worker_recycles_total{reason="time-real"}')).toBe(8);
    expect(s.get('odoo_heal_odoo_worker_recycles_total{reason="cpu"}')).toBe(2);
    expect(s.get('odoo_heal_odoo_worker_recycles_total{reason="memory"}')).toBe(0);
    expect(s.get('odoo_heal_odoo_signaling_reloads_total{what="registry"}')).toBe(1);
    expect(s.get('odoo_heal_odoo_signaling_reloads_total{what="cache"}')).toBe(1);
  });

  it('serves no secret: neither the token nor the database password appear anywhere', async () => {
    for (const path of ['/health', '/metrics', '/incidents']) {
      const text = await (await fetch(`${base}${path}`, { headers: AUTH })).text();
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(DB_PASSWORD);
    }
  });

  it('compares tokens exactly', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
  });
});
