// Shared vocabulary of the engine. Everything else (probes, logs, patterns, fixes, UI, CLI) speaks
// these types, so they are kept small and free of behaviour.

/** Odoo's logging levels, as printed in a record's header. */
export type Level = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
export const LEVELS: readonly Level[] = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];

/** How bad an incident or a probe result is. Ordered: info < warning < critical. */
export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Overall status of a check, mapped to Nagios exit codes 0/1/2/3. */
export type Status = 'ok' | 'warning' | 'critical' | 'unknown';
export const STATUS_EXIT: Record<Status, number> = { ok: 0, warning: 1, critical: 2, unknown: 3 };

// ---------------------------------------------------------------------------------------------
// Log records
// ---------------------------------------------------------------------------------------------

interface RecordBase {
  /** Source id: file path, command label or '-' for stdin. */
  source: string;
  /** 1-based line number of the record's first line within its source (as read by us). */
  line: number;
  /** Every line of the record, first line included, without trailing newlines. */
  lines: string[];
  /** The last exception line of the traceback(s) in the record (`psycopg2.OperationalError: ...`), if any. */
  exception: string | null;
}

/** A record in Odoo's format: `time pid LEVEL db logger: message perf`. */
export interface OdooRecord extends RecordBase {
  kind: 'odoo';
  /** Epoch milliseconds. Odoo logs local time without a zone; it is read in this host's time zone (TZ). */
  time: number;
  pid: number;
  level: Level;
  /** null when Odoo printed `?` (no database bound). */
  db: string | null;
  logger: string;
  /** First-line message without the trailing perf info. */
  message: string;
}

/** A line group in no known format (stderr, journald noise, a line cut mid-way): kept, never dropped. */
export interface RawRecord extends RecordBase {
  kind: 'raw';
  /** Epoch ms when a journald/docker prefix carried a timestamp, else null. */
  time: number | null;
  message: string;
  /** Set when the text itself says how bad it is: a traceback or an error dialog's text pasted
   * without any header is an ERROR. Absent for other raw text. */
  level?: Level;
}

/** A message of PostgreSQL's server log (stderr format with a `log_line_prefix`, or csvlog). */
export interface PostgresRecord extends RecordBase {
  kind: 'postgres';
  /** Epoch ms, or null when the prefix has no stamp. */
  time: number | null;
  pid: number | null;
  /** PostgreSQL's severity word: LOG, WARNING, ERROR, FATAL, PANIC... */
  severity: string;
  /** The severity on Odoo's scale (FATAL ends one session: ERROR; PANIC: CRITICAL). */
  level: Level;
  user: string | null;
  db: string | null;
  /** SQLSTATE, when the format carries it (csvlog). */
  sqlstate: string | null;
  /** The first line of the message, after `SEVERITY:  `. */
  message: string;
}

export type LogRecord = OdooRecord | RawRecord | PostgresRecord;

/** Turns lines (in order, from one source) into records. One instance per source. */
export interface RecordAssembler {
  /** Feed one complete line (no newline). Returns records that became complete. */
  push(line: string): LogRecord[];
  /** Returns the pending record, if any (end of input, or a quiet period on a followed source). */
  flush(): LogRecord[];
}

// ---------------------------------------------------------------------------------------------
// Patterns and incidents
// ---------------------------------------------------------------------------------------------

export type Category =
  | 'module'
  | 'database'
  | 'permission'
  | 'disk'
  | 'worker'
  | 'code'
  | 'cron'
  | 'network'
  | 'config'
  | 'other';

export interface PatternFix {
  /** Id of a module in src/fixes (e.g. `cron-deprecated-fields`). */
  id: string;
  /** Parameters for the fix; `${name}` is replaced by the capture `name`. */
  params: Record<string, string>;
  /** Whether the pattern allows this fix to run unattended (config must allowlist it too). */
  unattended: boolean;
}

