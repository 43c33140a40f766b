// Alertmanager (API v2, POST /api/v2/alerts) as an alert channel. Alertmanager's client contract
// differs from a chat webhook's: it keeps no memory of a client, so every firing alert is re-sent
// while it is active, with an `endsAt` a few resend periods ahead (if odoo-heal dies, its alerts
// resolve by themselves instead of firing forever), and a resolve is the same alert sent once
// more with `endsAt` = the time it cleared. Grouping, inhibition and routing are Alertmanager's.
import { hostname } from 'node:os';
import type { AlertTarget } from '../../config/types.js';
import { errorMessage } from '../../core/errors.js';
import { redact, redactDeep } from '../redact.js';
import { ruleOf } from '../../incidents/incident-rule.js';
import { SEVERITY_RANK } from '../../core/types.js';
import type { AlertLogEvent } from './dispatcher.js';
import type { AlertEvent, AlertSink } from '../../run/alert-sink.js';

/** What Alertmanager's API v2 takes (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

export const ALERTNAME = 'OdooHealIncident';
export const DEFAULT_RESEND_MS = 60_000;
/** Prometheus uses the same factor: an active alert stays valid for 4 resend periods. */
const VALIDITY_FACTOR = 4;

export interface AlertmanagerSinkOptions {
  log: (e: AlertLogEvent) => void;
  host?: string;
  secrets?: readonly string[];
  timeoutMs?: number;
  now?: () => number;
  /** Changes are collected this long before a post (a burst → one request). */
  batchMs?: number;
}

export function alertFor(e: AlertEvent, host: string, endsAt: number): PostableAlert {
  const i = e.incident;
  const annotations: Record<string, string> = { title: i.title, summary: `${i.title} (${i.count}×)` };
  if (i.hint) annotations['hint'] = i.hint;
  if (i.fix) annotations['fix'] = i.fix.id;
  if (e.plan) annotations['plan'] = e.plan.summary;
  if (e.kind === 'gave-up') annotations['gave_up'] = 'auto-heal stopped acting on this incident';
  if (i.detail) annotations['detail'] = i.detail;
  return {
    labels: {
      alertname: ALERTNAME,
      instance: host,
      severity: i.severity,
      pattern: ruleOf(i),
      kind: i.origin.kind,
      category: i.category,
      incident: i.id,
    },
    annotations,
    startsAt: new Date(i.firstSeen).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
  };
}

interface Tracked {
  event: AlertEvent;
  /** null while firing; the time it cleared once resolved (sent once more, then forgotten). */
  resolvedAt: number | null;
}

interface TargetState {
  target: AlertTarget;
  label: string;
  endpoint: string;
  resendMs: number;
  tracked: Map<string, Tracked>;
  /** Incident ids whose state changed since the last post. */
  dirty: boolean;
  lastPost: number;
  inFlight: Promise<void> | null;
}

export function alertsEndpoint(base: string): string {
  return `${base.replace(/\/+$/, '')}/api/v2/alerts`;
}

