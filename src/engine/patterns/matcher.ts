// Matches records against the pattern database. One record yields at most one match: the pattern
// with the highest `priority` that matches (ties: load order). A PermissionError inside an
// "Exception during request handling" record is explained by the permission pattern, not by a
// generic one, and one record never counts in two incidents.
//
// Speed: patterns are bucketed by record kind and level, tried in priority order (first hit wins),
// and each regex is guarded by a literal every match must contain (`includes` before `exec`).
import type { Level, LogRecord, Pattern, PatternMatch } from '../core/types.js';
import { requiredLiterals } from './regex-tools.js';

interface Field {
  re: RegExp;
  /** Any one of these must occur in the text; empty = no prefilter. */
  lits: string[];
}

interface Compiled {
  pattern: Pattern;
  priority: number;
  order: number;
  message: Field | null;
  exception: Field | null;
  record: Field | null;
  logger: Field | null;
}

const LEVEL_INDEX: Record<Level, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };

function field(src: string | undefined): Field | null {
  if (src === undefined) return null;
  return { re: new RegExp(src), lits: requiredLiterals(src) };
}

/** The literal prefilter alone: lets tryOne reject a record before allocating anything (most
 * candidates fail here, and a captures object per record x candidate showed up as GC in bench/log-scan). */
function hasLiteral(f: Field, text: string): boolean {
  if (f.lits.length === 0) return true;
  for (const lit of f.lits) if (text.includes(lit)) return true;
  return false;
}

/**
 * The matching budget (docs/security.md#pattern-matching-budget). Log text is attacker input, and a
 * backtracking regex costs up to O(n^degree) on it: validation (regex-tools.ts) refuses degree > 2,
 * and no regex ever sees more than this many characters of a field, so the worst case stays a few
 * tens of milliseconds per record. Real Odoo records stay well below it (the largest in the fixtures
 * is under 5,000 characters).
 */
export const MAX_REGEX_INPUT = 8192;
const HALF = MAX_REGEX_INPUT / 2;

/** What a regex sees of `text`: all of it, or its head and tail joined by a newline (a `^…` pattern
 * still sees the start, an exception at the end of a huge traceback is still there). */
export function regexInput(text: string): string {
  return text.length <= MAX_REGEX_INPUT ? text : `${text.slice(0, HALF)}\n${text.slice(text.length - HALF + 1)}`;
}

function test(f: Field, text: string, captures: Record<string, string>): boolean {
  if (f.lits.length > 0) {
    let hit = false;
    for (const lit of f.lits) {
      if (text.includes(lit)) {
        hit = true;
        break;
      }
    }
    if (!hit) return false;
  }
  const m = f.re.exec(text.length <= MAX_REGEX_INPUT ? text : regexInput(text));
  if (!m) return false;
  if (m.groups) {
    for (const k in m.groups) {
      const v = m.groups[k];
      if (v !== undefined) captures[k] = v;
    }
  }
  return true;
}

/** What the byte scanner (scan-file.ts) needs to skip one-line Odoo records without decoding them. */
export interface OneLinePrefilter {
  /** Per level index (DEBUG..CRITICAL): a candidate pattern has no literal to look for, so every
   * one-line record at this level must be decoded and matched. */
  every: boolean[];
  /** At the other levels a one-line record can only match if its line contains one of these. */
  literals: string[];
}

/**
 * The literals one of which a one-line Odoo record's line must contain for `c` to match it; null
 * when there is none to look for; 'never' when `c` cannot match a one-line record.
 *
 * Sound because `tryOne` applies the same literal prefilter to every field (logger, message and
 * record text are all substrings of a one-line record's only line), and because the line's text is
 * a substring of its bytes decoded: a literal in the text is in the bytes, unless it contains
 * U+FFFD (which also stands for invalid bytes) or a lone surrogate — such fields are not used.
 */
function oneLineLiterals(c: Compiled): string[] | null | 'never' {
  let best: string[] | null = null;
  let bestLen = 0;
  for (const f of [c.logger, c.message, c.record]) {
    if (!f || f.lits.length === 0) continue;
    // The text of a one-line record has no newline: a literal with one never occurs in it.
    const possible = f.lits.filter((l) => !l.includes('\n'));
    if (possible.length === 0) return 'never';
    if (possible.some((l) => /[\uFFFD\uD800-\uDFFF]/.test(l))) continue;
    const shortest = Math.min(...possible.map((l) => Buffer.byteLength(l)));
    if (shortest > bestLen) {
      best = possible;
      bestLen = shortest;
    }
  }
  return best;
}

