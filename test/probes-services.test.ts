import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../src/engine/config/types.js';
import { runProbe } from '../src/engine/probes/run.js';
import { createServicesProbe, type ServicesData, type ServiceStatus } from '../src/engine/probes/services.js';
import { testConfig, testCtx } from './helpers/config.js';
import { startCluster, type PgCluster } from './helpers/pg-cluster.js';

/** A tiny Redis: answers inline PING with +PONG (or a NOAUTH error), like redis-server does. */
async function fakeRedis(reply: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => {
      if (d.toString().startsWith('PING')) s.write(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const spec = (over: Partial<ServiceSpec> & { name: string }): ServiceSpec => ({ unit: over.name, processes: [], tcp: null, ...over });

async function statuses(specs: ServiceSpec[], opts: Parameters<typeof createServicesProbe>[0] = {}) {
  const cfg = testConfig((c) => (c.services = specs));
  // No systemd on this path: the /proc + protocol branch, whatever the test host runs.
  const r = await runProbe(createServicesProbe({ systemdDir: '/nonexistent/systemd', ...opts }), testCtx(cfg), 5000);
  const d = r.data as ServicesData;
  return { r, byName: new Map<string, ServiceStatus>(d.services.map((s) => [s.name, s])) };
}

describe('services probe', () => {
  let tmp: string;
  let redis: Awaited<ReturnType<typeof fakeRedis>>;
  let noauth: Awaited<ReturnType<typeof fakeRedis>>;
  let sleeper: ChildProcess;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'odoo-heal-services-'));
    redis = await fakeRedis('+PONG\r\n');
    noauth = await fakeRedis('-NOAUTH Authentication required.\r\n');
    sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  });
  afterAll(async () => {
    sleeper.kill('SIGKILL');
    for (const r of [redis, noauth]) {
      for (const s of r.sockets) s.destroy();
      await new Promise((res) => r.server.close(res));
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('Redis answering PING is running; NOAUTH still proves a live Redis', async () => {
    const { r, byName } = await statuses([
      spec({ name: 'redis', unit: 'redis-server', processes: ['no-such-redis'], tcp: `127.0.0.1:${redis.port}` }),
      spec({ name: 'redis-auth', unit: 'redis-server', processes: ['no-such-redis'], tcp: `127.0.0.1:${noauth.port}` }),
    ]);
    expect(r.status).toBe('ok');
    expect(byName.get('redis')).toMatchObject({ state: 'running', via: 'protocol', check: { kind: 'redis', ok: true, detail: 'PING: +PONG' } });
    expect(byName.get('redis-auth')).toMatchObject({ state: 'running', check: { ok: true } });
    expect(r.summary).toBe('redis running, redis-auth running');
  });

  it('not installed is absent (no finding); installed but stopped is critical; a process whose port refuses is failing', async () => {
    const port = await closedPort();
    const { r, byName } = await statuses([
      spec({ name: 'redis', unit: 'redis-server', processes: ['no-such-redis-x'], tcp: `127.0.0.1:${port}` }),
      // `true` is installed everywhere and never runs for long: "installed, not running".
      spec({ name: 'stopped-svc', processes: ['true'], tcp: `127.0.0.1:${port}` }),
      spec({ name: 'sleeper', processes: ['sleep'], tcp: `127.0.0.1:${port}` }),
      spec({ name: 'sleeper-no-port', processes: ['sleep'] }),
    ]);
    expect(byName.get('redis')).toMatchObject({ state: 'absent', check: { ok: false, detail: 'connection refused' } });
    expect(byName.get('stopped-svc')).toMatchObject({ state: 'stopped', via: 'binary' });
    expect(byName.get('sleeper')!.state).toBe('failed');
    expect(byName.get('sleeper')!.pids).toContain(sleeper.pid);
    expect(byName.get('sleeper-no-port')).toMatchObject({ state: 'running', via: 'process' });
    expect(r.status).toBe('critical');
    expect(r.findings.map((f) => f.key).sort()).toEqual(['service:sleeper', 'service:stopped-svc']);
    expect(r.findings.find((f) => f.key === 'service:stopped-svc')!.fix).toEqual({ id: 'restart-service', params: { service: 'stopped-svc' }, unattended: true });
  });

  it('with systemd, asks systemctl for the unit (missing unit = absent, failed unit = critical)', async () => {
    const systemdDir = join(tmp, 'run-systemd-system');
    mkdirSync(systemdDir);
    const systemctl = join(tmp, 'systemctl');
    // Stand-in for `systemctl show --property=LoadState,ActiveState,SubState -- <unit>`.
    writeFileSync(
      systemctl,
      `#!/bin/sh
[ "$1" = show ] || exit 64
for unit; do :; done
case "$unit" in
  good) printf 'LoadState=loaded\\nActiveState=active\\nSubState=running\\n' ;;
  broken) printf 'LoadState=loaded\\nActiveState=failed\\nSubState=failed\\n' ;;
  dead) printf 'LoadState=loaded\\nActiveState=inactive\\nSubState=dead\\n' ;;
  *) printf 'LoadState=not-found\\nActiveState=inactive\\nSubState=dead\\n' ;;
esac
`,
    );
    chmodSync(systemctl, 0o755);
    const port = await closedPort();
    const { r, byName } = await statuses(
      [
        spec({ name: 'a', unit: 'good' }),
        spec({ name: 'b', unit: 'broken' }),
        spec({ name: 'c', unit: 'missing', processes: ['no-such-binary-q'] }),
        spec({ name: 'd', unit: 'good', tcp: `127.0.0.1:${port}` }),
        // Unit inactive but the protocol answers (Debian's postgresql@15-main case): running.
        spec({ name: 'redis', unit: 'dead', tcp: `127.0.0.1:${redis.port}` }),
      ],
      { systemdDir, systemctl },
    );
    expect((r.data as ServicesData).systemd).toBe(true);
    expect(byName.get('a')).toMatchObject({ state: 'running', via: 'systemd', unit: { load: 'loaded', active: 'active', sub: 'running' } });
    expect(byName.get('b')).toMatchObject({ state: 'failed', via: 'systemd' });
    expect(byName.get('c')!.state).toBe('absent');
    expect(byName.get('d')).toMatchObject({ state: 'failed', via: 'protocol' });
    expect(byName.get('d')!.detail).toBe(`unit good active (running) but 127.0.0.1:${port} connection refused`);
    expect(byName.get('redis')).toMatchObject({ state: 'running', via: 'protocol' });
    expect(r.findings.map((f) => f.key).sort()).toEqual(['service:b', 'service:d']);
  });

  describe('PostgreSQL protocol check', () => {
    let pg: PgCluster;
    beforeAll(async () => {
      pg = await startCluster({ maxConnections: 5 });
    });
    afterAll(() => pg.destroy());

    it('a real PostgreSQL answers the SSLRequest; a stopped one refuses', async () => {
      const pgSpec = spec({ name: 'postgresql', unit: 'postgresql', processes: ['no-such-postgres'], tcp: `${pg.host}:${pg.port}` });
      const up = await statuses([pgSpec]);
      expect(up.byName.get('postgresql')).toMatchObject({ state: 'running', check: { kind: 'postgres', ok: true } });
      pg.stop('fast');
      const down = await statuses([pgSpec]);
      expect(down.byName.get('postgresql')!.check).toMatchObject({ ok: false, detail: 'connection refused' });
      // No process name given that could match, no binary by that name: nothing says it is installed.
      expect(down.byName.get('postgresql')!.state).toBe('absent');
    });
  });
});
