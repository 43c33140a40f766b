// Optional HTTP listener for monitoring and automation (off by default; config `http`):
//   GET  /health              the engine's view in the `check --json` shape (odoo-heal/check@1);
//                             200, or 503 when CRITICAL so plain HTTP checks work too
//   GET  /metrics             Prometheus text exposition format 0.0.4
//   GET  /incidents           odoo-heal/incidents@1
//   POST /incidents/<id>/fix  runs the incident's fix now: bearer token from config, same
//                             unattended policy as --auto; 200 with the attempt id and outcome
// Binds to config.http.listen (127.0.0.1 by default). Everything served is redacted with the known
// secrets; tokens are compared in constant time; request bodies are bounded. What a web page or a
// flood can do to it, and why each guard is there: docs/security.md#http-exposure.
//   - Host must name this listener (its address, localhost on loopback, or http.allowedHosts): a
//     DNS-rebinding page whose name resolves to 127.0.0.1 cannot read /incidents through a browser;
//   - with a token, GET /incidents and /metrics need it too (http.requireTokenForReads), /health not;
//   - at most http.maxConnections sockets, each closed after http.idleTimeoutMs without a request.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { getFix } from '../../fixes/registry.js';
import { listAttempts, summarize, type AttemptRecord } from '../../fixes/attempts.js';
import type { Config } from '../config/types.js';
import { RECYCLE_REASONS } from '../logs/odoo-events.js';
import type { Engine } from '../run/engine.js';
import { errorMessage } from '../core/errors.js';
import { isOpenBreaker, ruleOf } from '../incidents/incident-rule.js';
import { healthFromEngine } from './report.js';
import { odooHealVersion } from '../core/version.js';
import { incidentsJSON } from './report-format.js';
import { FixBusyError } from '../run/fix-desk.js';
import { redactDeep, secretsOf } from './redact.js';
import type { HealthReport } from '../run/health.js';
import { safeJsonStringify } from '../text/terminal-safe.js';
import type { AttemptOutcome, Severity } from '../core/types.js';

export const FIX_RESULT_FORMAT = 'odoo-heal/http-fix@1';
/** How long /health and the attempt counts of /metrics are reused (scrapers and load balancers poll). */
export const CACHE_MS = 1500;
/** No endpoint takes a meaningful body; anything larger is refused before it is read. */
export const MAX_BODY_BYTES = 4096;
const INCIDENT_FIX_PATH = /^\/incidents\/(i-[0-9a-f]{8})\/fix$/;

export interface HttpApi {
  port: number;
  address: string;
  /** Sockets open right now (bounded by http.maxConnections). */
  openConnections(): Promise<number>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Constant-time comparison of the presented token with the configured one (hashes have equal length). */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  return m ? m[1]! : null;
}

/** Reads (and bounds) the request body; none of the endpoints needs its content. */
async function drainBody(req: IncomingMessage): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
  }
}

// ------------------------------------------------------------------------------------ /metrics

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

