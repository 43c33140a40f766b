// `odoo-heal detect [files...]`: which incidents do these logs show? Reads whole files (or stdin),
// groups matches into incidents, prints a table or versioned JSON (docs/json-format.md#detect).
//
// Exit code, Nagios style like `check`: 0 nothing above info, 1 warnings, 2 critical, 3 a source
// could not be read and nothing critical was found (the answer is incomplete: UNKNOWN).
import { statSync } from 'node:fs';
import type { LoadedConfig } from '../../engine/config/load.js';
import { UsageError } from '../../engine/core/errors.js';
import { incidentRate, worstSeverity } from '../../engine/incidents/incidents.js';
import { DEFAULT_LOCAL_PATTERNS_DIR } from '../../engine/config/defaults.js';
import { loadPatternLayers, patternLayers } from '../../engine/patterns/load.js';
import { statedLevel } from '../../engine/logs/record-level.js';
import { Matcher } from '../../engine/patterns/matcher.js';
import { scanSources, type ScanResult } from '../../engine/patterns/scan.js';
import { PARALLEL_MIN_BYTES } from '../../engine/patterns/scan-parallel-limits.js';
import { parseSince } from '../../engine/core/since.js';
import type { Incident, Status } from '../../engine/core/types.js';
import { STATUS_EXIT } from '../../engine/core/types.js';
import type { GlobalOptions } from '../global-options.js';
import { renderTable } from '../table.js';
import { configIfAny, configuredSources } from '../optional-config.js';
import { print, printErr, printJson } from '../output.js';

export const DETECT_FORMAT = 'odoo-heal/detect@1';

export interface DetectOptions {
  json?: boolean;
  since?: string;
  /** PostgreSQL server logs to read besides `files` (with PostgreSQL's patterns, prefix or not). */
  postgres?: string[];
}

/** The configured sources plus PostgreSQL's server log (logs.postgres, or found from the server's settings). */
async function configuredWithPostgres(loaded: LoadedConfig): Promise<{ files: string[]; postgres: string[] }> {
  const files = configuredSources(loaded);
  const { postgresLogs } = await import('../../engine/probes/postgres-log-discovery.js');
  const postgres = (await postgresLogs(loaded.config.logs.postgres, loaded.odoo, loaded.config.probes.timeoutMs)).filter((f) => !files.includes(f));
  return { files: [...files, ...postgres], postgres };
}

export function statusOf(result: ScanResult): Status {
  const worst = worstSeverity(result.book.list());
  if (worst === 'critical') return 'critical';
  if (result.sources.some((s) => s.error)) return 'unknown';
  return worst === 'warning' ? 'warning' : 'ok';
}

/** A big regular file is scanned on two threads: start the second one before loading the patterns. */
async function prestartIfBig(files: string[]): Promise<void> {
  for (const f of files) {
    try {
      const st = f === '-' ? null : statSync(f);
      if (st?.isFile() && st.size >= PARALLEL_MIN_BYTES) return (await import('../../engine/patterns/scan-parallel.js')).prestartScanWorker();
    } catch {
      // Unreadable: the scan reports it.
    }
  }
}

