// `odoo-heal patterns list|validate|test`: inspect the pattern database and try it on a log.
import { UsageError } from '../../engine/core/errors.js';
import { existsSync } from 'node:fs';
import { DEFAULT_LOCAL_PATTERNS_DIR } from '../../engine/config/defaults.js';
import type { LoadedConfig } from '../../engine/config/load.js';
import { defaultPatternsDir, loadPatternFile, loadPatternLayers, loadPatterns, patternFiles, patternLayers } from '../../engine/patterns/load.js';
import { configIfAny } from '../optional-config.js';
import { Matcher } from '../../engine/patterns/matcher.js';
import { readRecordBatches } from '../../engine/logs/read-records.js';
import { statedLevel } from '../../engine/logs/record-level.js';
import type { LogRecord, PatternMatch } from '../../engine/core/types.js';
import { sanitizeText } from '../../ui/sanitize.js';
import type { GlobalOptions } from '../global-options.js';
import { renderTable } from '../table.js';
import { print, printJson } from '../output.js';

function dir(globals: GlobalOptions): string {
  return globals.patterns ?? defaultPatternsDir();
}

/** The pattern layers: `--patterns`, or the bundled directory plus the local one (config
 * `patterns.localDir`, default /etc/odoo-heal/patterns.d). */
async function layers(globals: GlobalOptions): Promise<{ layers: string[]; loaded: LoadedConfig | null }> {
  const loaded = await configIfAny(globals, false);
  return { layers: patternLayers(globals.patterns, loaded ? loaded.config.patterns.localDir : DEFAULT_LOCAL_PATTERNS_DIR), loaded };
}

export async function list(globals: GlobalOptions, opts: { json?: boolean }): Promise<number> {
  const patterns = loadPatternLayers((await layers(globals)).layers);
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
  const dirs = (await layers(globals)).layers.filter((d, k) => k === 0 || existsSync(d));
  for (const d of dirs) {
    const files = patternFiles(d);
    const patterns = loadPatterns(d);
    print(`${d}: ok (${patterns.length} patterns in ${files.length} files)\n`);
  }
  if (dirs.length > 1) print(`${loadPatternLayers(dirs).length} patterns in effect (a local pattern replaces a bundled one with its id)\n`);
  return 0;
}

interface TestRow {
  line: number;
  kind: LogRecord['kind'];
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
  const matcher = new Matcher(loadPatternLayers((await layers(globals)).layers));
  const rows: TestRow[] = [];
  let records = 0;
  for await (const batch of readRecordBatches(log)) {
    for (const r of batch) {
      records++;
      const all: PatternMatch[] = matcher.matchAll(r);
      const winner = all[0];
      const level = statedLevel(r);
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

export interface SuggestOptions {
  log?: string[];
  baseline?: string[];
  json?: boolean;
  write?: boolean;
}

/**
 * `patterns suggest <incident-id | signature>`: drafts a pattern for an unclassified incident of the
 * given logs (default: the configured ones), proves it (src/engine/unclassified/suggest.ts) and
 * prints it; with `--write`, and only when proved, writes it into the local pattern directory as a
 * new file. Exit 0 proved, 1 not proved (the draft and the reasons are printed), 2 usage.
 */
export async function suggest(globals: GlobalOptions, ref: string, opts: SuggestOptions): Promise<number> {
  const { suggestForLogs, writeLocalPattern, defaultBaselines, proofLine } = await import('../../engine/unclassified/suggest-run.js');
  const loaded = await configIfAny(globals, !opts.log || opts.log.length === 0);
  const { configuredSources } = await import('../optional-config.js');
  const sources = opts.log && opts.log.length > 0 ? opts.log : configuredSources(loaded!);
  if (sources.length === 0) throw new UsageError('patterns suggest: no log given (--log FILE) and none configured');
  const localDir = globals.patterns ? null : loaded ? loaded.config.patterns.localDir : DEFAULT_LOCAL_PATTERNS_DIR;
  const baselines = opts.baseline && opts.baseline.length > 0 ? opts.baseline : defaultBaselines();
  const s = await suggestForLogs(ref, {
    sources,
    layers: patternLayers(globals.patterns, localDir),
    baselines,
    ...(loaded ? { unclassified: loaded.config.unclassified } : {}),
  });
  let written: string | null = null;
  if (opts.write) {
    if (!s.ok) throw new UsageError(`patterns suggest: --write refused: the draft is not proved (${s.why.join('; ')})`);
    if (!localDir) throw new UsageError('patterns suggest: --write needs a local pattern directory (config patterns.localDir; not with --patterns)');
    written = await writeLocalPattern(localDir, s.pattern);
  }
  if (opts.json) {
    printJson({ format: 'odoo-heal/pattern-suggestion@1', incident: s.incidentId, pattern: s.pattern, proof: s.proof, proved: s.ok, why: s.why, written });
  } else {
    print(`Draft pattern for ${s.incidentId} (${sanitizeText(s.title)}):\n\n`);
    print(`${JSON.stringify(s.pattern, null, 2).split('\n').map(sanitizeText).join('\n')}\n\n`);
    const p = s.proof;
    print(`${proofLine(p, `${sources.length} log(s)`)}\n`);
    if (p.baselines.length === 0) print('no baseline log was checked: pass --baseline FILE (a healthy Odoo log)\n');
    if (s.ok) {
      print(written ? `written to ${written}; it is loaded at the next start or reload (SIGHUP)\n` : `proved. Review the title and hint, then: odoo-heal patterns suggest ${ref} --write${opts.log?.length ? ' --log ...' : ''} (writes ${localDir ?? 'the local pattern directory'}/${s.pattern.id}.json)\n`);
    } else {
      print(`NOT proved: ${s.why.join('; ')}\n`);
    }
  }
  return s.ok ? 0 : 1;
}
