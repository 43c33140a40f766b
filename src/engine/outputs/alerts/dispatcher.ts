// Alert delivery, off the engine's path. notify() only appends to a batch and returns; a timer
// turns the batch into messages (dedup, cooldown, per-target severity, summaries) and one worker
// per target posts them in order with a per-request timeout and bounded retries. A dead or slow
// endpoint therefore only ever delays its own queue, never detection, healing or another target.
import { hostname } from 'node:os';
import type { AlertTarget, Config } from '../../config/types.js';
import { errorMessage } from '../../core/errors.js';
import { redact, redactDeep } from '../redact.js';
import type { Severity } from '../../core/types.js';
import { SEVERITY_RANK } from '../../core/types.js';
import { mattermostPayload } from './mattermost.js';
import type { AlertEvent, AlertKind, AlertSink } from '../../run/alert-sink.js';
import { webhookPayload } from './webhook.js';

export type AlertLogEvent = { level: 'info' | 'warning' | 'error'; event: string; [k: string]: unknown };

export interface AlertSinkOptions {
  /** Where delivery results and failures are reported (--auto: a JSON line each). */
  log: (e: AlertLogEvent) => void;
  host?: string;
  /** Known secret values (secretsOf) replaced in every payload; read at send time, so the caller may add to the array. */
  secrets?: readonly string[];
  now?: () => number;
  /**
   * Events are collected this long before they become messages: a burst turns into one summary,
   * and an "opened" followed at once by its "needs-human" or fix result becomes one message.
   */
  batchMs?: number;
  /** More than this many messages for one target in one batch → one summary message. */
  summaryThreshold?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Messages waiting per target; beyond it the oldest is dropped (and logged). */
  maxQueue?: number;
}

export interface AlertDispatcher extends AlertSink {
  /** Messages waiting or in flight, all targets. */
  pending(): number;
}

const DEFAULTS = { batchMs: 2000, summaryThreshold: 5, backoffBaseMs: 1000, backoffMaxMs: 30_000, maxQueue: 200 };

/** What the channel was last told about an incident, per target. */
interface IncidentMemory {
  lastWord: 'problem' | 'resolved';
  sentAt: Map<string, number>;
}

interface Outgoing {
  body: string;
  /** For the log line: which alerts this message carries. */
  kinds: AlertKind[] | ['summary'];
  incidents: string[];
}

interface TargetState {
  target: AlertTarget;
  /** The URL with its secret parts redacted, for log lines. */
  label: string;
  queue: Outgoing[];
  busy: boolean;
  memory: Map<string, IncidentMemory>;
}

const PROBLEM_KINDS: ReadonlySet<AlertKind> = new Set(['opened', 'needs-human', 'gave-up']);

/** The severity a target's minSeverity is compared with. A give-up always matters. */
function filterSeverity(e: AlertEvent): Severity {
  return e.kind === 'gave-up' ? 'critical' : e.incident.severity;
}

/**
 * Within one batch, one event per incident and kind (the latest), and an "opened" is dropped when
 * the same batch already says more about that incident (its plan, a fix result, a give-up).
 */
export function coalesce(events: readonly AlertEvent[]): AlertEvent[] {
  const byKey = new Map<string, AlertEvent>();
  for (const e of events) {
    const key = e.kind === 'fix-result' ? `${e.incident.id}|fix-result|${e.attempt?.id ?? e.at}` : `${e.incident.id}|${e.kind}`;
    byKey.delete(key); // re-insert: the latest wins but keeps chronological order
    byKey.set(key, e);
  }
  const out = [...byKey.values()];
  const saidMore = new Set(out.filter((e) => e.kind !== 'opened' && e.kind !== 'resolved').map((e) => e.incident.id));
  return out.filter((e) => !(e.kind === 'opened' && saidMore.has(e.incident.id)));
}