class MetricsText {
  private readonly lines: string[] = [];
  family(name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Record<string, string>, number]>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      this.lines.push(`${name}${l.length ? `{${l.join(',')}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
    }
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** Milliseconds as seconds, without binary-fraction noise (0.0153, not 0.015300000000000001). */
const seconds = (ms: number): number => Math.round(ms) / 1000;

const STATUSES = ['ok', 'warning', 'critical', 'unknown'] as const;
const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
const INCIDENT_STATUSES = ['open', 'snoozed', 'fixing', 'resolved'] as const;

export function renderMetrics(engine: Engine, attempts: readonly AttemptRecord[], health: HealthReport): string {
  const s = engine.store.getState();
  const m = new MetricsText();
  m.family('odoo_heal_up', 'gauge', 'Whether the odoo-heal engine is running (always 1 when this answers).', [[{}, 1]]);
  m.family('odoo_heal_start_time_seconds', 'gauge', 'Start time of the engine since the Unix epoch.', [[{}, seconds(s.startedAt)]]);
  m.family(
    'odoo_heal_health_status',
    'gauge',
    'Overall status (1 for the current one): the same as odoo-heal check.',
    STATUSES.map((st) => [{ status: st }, health.status === st ? 1 : 0]),
  );
  m.family(
    'odoo_heal_probe_status',
    'gauge',
    'Latest status of each probe (1 for the current one).',
    health.probes.flatMap((p) => STATUSES.map((st): [Record<string, string>, number] => [{ probe: p.probe, status: st }, p.status === st ? 1 : 0])),
  );
  m.family(
    'odoo_heal_probe_duration_seconds',
    'gauge',
    'How long the latest run of each probe took.',
    health.probes.map((p) => [{ probe: p.probe }, seconds(p.durationMs)]),
  );
  m.family(
    'odoo_heal_probe_last_run_timestamp_seconds',
    'gauge',
    'When each probe last ran, since the Unix epoch.',
    health.probes.map((p) => [{ probe: p.probe }, seconds(p.checkedAt)]),
  );
  m.family('odoo_heal_build_info', 'gauge', 'odoo-heal version, the Odoo it watches and how it runs (always 1).', [
    [{ version: odooHealVersion(), odoo_version: s.odoo.version ?? 'unknown', odoo_mode: s.odoo.mode, mode: engine.mode }, 1],
  ]);
  const incidents = engine.book.list();
  m.family(
    'odoo_heal_incidents',
    'gauge',
    'Incidents known to the engine by severity and status.',
    SEVERITIES.flatMap((sev) =>
      INCIDENT_STATUSES.map((st): [Record<string, string>, number] => [{ severity: sev, status: st }, incidents.filter((i) => i.severity === sev && i.status === st).length]),
    ),
  );
  // Open incidents by the rule that raised them: bounded labels only (ruleOf), never log text.
  const open = new Map<string, { labels: { rule: string; kind: string; severity: string }; n: number }>();
  for (const i of incidents) {
    if (i.status === 'resolved') continue;
    const labels = { rule: ruleOf(i), kind: i.origin.kind, severity: i.severity };
    const key = `${labels.rule}\0${labels.kind}\0${labels.severity}`;
    const e = open.get(key);
    if (e) e.n++;
    else open.set(key, { labels, n: 1 });
  }
  m.family(
    'odoo_heal_open_incidents',
    'gauge',
    'Incidents not resolved, by the rule that raised them (pattern id, probe:<name>, ...), kind and severity.',
    [...open.values()].sort((a, b) => (a.labels.rule < b.labels.rule ? -1 : 1)).map((e) => [e.labels, e.n]),
  );
  m.family('odoo_heal_circuit_breakers_open', 'gauge', 'Incidents auto-heal gave up on (circuit breaker open).', [
    [{}, incidents.filter(isOpenBreaker).length],
  ]);
  const unclassified = incidents.filter((i) => i.origin.kind === 'unclassified');
  m.family(
    'odoo_heal_unclassified_incidents',
    'gauge',
    'Unclassified incidents (errors no pattern explains) by severity and status.',
    SEVERITIES.flatMap((sev) =>
      INCIDENT_STATUSES.map((st): [Record<string, string>, number] => [{ severity: sev, status: st }, unclassified.filter((i) => i.severity === sev && i.status === st).length]),
    ),
  );
  const perFix = new Map<string, Record<AttemptOutcome, number>>();
  for (const a of attempts) {
    let o = perFix.get(a.fixId);
    if (!o) perFix.set(a.fixId, (o = { planned: 0, running: 0, verified: 0, failed: 0, rolled_back: 0, refused: 0 }));
    o[a.outcome]++;
  }
  const fixes = [...perFix.keys()].sort();
  m.family(
    'odoo_heal_fix_attempts_total',
    'counter',
    'Fix attempts recorded in the state directory, by fix.',
    fixes.map((f) => [{ fix: f }, Object.values(perFix.get(f)!).reduce((x, y) => x + y, 0)]),
  );
  // Outcomes are a gauge, not a counter: a manual rollback moves an attempt from verified to rolled_back.
  m.family(
    'odoo_heal_fix_attempt_outcomes',
    'gauge',
    'Recorded fix attempts by fix and current outcome.',
    fixes.flatMap((f) => Object.entries(perFix.get(f)!).map(([outcome, n]): [Record<string, string>, number] => [{ fix: f, outcome }, n])),
  );
  // The latest attempt (by when it ended, else started): what a fleet view shows as "last fix".
  const last = attempts.reduce<AttemptRecord | null>((a, b) => (a === null || (b.finishedAt ?? b.startedAt) >= (a.finishedAt ?? a.startedAt) ? b : a), null);
  m.family(
    'odoo_heal_last_fix_timestamp_seconds',
    'gauge',
    'When the latest fix attempt ended (or started, while running), labelled with its fix and outcome.',
    last ? [[{ fix: last.fixId, outcome: last.outcome }, seconds(last.finishedAt ?? last.startedAt)]] : [],
  );
  m.family('odoo_heal_fix_running', 'gauge', 'Whether a fix is running right now.', [[{}, s.busy ? 1 : 0]]);
  m.family('odoo_heal_log_lines_read_total', 'counter', 'Log lines read from all sources since start.', [[{}, s.counters.linesRead]]);
  m.family('odoo_heal_log_records_total', 'counter', 'Log records assembled from those lines since start.', [[{}, s.counters.records]]);
  m.family('odoo_heal_pattern_matches_total', 'counter', 'Pattern matches on log records since start.', [[{}, s.counters.matches]]);
  m.family(
    'odoo_heal_unclassified_records_total',
    'counter',
    'ERROR/CRITICAL or traceback records no pattern explained (grouped into unclassified incidents) since start.',
    [[{}, s.counters.unclassified]],
  );
  // From Odoo's own log lines (logs/odoo-events.ts): the reason label has four fixed values.
  m.family(
    'odoo_heal_odoo_worker_recycles_total',
    'counter',
    'Odoo workers recycled since odoo-heal started, by the reason Odoo logged (time-real, cpu, memory, max-request).',
    RECYCLE_REASONS.map((r) => [{ reason: r }, engine.odooEvents.totals[r]]),
  );
  m.family(
    'odoo_heal_odoo_signaling_reloads_total',
    'counter',
    'Reloads Odoo processes logged after database signaling since odoo-heal started (what: registry, cache).',
    (['registry', 'cache'] as const).map((w) => [{ what: w }, engine.odooEvents.totals[w]]),
  );
  return m.toString();
}

// ------------------------------------------------------------------------------------ server

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.') || address === 'localhost';
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** The host part of a Host header (no port, IPv6 brackets removed, lower case), or null if malformed. */
export function hostOf(header: string): string | null {
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([^:\[\]\s/@]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]!.replace(/\.$/, '') : null;
}

/**
 * Which Host header values this listener answers. A browser sends the name it resolved: a page on
 * evil.example whose DNS answer flips to 127.0.0.1 sends `Host: evil.example`, which is refused. On
 * a wildcard address any IP literal and this machine's name are accepted (a scraper uses either).
 */
export function hostAllowed(header: string | undefined, listen: string, allowed: readonly string[]): boolean {
  if (typeof header !== 'string') return false;
  const host = hostOf(header);
  if (host === null) return false;
  const listenHost = listen.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === listenHost) return true;
  if (allowed.some((a) => a.toLowerCase().replace(/\.$/, '') === host)) return true;
  // Only IP literals count as loopback here: 127.0.0.1.nip.io is a name an attacker controls.
  if (isLoopback(listenHost) && (host === 'localhost' || (isIP(host) !== 0 && isLoopback(host)))) return true;
  if (WILDCARD.has(listen)) return isIP(host) !== 0 || host === hostname().toLowerCase();
  return false;
}

export async function startHttpApi(engine: Engine, config: Config = engine.config): Promise<HttpApi> {
  const secrets = secretsOf(config, engine.odoo);
  const token = config.http.token;
  const readsNeedToken = token !== null && config.http.requireTokenForReads !== false;

  /** Throws 401 unless the request carries the configured bearer token. */
  const authenticate = (req: IncomingMessage): void => {
    const presented = bearer(req);
    if (token === null || presented === null || !tokenMatches(presented, token)) {
      throw new HttpError(401, 'a valid bearer token is required', { 'www-authenticate': 'Bearer realm="odoo-heal"' });
    }
  };

  let healthCache: { at: number; value: Promise<HealthReport> } | null = null;
  const health = (): Promise<HealthReport> => {
    const now = Date.now();
    if (healthCache && now - healthCache.at < CACHE_MS) return healthCache.value;
    const value = (async () => {
      // Before the engine's first probe round there is nothing to report: run one now (bounded).
      if (Object.keys(engine.store.getState().probes).length === 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          engine.probeTick(),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, config.probes.timeoutMs + 1000))),
        ]).finally(() => clearTimeout(timer));
      }
      return healthFromEngine(engine);
    })();
    healthCache = { at: now, value };
    value.catch(() => (healthCache = null));
    return value;
  };

  let attemptsCache: { at: number; value: Promise<AttemptRecord[]> } | null = null;
  const attempts = (): Promise<AttemptRecord[]> => {
    const now = Date.now();
    if (attemptsCache && now - attemptsCache.at < CACHE_MS) return attemptsCache.value;
    const value = listAttempts(config.paths.stateDir).then((r) => r.attempts);
    attemptsCache = { at: now, value };
    value.catch(() => (attemptsCache = null));
    return value;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = typeof body === 'string' ? body : `${safeJsonStringify(redactDeep(body, secrets), 2)}\n`;
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  };

  const runFix = async (incidentId: string, who: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const incident = engine.book.get(incidentId);
    if (!incident) throw new HttpError(404, `no incident ${incidentId}`);
    if (incident.status === 'resolved') throw new HttpError(409, `incident ${incidentId} is resolved`);
    const fix = incident.fix ? getFix(incident.fix.id) : undefined;
    if (!incident.fix || !fix) throw new HttpError(422, `incident ${incidentId} has no automatic fix`);
    if (!engine.desk.allowedUnattended(incident, fix.id)) {
      throw new HttpError(
        403,
        `policy does not allow ${fix.id} unattended for ${incidentId} (the pattern must allow it and config fixes.unattended must list it); fix it from the console or with \`odoo-heal fix ${incidentId}\``,
      );
    }
    let rec: AttemptRecord;
    try {
      rec = await engine.desk.runFix(incident, who);
    } catch (err) {
      if (err instanceof FixBusyError) throw new HttpError(409, err.message);
      throw err;
    }
    const summary = summarize(rec);
    attemptsCache = null;
    healthCache = null;
    engine.emitEvent({ level: rec.outcome === 'verified' ? 'info' : 'error', event: 'fix.result', via: 'http', incident: incidentId, attempt: rec.id, fix: rec.fixId, outcome: rec.outcome, message: rec.message });
    return {
      status: 200,
      body: { format: FIX_RESULT_FORMAT, incident: incidentId, attempt: { ...summary, startedAt: new Date(summary.startedAt).toISOString(), finishedAt: summary.finishedAt === null ? null : new Date(summary.finishedAt).toISOString() } },
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req.headers.host, config.http.listen, config.http.allowedHosts)) {
      throw new HttpError(421, `Host ${JSON.stringify(req.headers.host ?? '')} is not this listener (${config.http.listen}); add the name to http.allowedHosts if it is yours`, { connection: 'close' });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const fixMatch = INCIDENT_FIX_PATH.exec(path);

    if (fixMatch) {
      if (method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' });
      // Authenticate before reading anything the client sends.
      if (!token) throw new HttpError(403, 'action endpoints are disabled: set http.token in the config');
      authenticate(req);
      await drainBody(req);
      const { status, body } = await runFix(fixMatch[1]!, `http@${req.socket.remoteAddress ?? 'unknown'}`);
      return send(res, status, body);
    }

    const routes: Record<string, () => Promise<void>> = {
      '/health': async () => {
        const h = await health();
        send(res, h.status === 'critical' ? 503 : 200, h);
      },
      '/metrics': async () => {
        const [h, a] = await Promise.all([health(), attempts()]);
        send(res, 200, renderMetrics(engine, a, h));
      },
      '/incidents': async () => {
        send(res, 200, incidentsJSON(engine.store.getState().hostname, engine.book.list(), Date.now()));
      },
    };
    const route = routes[path];
    if (!route) throw new HttpError(404, `no such endpoint: ${path} (try /health, /metrics, /incidents)`);
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'use GET', { allow: 'GET, HEAD' });
    // /health stays open: load balancers and uptime checks rarely carry a token, and it tells little.
    if (readsNeedToken && path !== '/health') authenticate(req);
    await drainBody(req);
    await route();
  };

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        // A refused body is not read: close the connection instead of draining it.
        const headers = err.status === 413 || err.status === 401 ? { ...err.headers, connection: 'close' } : err.headers;
        send(res, err.status, { error: err.message }, headers);
        return;
      }
      engine.emitEvent({ level: 'error', event: 'http.error', path: req.url ?? '', error: errorMessage(err) });
      send(res, 500, { error: 'internal error (see the odoo-heal log)' });
    });
  });
  server.keepAliveTimeout = Math.min(5000, config.http.idleTimeoutMs);
  // Fixes may take a while (a restart, a module update): do not cut the response short.
  server.timeout = 0;
  // Beyond this, Node closes a new connection at once: a flood of half-open sockets cannot grow memory.
  server.maxConnections = config.http.maxConnections;
  // Node checks headersTimeout only every connectionsCheckingInterval (30 s): a socket that never
  // sends a byte would be held that long. Each socket gets its own idle timer instead, paused while a
  // request is being answered (a fix may run for minutes without a byte on the wire).
  const idleMs = config.http.idleTimeoutMs;
  server.on('connection', (socket: Socket) => {
    socket.setTimeout(idleMs);
    socket.on('timeout', () => socket.destroy());
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    req.socket.setTimeout(0);
    res.once('finish', () => {
      if (!req.socket.destroyed) req.socket.setTimeout(idleMs);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  engine.emitEvent({ level: 'info', event: 'http.listening', address: addr.address, port: addr.port });
  if (!isLoopback(addr.address)) {
    engine.emitEvent({
      level: 'warning',
      event: 'http.exposed',
      address: addr.address,
      detail: readsNeedToken
        ? 'the HTTP API listens beyond loopback: firewall it; /health needs no token'
        : 'the HTTP API listens beyond loopback: firewall it; /health, /metrics and /incidents need no token',
    });
  }
  return {
    port: addr.port,
    address: addr.address,
    openConnections: () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
