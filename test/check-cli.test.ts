// `odoo-heal check` as cron or CI runs it: a fake Odoo (a real process named odoo-bin and a real
// HTTP server answering like Odoo 18), a throwaway PostgreSQL, Nagios exit codes, a DB that hangs.
import { createServer, type Server } from 'node:http';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './helpers/cli.js';
import { startHangServer, type HangServer } from './helpers/hang-server.js';
import { startCluster, type PgCluster } from './helpers/pg-cluster.js';
import { createFakeOdoo, type FakeOdoo } from './helpers/probes-fake-odoo.js';

let cluster: PgCluster;
let fake: FakeOdoo;
let http: Server;
let httpPort: number;
let dbOk = true;
const dir = mkdtempSync(join(tmpdir(), 'oh-check-'));
const logfile = join(dir, 'odoo.log');
const configYaml = join(dir, 'config.yaml');

/** Odoo 18's answers (odoo-facts.md): the health endpoint with db_server_status and version_info. */
function odooHttp(): Promise<number> {
  http = createServer((req, res) => {
    if (req.url?.startsWith('/web/health')) {
      const withDb = req.url.includes('db_server_status=1');
      const ok = !withDb || dbOk;
      res.writeHead(ok ? 200 : 500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(withDb ? { status: ok ? 'pass' : 'fail', db_server_status: ok } : { status: 'pass' }));
    } else if (req.url === '/web/webclient/version_info') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, result: { server_version: '18.0', server_version_info: [18, 0, 0, 'final', 0, ''], server_serie: '18.0', protocol_version: 1 } }));
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve((http.address() as AddressInfo).port)));
}

function writeOdooConf(dbPort: number): void {
  writeFileSync(
    fake.conf,
    ['[options]', `db_host = 127.0.0.1`, `db_port = ${dbPort}`, 'db_user = postgres', 'db_name = postgres', `http_port = ${httpPort}`, `logfile = ${logfile}`, `data_dir = ${dir}`, 'http_interface = 127.0.0.1', 'db_maxconn = 4', ''].join('\n'),
  );
}

beforeAll(async () => {
  ensureBuilt(['src/cli/commands/check.ts', 'src/engine/run/health.ts']);
  cluster = await startCluster();
  fake = createFakeOdoo();
  httpPort = await odooHttp();
  writeOdooConf(cluster.port);
  writeFileSync(logfile, '');
  // Only what this test controls: no machine services, no endpoints.
  // Latency is not under test: a loaded 2-core CI box must not turn OK into WARNING.
  writeFileSync(configYaml, `services: []\nendpoints: []\nprobes:\n  timeoutMs: 1500\nthresholds:\n  dbLatencyWarnMs: 1000\npaths:\n  stateDir: ${join(dir, 'state')}\n`);
  await fake.start('threaded');
}, 120_000);

afterAll(() => {
  fake?.cleanup();
  http?.close();
  cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const check = (...extra: string[]) => runCli(['check', '--config', configYaml, '--odoo-config', fake.conf, ...extra]);

describe('odoo-heal check', () => {
  it('exits 0 and says OK when Odoo, its HTTP health and PostgreSQL are fine', async () => {
    const r = await check();
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^OK — odoo-heal check on /);
    expect(r.stdout).toMatch(/database\s+OK\s+PostgreSQL/);
    expect(r.code).toBe(0);
  });

  it('--json carries the versioned format, every probe, and the same exit code', async () => {
    const r = await check('--json');
    const report = JSON.parse(r.stdout) as { format: string; status: string; exitCode: number; probes: { probe: string }[] };
    expect(report.format).toBe('odoo-heal/check@1');
    expect(report.status).toBe('ok');
    expect(report.exitCode).toBe(0);
    expect(report.probes.map((p) => p.probe).sort()).toEqual(
      ['database', 'disk', 'memory', 'network', 'odoo_conf', 'odoo_db', 'odoo_http', 'process', 'services'].sort(),
    );
    expect(r.code).toBe(0);
  });

  it('a recent critical log record makes it CRITICAL (exit 2) with the incident and its hint', async () => {
    const now = new Date();
    const ts = `${now.toISOString().slice(0, 10)} ${now.toISOString().slice(11, 19)},000`;
    appendFileSync(logfile, `${ts} 4242 CRITICAL healdb odoo.service.server: Failed to initialize database \`healdb\`.\n`);
    const r = await check();
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^CRITICAL/);
    expect(r.stdout).toContain('Odoo failed to initialize the database');
    writeFileSync(logfile, '');
  });

  it('PostgreSQL stopped: CRITICAL with a plain message, never a stack trace', async () => {
    cluster.stop();
    dbOk = false;
    try {
      const r = await check();
      expect(r.code).toBe(2);
      expect(r.stdout).toMatch(/database\s+CRITICAL\s+.*refuses connections/);
      // Odoo's own "database unreachable" is a symptom of the database probe's finding: one CRITICAL.
      expect(r.stdout).toMatch(/odoo_http\s+see i-[0-9a-f]{8}\s+.*database unreachable/i);
      expect(r.stdout).toMatch(/evidence \(same cause, 1\):\n\s+- Odoo reports its database unreachable/);
      expect(r.stdout.match(/CRITICAL/g)?.length).toBe(3); // the headline, the database probe, its one incident
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    } finally {
      cluster.start();
      dbOk = true;
    }
  });

  it('a database that accepts and never answers: the answer still comes within the budget', async () => {
    const hang: HangServer = await startHangServer();
    writeOdooConf(hang.port);
    try {
      const r = await check('--timeout', '4000');
      expect(r.code).toBeGreaterThanOrEqual(2);
      expect(r.stdout).toMatch(/database\s+(CRITICAL|UNKNOWN)/);
      // The budget is 4 s; node start-up and the other probes fit in the slack.
      expect(r.ms).toBeLessThan(8000);
    } finally {
      await hang.close();
      writeOdooConf(cluster.port);
    }
  });

  it('a bad config file is a usage error: one line naming file and field, exit 2, nothing on stdout', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'thresholds:\n  diskWarnPercent: high\n');
    const r = await runCli(['check', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${bad}: thresholds.diskWarnPercent`);
  });
});
