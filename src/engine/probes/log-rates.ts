// Rates of the events Odoo logs about its own workers and registry (logs/odoo-events.ts), judged
// against the thresholds: memory or time recycles that come too often, and a registry (or cache)
// that reloads in a loop. Routine recycling at limit_request is counted and shown, never an alarm.
// The figures ride on the process probe's result, so the console, `check --json` and /metrics read
// them where they read the workers.
import type { Config } from '../config/types.js';
import type { Finding, ProbeResult } from '../core/types.js';
import { RECYCLE_REASONS, type OdooEventTally, type RecycleReason } from '../logs/odoo-events.js';
import { statusOfFindings } from './types.js';

export interface RecycleRate {
  /** Recycles in the window. */
  count: number;
  perHour: number;
  /** Since odoo-heal started counting (only grows). */
  total: number;
  lastAt: number | null;
}

export interface LogRates {
  recycles: { windowSeconds: number; reasons: Record<RecycleReason, RecycleRate> };
  /** Registry reloads and cache invalidations after database signaling, in the window. */
  signaling: { windowSeconds: number; registry: SignalRate; cache: SignalRate };
}

export interface SignalRate {
  /** Changes signalled in the window: the "signaling through the database" lines, or the most
   * reloads one process logged when more (the signalling process may log elsewhere: `odoo-bin -u`). */
  signals: number;
  /** Reload (or invalidation) lines of all processes: one signal reloads every other process once. */
  reloads: number;
  /** The most reloads one process logged, and its pid. */
  maxPerProcess: number;
  pid: number | null;
  /** Reload lines since odoo-heal started counting (only grows). */
  total: number;
  lastAt: number | null;
}

type Thresholds = Pick<
  Config['thresholds'],
  'recycleWindowSeconds' | 'memoryRecyclesPerHour' | 'timeRecyclesPerHour' | 'registryWindowSeconds' | 'registryReloadsMax' | 'cacheInvalidationsMax'
>;

export interface JudgeOptions {
  /** Shorter than the configured window when less of the log was read (`check` reads a tail). */
  windowSeconds?: number;
}

function perHour(count: number, windowSeconds: number): number {
  return Math.round((count * 3600 * 10) / windowSeconds) / 10;
}

export function judgeLogRates(tally: OdooEventTally, now: number, t: Thresholds, opts: JudgeOptions = {}): { rates: LogRates; findings: Finding[] } {
  const window = Math.max(1, Math.min(t.recycleWindowSeconds, opts.windowSeconds ?? Infinity));
  const reasons = Object.fromEntries(
    RECYCLE_REASONS.map((r) => {
      const count = tally.count(r, window * 1000, now);
      return [r, { count, perHour: perHour(count, window), total: tally.totals[r], lastAt: tally.lastAt(r) }];
    }),
  ) as Record<RecycleReason, RecycleRate>;
  const sigWindow = Math.max(1, Math.min(t.registryWindowSeconds, opts.windowSeconds ?? Infinity));
  const signalRate = (what: 'registry' | 'cache'): SignalRate => {
    const ms = sigWindow * 1000;
    const most = tally.maxPerProcess(what, ms, now);
    const sent = tally.count(`${what}-signal`, ms, now);
    return {
      signals: Math.max(sent, most.count),
      reloads: tally.count(what, ms, now),
      maxPerProcess: most.count,
      pid: most.count > 0 ? most.pid : null,
      total: tally.totals[what],
      lastAt: tally.lastAt(what),
    };
  };
  const reg = signalRate('registry');
  const cache = signalRate('cache');
  const rates: LogRates = { recycles: { windowSeconds: window, reasons }, signaling: { windowSeconds: sigWindow, registry: reg, cache } };

  const findings: Finding[] = [];
  const span = window >= 3600 ? `${Math.round(window / 360) / 10} h` : `${Math.round(window / 60)} min`;
  const memory = reasons.memory;
  // Thresholds are per hour; over a shorter window the same rate allows proportionally fewer.
  if (memory.count > 0 && memory.perHour > t.memoryRecyclesPerHour) {
    findings.push({
      key: 'recycles-memory',
      severity: 'warning',
      title: `Odoo workers recycled for memory ${memory.count} times in ${span} (${memory.perHour}/h)`,
      detail: `"virtual memory limit (...) reached": a worker's virtual size passed limit_memory_soft after a request, ${memory.perHour} per hour against a threshold of ${t.memoryRecyclesPerHour}/h`,
      hint:
        'If fresh workers already exceed limit_memory_soft, every request ends in a respawn: raise limit_memory_soft above a worker\'s VMS (the process pane shows it). ' +
        'Otherwise a request leaks or loads too much: find it in the log before each recycle. See docs/checks/worker-recycles.md.',
      category: 'worker',
    });
  }
  const time = { count: reasons['time-real'].count + reasons.cpu.count };
  const timeRate = perHour(time.count, window);
  if (time.count > 0 && timeRate > t.timeRecyclesPerHour) {
    findings.push({
      key: 'recycles-time',
      severity: 'warning',
      title: `Odoo requests killed at their time limit ${time.count} times in ${span} (${timeRate}/h)`,
      detail: `${reasons['time-real'].count} past limit_time_real ("timeout after"), ${reasons.cpu.count} past limit_time_cpu ("CPU time limit ... reached"); threshold ${t.timeRecyclesPerHour}/h`,
      hint:
        'Each one is a request (or cron) that users saw fail. Find the slow routes in the log before each kill and the long queries in the database pane; ' +
        'raise limit_time_real/limit_time_cpu only for work that is meant to be long (or move it to a cron with limit_time_real_cron). See docs/checks/worker-recycles.md.',
      category: 'worker',
    });
  }
  const mins = Math.round(sigWindow / 60);
  const loop = (what: 'registry' | 'cache', got: SignalRate, max: number) => {
    if (got.signals <= max) return;
    const registry = what === 'registry';
    findings.push({
      key: registry ? 'registry-loop' : 'cache-loop',
      severity: 'warning',
      title: registry
        ? `Odoo's registry reloads in a loop (${got.signals} changes signalled in ${mins} min)`
        : `Odoo's caches are invalidated in a loop (${got.signals} invalidations signalled in ${mins} min)`,
      detail: registry
        ? `more than ${max} registry changes in ${mins} min ("Registry changed, signaling through the database"; ${got.reloads} "Reloading the model registry after database signaling." lines, up to ${got.maxPerProcess} in one process): every reload costs each worker seconds and drops its caches`
        : `more than ${max} cache invalidations in ${mins} min (${got.reloads} "Invalidating caches after database signaling" lines, up to ${got.maxPerProcess} in one process): every worker rebuilds its caches each time`,
      hint: registry
        ? 'Usual causes: an interrupted upgrade that left modules `to upgrade` / `to install` (see the modules-pending check; finish it with `odoo-bin -u <module> --stop-after-init`), ' +
          'or a scheduled action or server action that installs/updates modules or calls signal_changes() / registry invalidation on every run. See docs/checks/registry-loop.md.'
        : 'Usually a scheduled action or an integration that writes views, access rules or system parameters on every run (each write clears caches). See docs/checks/registry-loop.md.',
      category: 'module',
    });
  };
  loop('registry', reg, t.registryReloadsMax);
  loop('cache', cache, t.cacheInvalidationsMax);
  return { rates, findings };
}

