// Follow-ups the graph implies once a root is healed. In threaded mode Odoo's cron threads die
// with their PostgreSQL connection and never come back (odoo-facts.md; the tracebacks reach only
// stderr): when PostgreSQL returns to the same Odoo process, scheduled actions stay stopped until
// Odoo is restarted. The restart is the follow-up, raised as its own root incident.
import type { Finding } from '../core/types.js';

/** Engine incident key of the follow-up (fingerprint `engine:cron-threads-dead`). */
export const CRON_FOLLOW_UP_KEY = 'cron-threads-dead';

/** What was known when PostgreSQL became unreachable. */
export interface Outage {
  since: number;
  /** Odoo's main pid then (the process probe's), null when unknown. */
  odooPid: number | null;
}

export interface OdooNow {
  mode: 'threaded' | 'prefork' | 'stopped' | 'unknown';
  maxCronThreads: number;
  pid: number | null;
}

/** Database probe finding keys that mean no connection at all (slots or login trouble do not kill cron threads). */
export const CONNECTION_LOST = new Set(['down', 'not_ready', 'unreachable', 'timeout']);

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/**
 * The follow-up finding when an outage has just ended and the Odoo process that lived through it
 * is threaded, runs cron threads and is still the same process; null otherwise (prefork respawns
 * its cron workers, a restarted Odoo has fresh threads, an unknown pid proves nothing).
 */
export function cronFollowUp(outage: Outage, endedAt: number, odoo: OdooNow): Finding | null {
  if (odoo.mode !== 'threaded' || odoo.maxCronThreads <= 0) return null;
  if (outage.odooPid === null || odoo.pid !== outage.odooPid) return null;
  return {
    key: CRON_FOLLOW_UP_KEY,
    severity: 'critical',
    category: 'cron',
    title: 'Cron threads died while PostgreSQL was down: scheduled actions stopped',
    detail: `PostgreSQL was unreachable from ${hhmm(outage.since)} to ${hhmm(endedAt)} UTC while threaded Odoo (pid ${odoo.pid}, ${odoo.maxCronThreads} cron thread${odoo.maxCronThreads === 1 ? '' : 's'}) kept running: its cron threads die with their connection and do not come back.`,
    hint: 'Restart Odoo so that scheduled actions run again (ir_cron.lastcall advances afterwards). In prefork mode this does not happen: cron workers are respawned.',
    // The pid lets the restart confirm, at plan time, that the same process still runs.
    fix: { id: 'restart-service', params: { service: 'odoo', pid: String(odoo.pid) }, unattended: true },
  };
}
