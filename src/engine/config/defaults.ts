// Built-in defaults: what odoo-heal does on a standard Debian/Ubuntu Odoo install with no config file.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Config, LadderStep, OdooConf, ServiceSpec } from './types.js';

/** Facts about the running user/environment that defaults depend on (injectable for tests). */
export interface DefaultsContext {
  env?: NodeJS.ProcessEnv;
  /** Running as root? Default: `process.getuid() === 0`. */
  isRoot?: boolean;
  home?: string;
}

const MINUTE = 60_000;

/** Odoo's own defaults for the odoo.conf keys we use (odoo/tools/config.py, Odoo 18). */
export function defaultOdooConf(): OdooConf {
  return {
    path: null,
    addonsPath: [],
    dataDir: null,
    logfile: null,
    dbHost: null,
    dbPort: null,
    dbUser: null,
    dbPassword: null,
    dbName: null,
    dbMaxconn: 64,
    httpPort: 8069,
    geventPort: 8072,
    workers: 0,
    maxCronThreads: 2,
    limitMemorySoft: 2048 * 1024 * 1024,
    limitMemoryHard: 2560 * 1024 * 1024,
    limitTimeCpu: 60,
    limitTimeReal: 120,
    limitTimeRealCron: -1,
    proxyMode: false,
    adminPasswd: null,
    listDb: true,
    httpInterface: null,
  };
}

/**
 * Where state lives: root uses the FHS location, anyone else the XDG state dir, so that a
 * developer running odoo-heal by hand never needs write access to /var/lib.
 */
export function defaultStateDir(ctx: DefaultsContext = {}): string {
  const env = ctx.env ?? process.env;
  const isRoot = ctx.isRoot ?? process.getuid?.() === 0;
  if (isRoot) return '/var/lib/odoo-heal';
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'odoo-heal');
  return join(ctx.home ?? homedir(), '.local', 'state', 'odoo-heal');
}

/** PostgreSQL's address as Odoo sees it; a local socket (db_host unset) is probed on 127.0.0.1. */
export function postgresTcp(odoo: Pick<OdooConf, 'dbHost' | 'dbPort'> | null): string {
  const port = odoo?.dbPort ?? 5432;
  const host = odoo?.dbHost && !odoo.dbHost.startsWith('/') ? odoo.dbHost : '127.0.0.1';
  // IPv6 literals need brackets in host:port form.
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function defaultServices(odoo: Pick<OdooConf, 'dbHost' | 'dbPort'> | null = null): ServiceSpec[] {
  return [
    { name: 'postgresql', unit: 'postgresql', processes: ['postgres'], tcp: postgresTcp(odoo) },
    { name: 'redis', unit: 'redis-server', processes: ['redis-server'], tcp: '127.0.0.1:6379' },
    { name: 'nginx', unit: 'nginx', processes: ['nginx'], tcp: null },
  ];
}

export function defaultLadders(): Record<string, LadderStep[]> {
  return {
    'probe:database:down': [
      { action: 'wait' },
      { action: 'fix', fix: 'restart-service', params: { service: 'postgresql' } },
      { action: 'fix', fix: 'restart-service', params: { service: 'odoo' } },
      { action: 'alert' },
    ],
  };
}

/** The complete default configuration. `paths` derive from the state dir. */
/** odoo-heal's config file when neither --config nor $ODOO_HEAL_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = '/etc/odoo-heal/config.yaml';

/** Local patterns (stacked over the bundled ones; survives upgrades). Absent: nothing is added. */
export const DEFAULT_LOCAL_PATTERNS_DIR = '/etc/odoo-heal/patterns.d';

export function defaultConfig(ctx: DefaultsContext = {}): Config {
  const stateDir = defaultStateDir(ctx);
  return {
    path: null,
    odoo: { config: null, url: null, unit: 'odoo', user: null },
    logs: { files: [], commands: null, postgres: null, recentBytes: 2 * 1024 * 1024, recentSeconds: 900 },
    probes: { intervalMs: 5000, timeoutMs: 3000, odooDbIntervalMs: 60_000, odooHttpIntervalMs: 30_000, filestoreIntervalMs: 15 * 60_000, filestoreSample: 200 },
    thresholds: {
      diskWarnPercent: 85,
      diskCritPercent: 95,
      inodeWarnPercent: 85,
      inodeCritPercent: 95,
      memoryAvailWarnPercent: 10,
      memoryAvailCritPercent: 5,
      swapWarnPercent: 50,
      dbLatencyWarnMs: 200,
      dbConnWarnPercent: 80,
      dbConnCritPercent: 95,
      longQuerySeconds: 300,
      idleInTxSeconds: 600,
      endpointLatencyWarnMs: 1000,
      cronGraceSeconds: 600,
      cronStuckSeconds: null,
      mailBacklogSeconds: 3600,
      queueJobPendingSeconds: 3600,
      recycleWindowSeconds: 3600,
      memoryRecyclesPerHour: 12,
      timeRecyclesPerHour: 12,
      registryWindowSeconds: 600,
      registryReloadsMax: 5,
      cacheInvalidationsMax: 30,
    },
    services: defaultServices(null),
    endpoints: [],
    fixes: {
      unattended: ['cron-deprecated-fields', 'restart-service', 'session-cleanup', 'terminate-idle'],
      allowCommands: ['systemctl', 'pg_ctl', 'pg_ctlcluster', 'odoo-bin', 'odoo'],
      commandTimeoutMs: 60_000,
      restart: {},
      moduleUpdate: null,
      sessionMaxAgeDays: 7,
      idleInTxMaxAgeSeconds: 600,
      extraRoots: [],
    },
    escalation: {
      threshold: 3,
      backoffBaseMs: 30_000,
      backoffMaxMs: 15 * MINUTE,
      maxAttempts: 3,
      windowMs: 60 * MINUTE,
      resetAfterMs: 30 * MINUTE,
      ladders: defaultLadders(),
    },
    alerts: { targets: [], cooldownMs: 15 * MINUTE, timeoutMs: 5000, retries: 3 },
    paths: derivePaths(stateDir),
    unclassified: { mode: 'warning', criticalPerMinute: 10, ignore: [] },
    patterns: { localDir: DEFAULT_LOCAL_PATTERNS_DIR },
    fleet: { prometheus: null, job: 'odoo-heal', intervalMs: 15_000, timeoutMs: 5000, prometheusToken: null, hostToken: null },
    http: { enabled: false, listen: '127.0.0.1', port: 9187, token: null, requireTokenForReads: null, allowedHosts: [], maxConnections: 64, idleTimeoutMs: 10_000 },
  };
}

/** backupDir and auditLog live under the state dir unless set explicitly. */
export function derivePaths(
  stateDir: string,
  explicit: { backupDir?: string | undefined; auditLog?: string | undefined } = {},
): Config['paths'] {
  const dir = resolve(stateDir);
  return {
    stateDir: dir,
    backupDir: explicit.backupDir ?? join(dir, 'backups'),
    auditLog: explicit.auditLog ?? join(dir, 'audit.log'),
  };
}
