// PostgreSQL's server log: one line per message in the stderr format (`log_line_prefix`, then
// `SEVERITY:  text`), or one CSV row per message (csvlog, rows may span lines).
//
// The prefix is an admin's choice; we read the ones that start with a time stamp (`%m`, `%t`,
// `%n`), which covers the default of every supported release (`%m [%p] ` since PostgreSQL 10),
// Debian's `%m [%p] %q%u@%d ` and the older `%t [%p-%l] %q%u@%d `; and, in a source known to be
// PostgreSQL's, the empty prefix of releases before 10 (`LOG:  text`). Whatever sits between the
// stamp and the severity is read for `[pid]` and `user@db` when they are there.
import type { Level } from '../../core/types.js';
import { isDigit } from '../char-codes.js';

export interface PgHeader {
  /** Epoch ms, or null without a stamp (empty prefix). */
  time: number | null;
  pid: number | null;
  /** PostgreSQL's own word: LOG, ERROR, FATAL, PANIC, WARNING, DETAIL, STATEMENT... */
  severity: string;
  user: string | null;
  db: string | null;
  /** SQLSTATE (csvlog only). */
  sqlstate: string | null;
  message: string;
}

const SEVERITY_LEVEL: Record<string, Level> = {
  DEBUG1: 'DEBUG',
  DEBUG2: 'DEBUG',
  DEBUG3: 'DEBUG',
  DEBUG4: 'DEBUG',
  DEBUG5: 'DEBUG',
  LOG: 'INFO',
  INFO: 'INFO',
  NOTICE: 'INFO',
  WARNING: 'WARNING',
  ERROR: 'ERROR',
  // A FATAL ends one session (a refused login, a terminated backend), not the server.
  FATAL: 'ERROR',
  PANIC: 'CRITICAL',
};

/** Lines PostgreSQL adds to the message before them (same prefix, same pid). */
const FOLLOW_UPS = new Set(['DETAIL', 'HINT', 'QUERY', 'CONTEXT', 'LOCATION', 'STATEMENT']);

export function pgLevel(severity: string): Level {
  return SEVERITY_LEVEL[severity] ?? 'INFO';
}

export function isFollowUp(severity: string): boolean {
  return FOLLOW_UPS.has(severity);
}

function isSeverity(word: string): boolean {
  return word in SEVERITY_LEVEL || FOLLOW_UPS.has(word);
}

/** How far into a line the severity may sit (a long prefix with application names, hosts...). */
const MAX_PREFIX = 400;

/**
 * The stamp at the start of `s`: `YYYY-MM-DD HH:MM:SS[.fff][ ZONE]` (%m, %t) or a Unix time with
 * milliseconds (%n). Returns the time and where the stamp ends, or null.
 */
function stampAt(s: string): { time: number; end: number } | null {
  const c0 = s.charCodeAt(0);
  if (!isDigit(c0)) return null;
  if (s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && s.charCodeAt(10) === 32 && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58) {
    let i = 19;
    if (s.charCodeAt(i) === 46) {
      i++;
      while (isDigit(s.charCodeAt(i))) i++;
    }
    const local = s.slice(0, i).replace(' ', 'T');
    let zone = '';
    if (s.charCodeAt(i) === 32) {
      // The zone ends at a space (stderr format) or a comma (csvlog).
      let e = i + 1;
      while (e < s.length && e < i + 8 && s.charCodeAt(e) !== 32 && s.charCodeAt(e) !== 44) e++;
      const word = s.slice(i + 1, e);
      if (/^(?:[A-Z]{2,5}|[+-]\d\d(?::?\d\d)?)$/.test(word)) {
        zone = word;
        i += 1 + word.length;
      }
    }
    const time = zonedTime(local, zone);
    return Number.isNaN(time) ? null : { time, end: i };
  }
  // %n: `1701424800.123`
  let i = 0;
  while (isDigit(s.charCodeAt(i)) && i < 12) i++;
  if (i < 9 || s.charCodeAt(i) !== 46) return null;
  const dot = i++;
  while (isDigit(s.charCodeAt(i))) i++;
  if (i === dot + 1) return null;
  return { time: Math.round(Number(s.slice(0, i)) * 1000), end: i };
}