/** Priority of a pattern (loaded patterns carry one; plain `Pattern` objects count as 0). */
export function priorityOf(p: Pattern): number {
  const v = (p as Pattern & { priority?: unknown }).priority;
  return typeof v === 'number' ? v : 0;
}

export class Matcher {
  /** Per Odoo level index: candidate patterns in priority order. */
  private readonly odoo: Compiled[][] = [[], [], [], [], []];
  private readonly raw: Compiled[] = [];
  /** Per level index: the `kind: postgres` patterns, the only ones PostgreSQL's records meet. */
  private readonly postgres: Compiled[][] = [[], [], [], [], []];
  readonly patterns: readonly Pattern[];

  constructor(patterns: Pattern[]) {
    this.patterns = patterns;
    const compiled = patterns.map(
      (pattern, order): Compiled => ({
        pattern,
        priority: priorityOf(pattern),
        order,
        message: field(pattern.match.message),
        exception: field(pattern.match.exception),
        record: field(pattern.match.record),
        logger: field(pattern.match.logger),
      }),
    );
    compiled.sort((a, b) => b.priority - a.priority || a.order - b.order);
    for (const c of compiled) {
      const kind = c.pattern.match.kind ?? 'any';
      const levels = c.pattern.match.levels;
      if (kind === 'postgres') {
        for (let i = 0; i < 5; i++) {
          if (!levels || levels.some((l) => LEVEL_INDEX[l] === i)) this.postgres[i]!.push(c);
        }
        continue;
      }
      if (kind !== 'raw') {
        for (let i = 0; i < 5; i++) {
          if (!levels || levels.some((l) => LEVEL_INDEX[l] === i)) this.odoo[i]!.push(c);
        }
      }
      // Raw records have no level or logger: a pattern that filters on either cannot match them.
      if (kind !== 'odoo' && !levels && !c.logger) this.raw.push(c);
    }
  }

  /** See OneLinePrefilter. */
  oneLinePrefilter(): OneLinePrefilter {
    const every = [false, false, false, false, false];
    const literals = new Set<string>();
    this.odoo.forEach((list, level) => {
      for (const c of list) {
        // A one-line Odoo record has no exception (the parser finds one only in continuation lines).
        if (c.exception) continue;
        const need = oneLineLiterals(c);
        if (need === 'never') continue;
        if (need === null) every[level] = true;
        else for (const l of need) literals.add(l);
      }
    });
    return { every, literals: [...literals] };
  }

  /** The winning match for a record: [] or one element. */
  match(record: LogRecord): PatternMatch[] {
    const m = this.first(record, this.candidates(record));
    return m ? [m] : [];
  }

  /** Every pattern that matches, winner first (for `patterns test` and debugging overlaps). */
  matchAll(record: LogRecord): PatternMatch[] {
    const out: PatternMatch[] = [];
    for (const c of this.candidates(record)) {
      const m = this.tryOne(c, record, null);
      if (m) out.push(m);
    }
    return out;
  }

  private candidates(record: LogRecord): Compiled[] {
    if (record.kind === 'odoo') return this.odoo[LEVEL_INDEX[record.level]]!;
    return record.kind === 'postgres' ? this.postgres[LEVEL_INDEX[record.level]]! : this.raw;
  }

  private first(record: LogRecord, list: Compiled[]): PatternMatch | null {
    const text: { v: string | null } = { v: null };
    for (const c of list) {
      const m = this.tryOne(c, record, text);
      if (m) return m;
    }
    return null;
  }

  private tryOne(c: Compiled, record: LogRecord, cache: { v: string | null } | null): PatternMatch | null {
    // Cheapest checks first: a pattern on the exception skips the many records without one.
    if (c.exception && record.exception === null) return null;
    if (c.message && !hasLiteral(c.message, record.message)) return null;
    const captures: Record<string, string> = {};
    if (c.logger && (record.kind !== 'odoo' || !test(c.logger, record.logger, captures))) return null;
    if (c.message && !test(c.message, record.message, captures)) return null;
    if (c.exception && !test(c.exception, record.exception!, captures)) return null;
    if (c.record) {
      let text: string;
      if (cache && cache.v !== null) text = cache.v;
      else {
        text = record.lines.length === 1 ? record.lines[0]! : record.lines.join('\n');
        if (cache) cache.v = text;
      }
      if (!test(c.record, text, captures)) return null;
    }
    return { pattern: c.pattern, captures, record };
  }
}
