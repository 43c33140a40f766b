// The deployment as a dependency graph, and which part of it an incident says is broken.
// Monit's DEPENDS ON and Alertmanager's inhibition in one small table: when PostgreSQL is down,
// Odoo's HTTP workers, its cron and every health check fail too, and those failures are symptoms.
import type { Incident, ProbeName } from '../core/types.js';
import { CONNECTION_LOST, CRON_FOLLOW_UP_KEY } from './follow-ups.js';

/**
 * A part of the deployment that can fail. `disk:<mount point>` is one per file system.
 * `odoo` is Odoo's process being there at all; `odoo-http`, `odoo-cron`, `odoo-workers` are what it
 * serves; `url` is the outside URL (the configured endpoints) in front of nginx and Odoo.
 */
export type Component =
  | 'postgresql'
  | 'odoo'
  | 'odoo-http'
  | 'odoo-cron'
  | 'odoo-workers'
  | 'odoo-files'
  | 'nginx'
  | 'url'
  | `disk:${string}`
  | `service:${string}`;

/** What each part needs in order to work, most fundamental first (a root is searched in this order). */
const DEPENDS_ON: Partial<Record<Component, readonly Component[]>> = {
  'odoo-http': ['postgresql', 'odoo'],
  'odoo-cron': ['postgresql', 'odoo'],
  'odoo-workers': ['postgresql', 'odoo'],
  url: ['nginx', 'odoo-http'],
};

/** Odoo's parts write to its data dir and log file: they also depend on the disks holding those. */
const ODOO_PARTS: ReadonlySet<Component> = new Set(['odoo', 'odoo-http', 'odoo-cron', 'odoo-workers', 'odoo-files']);

export interface Deployment {
  /** Mount points of the file systems the disk probe watches (longest prefix wins). */
  mounts: readonly string[];
  /** Paths Odoo writes to: data_dir, the log file's directory. */
  odooWrites: readonly string[];
  /** PostgreSQL's data directory when known (the database probe's `data_directory`): a full disk there stops it. */
  postgresData?: string | null;
}

export const NO_DEPLOYMENT: Deployment = { mounts: [], odooWrites: [] };

/** The mount point holding `path` (longest matching prefix), or null. */
export function mountOf(path: string, mounts: readonly string[]): string | null {
  let best: string | null = null;
  for (const m of mounts) {
    const prefix = m.endsWith('/') ? m : `${m}/`;
    if ((path === m || path.startsWith(prefix) || m === '/') && (best === null || m.length > best.length)) best = m;
  }
  return best;
}

/** What `component` depends on in this deployment, most fundamental first. */
export function dependenciesOf(component: Component, deployment: Deployment): Component[] {
  const deps: Component[] = [...(DEPENDS_ON[component] ?? [])];
  if (ODOO_PARTS.has(component)) {
    for (const p of deployment.odooWrites) {
      const m = mountOf(p, deployment.mounts);
      if (m !== null && !deps.includes(`disk:${m}`)) deps.unshift(`disk:${m}`);
    }
  }
  // PostgreSQL writes its WAL and tables in its data directory: with that disk full it stops (or
  // PANICs), and everything that needs PostgreSQL follows. The disk is the root then.
  if (component === 'postgresql' && deployment.postgresData) {
    const m = mountOf(deployment.postgresData, deployment.mounts);
    if (m !== null) deps.unshift(`disk:${m}`);
  }
  return deps;
}

/**
 * Which part an incident says is broken, and how directly it knows: rank 0 is a probe of that part
 * itself (our own connection to PostgreSQL), higher ranks are second-hand (the service manager,
 * Odoo's log, Odoo's health answer). Within one part the most direct incident is the root.
 * `writes`: a path the failed operation wrote to (its disk is then a cause too); '' when the record
 * says the disk is full without naming a path.
 */
export interface Classification {
  component: Component;
  rank: number;
  writes: string | null;
}

const DATABASE_FAILURES = new Set(['down', 'not_ready', 'timeout', 'unreachable', 'slots', 'auth', 'no_database']);

/** Pattern id → the part its records show failing. */
const PATTERN_PARTS: Record<string, { component: Component; rank: number }> = {
  'db-unreachable': { component: 'postgresql', rank: 2 },
  'db-too-many-connections': { component: 'postgresql', rank: 2 },
  // "Connection to the database failed" says neither why nor where: down or out of slots.
  'db-connection-failed': { component: 'postgresql', rank: 3 },
  // PostgreSQL's own log: refusing new sessions while it shuts down or starts, or out of slots.
  'pg-not-accepting': { component: 'postgresql', rank: 2 },
  'pg-too-many-clients': { component: 'postgresql', rank: 2 },
  // The stderr traceback; the engine's own follow-up (engine:cron-threads-dead) ranks first.
  'cron-thread-crashed': { component: 'odoo-cron', rank: 1 },
  'cron-exception': { component: 'odoo-cron', rank: 2 },
};

