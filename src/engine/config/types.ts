// odoo-heal's own configuration (YAML file, every field optional) merged with what odoo.conf says.

/** The keys of odoo.conf `[options]` that odoo-heal uses. Secrets are kept but never printed. */
export interface OdooConf {
  /** Path of the odoo.conf this came from, or null when none was found. */
  path: string | null;
  addonsPath: string[];
  dataDir: string | null;
  logfile: string | null;
  dbHost: string | null;
  dbPort: number | null;
  dbUser: string | null;
  dbPassword: string | null;
  dbName: string | null;
  dbMaxconn: number | null;
  httpPort: number;
  geventPort: number;
  workers: number;
  maxCronThreads: number;
  limitMemorySoft: number | null;
  limitMemoryHard: number | null;
  limitTimeCpu: number | null;
  limitTimeReal: number | null;
  /** Seconds a cron job may run in prefork; -1 (Odoo's default) means limit_time_real, 0 no limit. */
  limitTimeRealCron: number;
  proxyMode: boolean;
  adminPasswd: string | null;
  /** Whether the database manager (/web/database) is exposed. */
  listDb: boolean;
  /** Address Odoo's HTTP server binds; null = all interfaces (Odoo's default). */
  httpInterface: string | null;
}

export interface CommandSource {
  /** Label used as the records' source id, e.g. `journald`. */
  name: string;
  /** argv, run without a shell; its stdout (and stderr) are followed. */
  argv: string[];
}

export interface ServiceSpec {
  name: string;
  /** systemd unit name, used when systemd runs. */
  unit: string;
  /** Process names (comm) that mean it runs, when systemd does not. */
  processes: string[];
  /** host:port to try when systemd does not run. */
  tcp: string | null;
}

export interface Endpoint {
  name: string;
  /** `http(s)://...` or `host:port`. */
  target: string;
}

export interface AlertTarget {
  /** `alertmanager`: url is Alertmanager's base URL; alerts go to its API v2 (src/engine/outputs/alerts/alertmanager.ts). */
  kind: 'mattermost' | 'webhook' | 'alertmanager';
  url: string;
  minSeverity: 'info' | 'warning' | 'critical';
  /** Alertmanager only: how often firing alerts are re-sent (default 60 s). */
  resendMs?: number;
  /** Mattermost only. */
  channel?: string;
  username?: string;
  iconUrl?: string;
}

export interface LadderStep {
  /** `wait` does nothing this round; `fix` runs the fix with params; `alert` only alerts. */
  action: 'wait' | 'fix' | 'alert';
  fix?: string;
  params?: Record<string, string>;
}

