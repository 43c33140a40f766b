import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConfigError } from '../src/engine/core/errors.js';
import { defaultConfig, defaultStateDir } from '../src/engine/config/defaults.js';
import { loadConfig, type LoadConfigOptions } from '../src/engine/config/load.js';

const EXAMPLE = resolve('deploy/odoo-heal.example.yaml');
const FIXTURES = resolve('test/fixtures/config');

let dir: string;
let emptyProc: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'odoo-heal-config-'));
  emptyProc = join(dir, 'proc');
  mkdirSync(emptyProc);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Isolated from this machine: no real /proc, no /etc candidates, a fake home, non-root. */
function isolated(extra: LoadConfigOptions = {}): LoadConfigOptions {
  return {
    env: {},
    procRoot: emptyProc,
    odooCandidates: [],
    defaultConfigPath: join(dir, 'etc-config.yaml'),
    isRoot: false,
    home: join(dir, 'home'),
    ...extra,
  };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The ConfigError message loadConfig throws (fails the test if it does not throw one). */
async function errorOf(opts: LoadConfigOptions): Promise<string> {
  try {
    await loadConfig(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig did not throw');
}

describe('loadConfig: files that load', () => {
  test('the deploy example loads cleanly and its values are used', async () => {
    const { config, odoo, warnings } = await loadConfig(
      isolated({ configPath: EXAMPLE, odooConfigPath: join(FIXTURES, 'odoo-full.conf') }),
    );
    expect(warnings).toEqual([]);
    expect(config.path).toBe(EXAMPLE);
    expect(config.alerts.targets[0]).toMatchObject({ kind: 'mattermost', channel: 'ops', minSeverity: 'warning' });
    expect(config.endpoints.map((e) => e.name)).toEqual(['odoo-health', 'smtp']);
    expect(config.paths).toEqual({
      stateDir: '/var/lib/odoo-heal',
      backupDir: '/var/lib/odoo-heal/backups',
      auditLog: '/var/lib/odoo-heal/audit.log',
    });
    // `- name: postgresql` inherits the default spec, with tcp from odoo.conf's db_host/db_port.
    expect(config.services[0]).toEqual({ name: 'postgresql', unit: 'postgresql', processes: ['postgres'], tcp: 'db.internal:5433' });
    expect(config.services[2]).toEqual({ name: 'nginx', unit: 'nginx', processes: ['nginx'], tcp: null });
    expect(odoo.httpPort).toBe(18069);
  });

  test('an empty file (only comments) gives exactly the defaults', async () => {
    const p = file('empty.yaml', '# nothing here\n');
    const { config, odoo, warnings } = await loadConfig(isolated({ configPath: p }));
    const expected = defaultConfig({ env: {}, isRoot: false, home: join(dir, 'home') });
    expect(config).toEqual({ ...expected, path: p });
    expect(odoo.path).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^no odoo\.conf found .*using Odoo's defaults$/);
  });

  test('a section whose children are all commented out (null) means defaults for that section', async () => {
    const p = file('commented.yaml', 'thresholds:\n  # diskWarnPercent: 80\nprobes:\n  timeoutMs: 2000\n');
    const { config } = await loadConfig(isolated({ configPath: p }));
    expect(config.thresholds).toEqual(defaultConfig({ env: {}, isRoot: false }).thresholds);
    expect(config.probes.timeoutMs).toBe(2000);
  });

  test('no file anywhere: built-in defaults, path null, standard Debian services', async () => {
    const { config } = await loadConfig(isolated());
    expect(config.path).toBeNull();
    expect(config.services).toEqual([
      { name: 'postgresql', unit: 'postgresql', processes: ['postgres'], tcp: '127.0.0.1:5432' },
      { name: 'redis', unit: 'redis-server', processes: ['redis-server'], tcp: '127.0.0.1:6379' },
      { name: 'nginx', unit: 'nginx', processes: ['nginx'], tcp: null },
    ]);
    expect(config.thresholds.diskWarnPercent).toBe(85);
    expect(config.escalation.ladders['probe:database:down']?.map((s) => s.action)).toEqual(['wait', 'fix', 'fix', 'alert']);
    expect(config.paths.stateDir).toBe(join(dir, 'home', '.local/state/odoo-heal'));
    expect(config.paths.auditLog).toBe(join(dir, 'home', '.local/state/odoo-heal/audit.log'));
  });

  test('the default path is used when it exists, and $ODOO_HEAL_CONFIG wins over it', async () => {
    file('etc-config.yaml', 'probes:\n  intervalMs: 7000\n');
    const viaDefault = await loadConfig(isolated());
    expect(viaDefault.config.probes).toMatchObject({ intervalMs: 7000, timeoutMs: 3000 });
    const envFile = file('env.yaml', 'probes:\n  intervalMs: 9000\n');
    const viaEnv = await loadConfig(isolated({ env: { ODOO_HEAL_CONFIG: envFile } }));
    expect(viaEnv.config.probes.intervalMs).toBe(9000);
    const viaOpt = await loadConfig(isolated({ env: { ODOO_HEAL_CONFIG: envFile }, configPath: join(dir, 'etc-config.yaml') }));
    expect(viaOpt.config.probes.intervalMs).toBe(7000);
  });

  test('partial sections merge over defaults; ladders merge by key; lists replace', async () => {
    const p = file(
      'partial.yaml',
      [
        'thresholds:',
        '  diskWarnPercent: 70',
        'escalation:',
        '  ladders:',
        '    cron-deprecated-fields:',
        '      - action: alert',
        'fixes:',
        '  unattended: [session-cleanup]',
        'services:',
        '  - name: memcached',
      ].join('\n'),
    );
    const { config } = await loadConfig(isolated({ configPath: p }));
    expect(config.thresholds.diskWarnPercent).toBe(70);
    expect(config.thresholds.diskCritPercent).toBe(95);
    expect(Object.keys(config.escalation.ladders).sort()).toEqual(['cron-deprecated-fields', 'probe:database:down']);
    expect(config.fixes.unattended).toEqual(['session-cleanup']);
    expect(config.fixes.allowCommands).toContain('systemctl');
    expect(config.services).toEqual([{ name: 'memcached', unit: 'memcached', processes: ['memcached'], tcp: null }]);
  });

  test('paths: relative to the config file; backupDir/auditLog follow stateDir; $ODOO_HEAL_STATE_DIR wins', async () => {
    const p = file('paths.yaml', 'paths:\n  stateDir: state\nlogs:\n  files: [logs/extra.log]\n');
    const a = await loadConfig(isolated({ configPath: p }));
    expect(a.config.paths).toEqual({ stateDir: join(dir, 'state'), backupDir: join(dir, 'state/backups'), auditLog: join(dir, 'state/audit.log') });
    expect(a.config.logs.files).toEqual([join(dir, 'logs/extra.log')]);

    const b = await loadConfig(isolated({ configPath: p, env: { ODOO_HEAL_STATE_DIR: join(dir, 'override') } }));
    expect(b.config.paths.stateDir).toBe(join(dir, 'override'));
    expect(b.config.paths.backupDir).toBe(join(dir, 'override/backups'));

    const q = file('audit.yaml', 'paths:\n  auditLog: /var/log/odoo-heal-audit.log\n');
    const c = await loadConfig(isolated({ configPath: q }));
    expect(c.config.paths.auditLog).toBe('/var/log/odoo-heal-audit.log');
    expect(c.config.paths.backupDir).toBe(join(dir, 'home', '.local/state/odoo-heal/backups'));
  });

  test('state dir: /var/lib for root, XDG_STATE_HOME otherwise (relative XDG ignored)', () => {
    expect(defaultStateDir({ isRoot: true, env: { XDG_STATE_HOME: '/x' } })).toBe('/var/lib/odoo-heal');
    expect(defaultStateDir({ isRoot: false, env: { XDG_STATE_HOME: '/x/state' } })).toBe('/x/state/odoo-heal');
    expect(defaultStateDir({ isRoot: false, env: { XDG_STATE_HOME: 'rel' }, home: '/home/u' })).toBe('/home/u/.local/state/odoo-heal');
  });

  test('odoo.config in the YAML is used (relative to the file) and warns on a non-loopback listener without token', async () => {
    writeFileSync(join(dir, 'odoo.conf'), '[options]\ndb_port = 6543\n');
    const p = file('c.yaml', 'odoo:\n  config: odoo.conf\nhttp:\n  enabled: true\n  listen: 0.0.0.0\n');
    const { config, odoo, warnings } = await loadConfig(isolated({ configPath: p }));
    expect(odoo.path).toBe(join(dir, 'odoo.conf'));
    expect(config.services[0]?.tcp).toBe('127.0.0.1:6543');
    expect(warnings).toEqual([`${p}: http.token: the HTTP endpoint listens on 0.0.0.0 without a token; anyone who can reach it can read the status`]);
  });
});

describe('loadConfig: facts from the running Odoo', () => {
  test('odoo.url follows http_interface and odoo.user the running process, unless set in the file', async () => {
    const c = join(dir, 'odoo.conf');
    writeFileSync(c, '[options]\nhttp_interface = 192.0.2.7\nhttp_port = 8070\n');
    const pidDir = join(emptyProc, '4242');
    mkdirSync(pidDir);
    writeFileSync(join(pidDir, 'cmdline'), `/opt/odoo/odoo-bin\0-c\0${c}\0`);
    writeFileSync(join(pidDir, 'status'), 'Uid:\t1005\t1005\t1005\t1005\n');
    const passwd = file('passwd', 'odoo18:x:1005:1005::/opt/odoo18:/bin/sh\n');
    const a = await loadConfig(isolated({ passwdPath: passwd }));
    expect(a.config.odoo).toMatchObject({ url: 'http://192.0.2.7:8070', user: 'odoo18' });
    const p = file('c.yaml', 'odoo:\n  url: https://erp.example.com\n  user: someone\n');
    const b = await loadConfig(isolated({ passwdPath: passwd, configPath: p }));
    expect(b.config.odoo).toMatchObject({ url: 'https://erp.example.com', user: 'someone' });
  });
});

describe('loadConfig: every bad input is one exact line', () => {
  test('YAML syntax error: file, line:col, message', async () => {
    const p = join(FIXTURES, 'bad-syntax.yaml');
    expect(await errorOf(isolated({ configPath: p }))).toBe(`${p}: 3:1: All mapping items must start at the same column`);
  });

  test('wrong type', async () => {
    const p = join(FIXTURES, 'bad-type.yaml');
    expect(await errorOf(isolated({ configPath: p }))).toBe(
      `${p}: thresholds.diskWarnPercent: expected a number between 0 and 100, got "high"`,
    );
  });

  test('out of range', async () => {
    const p = file('range.yaml', 'http:\n  port: 70000\n');
    expect(await errorOf(isolated({ configPath: p }))).toBe(`${p}: http.port: expected an integer between 1 and 65535, got 70000`);
  });

  test('fleet.prometheus must be an http(s) URL; fleet.intervalMs has a floor', async () => {
    const p = file('fleet.yaml', 'fleet:\n  prometheus: prom.example.com:9090\n');
    expect(await errorOf(isolated({ configPath: p }))).toMatch(new RegExp(`^${p}: fleet\\.prometheus: `));
    const q = file('fleet2.yaml', 'fleet:\n  intervalMs: 10\n');
    expect(await errorOf(isolated({ configPath: q }))).toBe(`${q}: fleet.intervalMs: expected an integer between 1000 and 3600000, got 10`);
  });

  test('unknown key names it, suggests the close one and lists valid keys at that level', async () => {
    const p = file('typo.yaml', 'probes:\n  intervalMS: 1000\n');
    expect(await errorOf(isolated({ configPath: p }))).toBe(
      `${p}: probes.intervalMS: unknown key (did you mean intervalMs?); valid keys in probes: intervalMs, timeoutMs, odooHttpIntervalMs, odooDbIntervalMs, filestoreIntervalMs, filestoreSample`,
    );
    const q = file('top.yaml', 'threshold:\n  diskWarnPercent: 1\n');
    expect(await errorOf(isolated({ configPath: q }))).toBe(
      `${q}: threshold: unknown key (did you mean thresholds?); valid top-level keys: odoo, logs, probes, thresholds, services, endpoints, fixes, escalation, alerts, paths, http, unclassified, patterns, fleet`,
    );
  });

  test('nested list items: bad tcp, bad enum, missing required key', async () => {
    const a = file('a.yaml', 'services:\n  - name: pg\n    tcp: 5432\n');
    expect(await errorOf(isolated({ configPath: a }))).toBe(`${a}: services[0].tcp: expected host:port (e.g. 127.0.0.1:5432) or null, got 5432`);
    const b = file('b.yaml', 'alerts:\n  targets:\n    - kind: slack\n      url: https://x.example\n');
    expect(await errorOf(isolated({ configPath: b }))).toBe(`${b}: alerts.targets[0].kind: expected one of "mattermost", "webhook", "alertmanager", got "slack"`);
    const c = file('c.yaml', 'endpoints:\n  - target: http://127.0.0.1:8069\n');
    expect(await errorOf(isolated({ configPath: c }))).toBe(`${c}: endpoints[0].name: missing, expected a non-empty string`);
  });

  test('a rejected secret is never echoed in the error', async () => {
    const a = file('a.yaml', 'http:\n  token: hunter2\n');
    expect(await errorOf(isolated({ configPath: a }))).toBe(`${a}: http.token: expected a string of at least 16 characters or null, got a string of 7 characters`);
    const b = file('b.yaml', 'alerts:\n  targets:\n    - kind: webhook\n      url: ftp://u:hunter2@x.example/hooks/abc123\n');
    const msg = await errorOf(isolated({ configPath: b }));
    expect(msg).toBe(`${b}: alerts.targets[0].url: expected an http(s):// URL, got "ftp://u:****@x.example/hooks/****"`);
  });

  test('cross-field rules: warn above crit, fix step without a fix id', async () => {
    const a = file('a.yaml', 'thresholds:\n  diskWarnPercent: 97\n');
    expect(await errorOf(isolated({ configPath: a }))).toBe(
      `${a}: thresholds.diskWarnPercent: expected at most thresholds.diskCritPercent (95), got 97`,
    );
    const b = file('b.yaml', 'escalation:\n  ladders:\n    x:\n      - action: fix\n');
    expect(await errorOf(isolated({ configPath: b }))).toBe(
      `${b}: escalation.ladders.x[0].fix: expected a fix id (a step with action "fix" names the fix to run)`,
    );
  });

  test('a document that is not a mapping', async () => {
    const p = file('list.yaml', '- a\n- b\n');
    expect(await errorOf(isolated({ configPath: p }))).toBe(`${p}: (top level): expected a mapping of settings (key: value), got a list`);
  });

  test('missing --config, missing $ODOO_HEAL_CONFIG, a directory, an unreadable file', async () => {
    const missing = join(dir, 'nope.yaml');
    expect(await errorOf(isolated({ configPath: missing }))).toBe(`${missing}: --config: no such file`);
    expect(await errorOf(isolated({ env: { ODOO_HEAL_CONFIG: missing } }))).toBe(`${missing}: $ODOO_HEAL_CONFIG: no such file`);
    expect(await errorOf(isolated({ configPath: dir }))).toBe(`${dir}: --config: is a directory, expected a YAML file`);
    if (process.getuid?.() !== 0) {
      const locked = file('locked.yaml', 'probes: {}\n');
      chmodSync(locked, 0o000);
      expect(await errorOf(isolated({ configPath: locked }))).toBe(`${locked}: --config: permission denied`);
    }
  });

  test('missing --odoo-config and missing odoo.config from the YAML', async () => {
    const missing = join(dir, 'odoo.conf');
    expect(await errorOf(isolated({ odooConfigPath: missing }))).toBe(`--odoo-config: ${missing}: odoo.conf not found (no such file)`);
    const p = file('c.yaml', 'odoo:\n  config: odoo.conf\n');
    expect(await errorOf(isolated({ configPath: p }))).toBe(`${p}: odoo.config: ${missing}: odoo.conf not found (no such file)`);
  });

  test('a bad number in odoo.conf names the file and key', async () => {
    const conf = join(FIXTURES, 'odoo-bad-number.conf');
    expect(await errorOf(isolated({ odooConfigPath: conf }))).toBe(`${conf}: http_port: expected an integer >= 1, got "80a69"`);
  });
});

describe('documentation and schema stay in step', () => {
  test('docs/configuration.md names every field of schema.json', async () => {
    const schema = JSON.parse(readFileSync(resolve('src/engine/config/schema.json'), 'utf8')) as SchemaLike;
    const docs = readFileSync(resolve('docs/configuration.md'), 'utf8');
    const keys = new Set<string>();
    const walk = (node: SchemaLike): void => {
      for (const [k, v] of Object.entries(node.properties ?? {})) {
        keys.add(k);
        walk(v);
      }
      if (node.items) walk(node.items);
      if (typeof node.additionalProperties === 'object') walk(node.additionalProperties);
    };
    walk(schema);
    walk(schema.definitions?.ladderStep ?? {});
    expect(keys.size).toBeGreaterThan(60);
    const missing = [...keys].filter((k) => !new RegExp(`\\b${k}\\b`).test(docs));
    expect(missing).toEqual([]);
  });
});

interface SchemaLike {
  properties?: Record<string, SchemaLike>;
  items?: SchemaLike;
  additionalProperties?: boolean | SchemaLike;
  definitions?: Record<string, SchemaLike>;
}