export function createAlertSink(alerts: Config['alerts'], opts: AlertSinkOptions): AlertDispatcher {
  const o = { ...DEFAULTS, ...stripUndefined(opts) };
  const now = opts.now ?? Date.now;
  const host = opts.host ?? hostname();
  const secrets = opts.secrets ?? [];
  // Alertmanager keeps the state of an alert itself and wants re-sends: its own sink (alertmanager.ts).
  const targets: TargetState[] = alerts.targets.filter((t) => t.kind !== 'alertmanager').map((target) => ({
    target,
    label: `${target.kind} ${redact(target.url, secrets)}`,
    queue: [],
    busy: false,
    memory: new Map(),
  }));
  const abort = new AbortController();
  let batch: AlertEvent[] = [];
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const idleWaiters = new Set<() => void>();

  function allowed(state: TargetState, e: AlertEvent, at: number): boolean {
    if (SEVERITY_RANK[filterSeverity(e)] < SEVERITY_RANK[state.target.minSeverity]) return false;
    const mem = state.memory.get(e.incident.id);
    const recent = (kind: string): boolean => {
      const t = mem?.sentAt.get(kind);
      return t !== undefined && at - t < alerts.cooldownMs;
    };
    if (e.kind === 'fix-result') return true; // each attempt is news; the circuit breaker bounds them
    if (e.kind === 'resolved') return mem?.lastWord === 'problem' && !recent('resolved');
    // A problem after "resolved" always goes out, so the channel never believes a live incident is over.
    if (mem?.lastWord === 'resolved') return true;
    if (recent(e.kind)) return false;
    return !(e.kind === 'opened' && recent('needs-human'));
  }

  function remember(state: TargetState, e: AlertEvent, at: number): void {
    let mem = state.memory.get(e.incident.id);
    if (!mem) state.memory.set(e.incident.id, (mem = { lastWord: 'problem', sentAt: new Map() }));
    mem.sentAt.set(e.kind, at);
    if (PROBLEM_KINDS.has(e.kind)) mem.lastWord = 'problem';
    else if (e.kind === 'resolved') mem.lastWord = 'resolved';
    else mem.lastWord = e.attempt?.outcome === 'verified' ? 'resolved' : 'problem';
  }

  function render(state: TargetState, events: AlertEvent[], at: number): Outgoing {
    const payload = state.target.kind === 'mattermost' ? mattermostPayload(events, host, state.target) : webhookPayload(events, host, at);
    return {
      body: JSON.stringify(redactDeep(payload, secrets)),
      kinds: events.length === 1 ? [events[0]!.kind] : ['summary'],
      incidents: [...new Set(events.map((e) => e.incident.id))],
    };
  }

  function enqueue(state: TargetState, msg: Outgoing): void {
    state.queue.push(msg);
    while (state.queue.length > o.maxQueue) {
      const dropped = state.queue.shift()!;
      opts.log({ level: 'warning', event: 'alert.dropped', target: state.label, kind: dropped.kinds.join(','), incidents: dropped.incidents, reason: `more than ${o.maxQueue} alerts waiting` });
    }
    void pump(state);
  }

  /**
   * What a channel heard about an incident that has since become a symptom (it opened before its
   * root was known) now counts as heard about the root: the root's own "opened" is then a repeat,
   * and its "resolved" is the one word that closes both.
   */
  function adoptSymptoms(state: TargetState, e: AlertEvent): void {
    if (!e.symptoms || state.memory.has(e.incident.id)) return;
    for (const s of e.symptoms) {
      const heard = state.memory.get(s.id);
      if (!heard) continue;
      state.memory.set(e.incident.id, heard);
      state.memory.delete(s.id);
      return;
    }
  }

  function flushBatch(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (batch.length === 0) return;
    // A symptom speaks through its root (its rootId is read now: the link may have been made after
    // it was queued). Fix results are kept: each attempt is news.
    const events = coalesce(batch.filter((e) => e.incident.rootId === null || e.kind === 'fix-result'));
    batch = [];
    const at = now();
    for (const state of targets) {
      for (const e of events) adoptSymptoms(state, e);
      const mine = events.filter((e) => allowed(state, e, at));
      for (const e of mine) remember(state, e, at);
      if (mine.length === 0) continue;
      if (mine.length > o.summaryThreshold) enqueue(state, render(state, mine, at));
      else for (const e of mine) enqueue(state, render(state, [e], at));
    }
  }

  const workers = new Set<Promise<void>>();

  function pump(state: TargetState): Promise<void> {
    if (state.busy) return Promise.resolve();
    const work = drain(state);
    workers.add(work);
    void work.finally(() => workers.delete(work));
    return work;
  }

  async function drain(state: TargetState): Promise<void> {
    state.busy = true;
    try {
      while (state.queue.length > 0 && !abort.signal.aborted) {
        const msg = state.queue[0]!;
        await deliver(state, msg);
        state.queue.shift();
      }
    } finally {
      state.busy = false;
      if (pending() === 0) for (const w of idleWaiters) w();
    }
  }

  async function deliver(state: TargetState, msg: Outgoing): Promise<void> {
    const tries = alerts.retries + 1;
    let lastError = '';
    for (let attempt = 1; attempt <= tries; attempt++) {
      try {
        const res = await fetch(state.target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'odoo-heal' },
          body: msg.body,
          // The timeout bounds a receiver that accepts and never answers; close() aborts the rest.
          signal: AbortSignal.any([AbortSignal.timeout(alerts.timeoutMs), abort.signal]),
        });
        await res.arrayBuffer().catch(() => undefined); // free the socket
        if (res.ok) {
          opts.log({ level: 'info', event: 'alert.sent', target: state.label, kind: msg.kinds.join(','), incidents: msg.incidents, tries: attempt });
          return;
        }
        lastError = `HTTP ${res.status} ${res.statusText}`.trim();
        // 4xx other than 408/429 means the payload or URL is wrong: repeating it cannot help.
        if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) break;
      } catch (err) {
        // Aborted by close(): already counted in its "alert.undelivered" line.
        if (abort.signal.aborted) return;
        lastError = describeFetchError(err, alerts.timeoutMs);
      }
      if (attempt < tries) await sleep(Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** (attempt - 1)), abort.signal);
    }
    opts.log({
      level: 'error',
      event: 'alert.failed',
      target: state.label,
      kind: msg.kinds.join(','),
      incidents: msg.incidents,
      error: redact(lastError, secrets),
    });
  }

  function pending(): number {
    return batch.length + targets.reduce((n, t) => n + t.queue.length, 0);
  }

  return {
    notify(event: AlertEvent): void {
      if (closed || targets.length === 0) return;
      batch.push(event);
      if (!timer) {
        timer = setTimeout(flushBatch, o.batchMs);
        // Never keep the process alive for an alert: close() flushes on the way out.
        timer.unref();
      }
    },
    pending,
    async close(timeoutMs = 5000): Promise<void> {
      if (closed) return;
      closed = true;
      flushBatch();
      if (pending() > 0) {
        let done!: () => void;
        const idle = new Promise<void>((r) => (done = r));
        idleWaiters.add(done);
        let t: NodeJS.Timeout | undefined;
        const expired = new Promise<void>((r) => (t = setTimeout(r, timeoutMs)));
        await Promise.race([idle, expired]);
        clearTimeout(t);
        idleWaiters.delete(done);
      }
      const left = pending();
      if (left > 0) {
        opts.log({ level: 'warning', event: 'alert.undelivered', count: left, reason: `still queued after ${timeoutMs} ms at shutdown` });
      }
      abort.abort();
      // Let the aborted workers unwind so that nothing is logged after close() returns.
      await Promise.allSettled([...workers]);
    },
  };
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`;
  // undici wraps the useful part ("connect ECONNREFUSED 127.0.0.1:9") in `cause`.
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  return cause ? `${errorMessage(err)}: ${errorMessage(cause)}` : errorMessage(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
