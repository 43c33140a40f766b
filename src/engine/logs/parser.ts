// Turns the lines of one log source into records: Odoo's own format, PostgreSQL's server log, and
// raw stderr text (grouped so a traceback stays with its first line), in any collector's wrapper
// (shapes/unwrap.ts). Interleaved streams (compose services, journal identifiers) are assembled
// each on its own, so a traceback of one never takes in a line of another.
//
// This runs on every line of every log, so the hot path avoids regexes and temporary arrays: the
// header is recognised with character checks, and a record only allocates its own strings.
import type { Level, LogRecord, OdooRecord, PostgresRecord, RawRecord, RecordAssembler } from '../core/types.js';
import { csvComplete, isCsvStart, isFollowUp, parsePgCsv, parsePgLine, pgLevel, type PgHeader } from './shapes/postgres-line.js';
import { unwrapLine } from './shapes/unwrap.js';
import { C_0, C_9, C_COLON, C_COMMA, C_DASH, C_DOT, C_SPACE, C_TAB, digits, isDigit } from './char-codes.js';

/** A line longer than this is cut (binary garbage, a log without newlines); the record is kept. */
export const MAX_LINE_CHARS = 64 * 1024;
/** A record keeps at most this many lines (a runaway multi-line message); the exception is still
 * tracked over every line, so the explanation survives the cut. */
export const MAX_RECORD_LINES = 2000;

const EMPTY: LogRecord[] = [];

/**
 * `YYYY-MM-DD` + sep + `HH:MM:SS` at `at`, read in this host's time zone (Odoo's log formatter uses
 * local time, and odoo-heal runs on Odoo's host); NaN when malformed.
 */
function dateTimeAt(s: string, at: number, sep: number): number {
  if (s.length < at + 19) return NaN;
  if (
    s.charCodeAt(at + 4) !== C_DASH ||
    s.charCodeAt(at + 7) !== C_DASH ||
    s.charCodeAt(at + 10) !== sep ||
    s.charCodeAt(at + 13) !== C_COLON ||
    s.charCodeAt(at + 16) !== C_COLON
  ) {
    return NaN;
  }
  const y = digits(s, at, at + 4);
  const mo = digits(s, at + 5, at + 7);
  const d = digits(s, at + 8, at + 10);
  const h = digits(s, at + 11, at + 13);
  const mi = digits(s, at + 14, at + 16);
  const se = digits(s, at + 17, at + 19);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) {
    return NaN;
  }
  const day = dayEpoch(y, mo, d);
  // On a day with a DST change the offset moves within the day: let Date place the exact time.
  if (!cachedDayPlain) return new Date(y, mo - 1, d, h, mi, se).getTime();
  return day + ((h * 60 + mi) * 60 + se) * 1000;
}

// A Date per line is measurable on big logs; the day rarely changes between lines.
let cachedDayKey = -1;
let cachedDayMs = 0;
/** Whether the cached day is exactly 24 h long (no DST change), so time of day can be added. */
let cachedDayPlain = true;
function dayEpoch(y: number, mo: number, d: number): number {
  const key = (y * 100 + mo) * 100 + d;
  if (key !== cachedDayKey) {
    cachedDayKey = key;
    cachedDayMs = new Date(y, mo - 1, d).getTime();
    cachedDayPlain = new Date(y, mo - 1, d + 1).getTime() - cachedDayMs === 86_400_000;
  }
  return cachedDayMs;
}

function levelAt(s: string, i: number): { level: Level; end: number } | null {
  // Only the first letter is needed to choose; the word is then checked in full.
  switch (s.charCodeAt(i)) {
    case 73: // I
      return s.startsWith('INFO ', i) ? INFO : null;
    case 87: // W
      return s.startsWith('WARNING ', i) ? WARNING : null;
    case 69: // E
      return s.startsWith('ERROR ', i) ? ERROR : null;
    case 68: // D
      return s.startsWith('DEBUG ', i) ? DEBUG : null;
    case 67: // C
      return s.startsWith('CRITICAL ', i) ? CRITICAL : null;
    default:
      return null;
  }
}
// `end` is the length of the word plus its space.
const INFO = { level: 'INFO' as Level, end: 5 };
const WARNING = { level: 'WARNING' as Level, end: 8 };
const ERROR = { level: 'ERROR' as Level, end: 6 };
const DEBUG = { level: 'DEBUG' as Level, end: 6 };
const CRITICAL = { level: 'CRITICAL' as Level, end: 9 };