export interface Pattern {
  id: string;
  title: string;
  severity: Severity;
  category: Category;
  hint: string;
  match: {
    /** Regex on the first-line message (odoo records) or the first line (raw records). */
    message?: string;
    /** Regex on the record's final exception line. */
    exception?: string;
    /** Regex on the whole record text (lines joined by `\n`). */
    record?: string;
    levels?: Level[];
    /** Regex on the logger name; raw records have none and never match a logger filter. */
    logger?: string;
    /** Restrict to Odoo-format records or raw (stderr) records. Default: any (Odoo or raw).
     * `postgres`: PostgreSQL server log records, which only such patterns match. */
    kind?: 'odoo' | 'raw' | 'any' | 'postgres';
  };
  /** Capture names that identify one incident (e.g. file path, module, db). Empty: one incident per pattern. */
  fingerprint: string[];
  fix?: PatternFix;
  /** When several patterns match one record the highest priority wins (default 0; ties: load order). */
  priority?: number;
  /**
   * The probe whose passing result ends this incident once no record matched for a quiet minute
   * (e.g. "PostgreSQL unreachable" log records end when the database probe passes again).
   */
  clearsWith?: ProbeName;
  /** Odoo series (`"17.0"`) whose real logs this pattern was seen matching (the public corpus in
   * test/fixtures/public-logs, the Odoo 18 logs in test/fixtures/logs); informative only. */
  versions?: string[];
}

export interface PatternMatch {
  pattern: Pattern;
  captures: Record<string, string>;
  record: LogRecord;
}

export type IncidentStatus = 'open' | 'snoozed' | 'fixing' | 'resolved';

export type IncidentOrigin =
  | { kind: 'pattern'; patternId: string; captures: Record<string, string> }
  | { kind: 'probe'; probe: ProbeName; key: string }
  /** Raised by the engine itself, e.g. "auto-heal gave up on X". */
  | { kind: 'engine'; key: string }
  /** Records no pattern explains (ERROR/CRITICAL, or carrying a traceback), grouped by signature
   * (src/engine/incidents/signature.ts). */
  | UnclassifiedOrigin;

export interface UnclassifiedOrigin {
  kind: 'unclassified';
  /** `class|masked message|module/path.py:function` (or `logger:<name>` when no frame is in an addon). */
  signature: string;
  exceptionClass: string | null;
  /** The addon whose code raised (from the innermost addon frame), or null. */
  addon: string | null;
  /** `module/path.py:function`, or null. */
  frame: string | null;
  logger: string | null;
  /** The failing request (`GET /sale_bug/confirm`) named by the werkzeug line next to a record, or null. */
  request: string | null;
}

export interface Incident {
  /** Short stable id derived from the fingerprint (`i-` + 8 hex). */
  id: string;
  fingerprint: string;
  origin: IncidentOrigin;
  title: string;
  severity: Severity;
  category: Category;
  hint: string;
  status: IncidentStatus;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** The first record that matched (probe incidents carry none). */
  sample: LogRecord | null;
  /** Details for probe incidents (e.g. "port 5432: connection refused"). */
  detail: string;
  fix: PatternFix | null;
  resolvedAt: number | null;
  snoozedUntil: number | null;
  /**
   * The incident that causes this one (src/engine/correlation), or null when this one is a root or
   * stands alone. A symptom is shown, alerted and fixed through its root; it always points at a
   * root, never at another symptom.
   */
  rootId: string | null;
}

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

export type ProbeName = 'process' | 'database' | 'disk' | 'memory' | 'services' | 'network' | 'odoo_http' | 'odoo_db' | 'odoo_conf';
export const PROBE_NAMES: readonly ProbeName[] = [
  'process',
  'database',
  'disk',
  'memory',
  'services',
  'network',
  'odoo_http',
  'odoo_db',
  'odoo_conf',
];

/** A problem a probe found; becomes (or keeps open) the incident `probe:<probe>:<key>`. */
export interface Finding {
  key: string;
  severity: Severity;
  title: string;
  detail: string;
  hint: string;
  category: Category;
  fix?: PatternFix;
}

export interface ProbeResult<D = unknown> {
  probe: ProbeName;
  status: Status;
  /** One line for tables and panes. */
  summary: string;
  checkedAt: number;
  durationMs: number;
  findings: Finding[];
  /** Probe-specific figures (see each probe's exported data type). */
  data: D | null;
}

// ---------------------------------------------------------------------------------------------
// Fix attempts (details of the contract live in src/fixes)
// ---------------------------------------------------------------------------------------------

export type AttemptOutcome = 'planned' | 'running' | 'verified' | 'failed' | 'rolled_back' | 'refused';

export interface AttemptSummary {
  id: string;
  incidentId: string;
  fixId: string;
  who: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: AttemptOutcome;
  message: string;
}

/** One line of the console's log tail (already parsed; sanitised at render time). */
export interface TailEntry {
  seq: number;
  record: LogRecord;
}
