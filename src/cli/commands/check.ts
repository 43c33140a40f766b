// `odoo-heal check`: one pass of every probe plus a scan of recent log records.
// Exit codes follow the Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
import { loadConfig } from '../../engine/config/load.js';
import { UsageError } from '../../engine/core/errors.js';
import { checkHealth, type HealthReport } from '../../engine/run/health.js';
import { findingFingerprint } from '../../engine/incidents/incidents.js';
import { loadPatternLayers, patternLayers } from '../../engine/patterns/load.js';
import { Matcher } from '../../engine/patterns/matcher.js';
import type { GlobalOptions } from '../global-options.js';
import { sanitizeText } from '../../ui/sanitize.js';
import { renderTable } from '../table.js';
import { print, printErr, printJson } from '../output.js';

export async function run(globals: GlobalOptions, opts: { json?: boolean; timeout?: string; deep?: boolean }): Promise<number> {
  const budgetMs = Number(opts.timeout ?? '8000');
  if (!Number.isFinite(budgetMs) || budgetMs < 500) throw new UsageError('--timeout: expected milliseconds >= 500');
  const { config, odoo, warnings } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  const matcher = new Matcher(loadPatternLayers(patternLayers(globals.patterns, config.patterns.localDir)));

  // The hard deadline: whatever hangs, we answer UNKNOWN in time instead of blocking cron/CI.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), budgetMs);
  });
  const report = await Promise.race([checkHealth({ config, odoo, matcher, budgetMs, deep: opts.deep === true }), deadline]);
  clearTimeout(timer);
  if (!report) {
    const line = `UNKNOWN: check did not finish within ${budgetMs} ms`;
    if (opts.json) printJson({ format: 'odoo-heal/check@1', status: 'unknown', exitCode: 3, error: line }, 0);
    else print(`${line}\n`);
    return 3;
  }
  if (opts.json) {
    printJson({ ...report, warnings });
  } else {
    for (const w of warnings) printErr(`odoo-heal: ${w}\n`);
    print(formatReport(report));
  }
  return report.exitCode;
}

/** A detail's first line, made safe to print: a symptom's detail may quote a log record. */
function oneLine(text: string): string {
  const first = sanitizeText(text.split(/\r?\n/, 1)[0] ?? '');
  return first.length > 160 ? `${first.slice(0, 159)}…` : first;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

export function formatReport(report: HealthReport): string {
  const out: string[] = [];
  out.push(`${report.status.toUpperCase()} — odoo-heal check on ${report.host} (${report.durationMs} ms)`);
  out.push('');
  // A probe whose every finding is the symptom of another incident points at that root instead of
  // repeating its CRITICAL: one cause, one CRITICAL line.
  const rootOfProbe = (p: HealthReport['probes'][number]): string | null => {
    if (p.findings.length === 0) return null;
    const roots = p.findings.map((f) => report.incidents.find((i) => i.fingerprint === findingFingerprint(p.probe, f.key))?.rootId ?? null);
    return roots.every((r) => r !== null) ? roots[0]! : null;
  };
  out.push(
    renderTable(
      ['PROBE', 'STATUS', 'SUMMARY', 'TIME'],
      report.probes.map((p) => {
        const root = rootOfProbe(p);
        return [p.probe, root ? `see ${root}` : p.status.toUpperCase(), p.summary, `${p.durationMs} ms`];
      }),
    ),
  );
  out.push('');
  const roots = report.incidents.filter((i) => i.rootId === null || !report.incidents.some((r) => r.id === i.rootId));
  if (roots.length === 0) {
    out.push(`No open incidents (${report.logScan.records} recent log records scanned).`);
  } else {
    out.push(`Incidents (${report.logScan.records} recent log records scanned):`);
    const now = Date.parse(report.checkedAt);
    out.push(
      renderTable(
        ['ID', 'SEVERITY', 'COUNT', 'LAST', 'TITLE'],
        roots.map((i) => [i.id, i.severity.toUpperCase(), String(i.count), ago(now - i.lastSeen), i.title]),
      ),
    );
    for (const i of roots) {
      if (i.hint) out.push(`  ${i.id}: ${i.hint}`);
      const evidence = report.incidents.filter((s) => s.rootId === i.id);
      if (evidence.length > 0) out.push(`  ${i.id}: evidence (same cause, ${evidence.length}):`);
      for (const s of evidence) out.push(`    - ${s.title}${s.detail ? ` — ${oneLine(s.detail)}` : ''}`);
    }
  }
  for (const e of report.logScan.errors) out.push(`log scan: ${e}`);
  return `${out.join('\n')}\n`;
}
