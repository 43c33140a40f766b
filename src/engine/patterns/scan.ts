// One pass over whole log sources: records → winning pattern match → incidents. Shared by `detect`,
// `patterns test` and anything else that scans files (as opposed to following them live).
import { IncidentBook } from '../incidents.js';
import { LogReadError, readRecordBatches } from '../logs/read-records.js';
import type { LogRecord, PatternMatch } from '../types.js';
import type { Matcher } from './matcher.js';

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
  /** Odoo records at WARNING or above that no pattern explained (worth a look, not an incident). */
  unmatched: { warning: number; error: number; critical: number };
}

export interface ScanOptions {
  /** Epoch ms: records with an earlier time are skipped (raw records without a time are kept). */
  since?: number | null;
  /** Clock for records without a time (raw stderr lines); default Date.now(). */
  now?: () => number;
  book?: IncidentBook;
  onMatch?: (m: PatternMatch) => void;
  /** Called for every record considered (after `since`), matched or not. */
  onRecord?: (r: LogRecord, m: PatternMatch | null) => void;
}

/** Scans the sources in order; an unreadable source is reported in its summary, not thrown. */
export async function scanSources(paths: string[], matcher: Matcher, opts: ScanOptions = {}): Promise<ScanResult> {
  const book = opts.book ?? new IncidentBook();
  const now = opts.now ?? Date.now;
  const since = opts.since ?? null;
  const unmatched = { warning: 0, error: 0, critical: 0 };
  const sources: SourceSummary[] = [];
  for (const path of paths) {
    const summary: SourceSummary = { path, records: 0, skipped: 0, error: null };
    sources.push(summary);
    try {
      for await (const batch of readRecordBatches(path)) {
        for (const record of batch) {
          if (since !== null && record.time !== null && record.time < since) {
            summary.skipped++;
            continue;
          }
          summary.records++;
          const m = matcher.match(record)[0] ?? null;
          if (m) {
            book.addMatch(m, now());
            opts.onMatch?.(m);
          } else if (record.kind === 'odoo') {
            if (record.level === 'WARNING') unmatched.warning++;
            else if (record.level === 'ERROR') unmatched.error++;
            else if (record.level === 'CRITICAL') unmatched.critical++;
          }
          opts.onRecord?.(record, m);
        }
      }
    } catch (err) {
      if (!(err instanceof LogReadError)) throw err;
      summary.error = err.message;
    }
  }
  return { book, sources, unmatched };
}