export function createAlertmanagerSink(targets: readonly AlertTarget[], opts: AlertmanagerSinkOptions): AlertSink & { pending(): number } {
  const now = opts.now ?? Date.now;
  const host = opts.host ?? hostname();
  const secrets = opts.secrets ?? [];
  const timeoutMs = opts.timeoutMs ?? 5000;
  const batchMs = opts.batchMs ?? 1000;
  const states: TargetState[] = targets
    .filter((t) => t.kind === 'alertmanager')
    .map((target) => ({
      target,
      label: `alertmanager ${redact(target.url, secrets)}`,
      endpoint: alertsEndpoint(target.url),
      resendMs: target.resendMs ?? DEFAULT_RESEND_MS,
      tracked: new Map(),
      dirty: false,
      lastPost: 0,
      inFlight: null,
    }));
  const abort = new AbortController();
  let closed = false;
  let batchTimer: NodeJS.Timeout | null = null;
  // One tick drives the re-sends; it never keeps the process alive.
  const tick = states.length
    ? setInterval(() => {
        for (const s of states) if (s.tracked.size > 0 && now() - s.lastPost >= s.resendMs) void post(s);
      }, Math.max(250, Math.min(...states.map((s) => s.resendMs)) / 4))
    : null;
  tick?.unref();

  function body(s: TargetState, at: number): PostableAlert[] {
    const out: PostableAlert[] = [];
    for (const t of s.tracked.values()) out.push(alertFor(t.event, host, t.resolvedAt ?? at + VALIDITY_FACTOR * s.resendMs));
    return out;
  }

  async function post(s: TargetState): Promise<void> {
    if (s.inFlight) {
      s.dirty = true;
      return s.inFlight;
    }
    const run = (async () => {
      const at = now();
      s.dirty = false;
      s.lastPost = at;
      const sent = [...s.tracked.entries()];
      const payload = redactDeep(body(s, at), secrets);
      try {
        const res = await fetch(s.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'odoo-heal' },
          body: JSON.stringify(payload),
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), abort.signal]),
        });
        const text = await res.text().catch(() => '');
        if (!res.ok) throw new Error(`HTTP ${res.status} ${text.slice(0, 200)}`.trim());
        // A resolve was delivered: forget it (unless it fired again meanwhile).
        for (const [id, t] of sent) if (t.resolvedAt !== null && s.tracked.get(id) === t) s.tracked.delete(id);
        opts.log({ level: 'info', event: 'alert.sent', target: s.label, kind: 'alertmanager', incidents: sent.map(([id]) => id) });
      } catch (err) {
        if (abort.signal.aborted && !closed) return;
        // Nothing is lost: the next re-send carries the same state.
        opts.log({ level: 'error', event: 'alert.failed', target: s.label, kind: 'alertmanager', error: redact(errorMessage(err), secrets) });
      }
    })();
    s.inFlight = run;
    await run;
    s.inFlight = null;
    if (s.dirty && !closed) await post(s);
  }

  function schedule(): void {
    if (batchTimer) return;
    batchTimer = setTimeout(() => {
      batchTimer = null;
      for (const s of states) if (s.dirty) void post(s);
    }, batchMs);
    batchTimer.unref();
  }

  return {
    notify(e: AlertEvent): void {
      if (closed || states.length === 0) return;
      for (const s of states) {
        const id = e.incident.id;
        if (e.kind === 'resolved') {
          const t = s.tracked.get(id);
          if (!t || t.resolvedAt !== null) continue;
          s.tracked.set(id, { event: { ...t.event, incident: e.incident }, resolvedAt: e.incident.resolvedAt ?? e.at });
          s.dirty = true;
          continue;
        }
        if (e.kind === 'fix-result') {
          // The fix's outcome is news for a chat, not a new alert; keep the firing one's text fresh.
          const t = s.tracked.get(id);
          if (t && t.resolvedAt === null) t.event = { ...t.event, incident: e.incident };
          continue;
        }
        if (SEVERITY_RANK[e.kind === 'gave-up' ? 'critical' : e.incident.severity] < SEVERITY_RANK[s.target.minSeverity]) continue;
        const t = s.tracked.get(id);
        // The first word about a firing alert, or a change in it, goes out now; repeats wait for the re-send.
        if (!t || t.resolvedAt !== null || t.event.kind !== e.kind) s.dirty = true;
        s.tracked.set(id, { event: e, resolvedAt: null });
      }
      schedule();
    },
    pending(): number {
      return states.filter((s) => s.dirty || s.inFlight).length;
    },
    async close(timeoutMs = 5000): Promise<void> {
      if (closed) return;
      if (tick) clearInterval(tick);
      if (batchTimer) clearTimeout(batchTimer);
      batchTimer = null;
      // Firing alerts are left to expire at their endsAt: a restart re-sends them, a stop lets them lapse.
      const flush = Promise.all(states.filter((s) => s.dirty).map((s) => post(s)));
      let t: NodeJS.Timeout | undefined;
      await Promise.race([flush, new Promise<void>((r) => (t = setTimeout(r, timeoutMs)))]);
      clearTimeout(t);
      closed = true;
      abort.abort();
    },
  };
}
