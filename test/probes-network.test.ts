import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetworkProbe, parseHostPort, type NetworkData } from '../src/engine/probes/network.js';
import { runProbe } from '../src/engine/probes/run.js';
import { testConfig, testCtx } from './helpers/config.js';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('network probe', () => {
  let http: Server;
  let port: number;
  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      if (req.url === '/broken') res.writeHead(503);
      else if (req.url === '/moved') res.writeHead(302, { Location: 'http://127.0.0.1:1/' });
      else res.writeHead(200);
      res.end('x'.repeat(100_000));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as AddressInfo).port;
  });
  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });

  it('checks URLs by HTTP and host:port by TCP, with findings keyed per endpoint', async () => {
    const dead = await closedPort();
    const cfg = testConfig((c) => {
      c.endpoints = [
        { name: 'web', target: `http://127.0.0.1:${port}/` },
        { name: 'moved', target: `http://127.0.0.1:${port}/moved` },
        { name: 'tcp', target: `127.0.0.1:${port}` },
        { name: 'broken', target: `http://127.0.0.1:${port}/broken` },
        { name: 'refused', target: `127.0.0.1:${dead}` },
        { name: 'refused-url', target: `http://127.0.0.1:${dead}/` },
      ];
    });
    const r = await runProbe(createNetworkProbe(), testCtx(cfg), 5000);
    const by = new Map((r.data as NetworkData).endpoints.map((e) => [e.name, e]));
    expect(by.get('web')).toMatchObject({ state: 'up', httpStatus: 200 });
    expect(by.get('web')!.latencyMs).toBeGreaterThanOrEqual(0);
    // A redirect is an answer: not followed to the dead host it points at.
    expect(by.get('moved')).toMatchObject({ state: 'up', httpStatus: 302 });
    expect(by.get('tcp')).toMatchObject({ state: 'up', httpStatus: null, detail: 'TCP connect ok' });
    expect(by.get('broken')).toMatchObject({ state: 'down', httpStatus: 503 });
    expect(by.get('refused')).toMatchObject({ state: 'down', detail: 'connection refused' });
    expect(by.get('refused-url')).toMatchObject({ state: 'down', detail: 'connection refused' });
    expect(r.status).toBe('critical');
    expect(r.findings.map((f) => f.key).sort()).toEqual(['endpoint:broken', 'endpoint:refused', 'endpoint:refused-url']);
    expect(r.summary).toBe('3/6 endpoints reachable');
  });

  it('warns when an endpoint is slower than the latency threshold', async () => {
    const cfg = testConfig((c) => {
      c.thresholds.endpointLatencyWarnMs = -1;
      c.endpoints = [{ name: 'web', target: `http://127.0.0.1:${port}/` }];
    });
    const r = await runProbe(createNetworkProbe(), testCtx(cfg), 5000);
    expect(r.status).toBe('warning');
    expect(r.findings[0]).toMatchObject({ key: 'endpoint:web', severity: 'warning' });
  });

  it('with no endpoints it is ok and says so', async () => {
    const r = await runProbe(createNetworkProbe(), testCtx(), 5000);
    expect(r).toMatchObject({ status: 'ok', summary: 'no endpoints configured', findings: [] });
  });

  it('parses host:port forms', () => {
    expect(parseHostPort('db.example.com:5432')).toEqual({ host: 'db.example.com', port: 5432 });
    expect(parseHostPort('[::1]:6379')).toEqual({ host: '::1', port: 6379 });
    expect(parseHostPort('http://x:1')).toBeNull();
    expect(parseHostPort('host:99999')).toBeNull();
  });
});
