import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { defaultOdooConf } from '../src/engine/config/defaults.js';
import { parseOdooConf, parseOdooConfDetailed, readOdooConf, resolveOdooDataDir } from '../src/engine/config/odoo-conf.js';
import { ConfigError } from '../src/engine/core/errors.js';

const FIXTURES = resolve('test/fixtures/config');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'odoo-heal-odooconf-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

describe('parseOdooConf', () => {
  test("Debian's packaged odoo.conf: False means unset, commented keys are ignored, Odoo defaults fill in", () => {
    const path = join(FIXTURES, 'odoo-debian.conf');
    const conf = parseOdooConf(readFileSync(path, 'utf8'), path);
    expect(conf).toEqual({ ...defaultOdooConf(), path, dbUser: 'odoo' });
    expect(conf.dbHost).toBeNull(); // local socket
    expect(conf.adminPasswd).toBeNull(); // only in a comment
    expect(conf.httpPort).toBe(8069);
    expect(conf.limitMemorySoft).toBe(2048 * 1024 * 1024);
  });

  test('a full prefork config: multi-line addons_path, old longpolling_port alias, other sections ignored', () => {
    const path = join(FIXTURES, 'odoo-full.conf');
    const conf = parseOdooConf(readFileSync(path, 'utf8'), path);
    expect(conf).toEqual({
      path,
      addonsPath: ['/opt/odoo/odoo/addons', '/opt/odoo/custom-addons', '/opt/odoo/enterprise'],
      dataDir: '/var/lib/odoo/data',
      logfile: '/var/log/odoo/odoo.log',
      dbHost: 'db.internal',
      dbPort: 5433,
      dbUser: 'odoo',
      dbPassword: 's3cr3t-db-pass',
      dbName: 'prod',
      dbMaxconn: 32,
      httpPort: 18069,
      geventPort: 18072,
      workers: 4,
      maxCronThreads: 1,
      limitMemorySoft: 2147483648,
      limitMemoryHard: 2684354560,
      limitTimeCpu: 600,
      limitTimeReal: 1200,
      limitTimeRealCron: -1,
      proxyMode: true,
      adminPasswd: '$pbkdf2-sha512$600000$master-secret',
      // `list_db = False` is a value here, not "unset".
      listDb: false,
      httpInterface: null,
    });
  });

  test('keys are case-insensitive, `:` works as separator, None/empty are unset, a value may contain ; and =', () => {
    const conf = parseOdooConf(
      ['[options]', 'HTTP_PORT: 9000', 'db_name = None', 'db_user =', 'db_password = a;b=c # not a comment', 'proxy_mode = false'].join('\n'),
      '/x/odoo.conf',
    );
    expect(conf.httpPort).toBe(9000);
    expect(conf.dbName).toBeNull();
    expect(conf.dbUser).toBeNull();
    expect(conf.dbPassword).toBe('a;b=c # not a comment');
    expect(conf.proxyMode).toBe(false);
  });

  test('limit_time_real_cron takes -1 (use limit_time_real) and 0 (no limit); http_interface and list_db are read', () => {
    const conf = parseOdooConf(['[options]', 'limit_time_real_cron = -1', 'http_interface = 127.0.0.1', 'list_db = True'].join('\n'), '/x/odoo.conf');
    expect(conf).toMatchObject({ limitTimeRealCron: -1, httpInterface: '127.0.0.1', listDb: true });
    expect(parseOdooConf('[options]\nlimit_time_real_cron = 0\n', '/x/odoo.conf').limitTimeRealCron).toBe(0);
    expect(errorOf(() => parseOdooConf('[options]\nlimit_time_real_cron = -2\n', '/x/odoo.conf'))).toBe('/x/odoo.conf: limit_time_real_cron: expected an integer >= -1, got "-2"');
  });

  test("relative paths resolve against Odoo's working directory when known, else the file's directory", () => {
    const text = '[options]\nlogfile = log/odoo.log\ndata_dir = ~/data\naddons_path = addons,/abs/addons\n';
    const a = parseOdooConfDetailed(text, '/etc/odoo/odoo.conf', { home: '/home/odoo' });
    expect(a.conf.logfile).toBe('/etc/odoo/log/odoo.log');
    expect(a.conf.dataDir).toBe('/home/odoo/data');
    expect(a.conf.addonsPath).toEqual(['/etc/odoo/addons', '/abs/addons']);
    expect(a.relativeKeys).toEqual(['addons_path', 'logfile']);
    const b = parseOdooConf(text, '/etc/odoo/odoo.conf', { cwd: '/srv/odoo', home: '/home/odoo' });
    expect(b.logfile).toBe('/srv/odoo/log/odoo.log');
  });

  test('bad numbers, bad booleans, bad ports, duplicates and garbage lines name the file and key', () => {
    const p = '/etc/odoo/odoo.conf';
    expect(errorOf(() => parseOdooConf('[options]\nworkers = four\n', p))).toBe(`${p}: workers: expected an integer >= 0, got "four"`);
    expect(errorOf(() => parseOdooConf('[options]\ndb_port = 5432.5\n', p))).toBe(`${p}: db_port: expected an integer >= 1, got "5432.5"`);
    expect(errorOf(() => parseOdooConf('[options]\nhttp_port = 99999\n', p))).toBe(`${p}: http_port: expected a port between 1 and 65535, got 99999`);
    expect(errorOf(() => parseOdooConf('[options]\nproxy_mode = maybe\n', p))).toBe(`${p}: proxy_mode: expected True or False, got "maybe"`);
    expect(errorOf(() => parseOdooConf('[options]\nworkers = 2\nworkers = 3\n', p))).toBe(
      `${p}: workers: duplicate key in [options] (line 3); Odoo refuses such a file too`,
    );
    expect(errorOf(() => parseOdooConf('workers = 2\n', p))).toBe(`${p}: line 1: expected a [section] header (such as [options]) before the first key`);
    expect(errorOf(() => parseOdooConf('[options]\njust words\n', p))).toBe(`${p}: line 2: expected "key = value", a [section] or a comment, got "just words"`);
  });

  test('the bad-number fixture read from disk', () => {
    const path = join(FIXTURES, 'odoo-bad-number.conf');
    expect(errorOf(() => readOdooConf(path))).toBe(`${path}: http_port: expected an integer >= 1, got "80a69"`);
  });

  test('data_dir unset: ~/.local/share/Odoo of the Odoo user, from a passwd file', () => {
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nodoo:x:999:999::/var/lib/odoo:/usr/sbin/nologin\n');
    expect(resolveOdooDataDir({ dataDir: null }, 'odoo', passwd)).toBe('/var/lib/odoo/.local/share/Odoo');
    expect(resolveOdooDataDir({ dataDir: '/data' }, 'odoo', passwd)).toBe('/data');
    expect(resolveOdooDataDir({ dataDir: null }, 'nobody-here', passwd)).toBeNull();
    expect(resolveOdooDataDir({ dataDir: null }, null, passwd)).toBeNull();
  });
});
