// The fleet as Prometheus sees it: one row per odoo-heal instance of a scrape job, from the
// metrics every instance exposes (/metrics) and Prometheus's own `up`. No aggregation of ours:
// every figure is a PromQL query over what Prometheus stored.
import type { Severity } from '../core/types.js';
import { instantQuery, type PromOptions, type Sample } from './prometheus-api.js';

export type HostHealth = 'ok' | 'warning' | 'critical' | 'unknown' | 'down';

/** Worst first. A host Prometheus cannot scrape is as bad as a critical one: nothing watches it. */
const HEALTH_RANK: Record<HostHealth, number> = { down: 0, critical: 1, warning: 2, unknown: 3, ok: 4 };

export interface FleetHost {
  instance: string;
  job: string;
  health: HostHealth;
  open: Record<Severity, number>;
  lastFix: { fix: string; outcome: string; at: number } | null;
  /** Seconds since Prometheus last scraped it. */
  scrapeAgeS: number | null;
  version: string | null;
  odooVersion: string | null;
  odooMode: string | null;
}

export interface FleetSnapshot {
  prometheus: string;
  job: string;
  readAt: number;
  hosts: FleetHost[];
}

export interface HostIncidentRow {
  rule: string;
  kind: string;
  severity: Severity;
  count: number;
}

/** A label value inside a PromQL string literal. */
export function promString(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

const key = (s: Sample): string => `${s.metric['job'] ?? ''}\u0000${s.metric['instance'] ?? ''}`;

export async function readFleet(prometheus: string, job: string, opts: PromOptions = {}, now = Date.now()): Promise<FleetSnapshot> {
  const sel = `job=${promString(job)}`;
  const [up, scrapeAge, health, open, build, lastFix] = await Promise.all([
    instantQuery(prometheus, `up{${sel}}`, opts),
    instantQuery(prometheus, `time() - timestamp(up{${sel}})`, opts),
    instantQuery(prometheus, `odoo_heal_health_status{${sel}} == 1`, opts),
    instantQuery(prometheus, `sum by (job, instance, severity) (odoo_heal_open_incidents{${sel}})`, opts),
    instantQuery(prometheus, `odoo_heal_build_info{${sel}}`, opts),
    instantQuery(prometheus, `topk by (job, instance) (1, odoo_heal_last_fix_timestamp_seconds{${sel}})`, opts),
  ]);
  const hosts = new Map<string, FleetHost>();
  for (const s of up) {
    hosts.set(key(s), {
      instance: s.metric['instance'] ?? '?',
      job: s.metric['job'] ?? job,
      health: s.value === 1 ? 'unknown' : 'down',
      open: { critical: 0, warning: 0, info: 0 },
      lastFix: null,
      scrapeAgeS: null,
      version: null,
      odooVersion: null,
      odooMode: null,
    });
  }
  const each = (samples: Sample[], f: (h: FleetHost, s: Sample) => void) => {
    for (const s of samples) {
      const h = hosts.get(key(s));
      if (h) f(h, s);
    }
  };
  each(scrapeAge, (h, s) => (h.scrapeAgeS = Math.max(0, Math.round(s.value))));
  // A host that is down keeps `down`, whatever its last scraped status said.
  each(health, (h, s) => {
    const st = s.metric['status'];
    if (h.health !== 'down' && (st === 'ok' || st === 'warning' || st === 'critical' || st === 'unknown')) h.health = st;
  });
  each(open, (h, s) => {
    const sev = s.metric['severity'];
    if (sev === 'critical' || sev === 'warning' || sev === 'info') h.open[sev] = s.value;
  });
  each(build, (h, s) => {
    h.version = s.metric['version'] ?? null;
    h.odooVersion = s.metric['odoo_version'] && s.metric['odoo_version'] !== 'unknown' ? s.metric['odoo_version'] : null;
    h.odooMode = s.metric['odoo_mode'] ?? null;
  });
  each(lastFix, (h, s) => (h.lastFix = { fix: s.metric['fix'] ?? '?', outcome: s.metric['outcome'] ?? '?', at: s.value * 1000 }));
  return { prometheus, job, readAt: now, hosts: sortWorstFirst([...hosts.values()]) };
}

export function sortWorstFirst(hosts: FleetHost[]): FleetHost[] {
  return [...hosts].sort(
    (a, b) =>
      HEALTH_RANK[a.health] - HEALTH_RANK[b.health] ||
      b.open.critical - a.open.critical ||
      b.open.warning - a.open.warning ||
      a.instance.localeCompare(b.instance),
  );
}

/** One host's open incidents as Prometheus has them: counts by rule, kind and severity. */
export async function hostIncidents(prometheus: string, job: string, instance: string, opts: PromOptions = {}): Promise<HostIncidentRow[]> {
  const rows = await instantQuery(prometheus, `odoo_heal_open_incidents{job=${promString(job)}, instance=${promString(instance)}} > 0`, opts);
  const sevRank: Record<string, number> = { critical: 0, warning: 1, info: 2 };
  return rows
    .map((s) => ({
      rule: s.metric['rule'] ?? '?',
      kind: s.metric['kind'] ?? '?',
      severity: (s.metric['severity'] ?? 'info') as Severity,
      count: s.value,
    }))
    .sort((a, b) => (sevRank[a.severity] ?? 3) - (sevRank[b.severity] ?? 3) || a.rule.localeCompare(b.rule));
}
