// Finds the odoo.conf the running Odoo actually uses. Order: an explicit path (--odoo-config or
// `odoo.config` in the YAML), the `-c/--config` argument of a running Odoo process, then the usual
// install locations. Nothing found is not an error: Odoo itself runs fine on its defaults.
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { defaultOdooConf } from './defaults.js';
import { readOdooConf } from './odoo-conf.js';
import type { OdooConf } from './types.js';

export interface DiscoverOptions {
  /** Explicit odoo.conf (must exist). */
  explicit?: string | null;
  /** What to call the explicit path in errors, e.g. `--odoo-config` or `/etc/odoo-heal/config.yaml: odoo.config`. */
  explicitLabel?: string;
  /** Root of the proc filesystem; tests point this at a fake tree. */
  procRoot?: string;
  /** Files tried after the running processes, in order. Default: {@link defaultCandidates}. */
  candidates?: string[];
  home?: string;
  /** Used to name the user a discovered Odoo process runs as. */
  passwdPath?: string;
}

export interface DiscoveredOdooConf {
  odoo: OdooConf;
  /** How the file was found. */
  source: 'explicit' | 'process' | 'candidate' | 'none';
  /** The Odoo process the path came from, when source is `process`. */
  pid: number | null;
  /** User the discovered Odoo process runs as (its real uid, named via passwd), else null. */
  user: string | null;
  /** odoo.conf `http_interface` (old name `xmlrpc_interface`) when set to one address, else null.
   * OdooConf has no field for it; loadConfig uses it to build the default Odoo URL. */
  httpInterface: string | null;
  warnings: string[];
}

export function defaultCandidates(home: string = homedir()): string[] {
  return ['/etc/odoo/odoo.conf', '/etc/odoo.conf', '/etc/odoo/odoo-server.conf', join(home, '.odoorc')];
}

/** Names of Odoo's launchers (argv[0], or the script an interpreter runs). */
const ODOO_LAUNCHERS = new Set(['odoo-bin', 'odoo', 'odoo.py', 'openerp-server']);
/** Things that may come before the launcher in argv: interpreters and wrappers. */
const INTERPRETER = /^(python[\d.]*|pypy[\d.]*|sh|bash|dash|env|coverage)$/;

export interface OdooProcess {
  pid: number;
  argv: string[];
  /** `-c` value as given (maybe relative), or null. */
  configArg: string | null;
  /** A transient run (`--stop-after-init`, `shell`, ...) rather than the server. */
  transient: boolean;
}

/** Recognises an Odoo command line and extracts its `-c` argument. Returns null for other programs. */
export function parseOdooCmdline(argv: string[], pid = 0): OdooProcess | null {
  let start = -1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (ODOO_LAUNCHERS.has(basename(a))) {
      start = i;
      break;
    }
    if (a === '-m' && argv[i + 1] === 'odoo') {
      start = i + 1;
      break;
    }
    // Anything else before the launcher must be an interpreter or one of its options.
    if (!a.startsWith('-') && !INTERPRETER.test(basename(a))) return null;
  }
  if (start < 0) return null;
  const args = argv.slice(start + 1);
  let configArg: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-c' || a === '--config') configArg = args[i + 1] ?? null;
    else if (a.startsWith('--config=')) configArg = a.slice('--config='.length);
    else if (a.startsWith('-c') && !a.startsWith('--')) configArg = a.slice(2);
  }
  const sub = args[0] && !args[0].startsWith('-') ? args[0] : 'server';
  const transient = sub !== 'server' || args.includes('--stop-after-init');
  return { pid, argv, configArg: configArg === '' ? null : configArg, transient };
}

/** Every Odoo process visible in procRoot, servers first, then by pid. */
export function findOdooProcesses(procRoot = '/proc'): OdooProcess[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const found: OdooProcess[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let raw: string;
    try {
      raw = readFileSync(join(procRoot, e, 'cmdline'), 'utf8');
    } catch {
      continue; // the process ended meanwhile, or is hidden from us
    }
    const argv = raw.split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    const p = parseOdooCmdline(argv, Number(e));
    if (p) found.push(p);
  }
  return found.sort((a, b) => Number(a.transient) - Number(b.transient) || a.pid - b.pid);
}

function processEnv(procRoot: string, pid: number, name: string): string | null {
  try {
    const env = readFileSync(join(procRoot, String(pid), 'environ'), 'utf8').split('\0');
    const hit = env.find((kv) => kv.startsWith(`${name}=`));
    return hit ? hit.slice(name.length + 1) : null;
  } catch {
    return null;
  }
}

function processCwd(procRoot: string, pid: number): string | null {
  try {
    return readlinkSync(join(procRoot, String(pid), 'cwd'));
  } catch {
    return null;
  }
}

function withDefaults(warnings: string[]): DiscoveredOdooConf {
  return { odoo: defaultOdooConf(), source: 'none', pid: null, user: null, httpInterface: null, warnings };
}

