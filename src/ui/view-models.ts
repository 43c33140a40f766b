// Turns store state into what the panes draw. Probe `data` types are owned by the probe modules
// (ProcessData, DatabaseData, DiskData, MemoryData) and may still change shape: they are read here,
// defensively, and only here (one place to adapt). Field names of those types come first in each
// list; when data is missing or unreadable, panes fall back to the probe's `summary` and `status`.
import type { EngineState } from '../engine/store.js';
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
} from '../engine/types.js';
import { clockUtc } from './format.js';
import { sanitizeText } from './sanitize.js';

// ---------------------------------------------------------------------------------------------
// Defensive readers
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** First finite number among `keys` (dotted paths allowed: `connections.max`). */
function num(o: Obj, ...keys: string[]): number | null {
  for (const key of keys) {
    const v = path(o, key);
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (Array.isArray(v)) return v.length; // lists of long queries, locks...: count them
  }
  return null;
}

function str(o: Obj, ...keys: string[]): string | null {
  for (const key of keys) {
    const v = path(o, key);
    if (typeof v === 'string') return v;
  }
  return null;
}

function bool(o: Obj, ...keys: string[]): boolean | null {
  for (const key of keys) {
    const v = path(o, key);
    if (typeof v === 'boolean') return v;
  }
  return null;
}

