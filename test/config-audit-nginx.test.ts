// The websocket route through nginx, on site files: Odoo's documented prefork config, a pre-16
// config kept after an upgrade, and Odoo 18's own IoT-box site (see test/fixtures/nginx/README.md).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOdooConf } from '../src/engine/config/odoo-conf.js';
import { locationFor, parseNginx, readNginxSites } from '../src/engine/config-audit/nginx.js';
import { auditOdooConf, optionLines, type AuditFacts } from '../src/engine/config-audit/rules.js';

const NGINX = join(import.meta.dirname, 'fixtures', 'nginx');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const conf = `[options]\nlist_db = False\nworkers = 4\nhttp_port = 8069\ngevent_port = 8072\n`;
const odoo = parseOdooConf(conf, '/etc/odoo/odoo.conf');
const site = (name: string) => parseNginx([{ file: `/etc/nginx/sites-enabled/${name}`, text: readFileSync(join(NGINX, name), 'utf8') }]);
const facts = (over: Partial<AuditFacts>): AuditFacts => ({
  pg: null, ramBytes: null, workerVmsBytes: null, geventListening: null, nginxRunning: false, writable: null, longCrons: null, nginx: null, odooMajor: 18,
  ...over,
});
const audit = (name: string, over: Partial<AuditFacts> = {}) => auditOdooConf(odoo, optionLines(conf), facts({ nginx: site(name), ...over }));

describe('websocket route through nginx', () => {
  it("Odoo's documented config sends /websocket to the gevent port: no finding", () => {
    const n = site('websocket-proxied.conf');
    expect(n.upstreams.get('odoochat')).toEqual([8072]);
    expect(locationFor(n.sites[1]!, '/websocket')).toMatchObject({ path: '/websocket', proxyPass: 'http://odoochat', line: 33 });
    expect(locationFor(n.sites[1]!, '/web/login')).toMatchObject({ path: '/', proxyPass: 'http://odoo' });
    expect(audit('websocket-proxied.conf')).toEqual([]);
  });

  it('a pre-16 config on Odoo 18: /websocket falls to location / and the HTTP port; the finding names file, line and gevent_port', () => {
    const [f, ...rest] = audit('longpolling-only.conf');
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ key: 'websocket-not-proxied', option: 'gevent_port', line: 5, severity: 'warning' });
    expect(f!.title).toBe('/etc/nginx/sites-enabled/longpolling-only.conf line 22: /websocket falls to `location /` (proxy_pass http://odoo), not gevent_port 8072');
    expect(f!.why).toContain("Couldn't bind the websocket. Is the connection opened on the evented port (8072)?");
    // Right for Odoo 15 (its bus is /longpolling), and with the version unknown either route will do.
    expect(audit('longpolling-only.conf', { odooMajor: 15 })).toEqual([]);
    expect(audit('longpolling-only.conf', { odooMajor: null })).toEqual([]);
    // Threaded: one process serves everything, there is no gevent port to reach.
    const threaded = `[options]\nlist_db = False\nworkers = 0\n`;
    expect(auditOdooConf(parseOdooConf(threaded, '/etc/odoo/threaded.conf'), optionLines(threaded), facts({ nginx: site('longpolling-only.conf') }))).toEqual([]);
  });

  it("Odoo 18's IoT-box site proxies everything straight to 8069: both routes miss, whatever the version", () => {
    for (const odooMajor of [18, 15, null]) {
      const list = audit('odoo18-posbox-default', { odooMajor });
      expect(list.map((f) => f.key)).toEqual(['websocket-not-proxied']);
      expect(list[0]!.title).toMatch(/^\/etc\/nginx\/sites-enabled\/odoo18-posbox-default line 26: \/(websocket|longpolling) falls to `location \/` \(proxy_pass http:\/\/127\.0\.0\.1:8069\), not gevent_port 8072 \(and 1 more site\(s\)\)$/);
    }
  });

  it('a regex location wins over a prefix one, ^~ wins over regexes, = over all', () => {
    const n = parseNginx([
      {
        file: 'x',
        text: `server {
  location / { proxy_pass http://127.0.0.1:8069; }
  location ~* ^/(websocket|longpolling) { proxy_pass http://127.0.0.1:8072; }
  location ^~ /web/static { proxy_pass http://127.0.0.1:8069; }
  location ~ \\.js$ { proxy_pass http://cdn; }
  location = /websocket/exact { return 404; }
}`,
      },
    ]);
    const s = n.sites[0]!;
    expect(locationFor(s, '/websocket')?.line).toBe(3);
    expect(locationFor(s, '/web/static/app.js')?.line).toBe(4);
    expect(locationFor(s, '/web/app.js')?.line).toBe(5);
    expect(locationFor(s, '/websocket/exact')?.line).toBe(6);
    expect(auditOdooConf(odoo, optionLines(conf), facts({ nginx: n }))).toEqual([]);
  });

  it('reads sites-enabled/* and conf.d/*.conf only', async () => {
    const root = mkdtempSync(join(tmpdir(), 'heal-nginx-'));
    dirs.push(root);
    for (const d of ['sites-enabled', 'sites-available', 'conf.d']) mkdirSync(join(root, d));
    cpSync(join(NGINX, 'longpolling-only.conf'), join(root, 'sites-enabled', 'odoo'));
    cpSync(join(NGINX, 'websocket-proxied.conf'), join(root, 'sites-available', 'odoo'));
    cpSync(join(NGINX, 'websocket-proxied.conf'), join(root, 'conf.d', 'odoo.conf.disabled'));
    expect((await readNginxSites(root)).map((f) => f.file)).toEqual([join(root, 'sites-enabled', 'odoo')]);
    expect(await readNginxSites(join(root, 'missing'))).toEqual([]);
  });
});
