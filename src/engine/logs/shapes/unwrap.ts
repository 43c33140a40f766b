// The wrappers that log collectors put around the lines a program wrote: docker compose's
// `name-1  | `, `docker logs --timestamps`, the Kubernetes CRI log format, journalctl's short,
// short-iso, short-precise, short-unix and json outputs, syslog (RFC 3164 and 5424), docker's
// json-file driver, TrueNAS's app log viewer (a stamp glued to the line) and Synology's container
// log export (`date<TAB>stream<TAB>content`, newest first). `unwrapLine` takes one line off such a
// wrapper and says which interleaved stream (compose service, journal identifier, container stream)
// it came from, so each stream can be assembled into records on its own: a traceback from `odoo-1`
// never swallows a line from `db-1`.
//
// Plain lines (Odoo's own format, journalctl `-o cat`) are not wrapped: null. Every check here is a
// few character comparisons before anything allocates, because the parser asks about every line
// that is not an Odoo header (traceback frames included).
import { journalJsonLine } from './journal-json.js';
import type { ShapeKind, Unwrapped } from './unwrapped.js';
import { C_COLON, C_DASH, C_DOT, C_LBRACE, C_LT, C_PIPE, C_SPACE, C_T, C_Z, digits, isDigit } from '../char-codes.js';

export type { ShapeKind, Unwrapped } from './unwrapped.js';

/**
 * Takes the collector's wrapper off `line`; null when it has none. `composeOk`: whether a
 * `name  | ` prefix may be taken as docker compose's (the caller refuses it in a source that has
 * shown plain Odoo records and no compose line, where `word  | text` is more likely message text).
 */
export function unwrapLine(line: string, composeOk: boolean): Unwrapped | null {
  if (line.length < 3) return null;
  const c0 = line.charCodeAt(0);
  if (isDigit(c0)) {
    const u = stamped(line);
    if (u) return u;
  } else if (c0 >= 65 && c0 <= 90) {
    const u = monthStamped(line, 0, 'journal');
    if (u) return u;
  } else if (c0 === C_LT) {
    return syslogWithPri(line);
  } else if (c0 === C_LBRACE) {
    return journalJsonLine(line);
  }
  return composeOk ? compose(line) : null;
}

/** The inner text of a compose line is the container's output: it may carry docker's own stamp. */
function compose(line: string): Unwrapped | null {
  const at = composePrefixEnd(line);
  if (at < 0) return null;
  const nameEnd = nameEndOf(line);
  const stream = line.slice(0, nameEnd);
  const text = line.slice(at);
  const inner = text.length > 20 && isDigit(text.charCodeAt(0)) ? dockerStamped(text) : null;
  if (inner) return { kind: 'compose', text: inner.text, time: inner.time, stream, partial: false };
  return { kind: 'compose', text, time: null, stream, partial: false };
}

const MAX_SERVICE_NAME = 128;

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === C_DASH || c === C_DOT;
}

function nameEndOf(line: string): number {
  let i = 0;
  while (i < line.length && i < MAX_SERVICE_NAME && isNameChar(line.charCodeAt(i))) i++;
  return i;
}

/**
 * Where the text starts after `name<spaces>| ` (compose v1 `name_1`, v2 `name-1`, padded to the
 * longest service name), or -1. An empty output line is `name  |` with nothing after the bar.
 */
export function composePrefixEnd(line: string): number {
  const nameEnd = nameEndOf(line);
  if (nameEnd === 0 || nameEnd >= line.length || line.charCodeAt(nameEnd) !== C_SPACE) return -1;
  let i = nameEnd;
  while (i < line.length && line.charCodeAt(i) === C_SPACE) i++;
  if (line.charCodeAt(i) !== C_PIPE) return -1;
  if (i + 1 === line.length) return i + 1;
  return line.charCodeAt(i + 1) === C_SPACE ? i + 2 : -1;
}

/**
 * Lines that start with an ISO 8601 stamp (`YYYY-MM-DDTHH:MM:SS...`): CRI, docker --timestamps,
 * journalctl short-iso(-precise), rsyslog's high-precision format; or with a Unix time
 * (journalctl short-unix).
 */