function path(o: Obj, dotted: string): unknown {
  let cur: unknown = o;
  for (const part of dotted.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function list(o: unknown, ...keys: string[]): Obj[] {
  if (Array.isArray(o)) return o.filter(isObj);
  if (!isObj(o)) return [];
  for (const key of keys) {
    const v = path(o, key);
    if (Array.isArray(v)) return v.filter(isObj);
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

export interface ProcRow {
  pid: number;
  kind: string;
  cpuPercent: number | null;
  rssBytes: number | null;
  ageSeconds: number | null;
}

export interface ProcessView {
  mode: string | null;
  rows: ProcRow[];
  expectedWorkers: number | null;
}

function bytesOf(o: Obj): number | null {
  const bytes = num(o, 'rssBytes', 'rss', 'memRss', 'rss_bytes');
  if (bytes !== null) return bytes;
  const kb = num(o, 'rssKb', 'rssKB', 'rss_kb');
  return kb === null ? null : kb * 1024;
}

function ageOf(o: Obj, now: number): number | null {
  const seconds = num(o, 'ageSeconds', 'ageSec', 'uptimeSeconds', 'uptimeSec', 'age', 'uptime');
  if (seconds !== null) return seconds;
  const ms = num(o, 'ageMs', 'uptimeMs');
  if (ms !== null) return ms / 1000;
  const started = num(o, 'startedAt', 'startTime', 'started');
  return started === null ? null : Math.max(0, (now - started) / 1000);
}

function procRow(o: Obj, fallbackKind: string, now: number): ProcRow | null {
  const pid = num(o, 'pid');
  if (pid === null) return null;
  return {
    pid,
    kind: str(o, 'kind', 'role', 'type') ?? fallbackKind,
    cpuPercent: num(o, 'cpuPercent', 'cpu', 'cpuPct', 'pcpu'),
    rssBytes: bytesOf(o),
    ageSeconds: ageOf(o, now),
  };
}

/** ProcessData.expected: HTTP workers + cron workers (prefork); null in threaded mode. */
function expectedWorkers(data: Obj): number | null {
  const http = num(data, 'expected.http');
  const cron = num(data, 'expected.cron');
  if (http === null && cron === null) return num(data, 'expectedWorkers');
  const total = (http ?? 0) + (cron ?? 0);
  return total > 0 ? total : null;
}

export function processView(result: ProbeResult | undefined, now: number): ProcessView | null {
  const data = result?.data;
  if (!isObj(data)) return null;
  const rows: ProcRow[] = [];
  const main = path(data, 'main') ?? path(data, 'master') ?? path(data, 'parent');
  if (isObj(main)) {
    const row = procRow(main, 'main', now);
    if (row) rows.push(row);
  }
  for (const o of list(data, 'workers', 'processes', 'children')) {
    const row = procRow(o, 'worker', now);
    if (row && !rows.some((r) => r.pid === row.pid)) rows.push(row);
  }
  return {
    mode: str(data, 'mode'),
    rows,
    expectedWorkers: expectedWorkers(data),
  };
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

export function databaseView(result: ProbeResult | undefined): DatabaseView | null {
  if (!result) return null;
  const data = isObj(result.data) ? result.data : {};
  // DatabaseData has `error` (null when connected); other shapes may say it directly.
  const errorValue = path(data, 'error');
  const error = isObj(errorValue) ? str(errorValue, 'message') : typeof errorValue === 'string' ? errorValue : null;
  const up =
    'error' in data
      ? errorValue === null && num(data, 'latencyMs') !== null
      : (bool(data, 'up', 'reachable', 'connected', 'ok') ?? (result.data !== null && result.status !== 'critical'));
  const used = num(data, 'connections.used', 'connections.active', 'connections.inUse', 'connectionsUsed', 'connections');
  const max = num(data, 'connections.max', 'maxConnections', 'max_connections', 'connectionsMax');
  const percent = num(data, 'connections.percent');
  return {
    up,
    error: error === null ? null : sanitizeText(error),
    connectionsRatio: percent !== null ? percent / 100 : used !== null && max ? used / max : null,
    latencyMs: num(data, 'latencyMs', 'latency', 'selectLatencyMs'),
    connectionsUsed: used,
    connectionsMax: max,
    idleInTransaction: num(data, 'idleInTransaction', 'idleInTx', 'idle_in_transaction'),
    longQueries: num(data, 'longQueries', 'longRunning', 'longRunningQueries'),
    waitingLocks: num(data, 'waitingLocks', 'locksWaiting', 'locks', 'blockedLocks'),
    sizeBytes: num(data, 'sizeBytes', 'databaseSizeBytes', 'databaseSize', 'dbSize', 'size'),
  };
}

export interface FsRow {
  mount: string;
  usedRatio: number | null;
  freeBytes: number | null;
  inodeRatio: number | null;
}

const ratioOfPercent = (percent: number | null): number | null => (percent === null ? null : percent / 100);

export function diskView(result: ProbeResult | undefined): FsRow[] | null {
  const data = result?.data;
  if (data === null || data === undefined) return null;
  const rows = list(data, 'filesystems', 'mounts', 'volumes', 'fs');
  return rows.map((o) => {
    const size = num(o, 'sizeBytes', 'size', 'total', 'totalBytes');
    const used = num(o, 'usedBytes', 'used');
    const percent = num(o, 'usedPercent', 'usePercent', 'use', 'percent');
    return {
      mount: sanitizeText(str(o, 'mountPoint', 'mount', 'mountpoint', 'path', 'target') ?? '?'),
      usedRatio: percent !== null ? percent / 100 : size && used !== null ? used / size : null,
      freeBytes: num(o, 'availableBytes', 'freeBytes', 'available', 'free', 'availBytes'),
      inodeRatio: ratioOfPercent(num(o, 'inodeUsedPercent', 'inodesUsedPercent')),
    };
  });
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
  const data = result?.data;
  if (!isObj(data)) return null;
  const total = num(data, 'totalBytes', 'total', 'memTotal');
  const available = num(data, 'availableBytes', 'available', 'memAvailable');
  const percent = num(data, 'usedPercent', 'memUsedPercent');
  const used = num(data, 'usedBytes', 'used');
  const usedRatio =
    percent !== null
      ? percent / 100
      : total && available !== null
        ? (total - available) / total
        : total && used !== null
          ? used / total
          : null;
  return {
    totalBytes: total,
    usedRatio,
    availableBytes: available,
    swapTotalBytes: num(data, 'swapTotalBytes', 'swapTotal', 'swap.total'),
    swapUsedBytes: num(data, 'swapUsedBytes', 'swapUsed', 'swap.used'),
    odooRssBytes: num(data, 'odooRssBytes', 'odooRss', 'odoo.rss'),
    odooRssLimitBytes: num(data, 'odooLimitBytes', 'odooRssLimitBytes', 'odooRssLimit'),
  };
}

const STATUS_RANK: Record<Status, number> = { ok: 0, unknown: 1, warning: 2, critical: 3 };

/**
 * The header's overall status: the worst probe status, raised by open incidents (a critical
 * incident from the logs matters even when every probe passes). Null before the first probe ran.
 */
export function overallStatus(state: Pick<EngineState, 'probes' | 'incidents'>): Status | null {
  let worst: Status | null = null;
  const raise = (s: Status) => {
    if (worst === null || STATUS_RANK[s] > STATUS_RANK[worst]) worst = s;
  };
  for (const r of Object.values(state.probes)) if (r) raise(r.status);
  for (const inc of Object.values(state.incidents)) {
    if (inc.status === 'open' || inc.status === 'fixing') {
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

/** Queue order: being fixed, open, snoozed, resolved; then most severe; then most recent. */
export function sortIncidents(incidents: Record<string, Incident>): Incident[] {
  return Object.values(incidents).sort(
    (a, b) =>
      STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      b.lastSeen - a.lastSeen ||
      a.id.localeCompare(b.id),
  );
}

// ---------------------------------------------------------------------------------------------
// Log tail
// ---------------------------------------------------------------------------------------------

/** Raw (stderr) records have no level: a traceback counts as ERROR, anything else as INFO. */
export function recordLevel(record: LogRecord): Level {
  if (record.kind === 'odoo') return record.level;
  return record.exception ? 'ERROR' : 'INFO';
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
