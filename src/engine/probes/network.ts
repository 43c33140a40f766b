// Reachability of the endpoints Odoo depends on (config.endpoints): `http(s)://` URLs by fetch,
// `host:port` by a TCP connect. Also the small TCP helpers the services probe uses.
import { connect, type Socket } from 'node:net';
import { errorMessage } from '../core/errors.js';
import type { Finding } from '../core/types.js';
import { statusOfFindings } from './types.js';
import type { Probe, ProbeContext, ProbeOutput } from './types.js';

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port`. Returns null for anything else (the config loader validates earlier). */
export function parseHostPort(s: string): HostPort | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s/]+):(\d{1,5})$/.exec(s);
  if (!m || m[1] === undefined) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1], port } : null;
}

/** The reason a socket operation failed, short enough for a table cell. */
export function netReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not resolved';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return errorMessage(err);
  }
}

/**
 * Connects, optionally sends `payload`, and resolves with what the peer sent once `done(received)`
 * holds (or on connect when there is no payload). Rejects on error, on `timeoutMs`, or on abort; the
 * socket is always destroyed.
 */
export function tcpExchange(
  target: HostPort,
  opts: { payload?: Buffer | string; done?: (received: Buffer) => boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<{ latencyMs: number; received: Buffer }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let socket: Socket | null = null;
    let received = Buffer.alloc(0);
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
      if (err) reject(err);
      else resolve({ latencyMs: Math.round((performance.now() - started) * 10) / 10, received });
    };
    const onAbort = () => finish(new Error('aborted'));
    const timer = setTimeout(() => finish(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    if (opts.signal?.aborted) return finish(new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket = connect({ host: target.host, port: target.port });
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => {
      if (opts.payload === undefined) return finish(null);
      socket?.write(opts.payload);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (!opts.done || opts.done(received)) finish(null);
    });
    socket.on('end', () => finish(new Error(`closed by peer after ${received.length} bytes`)));
  });
}

export type EndpointState = 'up' | 'slow' | 'down';

export interface EndpointResult {
  name: string;
  target: string;
  state: EndpointState;
  latencyMs: number | null;
  /** HTTP status for URLs. */
  httpStatus: number | null;
  detail: string;
}

export interface NetworkData {
  endpoints: EndpointResult[];
}

async function checkUrl(url: string, timeoutMs: number, signal: AbortSignal): Promise<Omit<EndpointResult, 'name' | 'target' | 'state'>> {
  const started = performance.now();
  // redirect: manual — we measure this endpoint, not wherever it sends us; 3xx means it answers.
  const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  // Free the connection without downloading the body.
  await res.body?.cancel().catch(() => undefined);
  return { latencyMs, httpStatus: res.status, detail: `HTTP ${res.status}` };
}

export function createNetworkProbe(): Probe<NetworkData> {
  return {
    name: 'network',
    async run(ctx: ProbeContext, signal: AbortSignal): Promise<ProbeOutput<NetworkData>> {
      const t = ctx.config.thresholds;
      // Each check gets most of the budget, so one dead host is reported as down, not as a timeout.
      const each = Math.max(100, Math.floor(ctx.config.probes.timeoutMs * 0.8));
      const endpoints = await Promise.all(
        ctx.config.endpoints.map(async (ep): Promise<EndpointResult> => {
          const base = { name: ep.name, target: ep.target };
          try {
            if (/^https?:\/\//i.test(ep.target)) {
              const r = await checkUrl(ep.target, each, signal);
              const state: EndpointState = r.httpStatus !== null && r.httpStatus >= 500 ? 'down' : (r.latencyMs ?? 0) > t.endpointLatencyWarnMs ? 'slow' : 'up';
              return { ...base, ...r, state };
            }
            const hp = parseHostPort(ep.target);
            if (!hp) return { ...base, state: 'down', latencyMs: null, httpStatus: null, detail: 'target is neither a URL nor host:port' };
            const r = await tcpExchange(hp, { timeoutMs: each, signal });
            return { ...base, state: r.latencyMs > t.endpointLatencyWarnMs ? 'slow' : 'up', latencyMs: r.latencyMs, httpStatus: null, detail: 'TCP connect ok' };
          } catch (err) {
            const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${each} ms` : netReason((err as { cause?: unknown }).cause ?? err);
            return { ...base, state: 'down', latencyMs: null, httpStatus: null, detail: reason };
          }
        }),
      );
      const findings: Finding[] = endpoints
        .filter((e) => e.state !== 'up')
        .map((e) => ({
          key: `endpoint:${e.name}`,
          severity: e.state === 'down' ? 'critical' : 'warning',
          title: e.state === 'down' ? `${e.name} unreachable` : `${e.name} slow (${e.latencyMs} ms)`,
          detail: `${e.target}: ${e.detail}${e.state === 'slow' ? `, over ${t.endpointLatencyWarnMs} ms` : ''}`,
          hint: e.state === 'down' ? 'Check DNS, the firewall and the remote service; Odoo features using it will fail or hang.' : 'Slow dependencies make Odoo requests hit limit_time_real.',
          category: 'network',
        }));
      const up = endpoints.filter((e) => e.state !== 'down').length;
      const summary = endpoints.length === 0 ? 'no endpoints configured' : `${up}/${endpoints.length} endpoints reachable`;
      return { status: statusOfFindings(findings), summary, findings, data: { endpoints } };
    },
  };
}