export async function run(globals: GlobalOptions, files: string[], opts: DetectOptions): Promise<number> {
  await prestartIfBig(files);
  const now = Date.now();
  const since = opts.since !== undefined ? parseSince(opts.since, now) : null;
  const loaded = await configIfAny(globals, files.length === 0 && !opts.postgres?.length);
  const patterns = loadPatternLayers(patternLayers(globals.patterns, loaded ? loaded.config.patterns.localDir : DEFAULT_LOCAL_PATTERNS_DIR));
  const configured = files.length > 0 || opts.postgres?.length ? null : await configuredWithPostgres(loaded!);
  const sources = configured ? configured.files : [...files, ...(opts.postgres ?? [])];
  const postgres = new Set(configured ? configured.postgres : (opts.postgres ?? []));
  if (sources.length === 0) {
    throw new UsageError('no log file given and none configured (odoo.conf logfile, config logs.files); pass files, or - for stdin');
  }
  if (sources.filter((s) => s === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  const result = await scanSources(sources, new Matcher(patterns), {
    since,
    now: () => now,
    postgres,
    ...(loaded ? { unclassified: loaded.config.unclassified } : {}),
  });
  const status = statusOf(result);
  for (const s of result.sources) if (s.error) printErr(`odoo-heal: ${s.error}\n`);
  if (opts.json) {
    printJson(detectJSON(result, status, since, now));
  } else {
    // Loaded only for the table: strip-ansi costs a few ms of a start-up that bench/log-scan times.
    const { sanitizeText } = await import('../../ui/sanitize.js');
    print(formatDetect(result, sanitizeText));
  }
  return STATUS_EXIT[status];
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function incidentJSON(i: Incident): Record<string, unknown> {
  const s = i.sample;
  const o = i.origin;
  return {
    id: i.id,
    fingerprint: i.fingerprint,
    kind: o.kind,
    patternId: o.kind === 'pattern' ? o.patternId : null,
    unclassified:
      o.kind === 'unclassified'
        ? { signature: o.signature, exceptionClass: o.exceptionClass, addon: o.addon, frame: o.frame, logger: o.logger, request: o.request }
        : null,
    ratePerMinute: Math.round(incidentRate(i) * 100) / 100,
    title: i.title,
    severity: i.severity,
    category: i.category,
    status: i.status,
    count: i.count,
    firstSeen: iso(i.firstSeen),
    lastSeen: iso(i.lastSeen),
    captures: i.origin.kind === 'pattern' ? i.origin.captures : {},
    hint: i.hint,
    fix: i.fix,
    sample: s
      ? {
          source: s.source,
          line: s.line,
          kind: s.kind,
          level: statedLevel(s),
          text: s.lines[0] ?? '',
          exception: s.exception,
        }
      : null,
  };
}

export function detectJSON(result: ScanResult, status: Status, since: number | null, now: number): Record<string, unknown> {
  return {
    format: DETECT_FORMAT,
    generatedAt: iso(now),
    since: iso(since),
    status,
    sources: result.sources,
    incidents: result.book.list().map(incidentJSON),
    unmatched: result.unmatched,
  };
}

function when(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** The human-readable report; `sanitizeText` (src/ui/sanitize.ts) makes log text safe to print. */
export function formatDetect(result: ScanResult, sanitizeText: (text: string) => string): string {
  const incidents = result.book.list();
  const records = result.sources.reduce((n, s) => n + s.records, 0);
  const out: string[] = [];
  const bySeverity = (sev: string): number => incidents.filter((i) => i.severity === sev).length;
  const counts = ['critical', 'warning', 'info']
    .map((s) => [s, bySeverity(s)] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  out.push(
    `${incidents.length} incident${incidents.length === 1 ? '' : 's'} in ${result.sources.length} source${result.sources.length === 1 ? '' : 's'} ` +
      `(${records} records)${counts.length ? `: ${counts.join(', ')}` : ''}`,
  );
  if (incidents.length > 0) {
    out.push('');
    out.push(
      renderTable(
        ['SEVERITY', 'COUNT', 'FIRST SEEN (UTC)', 'LAST SEEN (UTC)', 'ID', 'TITLE'],
        incidents.map((i) => [i.severity, String(i.count), when(i.firstSeen), when(i.lastSeen), i.id, sanitizeText(i.title)]),
      ),
    );
    for (const i of incidents) {
      out.push('');
      const o = i.origin;
      const tag = o.kind === 'pattern' ? `  [${o.patternId}]` : o.kind === 'unclassified' ? '  [unclassified]' : '';
      out.push(`${i.id}  ${sanitizeText(i.title)}${tag}`);
      if (o.kind === 'unclassified') {
        const rate = incidentRate(i);
        const parts = [o.addon ? `addon ${o.addon}` : null, o.request ? `request ${o.request}` : null, `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/min`];
        out.push(`  what: ${sanitizeText(parts.filter((x) => x !== null).join(' · '))}`);
      }
      out.push(`  hint: ${i.hint}`);
      if (i.fix) {
        const params = Object.entries(i.fix.params).map(([k, v]) => `${k}=${sanitizeText(v)}`);
        out.push(`  fix:  ${i.fix.id}${params.length ? ` ${params.join(' ')}` : ''}${i.fix.unattended ? ' (pattern allows unattended)' : ''}`);
      }
      if (i.sample) {
        const s = i.sample;
        const text = s.exception ?? (s.kind === 'raw' ? s.lines[0] ?? '' : s.message);
        out.push(`  seen: ${sanitizeText(s.source)}:${s.line}  ${sanitizeText(text).slice(0, 200)}`);
      }
    }
  }
  const u = result.unmatched;
  if (u.error + u.critical > 0 && !incidents.some((i) => i.origin.kind === 'unclassified')) {
    out.push('');
    out.push(`${u.error + u.critical} ERROR/CRITICAL record(s) matched no pattern (odoo-heal patterns test <log> shows them).`);
  }
  return `${out.join('\n')}\n`;
}
