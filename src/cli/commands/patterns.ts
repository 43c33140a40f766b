// `odoo-heal patterns list|validate|test`: inspect the pattern database and try it on a log.
import { UsageError } from '../../engine/errors.js';
import { defaultPatternsDir, loadPatternFile, loadPatterns, patternFiles } from '../../engine/patterns/load.js';
import { Matcher } from '../../engine/patterns/matcher.js';
import { readRecordBatches } from '../../engine/logs/read-records.js';
import type { PatternMatch } from '../../engine/types.js';
import { sanitizeText } from '../../ui/sanitize.js';
import type { GlobalOptions } from '../main.js';
import { renderTable } from '../table.js';
import { print, printJson } from '../output.js';

function dir(globals: GlobalOptions): string {
  return globals.patterns ?? defaultPatternsDir();
}

export async function list(globals: GlobalOptions, opts: { json?: boolean }): Promise<number> {
  const patterns = loadPatterns(dir(globals));
  if (opts.json) {
    const out = patterns.map(({ file, index, ...p }) => ({ ...p, file, index }));
    printJson({ format: 'odoo-heal/patterns@1', patterns: out });
    return 0;
  }
  const rows = patterns.map((p) => [
    p.id,
    p.severity,
    p.category,
    String(p.priority),
    p.fix ? `${p.fix.id}${p.fix.unattended ? '*' : ''}` : '-',
    versionRanges(p.versions),
    p.title,
  ]);
  print(`${renderTable(['ID', 'SEVERITY', 'CATEGORY', 'PRIORITY', 'FIX', 'ODOO', 'TITLE'], rows)}\n`);
  print(`${patterns.length} patterns (* = the pattern allows its fix unattended; config fixes.unattended must list it too)\n`);
  return 0;
}

/** `["12.0","13.0","14.0","17.0"]` → `12-14,17` (the Odoo series a pattern was seen in); `-` when none. */
export function versionRanges(versions: readonly string[] | undefined): string {
  const majors = [...new Set((versions ?? []).map((v) => Number.parseInt(v, 10)).filter((n) => Number.isFinite(n)))].sort((a, b) => a - b);
  if (majors.length === 0) return '-';
  const out: string[] = [];
  let start = majors[0]!;
  let prev = start;
  for (const n of [...majors.slice(1), Number.NaN]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    out.push(start === prev ? String(start) : `${start}-${prev}`);
    start = n;
    prev = n;
  }
  return out.join(',');
}

/** Validates one file, or the whole directory (which also checks ids across files). Throws
 * ConfigError (exit 2) on the first problem, naming file and entry. */
export async function validate(globals: GlobalOptions, file?: string): Promise<number> {
  if (file) {
    const patterns = loadPatternFile(file);
    print(`${file}: ok (${patterns.length} patterns)\n`);
    return 0;
  }
  const d = dir(globals);
  const files = patternFiles(d);
  const patterns = loadPatterns(d);
  print(`${d}: ok (${patterns.length} patterns in ${files.length} files)\n`);
  return 0;
}

interface TestRow {
  line: number;
  kind: 'odoo' | 'raw';
  level: string | null;
  patternId: string | null;
  /** Patterns that also matched but lost on priority. */
  alsoMatched: string[];
  captures: Record<string, string>;
  text: string;
  exception: string | null;
}

/** Which pattern matched which record of `log` (plus ERROR/CRITICAL records nothing matched). */
export async function test(globals: GlobalOptions, log: string, opts: { json?: boolean }): Promise<number> {
  if (!log) throw new UsageError('patterns test: a log file is required (- for stdin)');
  const matcher = new Matcher(loadPatterns(dir(globals)));
  const rows: TestRow[] = [];
  let records = 0;
  for await (const batch of readRecordBatches(log)) {
    for (const r of batch) {
      records++;
      const all: PatternMatch[] = matcher.matchAll(r);
      const winner = all[0];
      const level = r.kind === 'odoo' ? r.level : null;
      if (!winner && !(level === 'ERROR' || level === 'CRITICAL')) continue;
      rows.push({
        line: r.line,
        kind: r.kind,
        level,
        patternId: winner?.pattern.id ?? null,
        alsoMatched: all.slice(1).map((m) => m.pattern.id),
        captures: winner?.captures ?? {},
        text: r.message,
        exception: r.exception,
      });
    }
  }
  if (opts.json) {
    printJson({ format: 'odoo-heal/patterns-test@1', source: log, records, matches: rows });
    return 0;
  }
  const table = rows.map((row) => [
    String(row.line),
    row.level ?? 'raw',
    row.patternId ?? '(no pattern)',
    sanitizeText(
      [
        Object.entries(row.captures)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
        row.alsoMatched.length ? `(also: ${row.alsoMatched.join(', ')})` : '',
      ]
        .filter(Boolean)
        .join(' '),
    ),
    sanitizeText(row.exception ?? row.text).slice(0, 120),
  ]);
  print(`${renderTable(['LINE', 'LEVEL', 'PATTERN', 'CAPTURES', 'RECORD'], table)}\n`);
  const matched = rows.filter((r) => r.patternId).length;
  print(`${records} records, ${matched} matched a pattern\n`);
  return 0;
}
