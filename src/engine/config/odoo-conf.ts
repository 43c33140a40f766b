// Parser for Odoo's odoo.conf (Python ConfigParser INI, `[options]` section) reduced to the keys
// odoo-heal uses. Semantics follow odoo/tools/config.py: `False`, `None` and empty mean "not set"
// (Odoo then keeps its default), so that is what we do too.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { defaultOdooConf } from './defaults.js';
import type { OdooConf } from './types.js';

export interface ParseOdooConfOptions {
  /** Directory relative paths are resolved against. Odoo resolves them against ITS working
   * directory; discovery passes the running process's cwd. Default: the directory of the file. */
  cwd?: string;
  /** Home directory used for `~` (should be the Odoo user's). Default: ours. */
  home?: string;
}

export interface ParsedOdooConf {
  conf: OdooConf;
  /** odoo.conf keys whose value was a relative path (resolved against `cwd`, which may be a guess). */
  relativeKeys: string[];
  /** Raw `[options]` values (lowercased keys), secrets included: never print this. */
  raw: Map<string, string>;
}

/** Old option names Odoo still maps to the new ones (config.py `outdated_options_map`, 17/18). */
const ALIASES: Record<string, string> = {
  xmlrpc_port: 'http_port',
  longpolling_port: 'gevent_port',
};

/** Reads the `[options]` section. Keys are case-insensitive (ConfigParser lowercases them). */
function readOptions(text: string, path: string): Map<string, string> {
  const options = new Map<string, string>();
  let section: string | null = null;
  let lastKey: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const where = `line ${i + 1}`;
    const trimmed = line.trim();
    if (trimmed === '') {
      lastKey = null;
      continue;
    }
    if (trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    // An indented line continues the previous value (ConfigParser multi-line values).
    if (/^\s/.test(line) && lastKey !== null) {
      if (section === 'options') options.set(lastKey, `${options.get(lastKey) ?? ''}\n${trimmed}`);
      continue;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(trimmed);
    if (header) {
      section = (header[1] ?? '').trim();
      lastKey = null;
      continue;
    }
    // ConfigParser accepts both `=` and `:`; the first one found splits key from value.
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!m) {
      throw new ConfigError(path, where, `expected "key = value", a [section] or a comment, got ${JSON.stringify(trimmed)}`);
    }
    if (section === null) {
      throw new ConfigError(path, where, 'expected a [section] header (such as [options]) before the first key');
    }
    const key = (m[1] ?? '').toLowerCase();
    lastKey = key;
    if (section !== 'options') continue;
    if (options.has(key)) {
      // Python's ConfigParser (strict) refuses duplicates, so Odoo would not start with this file either.
      throw new ConfigError(path, key, `duplicate key in [options] (${where}); Odoo refuses such a file too`);
    }
    options.set(key, m[2] ?? '');
  }
  for (const [old, current] of Object.entries(ALIASES)) {
    const v = options.get(old);
    if (v !== undefined && !options.has(current)) options.set(current, v);
  }
  return options;
}

/** `False`, `false`, `None`, `none` and empty are Odoo's way of saying "use the default". */
function isUnset(value: string | undefined): value is undefined {
  if (value === undefined) return true;
  const v = value.trim();
  return v === '' || v === 'False' || v === 'false' || v === 'None' || v === 'none';
}

function str(options: Map<string, string>, key: string): string | null {
  const v = options.get(key);
  return isUnset(v) ? null : v.trim();
}

function int(options: Map<string, string>, key: string, path: string, min = 0): number | null {
  const v = options.get(key);
  if (isUnset(v)) return null;
  const t = v.trim();
  if (!/^[+-]?\d+$/.test(t) || Number(t) < min || !Number.isSafeInteger(Number(t))) {
    throw new ConfigError(path, key, `expected an integer >= ${min}, got ${JSON.stringify(t)}`);
  }
  return Number(t);
}

function bool(options: Map<string, string>, key: string, path: string): boolean | null {
  const v = options.get(key);
  if (v === undefined || v.trim() === '' || v.trim() === 'None') return null;
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(path, key, `expected True or False, got ${JSON.stringify(v.trim())}`);
}

/** Odoo expands `~` in paths, then makes them absolute against its working directory. */
function pathValue(value: string, base: string, home: string): { path: string; relative: boolean } {
  const v = value === '~' || value.startsWith('~/') ? join(home, value.slice(1)) : value;
  if (isAbsolute(v)) return { path: resolve(v), relative: false };
  return { path: resolve(base, v), relative: true };
}