function stamped(line: string): Unwrapped | null {
  if (line.length > 20 && line.charCodeAt(10) === C_SPACE && (line.charCodeAt(19) === C_SPACE || line.charCodeAt(19) === 9)) return synology(line);
  if (line.length > 20 && line.charCodeAt(10) === C_T) {
    const end = line.indexOf(' ', 19);
    const stampEnd = end < 0 ? line.length : end;
    if (!isoDate(line)) return null;
    const time = isoTime(line.slice(0, stampEnd));
    if (time === null) return null;
    if (end < 0) return { kind: 'docker', text: '', time, stream: '', partial: false };
    const cri = criRest(line, end + 1);
    if (cri) return { kind: 'cri', text: cri.text, time, stream: cri.stream, partial: cri.partial };
    if (line.charCodeAt(stampEnd - 1) === C_Z) return { kind: 'docker', text: line.slice(end + 1), time, stream: '', partial: false };
    return hostTagged(line, end + 1, time, 'journal');
  }
  if (line.length >= 26 && line.charCodeAt(10) === C_SPACE && line.charCodeAt(19) === C_DOT) return gluedStamp(line);
  // short-unix: `1701424800.123456 host ident[pid]: text`.
  let i = 0;
  while (i < line.length && i < 12 && isDigit(line.charCodeAt(i))) i++;
  if (i < 9 || line.charCodeAt(i) !== C_DOT) return null;
  const dot = i;
  i++;
  while (i < line.length && isDigit(line.charCodeAt(i))) i++;
  if (i === dot + 1 || line.charCodeAt(i) !== C_SPACE) return null;
  const time = Math.round(Number(line.slice(0, i)) * 1000);
  return hostTagged(line, i + 1, time, 'journal');
}

/**
 * TrueNAS SCALE's app log viewer: `YYYY-MM-DD HH:MM:SS.ffffff+00:00` glued to the container's line
 * (no space between). The zone must follow the fraction at once: PostgreSQL's `%m` prefix
 * (`2024-01-01 10:00:00.123 UTC [1] LOG:`) has a space there and is left to its own parser.
 */
function gluedStamp(line: string): Unwrapped | null {
  if (!isoDate(line)) return null;
  let i = 20;
  while (i < line.length && isDigit(line.charCodeAt(i))) i++;
  if (i === 20) return null;
  let zoneEnd: number;
  if (line.charCodeAt(i) === C_Z) zoneEnd = i + 1;
  else {
    const sign = line.charCodeAt(i);
    if (sign !== 43 /* + */ && sign !== C_DASH) return null;
    if (digits(line, i + 1, i + 3) < 0 || line.charCodeAt(i + 3) !== C_COLON || digits(line, i + 4, i + 6) < 0) return null;
    zoneEnd = i + 6;
  }
  const time = isoTime(`${line.slice(0, 10)}T${line.slice(11, zoneEnd)}`);
  if (time === null) return null;
  return { kind: 'docker', text: line.slice(zoneEnd), time, stream: '', partial: false };
}

/**
 * Synology's container log export: `YYYY-MM-DD HH:MM:SS<TAB>stdout<TAB>text`, or the same as a
 * markdown table once pasted (`YYYY-MM-DD HH:MM:SS | stdout | text`). Its lines come newest first,
 * so a traceback's exception line comes before its frames. (An Odoo header has `,` where this has
 * the separator, a PostgreSQL line `.` or a zone.)
 */
function synology(line: string): Unwrapped | null {
  if (!isoDate(line)) return null;
  let at: number;
  let stream: string;
  if (line.startsWith('\tstdout\t', 19) || line.startsWith('\tstderr\t', 19)) {
    at = 27;
    stream = line.slice(20, 26);
  } else if (line.startsWith(' | stdout | ', 19) || line.startsWith(' | stderr | ', 19)) {
    at = 31;
    stream = line.slice(22, 28);
  } else if (line.endsWith(' | stdout |') || line.endsWith(' | stderr |')) {
    return line.length === 30 ? { kind: 'synology', text: '', time: localTime(line), stream: line.slice(22, 28), partial: false } : null;
  } else return null;
  return { kind: 'synology', text: line.slice(at), time: localTime(line), stream, partial: false };
}

