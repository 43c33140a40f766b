// The odoo.conf audit: settings that are legal but break Odoo under load or at the next restart.
// Pure rules over the parsed odoo.conf and a few facts read from the host and PostgreSQL, so each
// rule is unit-tested with real conf files. Every finding names the odoo.conf line to change.
import type { OdooConf } from '../config/types.js';
import type { CronJob, UnfinishedCron } from '../probes/odoo-db/cron.js';
import { locationFor, proxyPorts, type NginxConfig, type NginxLocation, type NginxSite } from './nginx.js';
import type { PathAccess, WritablePaths } from './writable.js';

export type AuditSeverity = 'error' | 'warning';

export interface AuditFinding {
  key: string;
  /** `error`: Odoo will not work after a restart with this (a restart is refused). */
  severity: AuditSeverity;
  /** The odoo.conf key to change. */
  option: string;
  /** 1-based line of that key in odoo.conf, null when it is not set there (Odoo's default applies). */
  line: number | null;
  title: string;
  why: string;
  /** What to write instead, e.g. `db_maxconn = 24`. */
  suggest: string;
}

export interface AuditFacts {
  /** PostgreSQL's connection limits and what other databases use now; null when unreachable. */
  pg: { maxConnections: number; reserved: number; otherDatabasesUse: number } | null;
  ramBytes: number | null;
  /** Smallest virtual size of a running HTTP/cron worker (a fresh worker's size), null if none. */
  workerVmsBytes: number | null;
  /** Whether something listens on gevent_port; null when unknown. */
  geventListening: boolean | null;
  /** Whether an nginx process runs on this host. */
  nginxRunning: boolean;
  /** data_dir, sessions, filestores and the logfile as Odoo's user can write them; null when that user is unknown. */
  writable: WritablePaths | null;
  /**
   * Read only when cron workers get limit_time_real (prefork, limit_time_real_cron unset or -1):
   * crons whose latest run was killed, and crons running now past half of limit_time_real.
   */
  longCrons: { unfinished: UnfinishedCron[]; running: CronJob[] } | null;
  /** nginx's site files (sites-enabled, conf.d), null when there are none to read. */
  nginx: NginxConfig | null;
  /** Odoo's major version from its release.py, null when unknown. */
  odooMajor: number | null;
}

/** Odoo's cron workers wake every SLEEP_INTERVAL (60 s) + pid % 10 (odoo/service/server.py). */
export const CRON_POLL_SECONDS = 70;

/** Line numbers of the keys of odoo.conf's [options] section. */
export function optionLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let inOptions = false;
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(t);
    if (header) {
      inOptions = header[1]!.trim() === 'options';
      return;
    }
    const m = /^([^=:#;\s][^=:]*?)\s*[=:]/.exec(t);
    if (inOptions && m && !/^\s/.test(raw)) lines.set(m[1]!.toLowerCase(), i + 1);
  });
  return lines;
}

const mib = (n: number): string => `${Math.round(n / 1024 / 1024)} MiB`;

function isLoopback(iface: string | null): boolean {
  if (iface === null) return false;
  return iface === 'localhost' || iface === '::1' || /^127\./.test(iface);
}