/** Odoo's perf suffix (`12 0.005 0.506`, three numbers after the message) or the single space an
 * empty perf leaves: both are cut from the message. Hand-written scan: runs on every werkzeug line. */
function stripPerf(s: string, from: number): string {
  let end = s.length;
  const last = s.charCodeAt(end - 1);
  if (isDigit(last)) {
    // Walk back over `<int> <float> <float>`.
    let i = end;
    let ok = true;
    for (let field = 0; field < 3 && ok; field++) {
      const stop = i;
      let sawDot = false;
      while (i > from) {
        const c = s.charCodeAt(i - 1);
        if (isDigit(c)) i--;
        else if (c === C_DOT && field < 2 && !sawDot) {
          sawDot = true;
          i--;
        } else break;
      }
      if (i === stop || (field < 2) !== sawDot) ok = false;
      else if (i > from && s.charCodeAt(i - 1) === C_SPACE) i--;
      else ok = false;
    }
    if (ok) end = i;
  }
  while (end > from && s.charCodeAt(end - 1) === C_SPACE) end--;
  return s.slice(from, end);
}

/** Epoch ms of an Odoo header stamp (`YYYY-MM-DD HH:MM:SS,mmm`) at the start of `s`; NaN when malformed.
 * Exactly the time `parseOdooHeader` gives the record (the byte scanner uses it for `--since`). */
export function odooStampTime(s: string): number {
  const base = dateTimeAt(s, 0, C_SPACE);
  const ms = digits(s, 20, 23);
  return Number.isNaN(base) || ms < 0 ? NaN : base + ms;
}

interface Header {
  time: number;
  pid: number;
  level: Level;
  db: string | null;
  logger: string;
  message: string;
}

/** Parses `YYYY-MM-DD HH:MM:SS,mmm PID LEVEL DB LOGGER: MESSAGE PERF` starting at `at`. */
export function parseOdooHeader(s: string, at = 0): Header | null {
  // Too short for a stamp and a space: no header (checked first so that no read below is out of
  // bounds: one on an empty line makes V8 throw away the scan loop's optimised code, ~15 ms of a
  // 100 MB detect). Then the cheapest rejection: most continuation lines fail on the first character.
  if (s.length < at + 24) return null;
  const c0 = s.charCodeAt(at);
  if (c0 < C_0 || c0 > C_9 || s.charCodeAt(at + 19) !== C_COMMA || s.charCodeAt(at + 23) !== C_SPACE) return null;
  const base = dateTimeAt(s, at, C_SPACE);
  if (Number.isNaN(base)) return null;
  const ms = digits(s, at + 20, at + 23);
  if (ms < 0) return null;
  // PID
  let i = at + 24;
  const pidStart = i;
  let pid = 0;
  while (i < s.length && isDigit(s.charCodeAt(i))) pid = pid * 10 + (s.charCodeAt(i++) - C_0);
  if (i === pidStart || s.charCodeAt(i) !== C_SPACE) return null;
  i++;
  const lv = levelAt(s, i);
  if (!lv) return null;
  i += lv.end;
  const dbEnd = s.indexOf(' ', i);
  if (dbEnd <= i) return null;
  const db = dbEnd === i + 1 && s.charCodeAt(i) === 63 /* ? */ ? null : s.slice(i, dbEnd);
  // Logger names have no spaces; the logger ends at the first `: `.
  const colon = s.indexOf(': ', dbEnd + 1);
  if (colon <= dbEnd + 1) return null;
  const spaceInLogger = s.indexOf(' ', dbEnd + 1);
  if (spaceInLogger < colon) return null;
  const logger = s.slice(dbEnd + 1, colon);
  return { time: base + ms, pid, level: lv.level, db, logger, message: stripPerf(s, colon + 2) };
}

/**
 * An Odoo header behind what a paste put before it: markdown's quote (`> `) or inline-code
 * backtick, or Odoo.sh's log viewer (`DD/MM/YYYY HH:MM:SS | LEVEL | server | message`, which keeps
 * only the level and the message). Only lines starting with `>`, `` ` `` or a digit get here.
 */
function quotedHeader(s: string): Header | null {
  const c0 = s.charCodeAt(0);
  if (c0 === 62 /* > */ || c0 === 96 /* ` */) {
    let i = 1;
    while (i < 4 && (s.charCodeAt(i) === C_SPACE || s.charCodeAt(i) === 96)) i++;
    return parseOdooHeader(s, i);
  }
  if (c0 >= C_0 && c0 <= C_9 && s.length > 24 && s.charCodeAt(2) === 47 /* / */ && s.charCodeAt(5) === 47) return odooShHeader(s);
  return null;
}

