// Turns store state into what the panes draw. Probe `data` types are owned by the probe modules
// (ProcessData, DatabaseData, DiskData, MemoryData) and read here only, through `dataOf`, so a
// change of shape there is a type error here. When a probe has no data yet (it timed out, it has
// not run), panes fall back to the probe's `summary` and `status`.
import type { DatabaseData } from '../engine/probes/database.js';
import type { DiskData } from '../engine/probes/disk.js';
import type { MemoryData } from '../engine/probes/memory.js';
import type { OdooProcessInfo, ProcessData } from '../engine/probes/process.js';
import type { LogRates } from '../engine/probes/log-rates.js';
import type { EngineState } from '../engine/state/store.js';
import {
  LEVELS,
  SEVERITY_RANK,
  type Incident,
  type IncidentStatus,
  type Level,
  type LogRecord,
  type ProbeResult,
  type Status,
  type TailEntry,
} from '../engine/core/types.js';
import { clockUtc } from './format.js';
import { sanitizeText } from './sanitize.js';

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

/** Each probe's `data` type, as its module declares it (`Probe<ProcessData>`, ...). */
interface ProbeDataMap {
  process: ProcessData;
  database: DatabaseData;
  disk: DiskData;
  memory: MemoryData;
}

/**
 * The typed data of `result`, or null when there is none. The store keeps results as
 * `ProbeResult<unknown>`; a result's `probe` names the module that produced it, and so its type.
 */
function dataOf<P extends keyof ProbeDataMap>(result: ProbeResult | undefined, probe: P): ProbeDataMap[P] | null {
  if (result?.probe !== probe || result.data === null) return null;
  return result.data as ProbeDataMap[P];
}

const ratioOfPercent = (percent: number | null): number | null => (percent === null ? null : percent / 100);

export interface ProcRow {
  pid: number;
  /** The probe's role; `kind` is its label (the main process reads `master`). */
  role: OdooProcessInfo['role'];
  kind: string;
  cpuPercent: number | null;
  rssBytes: number | null;
  vmsBytes: number | null;
  /** VMS / limit_memory_soft, what Odoo recycles a worker on; null without a soft limit or for gevent. */
  vmsOfSoft: number | null;
  ageSeconds: number | null;
  /** HTTP workers: serving a request for `busySeconds`; null when not known or not an HTTP worker. */
  busy: boolean | null;
  busySeconds: number | null;
}

export interface RoleCount {
  have: number;
  want: number;
}

export interface ProcessView {
  mode: string | null;
  rows: ProcRow[];
  expectedWorkers: number | null;
  /** Prefork: running against what odoo.conf (or the command line) asks for. */
  roles: { http: RoleCount; cron: RoleCount; gevent: RoleCount } | null;
  /** HTTP workers busy now, of how many; null when unknown. */
  httpBusy: { busy: number; workers: number } | null;
  limits: { soft: number | null; hard: number | null };
  /** Recycle rates and registry reloads from the log; null before any was read. */
  logRates: LogRates | null;
  /** Threaded: request threads now and the oldest's age (seconds); null in prefork or unknown. */
  requests: { count: number; oldestSeconds: number | null; exact: boolean } | null;
}

const ROLE_LABEL: Record<OdooProcessInfo['role'], string> = { main: 'master', http: 'http', cron: 'cron', worker: 'worker', gevent: 'gevent' };

function procRow(p: OdooProcessInfo, soft: number | null, at: number): ProcRow {
  const limited = p.role !== 'gevent' && soft !== null && soft > 0;
  return {
    pid: p.pid,
    role: p.role,
    kind: ROLE_LABEL[p.role],
    cpuPercent: p.cpuPercent,
    rssBytes: p.rssBytes,
    vmsBytes: p.vsizeBytes,
    vmsOfSoft: limited ? p.vsizeBytes / soft : null,
    ageSeconds: p.uptimeSeconds,
    busy: p.activity ? p.activity.busy : null,
    busySeconds: p.activity?.busy ? Math.max(0, Math.round((at - p.activity.since) / 1000)) : null,
  };
}