export function auditOdooConf(odoo: OdooConf, lines: Map<string, number>, facts: AuditFacts): AuditFinding[] {
  const out: AuditFinding[] = [];
  const at = (option: string) => lines.get(option) ?? null;
  const prefork = odoo.workers > 0;

  // Connections: every Odoo process has its own pool of db_maxconn connections.
  if (facts.pg && odoo.dbMaxconn) {
    const processes = prefork ? 1 + odoo.workers + odoo.maxCronThreads : 1;
    const need = processes * odoo.dbMaxconn;
    const available = facts.pg.maxConnections - facts.pg.reserved - facts.pg.otherDatabasesUse;
    if (need > available) {
      const fit = Math.max(1, Math.floor(available / processes));
      out.push({
        key: 'connections',
        severity: 'warning',
        option: 'db_maxconn',
        line: at('db_maxconn'),
        title: `db_maxconn = ${odoo.dbMaxconn} lets Odoo open ${need} connections; PostgreSQL has ${available} for it`,
        why:
          `${prefork ? `(1 + workers ${odoo.workers} + max_cron_threads ${odoo.maxCronThreads})` : 'one process'} × db_maxconn ${odoo.dbMaxconn} = ${need}, ` +
          `against max_connections ${facts.pg.maxConnections} − ${facts.pg.reserved} reserved for superusers − ${facts.pg.otherDatabasesUse} used by other databases = ${available}. ` +
          'Under load Odoo fails with "The Connection Pool Is Full" or "remaining connection slots are reserved".',
        suggest: `db_maxconn = ${fit}`,
      });
    }
  }

  // Memory limits are on virtual size.
  if (prefork && odoo.limitMemoryHard && facts.ramBytes) {
    const total = odoo.limitMemoryHard * (odoo.workers + odoo.maxCronThreads);
    if (total > facts.ramBytes) {
      out.push({
        key: 'memory-hard-total',
        severity: 'warning',
        option: 'limit_memory_hard',
        line: at('limit_memory_hard'),
        title: `limit_memory_hard × ${odoo.workers + odoo.maxCronThreads} workers = ${mib(total)}, more than the ${mib(facts.ramBytes)} of RAM`,
        why: 'Every worker may grow to limit_memory_hard before Odoo stops it: together they can exhaust RAM and the kernel OOM killer ends processes at random (PostgreSQL included).',
        suggest: `limit_memory_hard = ${Math.floor(facts.ramBytes / (odoo.workers + odoo.maxCronThreads))}`,
      });
    }
  }
  if (prefork && facts.workerVmsBytes) {
    if (odoo.limitMemorySoft && odoo.limitMemorySoft <= facts.workerVmsBytes) {
      out.push({
        key: 'memory-soft-below-worker',
        severity: 'error',
        option: 'limit_memory_soft',
        line: at('limit_memory_soft'),
        title: `limit_memory_soft (${mib(odoo.limitMemorySoft)}) is below a fresh worker's virtual size (${mib(facts.workerVmsBytes)})`,
        why: 'Odoo compares virtual memory (not RSS) with limit_memory_soft after each request and recycles the worker: every worker is recycled after every request, a respawn loop that serves almost nothing.',
        suggest: `limit_memory_soft = ${Math.ceil((facts.workerVmsBytes * 2) / 1024 / 1024) * 1024 * 1024}`,
      });
    }
    if (odoo.limitMemoryHard && odoo.limitMemoryHard <= facts.workerVmsBytes) {
      out.push({
        key: 'memory-hard-below-worker',
        severity: 'error',
        option: 'limit_memory_hard',
        line: at('limit_memory_hard'),
        title: `limit_memory_hard (${mib(odoo.limitMemoryHard)}) is below a fresh worker's virtual size (${mib(facts.workerVmsBytes)})`,
        why: 'limit_memory_hard is set as the worker\'s RLIMIT_AS: a worker that already uses more cannot allocate anything and dies with MemoryError.',
        suggest: `limit_memory_hard = ${Math.ceil((facts.workerVmsBytes * 3) / 1024 / 1024) * 1024 * 1024}`,
      });
    }
  }

  // Time limits.
  if (prefork && odoo.limitTimeReal !== null && odoo.limitTimeCpu !== null && odoo.limitTimeReal < odoo.limitTimeCpu) {
    out.push({
      key: 'time-real-below-cpu',
      severity: 'warning',
      option: 'limit_time_real',
      line: at('limit_time_real'),
      title: `limit_time_real (${odoo.limitTimeReal} s) is lower than limit_time_cpu (${odoo.limitTimeCpu} s)`,
      why: 'Wall-clock time is always at least CPU time, so limit_time_cpu never applies: limit_time_real kills the request first.',
      suggest: `limit_time_real = ${odoo.limitTimeCpu * 2}`,
    });
  }
  if (prefork && odoo.maxCronThreads > 0 && odoo.limitTimeRealCron < 0 && odoo.limitTimeReal !== null && odoo.limitTimeReal < CRON_POLL_SECONDS) {
    out.push({
      key: 'time-real-below-cron-poll',
      severity: 'warning',
      option: 'limit_time_real',
      line: at('limit_time_real'),
      title: `limit_time_real (${odoo.limitTimeReal} s) is below the cron workers' poll interval (60-70 s) and limit_time_real_cron is unset`,
      why: 'Cron workers then get limit_time_real as their timeout and sleep up to 70 s between polls: the master kills idle cron workers ("WorkerCron ... timeout after N s") in a loop.',
      suggest: `limit_time_real_cron = 600`,
    });
  }

  // limit_time_real_cron unset while crons outgrow limit_time_real (the cron workers' timeout then).
  const long = facts.longCrons;
  if (prefork && odoo.limitTimeRealCron === -1 && long && long.unfinished.length + long.running.length > 0) {
    const limit = odoo.limitTimeReal ?? 120;
    const named = (j: { name: string; id: number; database: string }) => `"${j.name}" (id ${j.id}, ${j.database})`;
    const reasons = [
      ...long.unfinished.map((j) => `${named(j)}: its last ${j.unfinishedRuns > 1 ? `${j.unfinishedRuns} runs` : 'run'} did not finish (ir_cron_progress.timed_out_counter ${j.unfinishedRuns})`),
      ...long.running.map((j) => `${named(j)}: running for ${Math.round(j.running?.seconds ?? 0)} s of the ${limit} s it is allowed`),
    ];
    const count = long.unfinished.length + long.running.length;
    out.push({
      key: 'cron-time-limit',
      severity: 'warning',
      option: 'limit_time_real_cron',
      line: at('limit_time_real_cron'),
      title: `limit_time_real_cron is ${at('limit_time_real_cron') === null ? 'unset' : '-1'}, so cron workers get limit_time_real (${limit} s), and ${count === 1 ? '1 cron outgrows' : `${count} crons outgrow`} it`,
      why:
        `${reasons.slice(0, 5).join('; ')}${reasons.length > 5 ? `; and ${reasons.length - 5} more` : ''}. ` +
        `The master kills a cron worker past its timeout ("WorkerCron (pid) timeout after ${limit}s", which does not name the job); the job's work rolls back, it runs again from the start, and after 3 such runs in a row Odoo counts it failed ("Job '...' (id) timed out") and in the end deactivates it. ` +
        'A killed run is read from ir_cron_progress (Odoo 17.3+); a first-ever run that was killed leaves no trace there.',
      suggest: `limit_time_real_cron = ${Math.max(600, limit * 5)}  (seconds a cron may run; 0 = no limit, then a hung cron is never stopped)`,
    });
  }

  // gevent and the proxy.
  if (prefork && facts.geventListening === false) {
    out.push({
      key: 'gevent-not-listening',
      severity: 'warning',
      option: 'gevent_port',
      line: at('gevent_port'),
      title: `workers = ${odoo.workers} but nothing listens on gevent_port ${odoo.geventPort}`,
      why: "In prefork the websocket (bus: chat, notifications) is served by the gevent process on gevent_port; without it the web client keeps reconnecting and logs \"Couldn't bind the websocket\".",
      suggest: `gevent_port = ${odoo.geventPort}  (free it, or proxy /websocket to the port gevent really uses)`,
    });
  }
  if (prefork && facts.nginx) {
    const f = websocketFinding(odoo, facts.nginx, facts.odooMajor, at('gevent_port'));
    if (f) out.push(f);
  }
  if (facts.nginxRunning && !odoo.proxyMode) {
    out.push({
      key: 'proxy-mode-off',
      severity: 'warning',
      option: 'proxy_mode',
      line: at('proxy_mode'),
      title: 'nginx runs on this host but proxy_mode is off',
      why: 'Behind a reverse proxy Odoo needs proxy_mode to trust X-Forwarded-For/-Proto: without it every request comes from 127.0.0.1 (login rate limits, logs) and redirects use http instead of https.',
      suggest: 'proxy_mode = True',
    });
  }

  // Writable paths, one finding per odoo.conf key.
  if (facts.writable) out.push(...writableFindings(facts.writable, at));

  // Security: the database manager on a server reachable from outside.
  const exposed = !isLoopback(odoo.httpInterface);
  const pw = odoo.adminPasswd;
  const weak = pw === null ? 'unset' : pw === 'admin' ? "'admin'" : !pw.startsWith('$pbkdf2-') ? 'in plain text' : null;
  if (odoo.listDb && exposed && weak !== null) {
    out.push({
      key: 'database-manager-exposed',
      severity: 'warning',
      option: pw === null || pw === 'admin' ? 'admin_passwd' : 'list_db',
      line: at(pw === null || pw === 'admin' ? 'admin_passwd' : 'list_db'),
      title: `The database manager is reachable (list_db on, http_interface ${odoo.httpInterface ?? 'all interfaces'}) and admin_passwd is ${weak}`,
      why: 'The master password guards /web/database (backup, drop, restore of every database). Unset or "admin" lets anyone who reaches the port drop the databases; in plain text it is readable by whoever reads odoo.conf.',
      suggest: 'list_db = False  (and set admin_passwd from the database manager so Odoo stores it hashed)',
    });
  }
  return out;
}

