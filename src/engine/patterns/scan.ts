// One pass over whole log sources: records → winning pattern match → incidents. Shared by `detect`,
// `patterns test` and anything else that scans files (as opposed to following them live).
// Regular files go through the byte scanner (scan-file.ts), on two threads when big
// (scan-parallel.ts); gzip files through the same byte scanner, fed as gunzip streams them out; stdin
// and pipes through the decoded-text stream. All give the same result.
import { closeSync, createReadStream } from 'node:fs';
import { fdIsGzip, openRegularSync } from '../logs/open-log.js';
import { IncidentBook } from '../incidents/incidents.js';
import { gunzipIfNeeded, LogReadError, readRecordBatches } from '../logs/read-records.js';
import type { LogRecord, PatternMatch } from '../core/types.js';
import { DEFAULT_UNCLASSIFIED, UnclassifiedGrouper, type UnclassifiedPolicy } from '../unclassified/grouper.js';
import type { Matcher } from './matcher.js';
import { scanChunks, scanPlan, scanRange, type ScanPlan } from './scan-file.js';
import { PARALLEL_MIN_BYTES } from './scan-parallel-limits.js';
import { Tally } from './scan-tally.js';

export interface SourceSummary {
  path: string;
  records: number;
  /** Records skipped because they are older than `since`. */
  skipped: number;
  /** Why the source could not be read (one line), or null. */
  error: string | null;
}

export interface ScanResult {
  book: IncidentBook;
  sources: SourceSummary[];
  /** Odoo records at WARNING or above that no pattern explained (ERROR/CRITICAL ones are also
   * unclassified incidents, unless that is off). */
  unmatched: { warning: number; error: number; critical: number };
}

export interface ScanOptions {
  /** Epoch ms: records with an earlier time are skipped (raw records without a time are kept). */
  since?: number | null;
  /** Clock for records without a time (raw stderr lines); default Date.now(). */
  now?: () => number;
  book?: IncidentBook;
  onMatch?: (m: PatternMatch) => void;
  /** Called for every record considered (after `since`), matched or not. Every record is then
   * built (the byte scanner skips building the ones no pattern can match). */
  onRecord?: (r: LogRecord, m: PatternMatch | null) => void;
  /** Files at least this big are scanned on two threads (default PARALLEL_MIN_BYTES; Infinity: never).
   * Only without `book`, `onMatch` and `onRecord`; records without a time get one `now()` for all. */
  parallelMinBytes?: number;
  /** Unclassified incidents (default DEFAULT_UNCLASSIFIED: on, at most WARNING). */
  unclassified?: UnclassifiedPolicy;
  /** Sources that are PostgreSQL's server log (lines without a prefix are its messages too). */
  postgres?: ReadonlySet<string>;
}

/** A regular file (plain or gzip), open for the byte scanner; null for stdin (read as a stream of
 * decoded text). A FIFO, a device or a socket is refused (see open-log.ts). */
function openForScan(path: string): { fd: number; size: number; gzip: boolean } | null {
  if (path === '-') return null;
  let opened;
  try {
    opened = openRegularSync(path);
  } catch (err) {
    throw new LogReadError(path, err);
  }
  let gzip: boolean;
  try {
    gzip = fdIsGzip(opened.fd);
  } catch (err) {
    closeSync(opened.fd);
    throw new LogReadError(path, err);
  }
  return { fd: opened.fd, size: opened.stats.size, gzip };
}

/**
 * gunzip's output in 256 KiB pieces, and up to 4 MiB of it decompressed ahead on libuv's pool while
 * the main thread scans: on the bench's 100 MB log, detect took ~25 % less CPU than with zlib's
 * 16 KiB defaults (fewer pieces, each with its own stream and promise overhead).
 */
const GUNZIP = { chunkSize: 256 << 10, highWaterMark: 4 << 20 };

/** Scans the open gzip file `fd` (several members in turn) as gunzip streams it out; closes `fd`. */
async function scanGzip(fd: number, path: string, plan: ScanPlan, tally: Tally, postgres: boolean): Promise<void> {
  // The stream owns the descriptor from here: it closes it at the end, or when destroyed early.
  const raw = createReadStream(path, { fd, start: 0, highWaterMark: 1 << 20 });
  try {
    await scanChunks(gunzipIfNeeded(raw as AsyncIterable<Buffer>, path, GUNZIP), { source: path, plan, tally, asmOptions: { postgres } });
  } finally {
    raw.destroy();
  }
}

/** Scans the sources in order; an unreadable source is reported in its summary, not thrown. */
export async function scanSources(paths: string[], matcher: Matcher, opts: ScanOptions = {}): Promise<ScanResult> {
  const book = opts.book ?? new IncidentBook();
  const now = opts.now ?? Date.now;
  const since = opts.since ?? null;
  const policy = opts.unclassified ?? DEFAULT_UNCLASSIFIED;
  const grouper = policy.mode === 'off' ? null : new UnclassifiedGrouper(policy);
  const tally = new Tally(matcher, book, { since, now, onMatch: opts.onMatch, onRecord: opts.onRecord, grouper });
  const sources: SourceSummary[] = [];
  // Two threads only when nothing observes the order of matches and the book starts empty.
  const parallelMin = opts.onMatch || opts.onRecord || opts.book ? Infinity : (opts.parallelMinBytes ?? PARALLEL_MIN_BYTES);
  let plan: ScanPlan | null = null;
  for (const path of paths) {
    const summary: SourceSummary = { path, records: 0, skipped: 0, error: null };
    sources.push(summary);
    tally.records = 0;
    tally.skipped = 0;
    try {
      // onRecord wants every record built: only the stream path builds them all.
      const postgres = opts.postgres?.has(path) === true;
      const file = opts.onRecord ? null : openForScan(path);
      if (file === null) {
        for await (const batch of readRecordBatches(path, { postgres })) for (const record of batch) tally.record(record);
      } else {
        plan ??= scanPlan(matcher, grouper !== null);
        const { fd, size } = file;
        if (file.gzip) {
          await scanGzip(fd, path, plan, tally, postgres);
        } else {
          try {
            // Loaded only for big files: worker_threads and the worker module cost start-up time.
            const parallel = size >= parallelMin && !postgres ? await import('./scan-parallel.js') : null;
            if (parallel?.canScanInParallel()) {
              summary.error = await parallel.scanInTwo(fd, size, path, plan, tally, { patterns: matcher.patterns, since, now: now(), unclassified: grouper ? policy : null });
            } else {
              scanRange(fd, 0, Infinity, path, plan, tally, undefined, undefined, { postgres });
            }
          } finally {
            closeSync(fd);
          }
        }
      }
    } catch (err) {
      if (!(err instanceof LogReadError)) throw err;
      summary.error = err.message;
    }
    summary.records = tally.records;
    summary.skipped = tally.skipped;
  }
  if (grouper) for (const i of book.list()) grouper.escalate(i);
  return { book, sources, unmatched: tally.unmatched };
}
