// A real Prometheus (Debian's `prometheus`) scrapes two odoo-heal --auto instances, each with its
// own state dir and HTTP port, and evaluates the shipped rules (deploy/prometheus): a fault in one
// instance fires the expected alert with that instance's label, and only that one.
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server as HttpServer } from 'node:http';
import { join, resolve } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFleet } from '../src/engine/fleet/fleet-store.js';
import { FleetApp } from '../src/ui/fleet/fleet-app.js';
import { makeTheme, ThemeContext } from '../src/ui/theme.js';
import { runCli } from './helpers/cli.js';
import { createSandbox, ensureBuilt, startAuto, type AutoProcess, type Sandbox } from './helpers/auto-sandbox.js';
import { havePostgres, startCluster, type PgCluster } from './helpers/pg-cluster.js';
import { createFakeOdoo, type FakeOdoo } from './helpers/probes-fake-odoo.js';
import { freePort, missingTools, startPrometheus, type Server } from './helpers/prom-tools.js';

/** Every instance's http.token: Prometheus scrapes with it, the fleet view reads /incidents with it. */
const TOKEN = 'fleet-test-token-0123456789';
const RULES = resolve(import.meta.dirname, '..', 'deploy', 'prometheus', 'odoo-heal.rules.yml');
const skip = missingTools('prometheus') ?? (havePostgres() ? null : 'PostgreSQL server binaries (initdb) not found');

