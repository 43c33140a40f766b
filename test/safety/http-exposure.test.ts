// Issue 11, item 8: the HTTP listener as an attacker reaches it — a DNS-rebinding web page (a name
// that resolves to 127.0.0.1, sent as Host), a reader without the token, a login form's dict repr
// logged by Odoo with the password in it, and a flood of half-open sockets. A real Engine serves it
// on 127.0.0.1 port 0 (no log sources; probes point at a closed port, so no machine service is touched).
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, defaultOdooConf } from '../../src/engine/config/defaults.js';
import { loadConfig } from '../../src/engine/config/load.js';
import type { Config } from '../../src/engine/config/types.js';
import { Engine } from '../../src/engine/run/engine.js';
import { hostAllowed, startHttpApi, type HttpApi } from '../../src/engine/outputs/http-api.js';
import { redact } from '../../src/engine/outputs/redact.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TOKEN = 'tok-exposure-0123456789abcdef';
const tmp = mkdtempSync(join(tmpdir(), 'oh-http-exposure-'));
const engines: Engine[] = [];
const apis: HttpApi[] = [];

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function serve(edit: (http: Config['http']) => void): Promise<{ api: HttpApi; engine: Engine }> {
  const port = await closedPort();
  const config = defaultConfig({ env: { XDG_STATE_HOME: join(tmp, `xdg-${engines.length}`) }, isRoot: false, home: '/nonexistent-home' });
  config.services = [];
  config.endpoints = [];
  config.probes.timeoutMs = 1000;
  config.odoo.url = `http://127.0.0.1:${port}`;
  config.http = { ...config.http, enabled: true, port: 0, token: TOKEN };
  edit(config.http);
  const odoo = { ...defaultOdooConf(), dbHost: '127.0.0.1', dbPort: port };
  const engine = new Engine({ config, odoo, patternsDir: join(ROOT, 'patterns'), mode: 'console', sources: [] });
  const api = await startHttpApi(engine, config);
  engines.push(engine);
  apis.push(api);
  return { api, engine };
}

