// Turns the lines of one log source into records: Odoo's own format, Odoo records wrapped in a
// journald/docker prefix, and raw stderr text (grouped so a traceback stays with its first line).
//
// This runs on every line of every log, so the hot path avoids regexes and temporary arrays: the
// header is recognised with character checks, and a record only allocates its own strings.
import type { Level, LogRecord, OdooRecord, RawRecord, RecordAssembler } from '../types.js';

/** A line longer than this is cut (binary garbage, a log without newlines); the record is kept. */
export const MAX_LINE_CHARS = 64 * 1024;
/** A record keeps at most this many lines (a runaway multi-line message); the exception is still
 * tracked over every line, so the explanation survives the cut. */
export const MAX_RECORD_LINES = 2000;

const EMPTY: LogRecord[] = [];

// Char codes used by the header checks.
const C_0 = 48;
const C_9 = 57;
const C_SPACE = 32;
const C_TAB = 9;
const C_DASH = 45;
const C_COLON = 58;
const C_COMMA = 44;
const C_DOT = 46;
const C_T = 84;
const C_Z = 90;

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < C_0 || c > C_9) return -1;
    n = n * 10 + (c - C_0);
  }
  return n;
}

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
 * A journald (`-o short-iso`, `-o short-iso-precise`, `-o short`) or docker `--timestamps` prefix.
 * Returns where the wrapped text starts and the prefix's time, or null when there is no prefix.
 */
export function parsePrefix(s: string): { rest: number; time: number | null } | null {
  // Both forms need at least 16 characters; shorter lines are not read (see parseOdooHeader).
  if (s.length < 16) return null;
  const c0 = s.charCodeAt(0);
  if (isDigit(c0)) {
    if (s.charCodeAt(10) !== C_T) return null;
    const stamp = dateTimeAt(s, 0, C_T);
    if (Number.isNaN(stamp)) return null;
    const end = s.indexOf(' ', 19);
    if (end < 0) return null;
    const time = Date.parse(s.slice(0, end));
    const t = Number.isNaN(time) ? stamp : time;
    if (s.charCodeAt(end - 1) === C_Z) {
      // docker --timestamps: `<RFC3339Nano>Z <text>`.
      return { rest: end + 1, time: t };
    }
    return journaldRest(s, end + 1, t);
  }
  // `-o short`: `Nov 28 19:53:58 host ident[pid]: text` (no year: the current one is assumed).
  if (c0 >= 65 && c0 <= 90 && s.charCodeAt(3) === C_SPACE && s.charCodeAt(9) === C_COLON && s.charCodeAt(12) === C_COLON) {
    const month = MONTHS.indexOf(s.slice(0, 3));
    if (month < 0) return null;
    const day = digits(s, 4, 6) >= 0 ? digits(s, 4, 6) : digits(s, 5, 6);
    const h = digits(s, 7, 9);
    const mi = digits(s, 10, 12);
    const se = digits(s, 13, 15);
    if (day < 1 || h < 0 || mi < 0 || se < 0 || s.charCodeAt(15) !== C_SPACE) return null;
    const t = new Date(new Date().getFullYear(), month, day, h, mi, se).getTime();
    return journaldRest(s, 16, t);
  }
  return null;
}
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** After the timestamp: `host ident[pid]: text` or `host ident: text`. */
function journaldRest(s: string, hostStart: number, time: number): { rest: number; time: number } | null {
  const hostEnd = s.indexOf(' ', hostStart);
  if (hostEnd <= hostStart) return null;
  const tagEnd = s.indexOf(': ', hostEnd + 1);
  if (tagEnd <= hostEnd + 1) return null;
  // The tag (`odoo[123]`) has no spaces; otherwise this is not a journald line.
  const sp = s.indexOf(' ', hostEnd + 1);
  if (sp < tagEnd) return null;
  return { rest: tagEnd + 2, time };
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
const RAW_EXCEPTION_NAME = /^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)(?::|$)/;

/** Python's `--- Logging error ---` report ends with these sections after its traceback. */
function isLoggingErrorTail(s: string): boolean {
  return s.startsWith('Call stack:') || s.startsWith('Message: ') || s.startsWith('Arguments: ');
}

/** Python names the exception classes above; these lines separate chained tracebacks. */
function isChainLine(s: string): boolean {
  return s.startsWith('The above exception was') || s.startsWith('During handling of the above exception');
}