const PATH_EFFECT: Record<PathAccess['option'], string> = {
  data_dir:
    'Odoo writes attachments to filestore/<db>, sessions to sessions/ (it asserts that directory is writable on the first request: every request fails) and creates the data dir when missing; ' +
    'a write refused in an existing filestore directory is logged at INFO only, so uploads vanish silently.',
  logfile:
    'At start Odoo opens the logfile for appending (creating its directory when missing); when it cannot, it writes "ERROR: couldn\'t create the logfile directory. Logging to the standard output." ' +
    'to stderr and logs to stdout from then on: the logfile (and whatever follows it, odoo-heal included) sees nothing more.',
};

function writableFindings(w: WritablePaths, at: (option: string) => number | null): AuditFinding[] {
  const who = `${w.user.name ?? `uid ${w.user.uid}`} (uid ${w.user.uid}, from ${w.user.source})`;
  const out: AuditFinding[] = [];
  for (const option of ['data_dir', 'logfile'] as const) {
    const bad = w.paths.filter((p) => p.option === option && !p.writable);
    if (bad.length === 0) continue;
    const first = bad[0]!;
    const what = (p: PathAccess) => (p.tested === p.path ? p.path : `${p.tested} (where Odoo would create ${p.path})`);
    out.push({
      key: option === 'data_dir' ? 'data-dir-not-writable' : 'logfile-not-writable',
      severity: 'warning',
      option,
      line: at(option),
      title: `Odoo's user ${w.user.name ?? `uid ${w.user.uid}`} cannot write ${what(first)}, owned ${first.owner}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}`,
      why: `${bad.map((p) => `${what(p)} is ${p.owner}: ${p.how === 'write test' ? `a write test as ${who} failed` : `by its mode bits ${who} may not write it`}`).join('; ')}. ${PATH_EFFECT[option]}`,
      suggest:
        option === 'data_dir'
          ? `data_dir = a directory ${w.user.name ?? w.user.uid} owns  (or give ${first.tested} back to it: chown -R ${w.user.name ?? w.user.uid}: ${first.tested})`
          : `logfile = a file in a directory ${w.user.name ?? w.user.uid} may write  (or chown ${w.user.name ?? w.user.uid}: ${first.tested})`,
    });
  }
  return out;
}