/** Odoo.sh's log viewer, copied: `20/10/2023 16:50:15 | ERROR | server | bad query: ...`. */
function odooShHeader(s: string): Header | null {
  if (s.charCodeAt(10) !== C_SPACE || s.charCodeAt(13) !== C_COLON || s.charCodeAt(16) !== C_COLON || !s.startsWith(' | ', 19)) return null;
  const d = digits(s, 0, 2);
  const mo = digits(s, 3, 5);
  const y = digits(s, 6, 10);
  const h = digits(s, 11, 13);
  const mi = digits(s, 14, 16);
  const se = digits(s, 17, 19);
  if (d < 1 || d > 31 || mo < 1 || mo > 12 || y < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return null;
  const lv = levelAt(`${s.slice(22, s.indexOf(' ', 22))} `, 0);
  if (!lv) return null;
  const at = 22 + lv.end - 1;
  if (!s.startsWith(' | ', at)) return null;
  const loggerEnd = s.indexOf(' | ', at + 3);
  if (loggerEnd < 0 || s.indexOf(' ', at + 3) < loggerEnd) return null;
  return {
    time: new Date(y, mo - 1, d, h, mi, se).getTime(),
    pid: 0,
    level: lv.level,
    db: null,
    logger: s.slice(at + 3, loggerEnd),
    message: s.slice(loggerEnd + 3).trimEnd(),
  };
}

function startsWithWhitespace(s: string): boolean {
  const c = s.charCodeAt(0);
  return c === C_SPACE || c === C_TAB;
}

const TRACEBACK = 'Traceback (most recent call last):';

/** Lines on stderr that begin a new (raw) record even right after an Odoo record. */
function isRawStarter(s: string): boolean {
  return (
    s.startsWith('Exception in thread ') ||
    s.startsWith('--- Logging error ---') ||
    s.startsWith('Exception ignored in')
  );
}

/** `pkg.mod.ErrorName: message` or a bare `ErrorName`: the shape of Python's final exception line. */
function looksLikeException(s: string): boolean {
  const c0 = s.charCodeAt(0);
  const isStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  if (!isStart(c0)) return false;
  let i = 1;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isStart(c) || isDigit(c) || c === C_DOT) continue;
    break;
  }
  if (i === s.length) return true; // bare name, e.g. `MemoryError`, `StopIteration`
  return s.charCodeAt(i) === C_COLON && (i + 1 === s.length || s.charCodeAt(i + 1) === C_SPACE);
}

/** A raw first line that is itself an exception (`OSError: [Errno 98] ...` printed without traceback). */
const RAW_EXCEPTION_NAME = /^(?:[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)|[A-Za-z_][\w.]*\.(?:errors|exceptions)\.[A-Z]\w*)(?::|$)/;

/** Python 3.11+'s `~~~^^^` markers under a frame's source line. */
function isCaretLine(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 94 /* ^ */ && c !== 126 /* ~ */ && c !== C_SPACE) return false;
  }
  return s.length > 0;
}

/** A traceback frame line (`File "...", line N, in f`), indented or not (journald and some pastes
 * strip the indentation). */
function isFrameLine(s: string): boolean {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === C_SPACE || s.charCodeAt(i) === C_TAB)) i++;
  return s.startsWith('File "', i);
}

/** Python's `--- Logging error ---` report ends with these sections after its traceback. */
function isLoggingErrorTail(s: string): boolean {
  return s.startsWith('Call stack:') || s.startsWith('Message: ') || s.startsWith('Arguments: ');
}

/** Python names the exception classes above; these lines separate chained tracebacks. */
function isChainLine(s: string): boolean {
  return s.startsWith('The above exception was') || s.startsWith('During handling of the above exception');
}

/**
 * The title line of what Odoo's error dialog copies to the clipboard ("Odoo Server Error",
 * "RPC_ERROR", "UncaughtPromiseError > RPC_ERROR"...), and the line that joins the server's
 * traceback to the client's in Odoo 16+. Text that starts so is one pasted error, whole.
 */
const DIALOG_TITLE = /^(?:Odoo (?:Server|Client) Error|RPC_ERROR|Uncaught(?:Promise|Client)?Error|Uncaught Promise)(?: > [A-Za-z_ ]{1,40})?$/;
const SERVER_TO_CLIENT = 'The above server error caused the following client error:';

