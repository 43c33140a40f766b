// Quiet on the server it watches (issue 12 §5): every health call is a werkzeug line in the admin's
// Odoo log. Health is asked every probes.odooHttpIntervalMs while it passes (at once on trouble),
// version_info at start and when Odoo's pid changes, and our own access lines are not shown or matched.
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../src/engine/run/engine.js';
import { parseText } from '../src/engine/logs/parser.js';
import { OwnRequests } from '../src/engine/logs/own-requests.js';
import { createOdooHttpProbe } from '../src/engine/probes/odoo-http.js';
import type { ProbeContext } from '../src/engine/probes/types.js';
import { testConfig, testOdoo } from './helpers/config.js';

const LOG = readFileSync(resolve(__dirname, 'fixtures', 'logs', 'db_connection_threaded.log'), 'utf8');
const PATTERNS = resolve(__dirname, '..', 'patterns');

let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** Answers like Odoo 18 and counts what it was asked. */
async function fakeOdoo(health: () => number) {
  const asked: string[] = [];
  server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/web/health')) {
      const status = health();
      res.statusCode = status;
      res.end(status === 200 ? '{"status": "pass", "db_server_status": true}' : '{"status": "fail", "db_server_status": false}');
    } else {
      res.end('{"jsonrpc": "2.0", "id": null, "result": {"server_version": "18.0", "server_version_info": [18, 0, 0, "final", 0, ""]}}');
    }
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { asked, port: (server.address() as { port: number }).port };
}

describe('quiet on the server it watches', () => {
  it('health every odooHttpIntervalMs while it passes, at once when urgent, every round while failing; version_info only when the pid changes', async () => {
    let status = 200;
    const odoo = await fakeOdoo(() => status);
    let now = 1_000_000;
    const notes: string[] = [];
    const ctx = (over: Partial<ProbeContext> = {}): ProbeContext => ({
      config: testConfig(),
      odoo: testOdoo({ httpPort: odoo.port }),
      now: () => now,
      odooPid: 100,
      noteRequest: (m, p) => notes.push(`${m} ${p}`),
      ...over,
    });
    const probe = createOdooHttpProbe();
    const signal = new AbortController().signal;
    const health = () => odoo.asked.filter((a) => a.startsWith('GET /web/health')).length;
    const versions = () => odoo.asked.filter((a) => a.includes('version_info')).length;

    expect((await probe.run(ctx(), signal)).status).toBe('ok');
    for (let i = 0; i < 5; i++) {
      now += 5000; // the console's 5 s rounds within the default 30 s
      expect((await probe.run(ctx(), signal)).status).toBe('ok');
    }
    expect([health(), versions()]).toEqual([1, 1]);
    now += 5000;
    await probe.run(ctx(), signal); // 30 s later
    expect([health(), versions()]).toEqual([2, 1]);
    await probe.run(ctx({ urgent: true }), signal);
    expect(health()).toBe(3);

    status = 500; // PostgreSQL down: asked every round while it fails, the version is kept
    now += 1000;
    expect((await probe.run(ctx({ urgent: true }), signal)).status).toBe('critical');
    now += 1000;
    expect((await probe.run(ctx(), signal)).status).toBe('critical');
    expect([health(), versions()]).toEqual([5, 1]);
    status = 200;
    now += 1000;
    await probe.run(ctx({ odooPid: 200 }), signal); // Odoo restarted: a new pid asks again
    expect([health(), versions()]).toEqual([6, 2]);
    expect(notes).toHaveLength(health() + versions());
  });

  it('the access lines of our own requests are not tailed or matched; the same request from someone else is', () => {
    const own = new OwnRequests();
    const [ours, admins] = parseText(
      LOG.split('\n').filter((l) => l.includes('"GET /web/health?db_server_status=1 HTTP/1.1"')).slice(0, 2).join('\n'),
      'odoo.log',
    );
    expect(ours?.kind).toBe('odoo');
    own.note('GET', '/web/health?db_server_status=1', ours!.time!);
    expect(own.claim(ours!)).toBe(true);
    expect(own.claim(admins!)).toBe(false); // one request, one line
    own.note('POST', '/web/webclient/version_info', admins!.time! - 60_000);
    expect(own.claim(admins!)).toBe(false); // another path, and too long ago

    const engine = new Engine({ config: testConfig(), odoo: testOdoo({ httpPort: 9 }), patternsDir: PATTERNS, mode: 'console', sources: [] });
    const line = LOG.split('\n').find((l) => l.includes('"GET /web/health?db_server_status=1 HTTP/1.1" 500'))!;
    const at = parseText(line, 'x')[0]!.time!;
    // The engine's clock is not the record's: note the request at the record's time.
    (engine as unknown as { own: OwnRequests }).own.note('GET', '/web/health?db_server_status=1', at);
    engine.ingest('odoo.log', [line, line]);
    engine.flushNow();
    const tail = engine.store.getState().tail;
    expect(tail).toHaveLength(1); // the second, identical line was not ours
  });
});