/**
 * nginx sites that send Odoo's HTTP port traffic but route the websocket elsewhere than gevent_port.
 * Odoo 16+ serves `/websocket`, older ones `/longpolling`; with the version unknown either will do.
 */
function websocketFinding(odoo: OdooConf, nginx: NginxConfig, major: number | null, line: number | null): AuditFinding | null {
  const routes = major === null ? ['/websocket', '/longpolling'] : major >= 16 ? ['/websocket'] : ['/longpolling'];
  const reaches = (l: NginxLocation | null) => (l?.proxyPass ? proxyPorts(l.proxyPass, nginx.upstreams) : []);
  const bad: Array<{ site: NginxSite; route: string; loc: NginxLocation | null }> = [];
  for (const site of nginx.sites) {
    if (!site.locations.some((l) => reaches(l)?.includes(odoo.httpPort))) continue; // not Odoo's site
    const judged = routes.map((route) => ({ route, loc: locationFor(site, route) }));
    // A target nginx resolves at run time (variables) is not judged.
    const fine = judged.some(({ loc }) => {
      const ports = reaches(loc);
      return ports === null || ports.includes(odoo.geventPort);
    });
    if (!fine) bad.push({ site, ...judged[0]! });
  }
  if (bad.length === 0) return null;
  const where = (b: (typeof bad)[number]) =>
    b.loc
      ? `${b.site.file} line ${b.loc.line}: ${b.route} falls to \`location ${b.loc.modifier ? `${b.loc.modifier} ` : ''}${b.loc.path}\`${b.loc.proxyPass ? ` (proxy_pass ${b.loc.proxyPass})` : ', which does not proxy'}`
      : `${b.site.file} line ${b.site.line}: no location of this server handles ${b.route}`;
  const route = bad[0]!.route;
  return {
    key: 'websocket-not-proxied',
    severity: 'warning',
    option: 'gevent_port',
    line,
    title: `${where(bad[0]!)}, not gevent_port ${odoo.geventPort}${bad.length > 1 ? ` (and ${bad.length - 1} more site(s))` : ''}`,
    why:
      `${bad.map(where).join('; ')}. With workers = ${odoo.workers} only the gevent process on gevent_port serves ${route}${major === null ? ' (or /longpolling before Odoo 16; the version is unknown)' : ''}; ` +
      `the HTTP workers answer it with "Couldn't bind the websocket. Is the connection opened on the evented port (${odoo.geventPort})?" and the web client keeps reconnecting: no chat, no notifications, no live updates.`,
    suggest: `in ${bad[0]!.site.file}: location ${route} { proxy_pass http://127.0.0.1:${odoo.geventPort}; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade; }  (gevent_port = ${odoo.geventPort} stays)`,
  };
}