/** A GET with exactly these headers (fetch would not let us forge Host). */
function get(api: HttpApi, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: api.port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

afterAll(async () => {
  for (const a of apis) await a.close();
  for (const e of engines) await e.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('Host header: a DNS-rebinding page cannot read the API (issue 11, item 8)', () => {
  let api: HttpApi;
  beforeAll(async () => {
    ({ api } = await serve(() => undefined));
  });

  it('refuses a foreign name that resolved to 127.0.0.1, even with the token', async () => {
    for (const host of ['rebind.attacker.example', `rebind.attacker.example:${api.port}`, '127.0.0.1.nip.io']) {
      const r = await get(api, '/incidents', { host, authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(421);
      expect(r.body).not.toContain('"incidents"');
    }
    expect((await get(api, '/health', { host: 'rebind.attacker.example' })).status).toBe(421);
  });

  it('answers the listen address, localhost and the names in http.allowedHosts', async () => {
    for (const host of [`127.0.0.1:${api.port}`, '127.0.0.1', `localhost:${api.port}`]) {
      expect((await get(api, '/incidents', { host, authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    }
    expect(hostAllowed('odoo1.example.com:9187', '10.0.0.5', ['odoo1.example.com'])).toBe(true);
    expect(hostAllowed('10.0.0.5:9187', '10.0.0.5', [])).toBe(true);
    expect(hostAllowed('[::1]:9187', '::1', [])).toBe(true);
    expect(hostAllowed('evil.example', '10.0.0.5', ['odoo1.example.com'])).toBe(false);
    expect(hostAllowed('10.0.0.6', '0.0.0.0', [])).toBe(true);
    expect(hostAllowed('evil.example', '0.0.0.0', [])).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1', [])).toBe(false);
    expect(hostAllowed('a@b', '127.0.0.1', ['a@b'])).toBe(false);
  });
});

describe('http.requireTokenForReads', () => {
  it('with a token set, /incidents and /metrics need it; /health does not', async () => {
    const { api } = await serve(() => undefined);
    const host = `127.0.0.1:${api.port}`;
    for (const path of ['/incidents', '/metrics']) {
      const none = await get(api, path, { host });
      expect(none.status).toBe(401);
      expect(none.body).not.toContain('odoo_heal_up');
      expect((await get(api, path, { host, authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
      expect((await get(api, path, { host, authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    }
    expect([200, 503]).toContain((await get(api, '/health', { host })).status);
  });

  it('false keeps reads open (a scraper without credentials), the fix endpoint still needs the token', async () => {
    const { api } = await serve((h) => (h.requireTokenForReads = false));
    const host = `127.0.0.1:${api.port}`;
    expect((await get(api, '/incidents', { host })).status).toBe(200);
    expect((await get(api, '/metrics', { host })).status).toBe(200);
  });

  it('true without a token is a config error naming the field', async () => {
    const yaml = join(tmp, 'reads.yaml');
    const conf = join(tmp, 'odoo.conf');
    writeFileSync(yaml, 'http:\n  requireTokenForReads: true\n');
    writeFileSync(conf, '[options]\n');
    await expect(loadConfig({ configPath: yaml, odooConfigPath: conf, env: {}, isRoot: false, home: '/nonexistent-home', procRoot: join(tmp, 'proc') })).rejects.toThrow(
      /reads\.yaml: http\.requireTokenForReads: expected http\.token to be set/,
    );
  });
});

describe('redaction of Python reprs', () => {
  it.each([
    [`{'login': 'admin', 'password': 'hunter2'}`, `{'login': 'admin', 'password': '[REDACTED]'}`],
    [`kwargs={'new_password': 'hunter2', 'confirm_pwd': b'hunter2', 'x': 1}`, `kwargs={'new_password': '[REDACTED]', 'confirm_pwd': b'[REDACTED]', 'x': 1}`],
    [`_check_credentials(new_password='hun\\'ter2', uid=2)`, `_check_credentials(new_password='[REDACTED]', uid=2)`],
    [`{"old_passwd": "hunter2", "user": "bob"}`, `{"old_passwd": "[REDACTED]", "user": "bob"}`],
  ])('%s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('a logged login form never reaches /incidents with its password', async () => {
    const { api, engine } = await serve(() => undefined);
    engine.ingest('odoo.log', [
      "2026-11-28 19:59:42,361 9324 ERROR healdb odoo.http: Exception during request handling: login failed with kwargs={'login': 'admin', 'password': 'hunter2', 'new_password': 'hunter3'}",
      'Traceback (most recent call last):',
      '  File "/opt/odoo/odoo/http.py", line 2367, in __call__',
      "ValueError: bad credentials for {'login': 'admin', 'password': 'hunter2'}",
      '2026-11-28 19:59:43,000 9324 INFO healdb odoo.http: next record',
    ]);
    const host = `127.0.0.1:${api.port}`;
    let body = '';
    for (let i = 0; i < 60 && !body.includes('login'); i++) {
      body = (await get(api, '/incidents', { host, authorization: `Bearer ${TOKEN}` })).body;
      if (!body.includes('login')) await new Promise((r) => setTimeout(r, 50));
    }
    expect(body).toContain("'login': 'admin'");
    expect(body).not.toContain('hunter2');
    expect(body).not.toContain('hunter3');
  });
});

describe('connection cap and idle timeout', () => {
  it('2,000 half-open sockets: at most maxConnections are held, all are dropped soon, the API still answers', async () => {
    const { api } = await serve((h) => {
      h.maxConnections = 50;
      h.idleTimeoutMs = 300;
    });
    const sockets: Socket[] = [];
    let closed = 0;
    let peak = 0;
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, () =>
          new Promise<void>((resolve) => {
            const s = connect(api.port, '127.0.0.1', () => resolve());
            s.on('error', () => resolve());
            s.on('close', () => closed++);
            sockets.push(s);
          }),
        ),
      );
      peak = Math.max(peak, await api.openConnections());
    }
    expect(peak).toBeLessThanOrEqual(50);
    // Nothing was ever sent on them: each is closed by the cap at once or by the idle timer.
    for (let i = 0; i < 100 && closed < sockets.length; i++) await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(sockets.length);
    expect(await api.openConnections()).toBe(0);
    expect((await get(api, '/incidents', { host: `127.0.0.1:${api.port}`, authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});
