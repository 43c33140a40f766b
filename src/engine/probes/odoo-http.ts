// Odoo's own view of its health, over HTTP.
// - `GET /web/health?db_server_status=1`: plain /web/health answers 200 without touching the
//   database, so it would report "pass" while PostgreSQL is down; with the parameter Odoo pings the
//   DB server and answers 500 {"status": "fail", "db_server_status": false} when it cannot.
// - `POST /web/webclient/version_info` (JSON-RPC): the server version, for the header and reports.
import type { Finding } from '../core/types.js';
import { netReason } from './network.js';
import type { Probe, ProbeContext, ProbeOutput } from './types.js';

export interface OdooHttpData {
  url: string;
  /** HTTP status of the health call; null when nothing answered. */
  httpStatus: number | null;
  /** `status` from the health JSON ('pass' / 'fail'), null when absent. */
  health: string | null;
  /** `db_server_status` from the health JSON, null when absent (Odoo < 17 has no /web/health). */
  dbServerStatus: boolean | null;
  latencyMs: number | null;
  /** e.g. "18.0", from version_info; null when that call failed. */
  version: string | null;
  versionInfo: unknown[] | null;
}

export function odooBaseUrl(ctx: Pick<ProbeContext, 'config' | 'odoo'>): string {
  const url = ctx.config.odoo.url ?? `http://127.0.0.1:${ctx.odoo.httpPort}`;
  return url.replace(/\/+$/, '');
}

async function readJson(res: Response): Promise<Record<string, unknown> | null> {
  try {
    const v: unknown = await res.json();
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function versionInfo(base: string, signal: AbortSignal, ctx: ProbeContext): Promise<{ version: string | null; info: unknown[] | null }> {
  try {
    ctx.noteRequest?.('POST', '/web/webclient/version_info');
    const res = await fetch(`${base}/web/webclient/version_info`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: {} }),
      signal,
    });
    const body = await readJson(res);
    // Odoo wraps the route's value in a JSON-RPC envelope: {"jsonrpc", "id", "result": {...}}.
    const result = body && typeof body.result === 'object' && body.result !== null ? (body.result as Record<string, unknown>) : body;
    const version = typeof result?.server_version === 'string' ? result.server_version : null;
    const info = Array.isArray(result?.server_version_info) ? (result.server_version_info as unknown[]) : null;
    return { version, info };
  } catch {
    // The version is a nicety: the health call decides the status.
    return { version: null, info: null };
  }
}

/** How long a version_info answer is reused while Odoo keeps answering, when Odoo's pid is unknown
 * (a remote Odoo): an upgrade means a restart, which a failed health call usually shows first. With
 * a known pid the version is asked at start and when the pid changes, never on a timer. */
const VERSION_TTL_MS = 10 * 60_000;

const NO_VERSION = { version: null, info: null } as const;