export interface Config {
  /** File this was loaded from, or null for built-in defaults. */
  path: string | null;
  odoo: {
    /** Explicit odoo.conf path; null = discover. */
    config: string | null;
    /** Base URL of Odoo's HTTP server; null = http://127.0.0.1:<http_port>. */
    url: string | null;
    /** systemd unit of Odoo. */
    unit: string;
    /** User Odoo runs as (permission fixes); null = from the running process, else `odoo`. */
    user: string | null;
  };
  logs: {
    /** Extra log files to follow besides odoo.conf's `logfile`. */
    files: string[];
    /** Command sources; default: journald for the Odoo unit when journalctl and systemd exist. */
    commands: CommandSource[] | null;
    /**
     * PostgreSQL server logs (stderr format or csvlog), read with PostgreSQL's patterns. null: found
     * from the cluster's settings (`log_directory`, Debian's `cluster_name`) when they are readable;
     * []: none.
     */
    postgres: string[] | null;
    /** How much of the end of each file `check` scans. */
    recentBytes: number;
    /** How far back `check` looks, seconds. */
    recentSeconds: number;
  };
  probes: {
    /** Console / --auto refresh, ms. */
    intervalMs: number;
    /** Per-probe time budget, ms. */
    timeoutMs: number;
    /** Scheduled actions, modules, mail and job queues (Odoo's tables): at most this often, ms. */
    odooDbIntervalMs: number;
    /** How often Odoo's /web/health is asked while it passes (each call is a line in Odoo's log), ms. */
    odooHttpIntervalMs: number;
    /** The sampled filestore check: at most this often in the console and --auto, ms. */
    filestoreIntervalMs: number;
    /** Attachments checked per filestore pass. */
    filestoreSample: number;
  };
  thresholds: {
    diskWarnPercent: number;
    diskCritPercent: number;
    inodeWarnPercent: number;
    inodeCritPercent: number;
    memoryAvailWarnPercent: number;
    memoryAvailCritPercent: number;
    swapWarnPercent: number;
    dbLatencyWarnMs: number;
    dbConnWarnPercent: number;
    dbConnCritPercent: number;
    longQuerySeconds: number;
    idleInTxSeconds: number;
    endpointLatencyWarnMs: number;
    /** A cron is overdue when its nextcall is older than its interval plus this. */
    cronGraceSeconds: number;
    /** A cron running longer is stuck; null = limit_time_real_cron (or limit_time_real). */
    cronStuckSeconds: number | null;
    mailBacklogSeconds: number;
    queueJobPendingSeconds: number;
    /** Worker recycles are counted over this window (seconds). */
    recycleWindowSeconds: number;
    /** More memory recycles per hour than this is an incident (a leak or a respawn loop). */
    memoryRecyclesPerHour: number;
    /** More time-limit kills (limit_time_real + limit_time_cpu) per hour than this is an incident. */
    timeRecyclesPerHour: number;
    /** Registry reloads / cache invalidations are counted per process over this window (seconds). */
    registryWindowSeconds: number;
    /** More registry changes signalled in the window is a loop (log-rates.ts says how they are counted). */
    registryReloadsMax: number;
    /** More cache invalidations signalled in the window is a loop. */
    cacheInvalidationsMax: number;
  };
  services: ServiceSpec[];
  endpoints: Endpoint[];
  fixes: {
    /** Fix ids that may run unattended (the pattern must allow it too). */
    unattended: string[];
    /** Executables the command runner may start (basenames or absolute paths). */
    allowCommands: string[];
    commandTimeoutMs: number;
    /** Restart commands per service when systemd does not run, e.g. postgresql: [pg_ctl, ...]. */
    restart: Record<string, string[]>;
    /** Follow-up after the cron XML fix, e.g. [odoo-bin, -c, ..., -u, ${module}, --stop-after-init]. */
    moduleUpdate: string[] | null;
    sessionMaxAgeDays: number;
    idleInTxMaxAgeSeconds: number;
    /** Extra roots where fixes may touch files (addons paths, data dir and log dir are always roots). */
    extraRoots: string[];
  };
  escalation: {
    /** Consecutive matches / failures before acting. */
    threshold: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    /** Circuit breaker: at most this many attempts within windowMs. */
    maxAttempts: number;
    windowMs: number;
    /** Quiet time after which an incident's counters reset. */
    resetAfterMs: number;
    /** Ladders keyed by pattern id or probe incident key (e.g. `probe:database:down`). */
    ladders: Record<string, LadderStep[]>;
  };
  alerts: {
    targets: AlertTarget[];
    cooldownMs: number;
    timeoutMs: number;
    retries: number;
  };
  paths: {
    /** State (escalation, attempts, lock, reports). */
    stateDir: string;
    backupDir: string;
    auditLog: string;
  };
  /** Records no pattern explains (src/engine/unclassified). */
  unclassified: {
    /** `off`: none; `warning`: at most WARNING, CRITICAL above criticalPerMinute; `critical`: always CRITICAL. */
    mode: 'off' | 'warning' | 'critical';
    criticalPerMinute: number;
    /** Signatures, incident ids, or `/regex/` (tested against the signature and the title). */
    ignore: string[];
  };
  patterns: {
    /** Local patterns stacked over the bundled ones (same id: the local one wins); null = none. */
    localDir: string | null;
  };
  /** `odoo-heal fleet` (flags and ODOO_HEAL_* environment variables take precedence). */
  fleet: {
    /** Prometheus's base URL; null = give it with --prometheus or ODOO_HEAL_PROMETHEUS. */
    prometheus: string | null;
    /** The scrape job of the odoo-heal instances. */
    job: string;
    /** How often the console reads Prometheus. */
    intervalMs: number;
    /** Per request to Prometheus or a host. */
    timeoutMs: number;
    /** Bearer token for Prometheus itself (behind an auth proxy); null = none. */
    prometheusToken: string | null;
    /** The hosts' http.token, to read full incident titles from their /incidents; null = from Prometheus only. */
    hostToken: string | null;
  };
  http: {
    enabled: boolean;
    listen: string;
    port: number;
    token: string | null;
    /** GET /incidents and /metrics need the bearer token too (/health never does); null = on when a token is set. */
    requireTokenForReads: boolean | null;
    /** Host header values accepted besides the listen address itself (DNS-rebinding defence). */
    allowedHosts: string[];
    /** Open connections at most; more are closed at once (half-open socket floods). */
    maxConnections: number;
    /** A connection with no request in progress and no byte received for this long is closed. */
    idleTimeoutMs: number;
  };
}
