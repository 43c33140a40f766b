// Drafts a pattern for an unclassified incident ("continuous improvement"): the literal parts of the
// error anchored, the parts that change between occurrences generalised, and then proved the way a
// reviewer would want it proved before it goes into /etc/odoo-heal/patterns.d:
//   - it passes every load-time check of a pattern file (schema, regexes compile, the ReDoS
//     validator of regex-tools.ts), because it IS loaded from a file by the same loader;
//   - it matches every record of the incident it came from;
//   - it matches nothing in the baseline logs (healthy runs), nor any other record of the log it
//     came from.
// Nothing is written here: the caller shows the draft and writes it only when asked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { loadPatternFile } from '../patterns/load.js';
import { Matcher } from '../patterns/matcher.js';
import type { Incident, LogRecord, Pattern, Severity } from '../core/types.js';
import { addonFrame, splitException } from '../incidents/signature.js';

/** Parts of a message that change between occurrences, each with the regex that stands for it.
 * The same kinds of parts signature.ts masks, so what the signature groups the pattern matches. */
const VARIABLE: [RegExp, string][] = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/iy, '[0-9a-fA-F-]{36}'],
  [/\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?/y, '\\d{4}-\\d{2}-\\d{2}(?:[ T]\\d{2}:\\d{2}(?::\\d{2}(?:[.,]\\d+)?)?)?'],
  [/(?:\/[^\s'"/]+)*\/(?:filestore|sessions)(?:\/[^\s'"]*)?/y, '[^\\s\'"]+'],
  [/'[^'\n]{0,200}'/y, "'[^'\\n]*'"],
  [/"[^"\n]{0,200}"/y, '"[^"\\n]*"'],
  [/\b0x[0-9a-f]+\b/iy, '0x[0-9a-fA-F]+'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/iy, '[0-9a-fA-F]+'],
  [/\d+(?:\.\d+)?/y, '\\d+(?:\\.\\d+)?'],
];

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A regex source matching `text` and its variants: literal runs escaped, variable parts generalised.
 * `db` (the record's database) is generalised too. Whitespace runs become `\s+`.
 */
export function generalise(text: string, db: string | null = null): string {
  let out = '';
  let i = 0;
  outer: while (i < text.length) {
    if (db && db.length >= 2 && text.startsWith(db, i) && !/[\w.-]/.test(text[i - 1] ?? '') && !/[\w-]/.test(text[i + db.length] ?? '')) {
      out += '[\\w.-]+';
      i += db.length;
      continue;
    }
    for (const [re, by] of VARIABLE) {
      re.lastIndex = i;
      const m = re.exec(text);
      if (m && m[0].length > 0) {
        out += by;
        i += m[0].length;
        continue outer;
      }
    }
    const c = text[i]!;
    if (/\s/.test(c)) {
      let j = i;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (j < text.length) out += '\\s+';
      i = j;
      continue;
    }
    out += escapeRegex(c);
    i++;
  }
  return out;
}

/** `a-z0-9-` only, for pattern ids. */
function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/** The draft pattern for one record of an unclassified incident (its sample). */
export function draftPattern(incident: Incident, record: LogRecord): Pattern {
  if (incident.origin.kind !== 'unclassified') throw new Error(`${incident.id} is not an unclassified incident`);
  const o = incident.origin;
  const db = record.kind === 'odoo' ? record.db : null;
  const match: Pattern['match'] = {};
  if (record.exception !== null) {
    const e = splitException(record.exception);
    match.exception = e.cls ? `^${escapeRegex(e.cls)}${record.exception.includes(':') ? `:\\s*${generalise(e.message, db)}` : ''}$` : `^${generalise(record.exception, db)}$`;
  } else {
    // Odoo records: the message (without perf numbers) from its start; raw ones: the first line.
    match.message = `^${generalise(record.kind === 'odoo' ? record.message : (record.lines[0] ?? ''), db)}`;
  }
  if (record.kind === 'odoo') {
    // An exception names the error wherever it is logged (a route's odoo.http, a cron's own
    // logger); a bare message needs its logger and level to mean one thing.
    if (record.exception === null) {
      match.logger = `^${escapeRegex(record.logger)}$`;
      match.levels = [record.level];
    }
    match.kind = 'odoo';
  }
  const frame = addonFrame(record);
  if (frame) {
    // The code that raised: `File "…/sale_bug/models/sale.py", line N, in margin` (any install path).
    const [file, func] = [frame.frame.slice(0, frame.frame.lastIndexOf(':')), frame.frame.slice(frame.frame.lastIndexOf(':') + 1)];
    match.record = `File "[^"\\n]*/${escapeRegex(file)}", line \\d+, in ${escapeRegex(func)}\\n`;
  }
  const what = o.exceptionClass ?? (record.kind === 'odoo' ? record.level : 'error');
  const id = `local-${slug(o.addon ?? o.logger ?? 'odoo')}-${slug(what)}${o.frame ? `-${slug(o.frame.slice(o.frame.lastIndexOf(':') + 1))}` : ''}`;
  const severity: Severity = incident.severity;
  return {
    id,
    title: incident.title,
    severity,
    category: incident.category,
    hint: `Drafted by \`odoo-heal patterns suggest\` from incident ${incident.id}. Say what it means and what to do (owner of ${o.addon ?? 'this code'}, known workaround, ticket).`,
    match,
    fingerprint: [],
  };
}

export interface Proof {
  /** Records of the incident the pattern matched, out of how many. */
  matched: number;
  of: number;
  /** Other records (same logs, other errors) the pattern wrongly matched: `source:line`. */
  otherHits: string[];
  /** Baseline files read and the records in them the pattern matched: `file:line`. */
  baselines: string[];
  baselineHits: string[];
  /** Load-time refusal (schema, regex, ReDoS), or null. */
  refused: string | null;
}

export function proofOk(p: Proof): boolean {
  return p.refused === null && p.of > 0 && p.matched === p.of && p.otherHits.length === 0 && p.baselineHits.length === 0;
}

/** The pattern file text a draft is written as (the format of patterns/*.json). */
export function patternFileText(pattern: Pattern): string {
  return `${JSON.stringify({ description: `Local pattern drafted by odoo-heal patterns suggest`, patterns: [pattern] }, null, 2)}\n`;
}

/**
 * Proves `pattern` (see the file comment): `own` are the incident's records, `others` every other
 * record read with them, `baselines` healthy logs as records by file.
 */
export function provePattern(pattern: Pattern, own: LogRecord[], others: LogRecord[], baselines: Map<string, LogRecord[]>): Proof {
  const proof: Proof = { matched: 0, of: own.length, otherHits: [], baselines: [...baselines.keys()], baselineHits: [], refused: null };
  // Loaded from a file by the loader itself: the same schema, regex and ReDoS checks as any pattern.
  const dir = mkdtempSync(join(tmpdir(), 'odoo-heal-suggest-'));
  let loaded: Pattern[];
  try {
    const file = join(dir, `${pattern.id}.json`);
    writeFileSync(file, patternFileText(pattern));
    loaded = loadPatternFile(file, { trustVerified: false });
  } catch (err) {
    proof.refused = err instanceof ConfigError ? err.message.replace(/^[^:]*: /, '') : (err as Error).message;
    return proof;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const m = new Matcher(loaded);
  for (const r of own) if (m.match(r).length > 0) proof.matched++;
  for (const r of others) if (m.match(r).length > 0) proof.otherHits.push(`${r.source}:${r.line}`);
  for (const [file, records] of baselines) for (const r of records) if (m.match(r).length > 0) proof.baselineHits.push(`${file}:${r.line}`);
  return proof;
}