export function createOdooHttpProbe(): Probe<OdooHttpData> {
  // The version changes only when Odoo restarts: asked again after any round where health did not
  // answer, or after VERSION_TTL_MS, instead of a second request every round.
  let known: { base: string; at: number; pid: number | null; version: string; info: unknown[] | null } | null = null;
  // Each health call is a line in the admin's Odoo log: asked every probes.odooHttpIntervalMs, or at
  // once when something else suggests trouble; in between the last answer stands.
  let last: { at: number; base: string; output: ProbeOutput<OdooHttpData> } | null = null;
  return {
    name: 'odoo_http',
    async run(ctx: ProbeContext, signal: AbortSignal): Promise<ProbeOutput<OdooHttpData>> {
      const base = odooBaseUrl(ctx);
      // A passing answer stands for the interval; a failing one is asked again every round.
      if (!ctx.urgent && last && last.base === base && last.output.status === 'ok' && ctx.now() - last.at < ctx.config.probes.odooHttpIntervalMs) {
        return last.output;
      }
      const output = await check(ctx, signal);
      last = { at: ctx.now(), base, output };
      return output;
    },
  };

  async function check(ctx: ProbeContext, signal: AbortSignal): Promise<ProbeOutput<OdooHttpData>> {
      const base = odooBaseUrl(ctx);
      const started = performance.now();
      const healthUrl = `${base}/web/health?db_server_status=1`;
      const pid = ctx.odooPid ?? null;
      const cached =
        known && known.base === base && (pid !== null && known.pid !== null ? known.pid === pid : Date.now() - known.at < VERSION_TTL_MS) ? known : null;
      known = null; // kept only if health answers this round (a timeout throws past the code below)
      ctx.noteRequest?.('GET', '/web/health?db_server_status=1');
      const [health, asked] = await Promise.all([
        fetch(healthUrl, { signal, redirect: 'manual' }).then(
          async (res) => ({ res, body: await readJson(res), latencyMs: Math.round((performance.now() - started) * 10) / 10 }),
          (err: unknown) => {
            // The runner's timeout aborts us: let it report 'unknown' rather than "not answering".
            if (signal.aborted) throw err;
            return { error: err };
          },
        ),
        cached ? null : versionInfo(base, signal, ctx),
      ]);
      // With a known pid the cache survives a failed health call: only a new process asks again.
      if (!('error' in health) || (pid !== null && cached)) known = asked?.version ? { base, at: Date.now(), pid, version: asked.version, info: asked.info } : cached;
      // This round's answer, or the cached one while health answers.
      const ver = asked ?? ('error' in health || !cached ? NO_VERSION : cached);
      const data: OdooHttpData = {
        url: base,
        httpStatus: null,
        health: null,
        dbServerStatus: null,
        latencyMs: null,
        version: ver.version,
        versionInfo: ver.info,
      };
      const versionPart = ver.version ? `Odoo ${ver.version}, ` : '';

      if ('error' in health) {
        const reason = netReason((health.error as { cause?: unknown }).cause ?? health.error);
        return {
          status: 'critical',
          summary: `Odoo HTTP not answering: ${reason}`,
          findings: [
            finding('down', 'Odoo HTTP not answering', `${healthUrl}: ${reason}`, 'Is Odoo running and listening on http_port (or behind the configured URL)? Check the process probe and the journal.', 'worker'),
          ],
          data,
        };
      }

      const { res, body, latencyMs } = health;
      data.httpStatus = res.status;
      data.latencyMs = latencyMs;
      data.health = typeof body?.status === 'string' ? body.status : null;
      data.dbServerStatus = typeof body?.db_server_status === 'boolean' ? body.db_server_status : null;

      if (data.dbServerStatus === false) {
        return {
          status: 'critical',
          summary: `${versionPart}HTTP ${res.status}: database unreachable`,
          findings: [
            finding(
              'db-unreachable',
              'Odoo reports its database unreachable',
              `${healthUrl} answered ${res.status} ${JSON.stringify(body)}`,
              'PostgreSQL is down or out of connection slots: see the database and services probes.',
              'database',
            ),
          ],
          data,
        };
      }
      if (res.status >= 500) {
        return {
          status: 'critical',
          summary: `${versionPart}HTTP ${res.status} on /web/health`,
          findings: [
            finding(
              'http-error',
              `Odoo answers HTTP ${res.status} on /web/health`,
              `${healthUrl} answered ${res.status}${body ? ` ${JSON.stringify(body)}` : ''}`,
              'When even /web/health fails, the data dir is often unwritable (sessions): look for PermissionError in the log.',
              'worker',
            ),
          ],
          data,
        };
      }
      if (res.status === 404) {
        // Odoo before 17 has no health route; it still answers, so this is not a failure.
        return { status: 'ok', summary: `${versionPart}answers (no /web/health: Odoo < 17?), ${latencyMs} ms`, findings: [], data };
      }
      if (res.status !== 200 || data.health !== 'pass') {
        return {
          status: 'warning',
          summary: `${versionPart}unexpected health answer HTTP ${res.status}`,
          findings: [
            finding(
              'health-unexpected',
              'Unexpected answer from /web/health',
              `${healthUrl} answered ${res.status}${body ? ` ${JSON.stringify(body)}` : ' (not JSON)'}`,
              'Is config odoo.url pointing at Odoo (not a login page or another app)?',
              'config',
              'warning',
            ),
          ],
          data,
        };
      }
      return { status: 'ok', summary: `${versionPart}health pass, database ok, ${latencyMs} ms`, findings: [], data };
  }
}

function finding(
  key: string,
  title: string,
  detail: string,
  hint: string,
  category: Finding['category'],
  severity: Finding['severity'] = 'critical',
): Finding {
  return { key, severity, title, detail, hint, category };
}