class Pending {
  lines: string[];
  exception: string | null = null;
  inTraceback = false;
  /** A traceback was seen (a raw record with one is an ERROR). */
  traceback = false;
  /** A raw `--- Logging error ---` report, whose tail sections are not indented. */
  loggingError = false;
  /** Text copied from Odoo's error dialog: every line until the next header belongs to it. */
  pasted = false;
  /** The last line was a frame (`File "..."`): an unindented line after it is the frame's source. */
  afterFrame = false;
  /** Frames were seen without a `Traceback` line (a traceback pasted from its middle). */
  frames = false;
  constructor(
    readonly kind: 'odoo' | 'raw' | 'postgres',
    readonly line: number,
    first: string,
    readonly header: Header | null,
    readonly pg: PgHeader | null,
    readonly rawTime: number | null,
  ) {
    this.lines = [first];
  }
}

/** One interleaved stream of a source (a compose service, a journal identifier): its own record in progress. */
class Stream {
  pending: Pending | null = null;
  /** Text of a line that the collector split (CRI `P`), waiting for its end; and the line it began on. */
  partial = '';
  partialLine = 0;
  /** A csvlog row whose quoted field goes on over the next lines. */
  csv: { line: number; text: string; lines: number } | null = null;
  /** The stream has shown PostgreSQL lines (or is configured as PostgreSQL's log). */
  postgres: boolean;
  /** The stream has shown Odoo records: a bare `LOG:  ` line is then not taken as PostgreSQL's. */
  odooSeen = false;
  constructor(postgres: boolean) {
    this.postgres = postgres;
  }
}

/** Streams a source may interleave before the oldest are completed and forgotten. */
const MAX_STREAMS = 256;
/** A split line (CRI `P`) is joined up to this length; the rest is dropped, as the line cut does. */
const MAX_PARTIAL_CHARS = MAX_LINE_CHARS;
/** A csvlog row spans at most this many lines. */
const MAX_CSV_LINES = MAX_RECORD_LINES;

export interface AssemblerOptions {
  /** The source is PostgreSQL's server log: lines without any prefix (`LOG:  text`) are its messages too. */
  postgres?: boolean;
}

class Assembler implements LineAssembler {
  private lineNo = 0;
  /** Plain lines (no collector wrapper) and single-stream wrappers (docker --timestamps). */
  private readonly main: Stream;
  private others: Map<string, Stream> | null = null;
  /** Plain Odoo headers were seen at column 0 (then a `word  | text` line is not taken for compose's unless it wraps a header). */
  private plainSeen = false;
  private composeSeen = false;
  private readonly postgres: boolean;

  constructor(
    private readonly source: string,
    opts: AssemblerOptions = {},
  ) {
    this.postgres = opts.postgres === true;
    this.main = new Stream(this.postgres);
  }

  push(line: string): LogRecord[] {
    const out: LogRecord[] = [];
    this.feedTo(line, out);
    return out.length > 0 ? out : EMPTY;
  }

  flush(): LogRecord[] {
    const out: LogRecord[] = [];
    this.finishStream(this.main, out);
    if (this.others) for (const st of this.others.values()) this.finishStream(st, out);
    return out.length > 0 ? out : EMPTY;
  }

  skipLines(n: number): void {
    this.lineNo += n;
  }

  feedTo(input: string, out: LogRecord[]): void {
    this.lineNo++;
    let line = input.length > MAX_LINE_CHARS ? input.slice(0, MAX_LINE_CHARS) : input;
    // (An empty line is not read at -1: see parseOdooHeader.)
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13 /* \r */) line = line.slice(0, -1);

    // Fast path: an Odoo header at column 0 (nearly every line of a --logfile).
    const header = parseOdooHeader(line, 0);
    if (header) {
      this.plainSeen = true;
      this.startOdoo(this.main, line, header, this.lineNo, out);
      return;
    }
    const quoted = quotedHeader(line);
    if (quoted) {
      this.plainSeen = true;
      this.startOdoo(this.main, line, quoted, this.lineNo, out);
      return;
    }
    const u = unwrapLine(line, true);
    if (!u || (u.kind === 'compose' && !this.composeSeen && this.plainSeen && !parseOdooHeader(u.text, 0))) {
      this.text(this.main, line, null, this.lineNo, false, out);
      return;
    }
    if (u.kind === 'compose') this.composeSeen = true;
    const st = u.stream === '' ? this.main : this.stream(u.stream, out);
    if (u.partial) {
      if (st.partial.length === 0) st.partialLine = this.lineNo;
      if (st.partial.length < MAX_PARTIAL_CHARS) st.partial += u.text.slice(0, MAX_PARTIAL_CHARS - st.partial.length);
      return;
    }
    let text = u.text;
    let at = this.lineNo;
    if (st.partial.length > 0) {
      text = (st.partial + text).slice(0, MAX_PARTIAL_CHARS);
      at = st.partialLine;
      st.partial = '';
    }
    if (text.length > 0 && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    if (u.kind === 'json' && text.includes('\n')) {
      for (const piece of text.split('\n')) this.text(st, piece, u.time, at, true, out);
    } else {
      this.text(st, text, u.time, at, true, out);
    }
  }