/** `_now` is unused since ages come from the probe (`uptimeSeconds` at `checkedAt`); kept for callers. */
export function processView(result: ProbeResult | undefined, _now: number): ProcessView | null {
  const data = dataOf(result, 'process');
  if (!data) return null;
  const procs = data.main ? [data.main, ...data.workers] : data.workers;
  const rows: ProcRow[] = [];
  // Older results (a replayed report) may lack the newer fields.
  const limits = data.limits ?? { soft: null, hard: null };
  const at = result?.checkedAt ?? 0;
  for (const p of procs) if (!rows.some((r) => r.pid === p.pid)) rows.push(procRow(p, limits.soft, at));
  // HTTP workers + cron workers (prefork); threaded mode expects none, shown as no target.
  const expected = data.expected.http + data.expected.cron;
  const roles =
    data.mode === 'prefork'
      ? {
          http: { have: data.counts.http, want: data.expected.http },
          cron: { have: data.counts.cron, want: data.expected.cron },
          gevent: { have: data.counts.gevent, want: data.expected.gevent ? 1 : 0 },
        }
      : null;
  const httpBusy = data.httpLoad ? { busy: data.httpLoad.busy, workers: data.httpLoad.workers } : null;
  return { mode: data.mode, rows, expectedWorkers: expected > 0 ? expected : null, roles, httpBusy, limits, logRates: data.logRates ?? null, requests: data.requestThreads ?? null };
}

export interface DatabaseView {
  up: boolean;
  /** Why it is down (DatabaseData.error), when known. */
  error: string | null;
  /** Share of the slots Odoo can use (reserved superuser slots excluded), 0..1. */
  connectionsRatio: number | null;
  latencyMs: number | null;
  connectionsUsed: number | null;
  connectionsMax: number | null;
  idleInTransaction: number | null;
  longQueries: number | null;
  waitingLocks: number | null;
  sizeBytes: number | null;
}

const NO_DATABASE_DATA: DatabaseView = {
  up: false,
  error: null,
  connectionsRatio: null,
  latencyMs: null,
  connectionsUsed: null,
  connectionsMax: null,
  idleInTransaction: null,
  longQueries: null,
  waitingLocks: null,
  sizeBytes: null,
};

/** Null before the probe ran; without data (it timed out) the database counts as down. */
export function databaseView(result: ProbeResult | undefined): DatabaseView | null {
  if (!result) return null;
  const data = dataOf(result, 'database');
  if (!data) return NO_DATABASE_DATA;
  const { connections } = data;
  return {
    up: data.error === null && data.latencyMs !== null,
    error: data.error === null ? null : sanitizeText(data.error.message),
    connectionsRatio: ratioOfPercent(connections?.percent ?? null),
    latencyMs: data.latencyMs,
    connectionsUsed: connections?.used ?? null,
    connectionsMax: connections?.max ?? null,
    idleInTransaction: data.idleInTransaction.length,
    longQueries: data.longQueries.length,
    waitingLocks: data.waitingLocks,
    sizeBytes: data.databaseSizeBytes,
  };
}

export interface FsRow {
  mount: string;
  usedRatio: number | null;
  freeBytes: number | null;
  inodeRatio: number | null;
}

export function diskView(result: ProbeResult | undefined): FsRow[] | null {
  const data = dataOf(result, 'disk');
  if (!data) return null;
  return data.filesystems.map((fs) => ({
    mount: sanitizeText(fs.mountPoint),
    usedRatio: fs.usedPercent / 100,
    freeBytes: fs.freeBytes,
    inodeRatio: ratioOfPercent(fs.inodeUsedPercent),
  }));
}

export interface MemoryView {
  totalBytes: number | null;
  usedRatio: number | null;
  availableBytes: number | null;
  swapTotalBytes: number | null;
  swapUsedBytes: number | null;
  odooRssBytes: number | null;
  odooRssLimitBytes: number | null;
}