/** `YYYY-MM-DD HH:MM:SS` at the start of `s` (already checked by isoDate), in this host's zone. */
function localTime(s: string): number {
  return new Date(digits(s, 0, 4), digits(s, 5, 7) - 1, digits(s, 8, 10), digits(s, 11, 13), digits(s, 14, 16), digits(s, 17, 19)).getTime();
}

/** `docker logs --timestamps`: `<RFC 3339 nano>Z text`, the only shape allowed inside compose. */
function dockerStamped(text: string): { text: string; time: number } | null {
  if (text.charCodeAt(10) !== C_T || !isoDate(text)) return null;
  const end = text.indexOf(' ', 19);
  if (end < 0 || text.charCodeAt(end - 1) !== C_Z) return null;
  const time = isoTime(text.slice(0, end));
  return time === null ? null : { text: text.slice(end + 1), time };
}

function isoDate(s: string): boolean {
  return (
    s.charCodeAt(4) === C_DASH &&
    s.charCodeAt(7) === C_DASH &&
    s.charCodeAt(13) === C_COLON &&
    s.charCodeAt(16) === C_COLON &&
    digits(s, 0, 4) >= 0 &&
    digits(s, 5, 7) >= 1 &&
    digits(s, 8, 10) >= 1 &&
    digits(s, 11, 13) >= 0 &&
    digits(s, 14, 16) >= 0 &&
    digits(s, 17, 19) >= 0
  );
}

/** Epoch ms of an ISO 8601 stamp with a zone (`Z`, `+01:00`, `+0100`), or local without; null if malformed. */
function isoTime(stamp: string): number | null {
  const t = Date.parse(stamp);
  if (!Number.isNaN(t)) return t;
  // `+01` (no minutes) is valid ISO 8601 that Date.parse refuses.
  const m = /^(.*[+-]\d\d)$/.exec(stamp);
  if (m) {
    const t2 = Date.parse(`${m[1]}:00`);
    if (!Number.isNaN(t2)) return t2;
  }
  return null;
}