/** Odoo's two health endpoints, answering as a healthy Odoo 18 does (odoo-facts.md). */
async function fakeOdooHttp(): Promise<{ port: number; server: HttpServer }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/web/health')) return res.end(JSON.stringify({ status: 'pass', db_server_status: true }));
    if (req.url === '/web/webclient/version_info') {
      return res.end(JSON.stringify({ jsonrpc: '2.0', id: null, result: { server_version: '18.0', server_version_info: [18, 0, 0, 'final', 0, ''], server_serie: '18.0', protocol_version: 1 } }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, server };
}

interface Instance {
  sb: Sandbox;
  fake: FakeOdoo;
  http: HttpServer;
  auto: AutoProcess;
  metricsPort: number;
  target: string;
}

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

describe.skipIf(skip !== null)(`Prometheus over two --auto instances${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cluster: PgCluster;
  let prom: Server;
  const instances: Instance[] = [];

  async function instance(): Promise<Instance> {
    const sb = createSandbox({ dbPort: cluster.port, dbPassword: 'pw-not-used', adminPasswd: 'Adm1nPassw0rd' });
    const fake = createFakeOdoo();
    const { port: odooPort, server: http } = await fakeOdooHttp();
    // The fake Odoo process runs with `-c <its conf>`: that conf is the instance's odoo.conf.
    // A healthy instance passes the odoo.conf audit too: connections that fit the test cluster, no
    // database manager open to the network, and paths Odoo's user (the fake runs as nobody under
    // root) can write.
    writeFileSync(fake.conf, `${readFileSync(sb.odooConf, 'utf8')}http_port = ${odooPort}\nhttp_interface = 127.0.0.1\ndb_maxconn = 4\nlist_db = False\n`);
    sb.odooConf = fake.conf;
    if (process.getuid?.() === 0) {
      chmodSync(sb.dir, 0o755);
      execFileSync('chown', ['-R', 'nobody', sb.dataDir, sb.log]);
    }
    await fake.start('threaded');
    const metricsPort = await freePort();
    sb.writeConfig({
      odoo: { url: `http://127.0.0.1:${odooPort}` },
      http: { enabled: true, listen: '127.0.0.1', port: metricsPort, token: TOKEN },
      // The fault must stay open for Prometheus to see it: nothing runs unattended.
      fixes: { unattended: [] },
      // A loaded test box's PostgreSQL latency is not the fault under test.
      thresholds: { dbLatencyWarnMs: 5000 },
    });
    const auto = startAuto(sb);
    const inst = { sb, fake, http, auto, metricsPort, target: `127.0.0.1:${metricsPort}` };
    instances.push(inst);
    await auto.waitFor((l) => l.event === 'ready', 'ready');
    return inst;
  }

  beforeAll(async () => {
    ensureBuilt();
    cluster = await startCluster();
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    for (const i of instances) {
      i.auto.kill('SIGTERM');
      await Promise.race([i.auto.exited, new Promise((r) => setTimeout(r, 5000))]);
      i.auto.kill('SIGKILL');
      i.fake.cleanup();
      i.http.close();
      i.sb.destroy();
    }
    cluster?.destroy();
  });

  async function alerts(): Promise<PromAlert[]> {
    const res = await fetch(`${prom.url}/api/v1/alerts`);
    return ((await res.json()) as { data: { alerts: PromAlert[] } }).data.alerts;
  }

  async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('a fault in one instance fires OdooHealCriticalIncident with that instance label only', async () => {
    const [a, b] = [await instance(), await instance()];
    prom = await startPrometheus(`
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - ${RULES}
scrape_configs:
  - job_name: odoo-heal
    authorization:
      credentials: ${TOKEN}
    static_configs:
      - targets: ['${a.target}', '${b.target}']
`);
    // Both scraped, both healthy: no alert about either.
    await until('both targets up and OK', async () => {
      const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('odoo_heal_health_status{status="ok"} == 1 and on(instance) up == 1')}`);
      const r = (await res.json()) as { data: { result: Array<{ metric: Record<string, string> }> } };
      return r.data.result.length === 2 ? true : undefined;
    });
    expect((await alerts()).filter((x) => x.labels['alertname']?.startsWith('OdooHeal'))).toEqual([]);

    // The fault: a module install that fails on removed ir.cron fields, in instance A's log.
    // Stamped now: health (like check) judges log incidents by how recent their records are.
    const stamp = (() => {
      const n = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000).toISOString();
      return `${n.slice(0, 10)} ${n.slice(11, 19)},000`;
    })();
    const fault = readFileSync(resolve(import.meta.dirname, 'fixtures', 'logs', 'cron_deprecated_field.log'), 'utf8').replace(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}/gm,
      stamp,
    );
    appendFileSync(a.sb.log, fault);
    await a.auto.waitFor((l) => l.event === 'incident.opened', 'the incident in instance A');
    const firing = await until('the alert to fire', async () => {
      const f = (await alerts()).filter((x) => x.labels['alertname'] === 'OdooHealCriticalIncident' && x.state === 'firing');
      return f.length ? f : undefined;
    });
    expect(firing.map((x) => x.labels['instance'])).toEqual([a.target]);
    expect(firing[0]!.labels).toMatchObject({ job: 'odoo-heal', severity: 'critical' });
    // The rule label in the series names what broke.
    const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('odoo_heal_open_incidents{kind="pattern"}')}`);
    const series = ((await res.json()) as { data: { result: Array<{ metric: Record<string, string> }> } }).data.result;
    expect(series.map((s) => [s.metric['instance'], s.metric['rule']])).toEqual([[a.target, 'cron-deprecated-fields']]);
  }, 120_000);

  it('fleet --json: both instances from Prometheus, the faulty one first, exit 2 like check', async () => {
    const [a, b] = instances;
    const r = await runCli(['fleet', '--prometheus', prom.url, '--json']);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as { format: string; hosts: Array<{ instance: string; health: string; open: Record<string, number>; odooVersion: string | null; scrapeAgeS: number }> };
    expect(doc.format).toBe('odoo-heal/fleet@1');
    // Worst first: A's open critical incident ranks it first (its overall health may already read
    // OK again: health judges log incidents by recency, see the closing note of this session).
    expect(doc.hosts.map((h) => h.instance)).toEqual([a!.target, b!.target]);
    expect(doc.hosts[1]!.health).toBe('ok');
    expect(doc.hosts[0]!.open['critical']).toBe(1);
    expect(doc.hosts[1]!.open['critical']).toBe(0);
    expect(doc.hosts.every((h) => h.odooVersion === '18.0' && h.scrapeAgeS >= 0 && h.scrapeAgeS < 10)).toBe(true);
    expect(r.code).toBe(doc.hosts.some((h) => h.health === 'critical') ? 2 : 0);
  }, 30_000);

  it('fleet reads Prometheus, the job and the timeout from config.yaml; a flag still wins over the file', async () => {
    const [a, b] = instances;
    const dir = mkdtempSync(join(tmpdir(), 'fleet-config-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, `fleet:\n  prometheus: ${prom.url}\n  job: odoo-heal\n  timeoutMs: 3000\n`);
      const r = await runCli(['--config', file, 'fleet', '--json']);
      expect(r.stderr).toBe('');
      const doc = JSON.parse(r.stdout) as { hosts: Array<{ instance: string }> };
      expect(doc.hosts.map((h) => h.instance)).toEqual([a!.target, b!.target]);
      // --job names a job Prometheus does not scrape: no host, exit 3 (nothing known), as check says.
      const other = await runCli(['--config', file, 'fleet', '--json', '--job', 'not-odoo-heal']);
      expect((JSON.parse(other.stdout) as { hosts: unknown[] }).hosts).toEqual([]);
      expect(other.code).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('the fleet console: worst first; Enter shows the host incidents, titled from its /incidents with the token', async () => {
    const [a, b] = instances;
    const fleet = createFleet({ prometheus: prom.url, job: 'odoo-heal', intervalMs: 60_000, timeoutMs: 3000, hostToken: TOKEN, promToken: null });
    await fleet.start();
    const ui = render(
      <ThemeContext.Provider value={makeTheme(false)}>
        <FleetApp store={fleet.store} intents={fleet} />
      </ThemeContext.Provider>,
    );
    try {
      await until('the hosts on screen', async () => (ui.lastFrame()?.includes(b!.target) ? true : undefined), 5000);
      const frame = ui.lastFrame()!;
      expect(frame).toMatch(/2 host\(s\): /);
      expect(frame.indexOf(a!.target)).toBeLessThan(frame.indexOf(b!.target));
      expect(frame.split('\n').find((l) => l.includes(a!.target))).toMatch(/^› \S+\s+(CRITICAL|OK)\s+1\s/);
      await new Promise((r) => setImmediate(r));
      ui.stdin.write('\r');
      await until('the incident titles', async () => (ui.lastFrame()?.includes('ir.cron fields removed') ? true : undefined), 5000);
      expect(ui.lastFrame()).toContain(`Incidents on ${a!.target}`);
      ui.stdin.write('j');
      await until('the selection to move', async () => (ui.lastFrame()?.split('\n').find((l) => l.includes(b!.target))?.startsWith('› ') ? true : undefined), 3000);
      ui.stdin.write('\u001b');
      await until('the detail to close', async () => (ui.lastFrame()?.includes('Incidents on') ? undefined : true), 3000);
    } finally {
      ui.unmount();
      fleet.stop();
    }
  }, 30_000);
});
