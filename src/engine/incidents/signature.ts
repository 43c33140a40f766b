// The signature of a record no pattern explains: what makes two such records "the same error".
//
// Six ZeroDivisionErrors raised by one route must be ONE incident, and `KeyError: 'ref-17'` and
// `KeyError: 'ref-99'` raised by one line of code too; a different exception, or the same one
// raised from another function, is another incident. So the signature is
//   exception class | message with its changing parts masked | innermost addon frame (or the logger)
// where the frame is `module/path.py:function` of the innermost traceback frame that lies in an
// addon: custom addons first, Odoo's bundled addons when no custom frame is there, never Odoo's
// core package or a Python library (those say where the error surfaced, not whose code failed).
//
// Pure functions of the record text: no file system, no configuration (paths in a log are attacker
// input and may not exist on this host), so `detect` on a copied log groups like the live engine.
import type { LogRecord } from '../core/types.js';

export interface Signature {
  /** The grouping key: `class|masked message|frame` (frame `logger:<name>` when there is none). */
  key: string;
  /** `ZeroDivisionError`, `odoo.exceptions.UserError`; null for a record without an exception line. */
  exceptionClass: string | null;
  /** The message with numbers, ids, quoted values, hex, UUIDs, dates, data paths and the db masked. */
  message: string;
  /** `sale_bug/controllers/main.py:confirm`, or null when no frame lies in an addon. */
  frame: string | null;
  /** The addon of `frame` (`sale_bug`), or null. */
  addon: string | null;
  /** The record's logger (null for raw records). */
  logger: string | null;
  /** In words: "ZeroDivisionError in sale_bug/controllers/main.py:confirm". */
  title: string;
}

const TRACEBACK = 'Traceback (most recent call last):';
/** `  File "/path/x.py", line 12, in func` (Python's frame line). */
const FRAME = /^\s+File "([^"]+)", line \d+, in (\S+)/;
/** The longest masked message kept in a signature: long enough to tell errors apart, bounded for a
 * record that carries a whole document in its message. */
const MAX_MESSAGE = 160;

/** Whether a record qualifies for an unclassified incident: ERROR or CRITICAL, or a traceback. */
export function isUnclassifiedCandidate(record: LogRecord): boolean {
  if (record.kind === 'odoo' && (record.level === 'ERROR' || record.level === 'CRITICAL')) return true;
  if (record.exception !== null) return true;
  if (record.lines.length < 2 && !record.lines[0]?.startsWith(TRACEBACK)) return false;
  for (const l of record.lines) if (l.startsWith(TRACEBACK)) return true;
  return false;
}