// Any record (an unclassified one included) whose exception is a failed database connection is
// PostgreSQL's failure seen from Odoo. Connection-level errors only: a SQL error is the addon's.
const DB_CONNECTION_FAILURE =
  /psycopg2\.(?:OperationalError|InterfaceError): (?:connection to server|could not connect|server closed the connection|connection already closed|FATAL: {1,2}(?:the database system|remaining connection slots|sorry, too many clients))|RegistryError: Cannot get registry|Connection to the database failed/;
const DISK_FULL = /\[Errno 28\]|No space left on device/;

/** A log incident: a known pattern's part, else what its record's exception says (unclassified too). */
function recordClass(incident: Incident): Classification | null {
  if (incident.origin.kind !== 'pattern' && incident.origin.kind !== 'unclassified') return null;
  const path = incident.origin.kind === 'pattern' ? incident.origin.captures.path || null : null;
  const known = incident.origin.kind === 'pattern' ? PATTERN_PARTS[incident.origin.patternId] : undefined;
  if (known) return { ...known, writes: null };
  const sample = incident.sample;
  const text = sample ? `${sample.message}\n${sample.exception ?? ''}` : incident.detail;
  if (DB_CONNECTION_FAILURE.test(text)) return { component: 'postgresql', rank: 3, writes: null };
  // A write that failed for want of space is the disk's failure; which disk is known only from a path.
  if (DISK_FULL.test(text)) return { component: 'odoo-files', rank: 0, writes: path ?? '' };
  if (path && incident.category === 'disk') return { component: 'odoo-files', rank: 0, writes: path };
  return null;
}

function probeClass(incident: Incident): Classification | null {
  if (incident.origin.kind !== 'probe') return null;
  const { probe, key } = incident.origin;
  const at = (component: Component, rank: number): Classification => ({ component, rank, writes: null });
  switch (probe) {
    case 'database':
      return DATABASE_FAILURES.has(key) ? at('postgresql', 0) : null;
    case 'services': {
      const name = key.replace(/^service:/, '');
      if (/postgres/i.test(name)) return at('postgresql', 1);
      if (/nginx/i.test(name)) return at('nginx', 0);
      return at(`service:${name}`, 0);
    }
    case 'odoo_http':
      if (key === 'db-unreachable') return at('postgresql', 4);
      if (key === 'down' || key === 'http-error') return at('odoo-http', key === 'down' ? 0 : 1);
      return null;
    case 'process':
      if (key === 'down') return at('odoo', 0);
      if (key === 'workers' || key === 'cron-workers' || key === 'gevent') return at('odoo-workers', 0);
      return null;
    case 'disk': {
      const m = /^(?:disk|inodes):(.+)$/.exec(key);
      return m ? at(`disk:${m[1]}`, key.startsWith('disk:') ? 0 : 1) : null;
    }
    case 'network':
      return key.startsWith('endpoint:') ? at('url', 0) : null;
    default:
      return null;
  }
}

/** Incidents odoo-heal raises itself: the cron follow-up belongs to Odoo's cron. */
function engineClass(incident: Incident): Classification | null {
  if (incident.origin.kind !== 'engine') return null;
  return incident.origin.key === CRON_FOLLOW_UP_KEY ? { component: 'odoo-cron', rank: 0, writes: null } : null;
}

/** The part an incident is about, or null when it stands alone (a module error, a memory warning). */
export function classify(incident: Incident): Classification | null {
  return probeClass(incident) ?? recordClass(incident) ?? engineClass(incident);
}

/**
 * The incident key of a probe's finding: findings that are one problem in different words share one
 * incident. PostgreSQL "shutting down", then "refusing connections", then "starting up" is one
 * outage (one alert, one resolve), not three roots one after another; the incident shows the latest.
 */
export function foldedKey(probe: ProbeName, key: string): string {
  return probe === 'database' && CONNECTION_LOST.has(key) ? 'down' : key;
}

/** The probe that looks at a part itself, when one does (Odoo's cron and workers have none of their own). */
function probeOf(component: Component): ProbeName | null {
  if (component === 'postgresql') return 'database';
  if (component === 'odoo') return 'process';
  if (component === 'nginx' || component.startsWith('service:')) return 'services';
  if (component.startsWith('disk:')) return 'disk';
  return null;
}

/**
 * The probes that can check what a log record blames: the part it names and the parts that part
 * depends on (a dead cron thread may be PostgreSQL's doing), and the disk when it names a failed
 * write. Empty when no probe can tell (a module error).
 */
export function checkingProbes(c: Classification, deployment: Deployment): ProbeName[] {
  const parts: Component[] = [c.component, ...dependenciesOf(c.component, deployment)];
  const out = new Set<ProbeName>();
  for (const part of parts) {
    const p = probeOf(part);
    if (p) out.add(p);
  }
  if (c.writes !== null) out.add('disk');
  return [...out];
}