  private stream(key: string, out: LogRecord[]): Stream {
    this.others ??= new Map();
    let st = this.others.get(key);
    if (!st) {
      if (this.others.size >= MAX_STREAMS) {
        // A syslog of many short-lived processes: complete what they left, start over.
        for (const old of this.others.values()) this.finishStream(old, out);
        this.others.clear();
      }
      st = new Stream(this.postgres);
      this.others.set(key, st);
    }
    return st;
  }

  private startOdoo(st: Stream, line: string, header: Header, at: number, out: LogRecord[]): void {
    this.finishStream(st, out);
    st.odooSeen = true;
    st.pending = new Pending('odoo', at, line, header, null, null);
  }

  /** One line of one stream, the collector's wrapper taken off. `unchecked`: not yet tried as an Odoo header. */
  private text(st: Stream, line: string, wrapTime: number | null, at: number, unchecked: boolean, out: LogRecord[]): void {
    if (unchecked) {
      const header = parseOdooHeader(line, 0);
      if (header) {
        this.startOdoo(st, line, header, at, out);
        return;
      }
    }
    if (st.csv) {
      st.csv.text += `\n${line}`;
      st.csv.lines++;
      if (csvComplete(st.csv.text) || st.csv.lines >= MAX_CSV_LINES) this.endCsv(st, out);
      return;
    }
    const c0 = line.charCodeAt(0);
    if ((c0 >= C_0 && c0 <= C_9) || (st.postgres && c0 >= 65 && c0 <= 90)) {
      if (this.postgresLine(st, line, at, out)) return;
    }
    const p = st.pending;
    if (p && this.continues(p, line)) {
      this.append(p, line);
      return;
    }
    this.finishStream(st, out);
    const raw = new Pending('raw', at, line, null, null, wrapTime);
    if (line.startsWith(TRACEBACK)) raw.inTraceback = raw.traceback = true;
    else if (line.startsWith('--- Logging error ---')) raw.loggingError = true;
    else if (DIALOG_TITLE.test(line)) raw.pasted = true;
    else if (RAW_EXCEPTION_NAME.test(line)) raw.exception = line;
    else if (isFrameLine(line)) raw.frames = raw.afterFrame = true;
    st.pending = raw;
  }

  /** A PostgreSQL message line (stderr format or the start of a csvlog row): handled, true. */
  private postgresLine(st: Stream, line: string, at: number, out: LogRecord[]): boolean {
    if (isCsvStart(line)) {
      st.postgres = true;
      this.finishStream(st, out);
      st.csv = { line: at, text: line, lines: 1 };
      if (csvComplete(line)) this.endCsv(st, out);
      return true;
    }
    const pg = parsePgLine(line, st.postgres && !st.odooSeen);
    if (!pg) return false;
    const p = st.pending;
    if (isFollowUp(pg.severity)) {
      // DETAIL, HINT, STATEMENT... belong to the message before them; alone they start nothing.
      if (p?.kind === 'postgres' && (pg.pid === null || p.pg!.pid === pg.pid)) {
        this.append(p, line);
        return true;
      }
      if (pg.time === null) return false;
    }
    st.postgres = true;
    this.finishStream(st, out);
    st.pending = new Pending('postgres', at, line, null, pg, null);
    return true;
  }

  private endCsv(st: Stream, out: LogRecord[]): void {
    const row = st.csv!;
    st.csv = null;
    const parsed = parsePgCsv(row.text);
    if (parsed) {
      const p = new Pending('postgres', row.line, parsed.lines[0]!, null, parsed.header, null);
      for (const l of parsed.lines.slice(1, MAX_RECORD_LINES)) p.lines.push(l);
      st.pending = p;
      this.finishStream(st, out);
      return;
    }
    // Not a row after all: its lines are raw text.
    const p = new Pending('raw', row.line, row.text.split('\n')[0]!, null, null, null);
    for (const l of row.text.split('\n').slice(1, MAX_RECORD_LINES)) p.lines.push(l);
    st.pending = p;
    this.finishStream(st, out);
  }