/** Name of the real uid of a process, from /proc/<pid>/status and a passwd file. */
function processUser(procRoot: string, pid: number, passwdPath: string): string | null {
  try {
    const status = readFileSync(join(procRoot, String(pid), 'status'), 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (uid === undefined) return null;
    for (const line of readFileSync(passwdPath, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === uid && f[0]) return f[0];
    }
  } catch {
    /* no status (process gone) or no passwd: unknown */
  }
  return null;
}

/** An address other than "all interfaces" that Odoo binds to, so the default URL must use it. */
function boundInterface(raw: Map<string, string>): string | null {
  const v = (raw.get('http_interface') ?? raw.get('xmlrpc_interface') ?? '').trim();
  if (v === '' || v === 'False' || v === 'None' || v === '0.0.0.0' || v === '::') return null;
  return v;
}

function relativeWarning(path: string, keys: string[], how: string): string[] {
  return keys.length === 0 ? [] : [`${path}: ${keys.join(', ')}: relative path resolved against ${how}`];
}

export function discoverOdooConf(opts: DiscoverOptions = {}): DiscoveredOdooConf {
  const procRoot = opts.procRoot ?? '/proc';
  const warnings: string[] = [];

  if (opts.explicit) {
    const path = resolve(opts.explicit);
    if (!existsSync(path)) {
      throw new ConfigError(opts.explicitLabel ?? '--odoo-config', path, 'odoo.conf not found (no such file)');
    }
    const parsed = readOdooConf(path);
    warnings.push(...relativeWarning(path, parsed.relativeKeys, 'its directory (Odoo uses its working directory)'));
    return { odoo: parsed.conf, source: 'explicit', pid: null, user: null, httpInterface: boundInterface(parsed.raw), warnings };
  }

  const processes = findOdooProcesses(procRoot);
  const paths = new Map<string, { pid: number; cwd: string | null }>();
  for (const p of processes) {
    const arg = p.configArg ?? processEnv(procRoot, p.pid, 'ODOO_RC') ?? processEnv(procRoot, p.pid, 'OPENERP_SERVER');
    if (arg === null) continue;
    const cwd = processCwd(procRoot, p.pid);
    if (!isAbsolute(arg) && cwd === null) {
      warnings.push(`Odoo process ${p.pid} uses config ${arg} relative to a working directory we cannot read`);
      continue;
    }
    const path = resolve(cwd ?? '/', arg);
    if (!paths.has(path)) paths.set(path, { pid: p.pid, cwd });
  }
  if (paths.size > 1) {
    const list = [...paths].map(([path, { pid }]) => `${path} (pid ${pid})`).join(', ');
    warnings.push(`several Odoo instances run with different configs: ${list}; using the first (pass --odoo-config to choose)`);
  }
  for (const [path, { pid, cwd }] of paths) {
    if (!existsSync(path)) {
      warnings.push(`Odoo process ${pid} uses ${path}, which does not exist (deleted?)`);
      continue;
    }
    let parsed;
    try {
      parsed = readOdooConf(path, cwd ? { cwd } : {});
    } catch (err) {
      // A permission problem is expected when not running as root / the odoo user.
      if (err instanceof ConfigError && err.field === 'odoo.conf') {
        warnings.push(`${err.message}; run as root or the Odoo user, or pass --odoo-config`);
        continue;
      }
      throw err;
    }
    const how = cwd ? `the working directory of Odoo process ${pid}` : 'the file directory';
    warnings.push(...relativeWarning(path, cwd ? [] : parsed.relativeKeys, how));
    const user = processUser(procRoot, pid, opts.passwdPath ?? '/etc/passwd');
    return { odoo: parsed.conf, source: 'process', pid, user, httpInterface: boundInterface(parsed.raw), warnings };
  }

  for (const candidate of opts.candidates ?? defaultCandidates(opts.home)) {
    if (!existsSync(candidate)) continue;
    let parsed;
    try {
      parsed = readOdooConf(candidate);
    } catch (err) {
      if (err instanceof ConfigError && err.field === 'odoo.conf') {
        warnings.push(`${err.message}; run as root or the Odoo user, or pass --odoo-config`);
        continue;
      }
      throw err;
    }
    warnings.push(...relativeWarning(candidate, parsed.relativeKeys, 'its directory (Odoo uses its working directory)'));
    return { odoo: parsed.conf, source: 'candidate', pid: null, user: null, httpInterface: boundInterface(parsed.raw), warnings };
  }

  const candidates = opts.candidates ?? defaultCandidates(opts.home);
  const tried = candidates.length > 0 ? `, none of ${candidates.join(', ')}` : '';
  warnings.push(`no odoo.conf found (no running Odoo with -c${tried}); using Odoo's defaults`);
  return withDefaults(warnings);
}