/** The process probe's result with the log rates and their findings added. */
export function withLogRates(result: ProbeResult, judged: { rates: LogRates; findings: Finding[] }): ProbeResult {
  const findings = [...result.findings.filter((f) => !LOG_RATE_KEYS.has(f.key)), ...judged.findings];
  const data = result.data && typeof result.data === 'object' ? { ...(result.data as object), logRates: judged.rates } : result.data;
  return { ...result, findings, data, status: worse(result.status, statusOfFindings(judged.findings)) };
}

/** The finding keys this module owns on the process probe's result. */
export const LOG_RATE_KEYS: ReadonlySet<string> = new Set(['recycles-memory', 'recycles-time', 'registry-loop', 'cache-loop']);

function worse(a: ProbeResult['status'], b: ProbeResult['status']): ProbeResult['status'] {
  const order = ['ok', 'unknown', 'warning', 'critical'];
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
}

/** The compact console line: recycles per hour over the window by reason (zeros left out) and the
 * most registry reloads one process did in its window. `narrow` (30 columns at 80x24): the short form
 * `rcy/h 97m 2t 30r reg 7`; else `recycled/h: 97 mem, 2 time, 30 req · registry reloads 7`. */
export function recycleLine(rates: LogRates, narrow = false): string {
  const r = rates.recycles.reasons;
  const time = r['time-real'].count + r.cpu.count;
  const figures: Array<[number, string, string]> = [
    [r.memory.count ? r.memory.perHour : 0, 'm', 'mem'],
    [time ? perHour(time, rates.recycles.windowSeconds) : 0, 't', 'time'],
    [r['max-request'].count ? r['max-request'].perHour : 0, 'r', 'req'],
  ];
  const shown = figures.filter(([n]) => n > 0);
  const reg = rates.signaling.registry.signals;
  if (narrow) {
    const line = shown.length ? `rcy/h ${shown.map(([n, s]) => `${n}${s}`).join(' ')}` : '';
    return reg > 0 ? `${line}${line ? ' ' : ''}reg ${reg}` : line;
  }
  const line = shown.length ? `recycled/h: ${shown.map(([n, , l]) => `${n} ${l}`).join(', ')}` : '';
  return reg > 0 ? `${line}${line ? ' · ' : ''}registry reloads ${reg}` : line;
}
