// A real HTTP server on 127.0.0.1 answering like Odoo 18 (shared/docs/odoo-facts.md, "Health endpoints").
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryProbe } from '../src/engine/probes/memory.js';
import { createOdooHttpProbe, type OdooHttpData } from '../src/engine/probes/odoo-http.js';
import { runProbe, runProbes } from '../src/engine/probes/run.js';
import { testConfig, testCtx, testOdoo } from './helpers/config.js';

type Mode = 'pass' | 'db-down' | 'hang' | 'data-dir-unwritable';

interface FakeOdooHttp {
  server: Server;
  port: number;
  mode: Mode;
  requests: { method: string; url: string; body: string }[];
}

const VERSION_RESULT = {
  server_version: '18.0',
  server_version_info: [18, 0, 0, 'final', 0, ''],
  server_serie: '18.0',
  protocol_version: 1,
};

async function startFakeOdoo(): Promise<FakeOdooHttp> {
  const state: FakeOdooHttp = { server: createServer(), port: 0, mode: 'pass', requests: [] };
  state.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      if (state.mode === 'hang') return; // accepts, never answers
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(value));
      };
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/web/health') {
        if (state.mode === 'data-dir-unwritable') {
          res.writeHead(500, { 'Content-Type': 'text/html' });
          return res.end('<h1>Internal Server Error</h1>');
        }
        const withDb = url.searchParams.has('db_server_status');
        if (!withDb) return json(200, { status: 'pass' }); // plain /web/health never touches the DB
        if (state.mode === 'db-down') return json(500, { status: 'fail', db_server_status: false });
        return json(200, { status: 'pass', db_server_status: true });
      }
      if (req.method === 'POST' && url.pathname === '/web/webclient/version_info') {
        const rpc = JSON.parse(body) as { id?: unknown };
        return json(200, { jsonrpc: '2.0', id: rpc.id ?? null, result: VERSION_RESULT });
      }
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((r) => state.server.listen(0, '127.0.0.1', r));
  state.port = (state.server.address() as AddressInfo).port;
  return state;
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('odoo_http probe against a server answering like Odoo 18', () => {
  let odoo: FakeOdooHttp;
  beforeEach(async () => {
    odoo = await startFakeOdoo();
  });
  afterEach(async () => {
    odoo.server.closeAllConnections();
    await new Promise((r) => odoo.server.close(r));
  });

  const ctxFor = (port: number) => testCtx(testConfig(), testOdoo({ httpPort: port }));

  it('passes and reports the version, asking the DB-touching health check and JSON-RPC version_info', async () => {
    const r = await runProbe(createOdooHttpProbe(), ctxFor(odoo.port), 3000);
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
    const d = r.data as OdooHttpData;
    expect(d).toMatchObject({ httpStatus: 200, health: 'pass', dbServerStatus: true, version: '18.0', url: `http://127.0.0.1:${odoo.port}` });
    expect(d.versionInfo).toEqual([18, 0, 0, 'final', 0, '']);
    expect(r.summary).toMatch(/^Odoo 18\.0, health pass/);
    const health = odoo.requests.find((q) => q.url.startsWith('/web/health'));
    expect(health?.url).toBe('/web/health?db_server_status=1');
    const rpc = odoo.requests.find((q) => q.url === '/web/webclient/version_info');
    expect(rpc?.method).toBe('POST');
    expect(JSON.parse(rpc!.body)).toEqual({ jsonrpc: '2.0', method: 'call', params: {} });
  });

  it('without a known Odoo pid, asks version_info again only after health stopped answering, not every round', async () => {
    const probe = createOdooHttpProbe();
    const versionCalls = () => odoo.requests.filter((q) => q.url === '/web/webclient/version_info').length;
    // urgent: asked every round (otherwise a passing answer stands for probes.odooHttpIntervalMs).
    const now = { ...ctxFor(odoo.port), urgent: true };
    await runProbe(probe, now, 3000);
    const second = await runProbe(probe, now, 3000);
    expect((second.data as OdooHttpData).version).toBe('18.0');
    expect(second.summary).toMatch(/^Odoo 18\.0, health pass/);
    expect(versionCalls()).toBe(1);
    // Odoo stops answering (a restart, maybe an upgrade): the next answer comes with a fresh version.
    odoo.mode = 'hang';
    expect((await runProbe(probe, now, 500)).status).toBe('unknown');
    odoo.mode = 'pass';
    const after = await runProbe(probe, now, 3000);
    expect((after.data as OdooHttpData).version).toBe('18.0');
    expect(versionCalls()).toBe(2);
  });

  it('uses config odoo.url when set (trailing slash tolerated)', async () => {
    const cfg = testConfig((c) => (c.odoo.url = `http://127.0.0.1:${odoo.port}/`));
    const r = await runProbe(createOdooHttpProbe(), testCtx(cfg, testOdoo({ httpPort: 1 })), 3000);
    expect(r.status).toBe('ok');
  });

  it('is critical with "Odoo reports its database unreachable" on 500 + db_server_status false', async () => {
    odoo.mode = 'db-down';
    const r = await runProbe(createOdooHttpProbe(), ctxFor(odoo.port), 3000);
    expect(r.status).toBe('critical');
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ key: 'db-unreachable', severity: 'critical', title: 'Odoo reports its database unreachable', category: 'database' });
    expect((r.data as OdooHttpData).dbServerStatus).toBe(false);
    expect((r.data as OdooHttpData).version).toBe('18.0');
  });

  it('is critical on a 500 without a health body (e.g. unwritable data dir)', async () => {
    odoo.mode = 'data-dir-unwritable';
    const r = await runProbe(createOdooHttpProbe(), ctxFor(odoo.port), 3000);
    expect(r.status).toBe('critical');
    expect(r.findings.map((f) => f.key)).toEqual(['http-error']);
  });

  it('is critical with "Odoo HTTP not answering" when the port refuses', async () => {
    const r = await runProbe(createOdooHttpProbe(), ctxFor(await closedPort()), 3000);
    expect(r.status).toBe('critical');
    expect(r.findings[0]).toMatchObject({ key: 'down', title: 'Odoo HTTP not answering' });
    expect(r.findings[0]!.detail).toMatch(/connection refused/);
    expect((r.data as OdooHttpData).version).toBeNull();
  });

  it('a hanging Odoo yields unknown after the timeout while other probes finish on their own', async () => {
    odoo.mode = 'hang';
    const ctx = ctxFor(odoo.port);
    const [http, mem] = await runProbes([createOdooHttpProbe(), createMemoryProbe()], ctx, 1500);
    expect(http).toMatchObject({ probe: 'odoo_http', status: 'unknown', summary: 'timed out after 1500 ms', findings: [], data: null });
    expect(mem!.probe).toBe('memory');
    expect(mem!.status).not.toBe('unknown');
    // The memory probe's own duration is not stretched to the hung probe's budget.
    expect(mem!.durationMs).toBeLessThan(1500);
  });
});