export function memoryView(result: ProbeResult | undefined): MemoryView | null {
  const data = dataOf(result, 'memory');
  if (!data) return null;
  return {
    totalBytes: data.totalBytes,
    usedRatio: data.usedPercent / 100,
    availableBytes: data.availableBytes,
    swapTotalBytes: data.swapTotalBytes,
    swapUsedBytes: data.swapUsedBytes,
    odooRssBytes: data.odooRssBytes,
    odooRssLimitBytes: data.odooLimitBytes,
  };
}

const STATUS_RANK: Record<Status, number> = { ok: 0, unknown: 1, warning: 2, critical: 3 };

/**
 * The header's overall status: the worst probe status, raised by open incidents (a critical
 * incident from the logs matters even when every probe passes). Null before the first probe ran.
 */
export function overallStatus(state: Pick<EngineState, 'probes' | 'incidents'>): Status | null {
  // Before the first probe round, incidents replayed from the log cannot be told from live ones yet.
  if (Object.keys(state.probes).length === 0) return null;
  let worst: Status | null = null;
  const raise = (s: Status) => {
    if (worst === null || STATUS_RANK[s] > STATUS_RANK[worst]) worst = s;
  };
  for (const r of Object.values(state.probes)) if (r) raise(r.status);
  for (const inc of Object.values(state.incidents)) {
    if ((inc.status === 'open' || inc.status === 'fixing') && inc.rootId === null) {
      if (inc.severity === 'critical') raise('critical');
      else if (inc.severity === 'warning') raise('warning');
    }
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Incidents
// ---------------------------------------------------------------------------------------------

const STATUS_ORDER: Record<IncidentStatus, number> = { fixing: 0, open: 1, snoozed: 2, resolved: 3 };

/**
 * The queue: roots and incidents that stand alone, in queue order (being fixed, open, snoozed,
 * resolved; then most severe; then most recent). Symptoms are listed under their root (symptomsOf).
 */
export function sortIncidents(incidents: Record<string, Incident>): Incident[] {
  return Object.values(incidents).filter((i) => !isSymptom(i, incidents)).sort(
    (a, b) =>
      STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      b.lastSeen - a.lastSeen ||
      a.id.localeCompare(b.id),
  );
}

/** Linked to a root that is still in the store (a symptom of a pruned root stands alone). */
function isSymptom(i: Incident, incidents: Record<string, Incident>): boolean {
  return i.rootId !== null && incidents[i.rootId] !== undefined;
}

/** Incidents caused by `rootId`: the active ones first, most severe first. */
export function symptomsOf(incidents: Record<string, Incident>, rootId: string): Incident[] {
  return Object.values(incidents)
    .filter((i) => i.rootId === rootId)
    .sort(
      (a, b) =>
        Number(b.status !== 'resolved') - Number(a.status !== 'resolved') ||
        SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
        a.firstSeen - b.firstSeen ||
        a.id.localeCompare(b.id),
    );
}

// ---------------------------------------------------------------------------------------------
// Log tail
// ---------------------------------------------------------------------------------------------

/** Raw (stderr) records have no level: a traceback counts as ERROR, anything else as INFO. */
export function recordLevel(record: LogRecord): Level {
  if (record.kind !== 'raw') return record.level;
  return record.level ?? (record.exception ? 'ERROR' : 'INFO');
}

export function nextLevel(level: Level): Level {
  const i = LEVELS.indexOf(level);
  return LEVELS[(i + 1) % LEVELS.length] ?? 'DEBUG';
}

export interface TailFilter {
  text: string;
  minLevel: Level;
  /** When set, entries after this seq are hidden (paused view). */
  untilSeq: number | null;
}

export function entryVisible(entry: TailEntry, filter: TailFilter): boolean {
  if (filter.untilSeq !== null && entry.seq > filter.untilSeq) return false;
  if (LEVELS.indexOf(recordLevel(entry.record)) < LEVELS.indexOf(filter.minLevel)) return false;
  if (filter.text) {
    const needle = filter.text.toLowerCase();
    return entry.record.lines.some((l) => l.toLowerCase().includes(needle));
  }
  return true;
}

export interface LogRow {
  key: string;
  text: string;
  level: Level;
  /** A continuation (traceback line or collapsed exception) rather than a record's first line. */
  continuation: boolean;
}

function headline(record: LogRecord, columns: number): string {
  // Cut the message before concatenating: a 64 KiB message would otherwise be copied per frame.
  const message = Number.isFinite(columns) ? cutChars(record.message, columns * 4 + 64) : record.message;
  if (record.kind === 'odoo') {
    const db = record.db ? `${record.db} ` : '';
    return `${clockUtc(record.time)} ${record.level.padEnd(7)} ${db}${record.logger}: ${message}`;
  }
  if (record.kind === 'postgres') {
    const time = record.time === null ? '' : `${clockUtc(record.time)} `;
    const db = record.db ? `${record.db} ` : '';
    return `${time}${record.severity.padEnd(7)} ${db}postgresql: ${message}`;
  }
  const time = record.time === null ? '' : `${clockUtc(record.time)} `;
  return `${time}${message}`;
}

/**
 * A display-safe row of at most about `columns` cells. A log line can be 64 KiB (a request body, a
 * dumped dict): sanitising all of it and handing it to Ink, which measures and truncates it cell
 * by cell on every frame, cost more than the rest of the frame. The raw line is cut first, with
 * room for escape sequences that sanitising removes, then the clean text is cut with room for
 * zero-width characters; Ink's `truncate-end` still cuts the last few cells exactly.
 */
export function displayLine(text: string, columns = Infinity): string {
  if (!Number.isFinite(columns)) return sanitizeText(text);
  const clean = sanitizeText(cutChars(text, columns * 4 + 64));
  return cutChars(clean, columns * 2);
}

/** The first `n` UTF-16 units, never splitting a surrogate pair. */
function cutChars(text: string, n: number): string {
  if (text.length <= n) return text;
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/**
 * Display rows of one record: its first line, then either the collapsed exception or every line.
 * `columns` (the pane width) bounds the text of each row; omitted, rows keep their full text.
 */
export function recordRows(entry: TailEntry, expanded: boolean, columns = Infinity): LogRow[] {
  const { record } = entry;
  const level = recordLevel(record);
  const rows: LogRow[] = [{ key: `${entry.seq}`, text: displayLine(headline(record, columns), columns), level, continuation: false }];
  const rest = record.lines.length - 1;
  if (rest <= 0) return rows;
  if (expanded) {
    record.lines.slice(1).forEach((line, i) =>
      rows.push({ key: `${entry.seq}.${i}`, text: `  ${displayLine(line, columns)}`, level, continuation: true }),
    );
  } else {
    const summary = record.exception ?? record.lines[record.lines.length - 1] ?? '';
    rows.push({
      key: `${entry.seq}.x`,
      text: `  ↳ ${displayLine(summary, columns)}  [+${rest} lines]`,
      level,
      continuation: true,
    });
  }
  return rows;
}

/**
 * The rows the log pane shows: walks the tail from the newest entry backwards and stops once
 * `height + skip` rows are collected, so a full ring buffer costs only what is on screen.
 * `skip` scrolls up by that many rows from the bottom.
 */
export function visibleLogRows(
  tail: readonly TailEntry[],
  filter: TailFilter,
  opts: { height: number; skip: number; expanded: boolean; columns?: number },
): { rows: LogRow[]; matched: number; atTop: boolean } {
  const want = opts.height + opts.skip;
  const collected: LogRow[][] = [];
  let count = 0;
  let i = tail.length - 1;
  for (; i >= 0 && count < want; i--) {
    const entry = tail[i];
    if (!entry || !entryVisible(entry, filter)) continue;
    const rows = recordRows(entry, opts.expanded, opts.columns);
    collected.push(rows);
    count += rows.length;
  }
  const flat = collected.reverse().flat();
  const end = Math.max(0, flat.length - opts.skip);
  const start = Math.max(0, end - opts.height);
  return { rows: flat.slice(start, end), matched: collected.length, atTop: i < 0 && start === 0 };
}