class Pending {
  lines: string[];
  exception: string | null = null;
  inTraceback = false;
  /** A raw `--- Logging error ---` report, whose tail sections are not indented. */
  loggingError = false;
  constructor(
    readonly kind: 'odoo' | 'raw',
    readonly line: number,
    first: string,
    readonly header: Header | null,
    readonly rawTime: number | null,
  ) {
    this.lines = [first];
  }
}

class Assembler implements RecordAssembler {
  private lineNo = 0;
  private pending: Pending | null = null;

  constructor(private readonly source: string) {}

  push(line: string): LogRecord[] {
    const done = this.feed(line);
    return done ? [done] : EMPTY;
  }

  flush(): LogRecord[] {
    const done = this.finish();
    return done ? [done] : EMPTY;
  }

  /** Counts `n` lines that the caller handled itself (the byte scanner's one-line records), so the
   * line numbers of the records assembled here stay those of the source. */
  skipLines(n: number): void {
    this.lineNo += n;
  }

  /** Feeds one line; returns the record it completed, if any (at most one per line). */
  feed(input: string): LogRecord | null {
    this.lineNo++;
    let line = input.length > MAX_LINE_CHARS ? input.slice(0, MAX_LINE_CHARS) : input;
    // (An empty line is not read at -1: see parseOdooHeader.)
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13 /* \r */) line = line.slice(0, -1);

    // Fast path: an Odoo header at column 0 (nearly every line of a --logfile).
    let header = parseOdooHeader(line, 0);
    let prefixTime: number | null = null;
    if (!header) {
      const prefix = parsePrefix(line);
      if (prefix) {
        prefixTime = prefix.time;
        line = line.slice(prefix.rest);
        header = parseOdooHeader(line, 0);
      }
    }
    if (header) {
      const done = this.finish();
      this.pending = new Pending('odoo', this.lineNo, line, header, null);
      return done;
    }
    const p = this.pending;
    if (p && this.continues(p, line)) {
      this.append(p, line);
      return null;
    }
    const done = this.finish();
    const raw = new Pending('raw', this.lineNo, line, null, prefixTime);
    if (line.startsWith(TRACEBACK)) raw.inTraceback = true;
    else if (line.startsWith('--- Logging error ---')) raw.loggingError = true;
    else if (RAW_EXCEPTION_NAME.test(line)) raw.exception = line;
    this.pending = raw;
    return done;
  }

  private continues(p: Pending, line: string): boolean {
    if (isRawStarter(line)) return false;
    if (p.kind === 'odoo') return true;
    // Raw text: only what clearly belongs to the traceback in progress joins it.
    return (
      line.length === 0 ||
      (p.loggingError && isLoggingErrorTail(line)) ||
      startsWithWhitespace(line) ||
      p.inTraceback ||
      line.startsWith(TRACEBACK) ||
      isChainLine(line)
    );
  }

  private append(p: Pending, line: string): void {
    if (p.lines.length < MAX_RECORD_LINES) p.lines.push(line);
    if (line.startsWith(TRACEBACK)) {
      p.inTraceback = true;
    } else if (p.inTraceback && line.length > 0 && !startsWithWhitespace(line)) {
      // The first unindented line after the frames ends the traceback section.
      p.inTraceback = false;
      if (looksLikeException(line)) p.exception = line;
    }
  }

  /** Completes the pending record, if any (what the next header line would do). */
  finish(): LogRecord | null {
    const p = this.pending;
    if (!p) return null;
    this.pending = null;
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
    const rec: RawRecord = {
      kind: 'raw',
      source: this.source,
      line: p.line,
      lines: p.lines,
      exception: p.exception,
      time: p.rawTime,
      message: p.lines[0] ?? '',
    };
    return rec;
  }
}

/** The assembler with its line-level API: `feed` one line, `finish` the pending record, `skipLines`. */
export interface LineAssembler extends RecordAssembler {
  feed(line: string): LogRecord | null;
  finish(): LogRecord | null;
  skipLines(n: number): void;
}

export function createAssembler(source: string): LineAssembler {
  return new Assembler(source);
}

/** Parses a whole text (tests, small inputs). Splits on \n; a final line without newline counts. */
export function parseText(text: string, source: string): LogRecord[] {
  const asm = new Assembler(source);
  const out: LogRecord[] = [];
  let start = 0;
  const n = text.length;
  while (start < n) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = n;
    const r = asm.feed(text.slice(start, nl));
    if (r) out.push(r);
    start = nl + 1;
  }
  const last = asm.flush();
  for (const r of last) out.push(r);
  return out;
}
