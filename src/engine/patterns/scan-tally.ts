// What a scan does with each record, in one place for every way of reading a source (the byte
// scanner, the decoded-text path for stdin and pipes, a worker thread): apply `since`, count, match,
// add the match to the incident book, or count the record as an unexplained warning/error.
import { IncidentBook } from '../incidents/incidents.js';
import { LEVEL_CRITICAL, LEVEL_ERROR, LEVEL_WARNING } from '../logs/header-bytes.js';
import { odooStampTime, parseText } from '../logs/parser.js';
import type { LogRecord, PatternMatch } from '../core/types.js';
import type { UnclassifiedGrouper } from '../unclassified/grouper.js';
import type { Matcher } from './matcher.js';

export interface Unmatched {
  warning: number;
  error: number;
  critical: number;
}

export interface TallyOptions {
  since: number | null;
  now: () => number;
  onMatch?: ((m: PatternMatch) => void) | undefined;
  onRecord?: ((r: LogRecord, m: PatternMatch | null) => void) | undefined;
  /** Groups the records no pattern explains into unclassified incidents (null: counted only). */
  grouper?: UnclassifiedGrouper | null | undefined;
}

export class Tally {
  /** Records of the current source considered (after `since`). */
  records = 0;
  /** Records of the current source older than `since`. */
  skipped = 0;
  readonly unmatched: Unmatched = { warning: 0, error: 0, critical: 0 };

  constructor(
    readonly matcher: Matcher,
    readonly book: IncidentBook,
    readonly opts: TallyOptions,
  ) {}

  /** A complete record. */
  record(record: LogRecord): void {
    const since = this.opts.since;
    if (since !== null && record.time !== null && record.time < since) {
      this.skipped++;
      return;
    }
    this.records++;
    const m = this.matcher.match(record)[0] ?? null;
    const grouper = this.opts.grouper;
    if (m) {
      this.book.addMatch(m, this.opts.now());
      this.opts.onMatch?.(m);
    } else {
      if (record.kind === 'odoo') {
        if (record.level === 'WARNING') this.unmatched.warning++;
        else if (record.level === 'ERROR') this.unmatched.error++;
        else if (record.level === 'CRITICAL') this.unmatched.critical++;
      }
      grouper?.unmatched(record, this.book, this.opts.now());
    }
    grouper?.follows(record);
    this.opts.onRecord?.(record, m);
  }

  /** The first line of the record that follows the last one given to `record` (the byte scanner
   * may skip that record): lets the grouper see the request a werkzeug line names. Not counted. */
  nextLine(line: string, source: string): void {
    const g = this.opts.grouper;
    if (!g) return;
    const r = parseText(line, source)[0];
    if (r) g.follows(r);
  }

  /** Unmatched one-line Odoo records counted in bulk by level index (only without `since`). */
  unmatchedOdooCounts(debug: number, info: number, warning: number, error: number, critical: number): void {
    this.records += debug + info + warning + error + critical;
    this.unmatched.warning += warning;
    this.unmatched.error += error;
    this.unmatched.critical += critical;
  }

  /** An Odoo record the byte scanner proved no pattern matches, without building it: `level` is
   * its level index, its header line starts at `b[at]` (its time is read only under `since`). */
  unmatchedOdoo(level: number, b: Buffer, at: number): void {
    const since = this.opts.since;
    if (since !== null && odooStampTime(b.toString('latin1', at, at + 23)) < since) {
      this.skipped++;
      return;
    }
    this.records++;
    if (level === LEVEL_WARNING) this.unmatched.warning++;
    else if (level === LEVEL_ERROR) this.unmatched.error++;
    else if (level === LEVEL_CRITICAL) this.unmatched.critical++;
  }
}
