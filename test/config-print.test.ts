import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/engine/config/load.js';
import { describeConfig, maskArgv, maskedConfig, maskUrl } from '../src/engine/config/print.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'odoo-heal-print-'));
  mkdirSync(join(dir, 'proc'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECRETS = [
  's3cr3t-db-pass',
  'master-secret',
  'abcdefghijklmnop1234', // http token
  'x8q3kz7wmtd5bfe1ncu4hy6r9a', // mattermost hook id
  'T0AAAAAAA',
  'XXXXXXXXXXXXXXXXXXXXXXXX', // slack-style path token
  'hunter2', // password in a URL
  'qtok-987654321', // query token
  'argvpass',
  'wpass',
  'fleet-prom-bearer-5551', // fleet.prometheusToken
  'fleet-host-token-0123456789', // fleet.hostToken
  'promuser-pw', // password in fleet.prometheus
];

describe('describeConfig never prints a secret', () => {
  test('a config and odoo.conf full of secrets', async () => {
    const yaml = `
odoo:
  url: https://admin:hunter2@erp.example.com/
logs:
  commands:
    - name: remote
      argv: [ssh, "postgres://odoo:hunter2@db/prod", --password, argvpass]
endpoints:
  - name: api
    target: https://erp.example.com/web/health?db_server_status=1&access_token=qtok-987654321
alerts:
  targets:
    - kind: mattermost
      url: https://mm.example.com/hooks/x8q3kz7wmtd5bfe1ncu4hy6r9a
    - kind: webhook
      url: https://hooks.example.com/services/T0AAAAAAA/B0AAAAAAA/XXXXXXXXXXXXXXXXXXXXXXXX
fixes:
  moduleUpdate: [odoo-bin, -c, /etc/odoo/odoo.conf, -w, wpass, --db_password=argvpass, -u, "\${module}"]
  restart:
    postgresql: [pg_ctl, -w, -D, /var/lib/pg, restart]
http:
  enabled: true
  token: abcdefghijklmnop1234
fleet:
  prometheus: https://ops:promuser-pw@prom.example.com
  prometheusToken: fleet-prom-bearer-5551
  hostToken: fleet-host-token-0123456789
`;
    writeFileSync(join(dir, 'c.yaml'), yaml);
    writeFileSync(join(dir, 'odoo.conf'), '[options]\ndb_password = s3cr3t-db-pass\nadmin_passwd = $pbkdf2$master-secret\ndb_user = odoo\n');
    const { config, odoo } = await loadConfig({
      configPath: join(dir, 'c.yaml'),
      odooConfigPath: join(dir, 'odoo.conf'),
      env: {},
      procRoot: join(dir, 'proc'),
      odooCandidates: [],
      isRoot: false,
      home: dir,
    });
    // Sanity: the secrets really are in the loaded values.
    expect(odoo.dbPassword).toBe('s3cr3t-db-pass');
    expect(config.http.token).toBe('abcdefghijklmnop1234');
    expect(config.fleet.hostToken).toBe('fleet-host-token-0123456789');

    const text = describeConfig(config, odoo);
    for (const s of SECRETS) expect(text).not.toContain(s);
    const json = JSON.stringify(maskedConfig(config, odoo));
    for (const s of SECRETS) expect(json).not.toContain(s);

    // What is not secret stays readable, so the output is still useful.
    expect(text).toContain('https://mm.example.com/hooks/****');
    expect(text).toContain('db_server_status=1');
    expect(text).toContain('dbUser: odoo');
    expect(text).toContain('erp.example.com');
    // pg_ctl's -w means "wait": its next argument is not a password.
    expect(maskedConfig(config, odoo).config.fixes.restart.postgresql).toEqual(['pg_ctl', '-w', '-D', '/var/lib/pg', 'restart']);
    // The output is valid YAML (two documents).
    expect(() => text.split('\n---\n').map((d) => parse(d))).not.toThrow();
    // The originals are untouched.
    expect(config.alerts.targets[0]?.url).toBe('https://mm.example.com/hooks/x8q3kz7wmtd5bfe1ncu4hy6r9a');
  });

  test('the deploy example prints with its file names and no odoo.conf', async () => {
    const { config, odoo } = await loadConfig({
      configPath: resolve('deploy/odoo-heal.example.yaml'),
      env: {},
      procRoot: join(dir, 'proc'),
      odooCandidates: [],
      isRoot: false,
      home: dir,
    });
    const text = describeConfig(config, odoo);
    expect(text).toContain(`# odoo-heal configuration: ${resolve('deploy/odoo-heal.example.yaml')}`);
    expect(text).toContain("# odoo.conf: none found (Odoo's defaults)");
  });
});

describe('maskUrl / maskArgv', () => {
  test.each([
    ['https://user:pw@host.example/x', 'https://user:****@host.example/x'],
    ['https://tokenonly@host.example/', 'https://****@host.example/'],
    ['https://mm.example.com/hooks/abc123def456', 'https://mm.example.com/hooks/****'],
    ['http://127.0.0.1:8069/web/health', 'http://127.0.0.1:8069/web/health'],
    ['https://x.example/api/v4/hook?key=abc&mode=1', 'https://x.example/api/v4/hook?key=****&mode=1'],
    ['not a url with user:pw@host', '****'],
  ])('%s', (input, output) => {
    expect(maskUrl(input)).toBe(output);
  });

  test('argv', () => {
    expect(maskArgv(['env', 'PGPASSWORD=abc', 'psql', '--token', 't', '--api-key=k'])).toEqual(['env', 'PGPASSWORD=****', 'psql', '--token', '****', '--api-key=****']);
    expect(maskArgv(['/opt/odoo/odoo-bin', '-wpw', '-r', 'odoo'])).toEqual(['/opt/odoo/odoo-bin', '-w****', '-r', 'odoo']);
  });
});