// Masks, most specific first (a UUID is also hex and digits; a date is also numbers).
const MASKS: [RegExp, string][] = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>'],
  [/\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?/g, '<date>'],
  [/\b\d{1,2}:\d{2}:\d{2}\b/g, '<time>'],
  // Data-dir paths: the filestore and sessions directories, whatever the data dir is.
  [/(?:\/[^\s'"/]+)*\/(?:filestore|sessions)(?:\/[^\s'"]*)?/g, '<data-path>'],
  [/'[^'\n]{0,200}'/g, "'<v>'"],
  [/"[^"\n]{0,200}"/g, '"<v>"'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  // A bare hex run with a digit in it (checksums, attachment names); plain words stay.
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\d+(?:\.\d+)?/g, '<n>'],
];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `text` with the parts that change between occurrences of one error masked; `db` (the record's
 * database) is masked too, so the same error in two databases is one incident. */
export function maskMessage(text: string, db: string | null = null): string {
  let s = text.length > 4 * MAX_MESSAGE ? text.slice(0, 4 * MAX_MESSAGE) : text;
  // The database name first: it may contain digits or appear quoted.
  if (db && db.length >= 2) s = s.replace(new RegExp(`(?<![\\w.-])${escapeRegExp(db)}(?![\\w-])`, 'g'), '<db>');
  for (const [re, by] of MASKS) s = s.replace(re, by);
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > MAX_MESSAGE ? s.slice(0, MAX_MESSAGE) : s;
}

/** `pkg.ErrorName` and the message of an exception line (`ErrorName: message`, or a bare name). */
export function splitException(line: string): { cls: string | null; message: string } {
  const m = /^([A-Za-z_][\w.]*)(?::\s?(.*))?$/.exec(line.trim());
  if (!m || (m[2] === undefined && !/(?:Error|Exception|Exit|Interrupt|Warning)$/.test(m[1]!))) return { cls: null, message: line };
  return { cls: m[1]!, message: m[2] ?? '' };
}

interface Frame {
  path: string;
  func: string;
}

/** The frames of the record's tracebacks, outermost first (chained tracebacks one after another). */
function framesOf(record: LogRecord): Frame[] {
  const out: Frame[] = [];
  for (const l of record.lines) {
    if (l.length < 8 || l.charCodeAt(0) !== 32) continue;
    const m = FRAME.exec(l);
    if (m) out.push({ path: m[1]!.replace(/\\/g, '/'), func: m[2]! });
  }
  return out;
}

/** Python's own code and third-party libraries: never "whose code failed". */
function isLibrary(path: string): boolean {
  if (path.startsWith('<')) return true; // <frozen os>, <decorator-gen-15>, <string>
  if (/\/odoo\/(?!addons\/)/.test(path) && !/\/(?:site|dist)-packages\/(?!odoo\/)/.test(path)) return false;
  return /\/(?:site|dist)-packages\/(?!odoo\/)|\/lib\/python\d[\d.]*\//.test(path);
}

/** Odoo's core package (`…/odoo/http.py`, `…/odoo/models.py`), not its `odoo/addons`. */
function odooRoot(path: string): string | null {
  const m = /^(.*)\/odoo\/(?!addons\/)[^/]+/.exec(path);
  return m ? m[1]! : null;
}

/** Sub-directories an addon's code lives in: the directory above one of them is the module. */
const ADDON_SUBDIRS = new Set(['models', 'controllers', 'wizard', 'wizards', 'report', 'reports', 'tests', 'populate', 'lib', 'tools', 'components', 'services', 'migrations', 'upgrades', 'hooks', 'data', 'utils', 'demo']);

/** `{module, rel}` of a file in an addon (`sale_bug`, `controllers/main.py`), or null. */
function addonOf(path: string): { module: string; rel: string } | null {
  const parts = path.split('/').filter((p) => p.length > 0);
  if (parts.length < 2) return null;
  // `…/addons/<module>/…`, `…/custom_addons/<module>/…`, `…/odoo/addons/<module>/…`
  for (let i = parts.length - 3; i >= 0; i--) {
    if (/addons$/i.test(parts[i]!)) return { module: parts[i + 1]!, rel: parts.slice(i + 2).join('/') };
  }
  for (let i = parts.length - 2; i >= 1; i--) {
    if (ADDON_SUBDIRS.has(parts[i]!)) return { module: parts[i - 1]!, rel: parts.slice(i).join('/') };
  }
  return { module: parts[parts.length - 2]!, rel: parts[parts.length - 1]! };
}

/**
 * The innermost frame in an addon, as `module/path.py:function`: a custom addon's when there is
 * one, else a bundled addon's (under Odoo's own tree, seen from the core frames' paths).
 */
export function addonFrame(record: LogRecord): { frame: string; addon: string } | null {
  const frames = framesOf(record);
  if (frames.length === 0) return null;
  const roots = new Set<string>();
  for (const f of frames) {
    const r = odooRoot(f.path);
    if (r !== null) roots.add(r);
  }
  const isCore = (p: string): boolean => /\/odoo\/(?!addons\/)/.test(p) || p.endsWith('/odoo-bin') || p.endsWith('/openerp-server');
  const isBundled = (p: string): boolean => {
    for (const r of roots) if (p.startsWith(`${r}/addons/`) || p.startsWith(`${r}/odoo/addons/`)) return true;
    return /\/odoo\/addons\/|\/openerp\/addons\//.test(p);
  };
  let bundled: { frame: string; addon: string } | null = null;
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    if (isLibrary(f.path) || isCore(f.path)) continue;
    const a = addonOf(f.path);
    if (!a) continue;
    const found = { frame: `${a.module}/${a.rel}:${f.func}`, addon: a.module };
    if (!isBundled(f.path)) return found;
    bundled ??= found;
  }
  return bundled;
}

/** The signature of a record (see the file comment). */
export function signatureOf(record: LogRecord): Signature {
  const db = record.kind === 'odoo' ? record.db : null;
  const logger = record.kind === 'odoo' ? record.logger : null;
  let cls: string | null = null;
  let text: string;
  if (record.exception !== null) {
    const e = splitException(record.exception);
    cls = e.cls;
    text = e.message;
  } else {
    text = record.kind === 'odoo' ? record.message : (record.lines[0] ?? '');
  }
  const message = maskMessage(text, db);
  const where = addonFrame(record);
  const frame = where?.frame ?? null;
  const key = `${cls ?? ''}|${message}|${frame ?? `logger:${logger ?? ''}`}`;
  const what = cls ?? (record.kind === 'odoo' ? record.level : 'Error');
  let title: string;
  if (frame) title = `${what} in ${frame}`;
  else if (cls) title = logger ? `${cls} in ${logger}` : cls;
  else title = logger ? `${what} in ${logger}: ${message}` : message;
  return { key, exceptionClass: cls, message, frame, addon: where?.addon ?? null, logger, title };
}

/**
 * The request a werkzeug access line names when it reports a server error (`"GET /x HTTP/1.1" 500`),
 * as `GET /x` without the query string (ids and tokens vary, and may be secrets); else null.
 */
export function failedRequestOf(record: LogRecord): string | null {
  if (record.kind !== 'odoo' || record.logger !== 'werkzeug') return null;
  const m = /"([A-Z]{3,7}) ([^ "?]{1,300})[^ "]* HTTP\/[\d.]+" (5\d\d) /.exec(record.message);
  return m ? `${m[1]} ${m[2]}` : null;
}