/** CRI after the stamp: `stdout F text` / `stderr P text` (the text may be empty). */
function criRest(line: string, at: number): { text: string; stream: string; partial: boolean } | null {
  const out = line.startsWith('stdout ', at);
  if (!out && !line.startsWith('stderr ', at)) return null;
  const tag = line.charCodeAt(at + 7);
  if (tag !== 70 /* F */ && tag !== 80 /* P */) return null;
  const after = at + 8;
  if (after < line.length && line.charCodeAt(after) !== C_SPACE) return null;
  return { text: line.slice(Math.min(after + 1, line.length)), stream: out ? 'stdout' : 'stderr', partial: tag === 80 };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `Mmm dd HH:MM:SS[.ffffff] host ident[pid]: text` at `at`: journalctl short and short-precise,
 * and RFC 3164 syslog (day padded with a space). No year: the current one is assumed, or the last
 * one for a date that would be in the future.
 */
function monthStamped(line: string, at: number, kind: ShapeKind): Unwrapped | null {
  if (line.length < at + 17) return null;
  if (line.charCodeAt(at + 3) !== C_SPACE || line.charCodeAt(at + 9) !== C_COLON || line.charCodeAt(at + 12) !== C_COLON) return null;
  const month = MONTHS.indexOf(line.slice(at, at + 3));
  if (month < 0) return null;
  const day = line.charCodeAt(at + 4) === C_SPACE ? digits(line, at + 5, at + 6) : digits(line, at + 4, at + 6);
  const h = digits(line, at + 7, at + 9);
  const mi = digits(line, at + 10, at + 12);
  const se = digits(line, at + 13, at + 15);
  if (day < 1 || day > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return null;
  let i = at + 15;
  let ms = 0;
  if (line.charCodeAt(i) === C_DOT) {
    const from = ++i;
    while (i < line.length && isDigit(line.charCodeAt(i))) i++;
    if (i === from) return null;
    ms = Math.floor(Number(`0.${line.slice(from, i)}`) * 1000);
  }
  if (line.charCodeAt(i) !== C_SPACE) return null;
  const now = new Date();
  let time = new Date(now.getFullYear(), month, day, h, mi, se, ms).getTime();
  if (time > now.getTime() + 86_400_000) time = new Date(now.getFullYear() - 1, month, day, h, mi, se, ms).getTime();
  return hostTagged(line, i + 1, time, kind);
}

/** After the stamp: `host ident[pid]: text` or `host ident: text`, or `ident[pid]: text` when the
 * host name was left out (pastes often drop it); the stream is `host ident[pid]`. */
function hostTagged(line: string, hostStart: number, time: number, kind: ShapeKind): Unwrapped | null {
  const hostEnd = line.indexOf(' ', hostStart);
  if (hostEnd <= hostStart) return null;
  if (line.charCodeAt(hostEnd - 1) === C_COLON && isIdentWithPid(line, hostStart, hostEnd - 1)) {
    return { kind, text: line.slice(hostEnd + 1), time, stream: line.slice(hostStart, hostEnd - 1), partial: false };
  }
  const tagEnd = line.indexOf(':', hostEnd + 1);
  if (tagEnd <= hostEnd + 1) return null;
  // The tag (`odoo[123]`) has no spaces, and `: ` (or the end of the line) follows it.
  const sp = line.indexOf(' ', hostEnd + 1);
  if (sp >= 0 && sp < tagEnd) return null;
  const after = tagEnd + 1;
  if (after < line.length && line.charCodeAt(after) !== C_SPACE) return null;
  return {
    kind,
    text: line.slice(Math.min(after + 1, line.length)),
    time,
    stream: line.slice(hostStart, tagEnd),
    partial: false,
  };
}

/** `ident[123]` between `from` and `end`: a program name, then its pid in brackets. */
function isIdentWithPid(line: string, from: number, end: number): boolean {
  if (line.charCodeAt(end - 1) !== 93 /* ] */) return false;
  const open = line.lastIndexOf('[', end - 1);
  if (open <= from || open >= end - 2) return false;
  return digits(line, open + 1, end - 1) >= 0;
}

/** `<PRI>` then RFC 3164 (`<13>Jan  1 ...`) or RFC 5424 (`<13>1 2024-01-01T... host app pid msgid sd msg`). */
function syslogWithPri(line: string): Unwrapped | null {
  const close = line.indexOf('>');
  if (close < 2 || close > 4 || digits(line, 1, close) < 0) return null;
  const at = close + 1;
  if (line.startsWith('1 ', at)) return rfc5424(line, at + 2);
  return monthStamped(line, at, 'syslog');
}

function rfc5424(line: string, at: number): Unwrapped | null {
  const f: string[] = [];
  let i = at;
  // STAMP HOST APP PROCID MSGID
  for (let k = 0; k < 5; k++) {
    const sp = line.indexOf(' ', i);
    if (sp <= i) return null;
    f.push(line.slice(i, sp));
    i = sp + 1;
  }
  // Structured data: `-`, or `[...]` elements (values may hold spaces; `]` inside them is escaped).
  if (line.startsWith('- ', i) || i === line.length - 1) i += 2;
  else if (line.charCodeAt(i) === 91 /* [ */) {
    let j = i;
    while (j < line.length && line.charCodeAt(j) === 91) {
      let k = j + 1;
      while (k < line.length && !(line.charCodeAt(k) === 93 && line.charCodeAt(k - 1) !== 92)) k++;
      j = k + 1;
    }
    i = j + 1;
  } else return null;
  const time = f[0] === '-' ? null : isoTime(f[0]!);
  let text = line.slice(Math.min(i, line.length));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const pid = f[3] === '-' ? '' : `[${f[3]}]`;
  return { kind: 'syslog', text, time, stream: `${f[1]} ${f[2]}${pid}`, partial: false };
}