  private continues(p: Pending, line: string): boolean {
    if (isRawStarter(line)) return false;
    if (p.kind !== 'raw' || p.pasted) return true;
    if (line.startsWith(SERVER_TO_CLIENT)) {
      p.pasted = true;
      return true;
    }
    // Raw text: only what clearly belongs to the traceback in progress joins it.
    return (
      line.length === 0 ||
      (p.loggingError && isLoggingErrorTail(line)) ||
      startsWithWhitespace(line) ||
      p.inTraceback ||
      line.startsWith(TRACEBACK) ||
      isChainLine(line) ||
      (p.frames && p.exception === null && looksLikeException(line))
    );
  }

  private append(p: Pending, line: string): void {
    if (p.lines.length < MAX_RECORD_LINES) p.lines.push(line);
    const frame = isFrameLine(line);
    const afterFrame = p.afterFrame;
    p.afterFrame = frame;
    if (line.startsWith(TRACEBACK)) {
      p.inTraceback = p.traceback = true;
    } else if (p.inTraceback && line.length > 0 && !startsWithWhitespace(line)) {
      // Frames and their source lines without indentation (journald, some pastes) stay in it.
      if (frame || (afterFrame && !looksLikeException(line)) || isCaretLine(line)) return;
      // The first unindented line after the frames ends the traceback section.
      p.inTraceback = false;
      if (looksLikeException(line)) p.exception = line;
    } else if (frame && !p.traceback && p.kind === 'raw') {
      p.frames = true;
    } else if (p.frames && p.exception === null && !startsWithWhitespace(line) && looksLikeException(line)) {
      // A traceback pasted without its first line: its exception line still names it.
      p.exception = line;
      p.traceback = true;
    }
  }

  /** Completes the main stream's pending record (what the next plain header line would do). */
  finish(): LogRecord | null {
    return this.take(this.main);
  }

  private finishStream(st: Stream, out: LogRecord[]): void {
    if (st.csv) this.endCsv(st, out);
    const r = this.take(st);
    if (r) out.push(r);
  }

  private take(st: Stream): LogRecord | null {
    const p = st.pending;
    if (!p) return null;
    st.pending = null;
    const h = p.header;
    if (h) {
      const rec: OdooRecord = {
        kind: 'odoo',
        source: this.source,
        line: p.line,
        lines: p.lines,
        exception: p.exception,
        time: h.time,
        pid: h.pid,
        level: h.level,
        db: h.db,
        logger: h.logger,
        message: h.message,
      };
      return rec;
    }
    const pg = p.pg;
    if (pg) {
      const rec: PostgresRecord = {
        kind: 'postgres',
        source: this.source,
        line: p.line,
        lines: p.lines,
        exception: null,
        time: pg.time,
        pid: pg.pid,
        severity: pg.severity,
        level: pgLevel(pg.severity),
        user: pg.user,
        db: pg.db,
        sqlstate: pg.sqlstate,
        message: pg.message,
      };
      return rec;
    }
    const rec: RawRecord = {
      kind: 'raw',
      source: this.source,
      line: p.line,
      lines: p.lines,
      exception: p.exception,
      time: p.rawTime,
      message: p.lines[0] ?? '',
    };
    if (p.traceback || p.pasted) rec.level = 'ERROR';
    return rec;
  }
}

/**
 * The assembler with its line-level API: `feedTo` one line (completed records are appended to
 * `out`), `finish` the pending record of the plain stream, `skipLines`. `flush` completes every stream.
 */
export interface LineAssembler extends RecordAssembler {
  feedTo(line: string, out: LogRecord[]): void;
  finish(): LogRecord | null;
  skipLines(n: number): void;
}

export function createAssembler(source: string, opts: AssemblerOptions = {}): LineAssembler {
  return new Assembler(source, opts);
}

/** Parses a whole text (tests, small inputs). Splits on \n; a final line without newline counts. */
export function parseText(text: string, source: string, opts: AssemblerOptions = {}): LogRecord[] {
  const asm = new Assembler(source, opts);
  const out: LogRecord[] = [];
  let start = 0;
  const n = text.length;
  while (start < n) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = n;
    asm.feedTo(text.slice(start, nl), out);
    start = nl + 1;
  }
  for (const r of asm.flush()) out.push(r);
  return out;
}
