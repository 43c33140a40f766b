// Lines → records → pattern matches → incidents. Pure and synchronous, so the engine, `check`,
// `detect` and the bench all run the very same path.
import { createAssembler } from '../logs/parser.js';
import type { IncidentBook } from '../incidents/incidents.js';
import type { Matcher } from '../patterns/matcher.js';
import type { Incident, LogRecord, RecordAssembler } from '../core/types.js';
import type { UnclassifiedGrouper } from '../unclassified/grouper.js';

export interface PipelineSink {
  /** Records odoo-heal caused itself (its own requests' access lines): counted, not shown or matched. */
  ownRecord?(record: LogRecord): boolean;
  /** Every record, matched or not (the log tail). */
  onRecord?(record: LogRecord): void;
  /** An incident that got a new match. */
  onIncident?(incident: Incident, record: LogRecord): void;
  /** An incident changed without a new occurrence (an unclassified one learnt its failed request). */
  onIncidentChanged?(incident: Incident): void;
}

export class LogPipeline {
  private readonly assemblers = new Map<string, RecordAssembler>();
  /** Sources that are PostgreSQL's server log. */
  private postgresSources: ReadonlySet<string> = new Set();
  records = 0;
  matches = 0;
  /** Records no pattern explained that went to an unclassified incident. */
  unclassified = 0;
  lines = 0;

  constructor(
    private matcher: Matcher,
    private readonly book: IncidentBook,
    private readonly sink: PipelineSink = {},
    private readonly now: () => number = Date.now,
    private readonly grouper: UnclassifiedGrouper | null = null,
  ) {}

  /** Swap the pattern set (SIGHUP reload); records already matched keep their incidents. */
  setMatcher(matcher: Matcher): void {
    this.matcher = matcher;
  }

  /** Which sources are PostgreSQL's server log (before their first lines arrive). */
  setPostgresSources(sources: Iterable<string>): void {
    this.postgresSources = new Set(sources);
  }

  private assembler(source: string): RecordAssembler {
    let a = this.assemblers.get(source);
    if (!a) {
      a = createAssembler(source, { postgres: this.postgresSources.has(source) });
      this.assemblers.set(source, a);
    }
    return a;
  }

  pushLines(source: string, lines: readonly string[]): void {
    const a = this.assembler(source);
    this.lines += lines.length;
    for (const line of lines) {
      for (const record of a.push(line)) this.handle(record);
    }
  }

  /** Completes pending records (end of input, or a quiet source whose last record is done). */
  flush(source?: string): void {
    const entries = source ? [[source, this.assemblers.get(source)] as const] : [...this.assemblers];
    for (const [, a] of entries) {
      if (!a) continue;
      for (const record of a.flush()) this.handle(record);
    }
  }

  handleRecord(record: LogRecord): void {
    this.handle(record);
  }

  private handle(record: LogRecord): void {
    this.records++;
    if (this.sink.ownRecord?.(record)) return;
    this.sink.onRecord?.(record);
    const m = this.matcher.match(record)[0];
    if (m) {
      this.matches++;
      const incident = this.book.addMatch(m, this.now());
      this.sink.onIncident?.(incident, record);
    } else if (this.grouper) {
      const incident = this.grouper.unmatched(record, this.book, this.now());
      if (incident) {
        this.unclassified++;
        this.sink.onIncident?.(incident, record);
      }
    }
    const learnt = this.grouper?.follows(record);
    if (learnt) this.sink.onIncidentChanged?.(learnt);
  }
}
