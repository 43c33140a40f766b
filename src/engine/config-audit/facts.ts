// The facts the odoo.conf audit weighs settings against: PostgreSQL's connection limits, RAM, a
// running worker's virtual size, whether gevent listens, whether nginx runs and what its sites route,
// what Odoo's user may write, which crons outgrow limit_time_real. Each is optional: a fact that
// cannot be read drops the rules that need it, never the audit.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config, OdooConf } from '../config/types.js';
import { withPgClient } from '../probes/pg-connect.js';
import { readCrons, readUnfinishedCrons, type CronJob, type UnfinishedCron } from '../probes/odoo-db/cron.js';
import { servedDatabases } from '../probes/odoo-db/databases.js';
import { buildTree, scanOdooProcesses } from '../probes/process.js';
import type { AuditFacts } from './rules.js';
import { parseNginx, readNginxSites } from './nginx.js';
import { writablePaths } from './writable.js';

async function pgLimits(odoo: OdooConf, budgetMs: number): Promise<AuditFacts['pg']> {
  try {
    return await withPgClient(odoo, { budgetMs, applicationName: 'odoo-heal config audit' }, async (c) => {
      const r = await c.query<{ max: number; reserved: number; other: number }>(`
        select current_setting('max_connections')::int as max,
               current_setting('superuser_reserved_connections')::int
                 + coalesce((select setting::int from pg_settings where name = 'reserved_connections'), 0) as reserved,
               (select count(*) from pg_stat_activity
                 where backend_type = 'client backend' and usename is distinct from current_user)::int as other`);
      const row = r.rows[0]!;
      return { maxConnections: row.max, reserved: row.reserved, otherDatabasesUse: row.other };
    });
  } catch {
    return null;
  }
}

/**
 * Crons that outgrow limit_time_real, when cron workers get it (prefork, limit_time_real_cron unset
 * or -1): those whose latest run was killed, and those running now for more than half of it.
 */
async function longCrons(config: Config, odoo: OdooConf, limit: number): Promise<AuditFacts['longCrons']> {
  const budgetMs = config.probes.timeoutMs;
  const applicationName = 'odoo-heal config audit';
  try {
    const served = await withPgClient(odoo, { budgetMs, applicationName }, (c) => servedDatabases(odoo, c));
    const unfinished: UnfinishedCron[] = [];
    const running: CronJob[] = [];
    for (const db of served.names) {
      await withPgClient({ ...odoo, dbName: db }, { budgetMs, applicationName }, async (c) => {
        const crons = await readCrons(c, db, { graceSeconds: config.thresholds.cronGraceSeconds, stuckSeconds: limit / 2 });
        if (!crons) return;
        running.push(...crons.stuck);
        unfinished.push(...(await readUnfinishedCrons(c, db)));
      }).catch(() => undefined); // one unreadable database drops its crons, not the audit
    }
    return { unfinished, running };
  } catch {
    return null;
  }
}

/** Odoo's major version from the release.py beside its addons path (`<src>/odoo/addons`, `<src>/addons`). */
export async function odooMajor(odoo: OdooConf): Promise<number | null> {
  const candidates = odoo.addonsPath.flatMap((p) => [join(dirname(p), 'release.py'), join(dirname(p), 'odoo', 'release.py')]);
  for (const file of [...candidates, '/usr/lib/python3/dist-packages/odoo/release.py']) {
    const m = /^version_info\s*=\s*\(\s*(?:'saas~)?(\d+)/m.exec(await readFile(file, 'utf8').catch(() => ''));
    if (m) return Number(m[1]);
  }
  return null;
}

async function memTotal(): Promise<number | null> {
  try {
    const m = /^MemTotal:\s+(\d+)\s+kB/m.exec(await readFile('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Whether a TCP socket listens on `port` (any address), from /proc/net/tcp and tcp6. */
export async function listening(port: number): Promise<boolean | null> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let read = false;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      const text = await readFile(f, 'utf8');
      read = true;
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[3] === '0A' && cols[1]?.endsWith(hex)) return true;
      }
    } catch {
      /* not there (no IPv6) */
    }
  }
  return read ? false : null;
}

export async function gatherAuditFacts(config: Config, odoo: OdooConf): Promise<AuditFacts> {
  const scanned = scanOdooProcesses()
    .then((scan) => ({ scan, tree: buildTree(scan, { odoo }) }))
    .catch(() => ({ scan: null, tree: null }));
  const cronLimit = odoo.workers > 0 && odoo.maxCronThreads > 0 && odoo.limitTimeRealCron === -1 ? (odoo.limitTimeReal ?? 120) : null;
  const [pg, ramBytes, { scan, tree }, gevent, writable, crons, nginxFiles, major] = await Promise.all([
    pgLimits(odoo, config.probes.timeoutMs),
    memTotal(),
    scanned,
    odoo.workers > 0 ? listening(odoo.geventPort) : Promise.resolve(null),
    // Odoo's user is the one this odoo.conf's Odoo runs as, not another instance's on the same host.
    scanned.then(({ tree }) => writablePaths(config, odoo, tree?.main.pid ?? null)).catch(() => null),
    cronLimit !== null && cronLimit > 0 ? longCrons(config, odoo, cronLimit) : Promise.resolve(null),
    odoo.workers > 0 ? readNginxSites() : Promise.resolve([]),
    odooMajor(odoo),
  ]);
  const sizes = tree ? tree.children.filter((c) => c.role !== 'gevent').map((c) => c.proc.stat.vsizeBytes) : [];
  const nginxRunning = scan ? [...scan.processes.values()].some((p) => p.comm === 'nginx') : false;
  // Only a running Odoo says whether gevent is missing; a stopped one has nothing to listen.
  return { pg, ramBytes, workerVmsBytes: sizes.length ? Math.min(...sizes) : null, geventListening: tree ? gevent : null, nginxRunning, writable, longCrons: crons, nginx: nginxFiles.length ? parseNginx(nginxFiles) : null, odooMajor: major };
}