export function parseOdooConfDetailed(text: string, path: string, opts: ParseOdooConfOptions = {}): ParsedOdooConf {
  const options = readOptions(text, path);
  const base = opts.cwd ?? dirname(resolve(path));
  const home = opts.home ?? homedir();
  const relativeKeys: string[] = [];
  const asPath = (key: string): string | null => {
    const v = str(options, key);
    if (v === null) return null;
    const p = pathValue(v, base, home);
    if (p.relative) relativeKeys.push(key);
    return p.path;
  };

  const d = defaultOdooConf();
  const addonsRaw = str(options, 'addons_path');
  const addonsPath: string[] = [];
  if (addonsRaw !== null) {
    for (const part of addonsRaw.split(/[,\n]/)) {
      const t = part.trim();
      if (t === '') continue;
      const p = pathValue(t, base, home);
      if (p.relative && !relativeKeys.includes('addons_path')) relativeKeys.push('addons_path');
      addonsPath.push(p.path);
    }
  }

  const conf: OdooConf = {
    path,
    addonsPath,
    dataDir: asPath('data_dir'),
    logfile: asPath('logfile'),
    dbHost: str(options, 'db_host'),
    dbPort: int(options, 'db_port', path, 1),
    dbUser: str(options, 'db_user'),
    dbPassword: str(options, 'db_password'),
    dbName: str(options, 'db_name'),
    dbMaxconn: int(options, 'db_maxconn', path, 1) ?? d.dbMaxconn,
    httpPort: int(options, 'http_port', path, 1) ?? d.httpPort,
    geventPort: int(options, 'gevent_port', path, 1) ?? d.geventPort,
    workers: int(options, 'workers', path) ?? d.workers,
    maxCronThreads: int(options, 'max_cron_threads', path) ?? d.maxCronThreads,
    limitMemorySoft: int(options, 'limit_memory_soft', path) ?? d.limitMemorySoft,
    limitMemoryHard: int(options, 'limit_memory_hard', path) ?? d.limitMemoryHard,
    limitTimeCpu: int(options, 'limit_time_cpu', path) ?? d.limitTimeCpu,
    limitTimeReal: int(options, 'limit_time_real', path) ?? d.limitTimeReal,
    limitTimeRealCron: int(options, 'limit_time_real_cron', path, -1) ?? d.limitTimeRealCron,
    proxyMode: bool(options, 'proxy_mode', path) ?? d.proxyMode,
    // Kept so fixes/probes can use it; never printed (see print.ts).
    adminPasswd: str(options, 'admin_passwd'),
    listDb: bool(options, 'list_db', path) ?? d.listDb,
    httpInterface: str(options, 'http_interface'),
  };
  for (const port of ['dbPort', 'httpPort', 'geventPort'] as const) {
    const v = conf[port];
    if (v !== null && v > 65535) {
      const key = port === 'dbPort' ? 'db_port' : port === 'httpPort' ? 'http_port' : 'gevent_port';
      throw new ConfigError(path, key, `expected a port between 1 and 65535, got ${v}`);
    }
  }
  return { conf, relativeKeys, raw: options };
}

/** Parses odoo.conf text. Unset keys get Odoo's defaults; a bad number throws ConfigError(file, key). */
export function parseOdooConf(text: string, path: string, opts: ParseOdooConfOptions = {}): OdooConf {
  return parseOdooConfDetailed(text, path, opts).conf;
}

/** Reads and parses an odoo.conf file; unreadable → ConfigError naming the file. */
export function readOdooConf(path: string, opts: ParseOdooConfOptions = {}): ParsedOdooConf {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigError(path, 'odoo.conf', `cannot read (${why})`);
  }
  return parseOdooConfDetailed(text, path, opts);
}

/**
 * Odoo's data dir. When odoo.conf does not set `data_dir`, Odoo uses `~/.local/share/Odoo` of the
 * user it runs as (appdirs.user_data_dir); on Debian's package that user is `odoo` with home
 * /var/lib/odoo. Returns null when neither data_dir nor that user's home is known.
 */
export function resolveOdooDataDir(
  odoo: Pick<OdooConf, 'dataDir'>,
  user: string | null,
  passwdPath = '/etc/passwd',
): string | null {
  if (odoo.dataDir) return odoo.dataDir;
  const home = user ? homeOf(user, passwdPath) : null;
  return home ? join(home, '.local', 'share', 'Odoo') : null;
}

function homeOf(user: string, passwdPath: string): string | null {
  let text: string;
  try {
    text = readFileSync(passwdPath, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f[5]) return f[5];
  }
  return null;
}