/** `local` (ISO without zone) in `zone`: UTC/GMT, a numeric offset, or any other name read as this host's zone. */
function zonedTime(local: string, zone: string): number {
  if (zone === 'UTC' || zone === 'GMT' || zone === 'Z') return Date.parse(`${local}Z`);
  if (/^[+-]\d\d$/.test(zone)) return Date.parse(`${local}${zone}:00`);
  if (/^[+-]\d\d:?\d\d$/.test(zone)) return Date.parse(`${local}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
  return Date.parse(local);
}

/**
 * Reads one stderr-format line. `bare`: the source is known to be PostgreSQL's, so a line with no
 * prefix at all (`LOG:  text`) counts too. Null when the line is not a PostgreSQL message line.
 */
export function parsePgLine(s: string, bare: boolean): PgHeader | null {
  const stamp = stampAt(s);
  if (!stamp) {
    if (!bare) return null;
    const c = s.indexOf(':  ');
    if (c < 3 || c > 10 || !isSeverity(s.slice(0, c))) return null;
    return { time: null, pid: null, severity: s.slice(0, c), user: null, db: null, sqlstate: null, message: s.slice(c + 3) };
  }
  // The severity is the first `WORD:  ` (two spaces: PostgreSQL's own spacing) after the stamp.
  let c = s.indexOf(':  ', stamp.end);
  while (c >= 0 && c < MAX_PREFIX) {
    let w = c;
    while (w > stamp.end && s.charCodeAt(w - 1) >= 65 && s.charCodeAt(w - 1) <= 90) w--;
    // DEBUG1..5 end in a digit.
    const word = isDigit(s.charCodeAt(c - 1)) && s.startsWith('DEBUG', c - 6) ? s.slice(c - 6, c) : s.slice(w, c);
    const start = c - word.length;
    if (isSeverity(word) && (start === stamp.end || s.charCodeAt(start - 1) === 32)) {
      return { time: stamp.time, ...prefixFields(s.slice(stamp.end, start)), severity: word, sqlstate: null, message: s.slice(c + 3) };
    }
    c = s.indexOf(':  ', c + 1);
  }
  return null;
}

/** `[pid]`, `[pid-line]` and `user@db` out of the rest of a prefix. */
function prefixFields(prefix: string): { pid: number | null; user: string | null; db: string | null } {
  const pidM = /\[(\d+)(?:-\d+)?\]/.exec(prefix);
  const userM = /(?:^|\s)([^\s@[\]]*)@([^\s@[\]]*)\s*$/.exec(prefix);
  const known = (v: string | undefined): string | null => (v && v !== '[unknown]' ? v : null);
  return { pid: pidM ? Number(pidM[1]) : null, user: known(userM?.[1]), db: known(userM?.[2]) };
}

// ---------------------------------------------------------------------------------------------
// csvlog
// ---------------------------------------------------------------------------------------------

/** Whether `s` starts a csvlog row: a %m-style stamp with its zone, then a comma. */
export function isCsvStart(s: string): boolean {
  // csvlog's time is always `%Y-%m-%d %H:%M:%S.mmm %Z` (an Odoo header has `,mmm` at 19 instead).
  if (s.length < 25 || !isDigit(s.charCodeAt(0)) || s.charCodeAt(10) !== 32 || s.charCodeAt(19) !== 46) return false;
  const comma = s.indexOf(',', 19);
  if (comma < 0 || comma > 40 || s.lastIndexOf(' ', comma) < 20) return false;
  const stamp = stampAt(s);
  return stamp !== null && stamp.end === comma;
}

/** Whether the row text so far has balanced quotes (a quoted field may hold newlines). */
export function csvComplete(text: string): boolean {
  let quotes = 0;
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i + 1)) quotes++;
  return quotes % 2 === 0;
}

function csvFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text.charCodeAt(i) === 34 /* " */) {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) {
          v += text.slice(i);
          i = n;
          break;
        }
        v += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
    } else {
      const comma = text.indexOf(',', i);
      out.push(text.slice(i, comma < 0 ? n : comma));
      i = comma < 0 ? n : comma;
    }
    if (i >= n) return out;
    i++; // the comma
    if (i === n) {
      out.push('');
      return out;
    }
  }
}

// Column positions of PostgreSQL's csvlog (the same from 9.0 to 17; later columns were appended).
const F_TIME = 0;
const F_USER = 1;
const F_DB = 2;
const F_PID = 3;
const F_SEVERITY = 11;
const F_SQLSTATE = 12;
const F_MESSAGE = 13;
const F_DETAIL = 14;
const F_HINT = 15;
const F_CONTEXT = 18;
const F_QUERY = 19;

/**
 * A complete csvlog row as a header plus the lines it would have had in the stderr format
 * (`SEVERITY:  message`, then DETAIL, HINT, CONTEXT, STATEMENT), so that a pattern reads both
 * formats alike. Null when the row is not one.
 */
export function parsePgCsv(row: string): { header: PgHeader; lines: string[] } | null {
  const f = csvFields(row);
  if (f.length <= F_MESSAGE) return null;
  const severity = f[F_SEVERITY]!;
  if (!(severity in SEVERITY_LEVEL)) return null;
  const stamp = stampAt(f[F_TIME]!);
  const pid = Number(f[F_PID]);
  const header: PgHeader = {
    time: stamp ? stamp.time : null,
    pid: Number.isInteger(pid) && pid > 0 ? pid : null,
    severity,
    user: f[F_USER] || null,
    db: f[F_DB] || null,
    sqlstate: f[F_SQLSTATE] || null,
    message: f[F_MESSAGE]!.split('\n')[0]!,
  };
  const who = header.user !== null || header.db !== null ? `${header.user ?? ''}@${header.db ?? ''} ` : '';
  const prefix = `${f[F_TIME]} [${f[F_PID]}] ${who}`;
  const lines: string[] = [];
  const add = (sev: string, text: string | undefined): void => {
    if (!text) return;
    const [first, ...rest] = text.split('\n');
    lines.push(`${prefix}${sev}:  ${first}`, ...rest);
  };
  add(severity, f[F_MESSAGE] || ' ');
  add('DETAIL', f[F_DETAIL]);
  add('HINT', f[F_HINT]);
  add('CONTEXT', f[F_CONTEXT]);
  add('STATEMENT', f[F_QUERY]);
  return { header, lines };
}
