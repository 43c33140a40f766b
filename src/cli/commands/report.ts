// `odoo-heal report [--json|--md] [--since]`: current health, open and resolved incidents, every fix
// attempt with its outcome, and per-pattern effectiveness. Runs in its own process: health comes from
// a fresh check, incidents from that check plus the history --auto keeps in the state dir, attempts
// from the state dir. Informational: exits 0 whatever the health (`check` is the gate).
import { loadConfig } from '../../engine/config/load.js';
import { UsageError } from '../../engine/core/errors.js';
import { checkHealth, type HealthReport } from '../../engine/run/health.js';
import { loadPatternLayers, patternLayers } from '../../engine/patterns/load.js';
import { Matcher } from '../../engine/patterns/matcher.js';
import { buildReport, mergeIncidents, readIncidentHistory, redactReport } from '../../engine/outputs/report.js';
import { renderReportJSON, renderReportMarkdown } from '../../engine/outputs/report-format.js';
import { parseSince } from '../../engine/core/since.js';
import { listAttempts } from '../../fixes/attempts.js';
import type { GlobalOptions } from '../global-options.js';
import { print, printJsonText } from '../output.js';

export interface ReportOptions {
  json?: boolean;
  md?: boolean;
  since?: string;
}

export async function run(globals: GlobalOptions, opts: ReportOptions): Promise<number> {
  if (opts.json && opts.md) throw new UsageError('--json and --md exclude each other');
  const now = Date.now();
  const since = opts.since !== undefined ? parseSince(opts.since, now) : null;
  if (since !== null && since > now) throw new UsageError(`--since: ${opts.since} is in the future`);
  const { config, odoo, warnings } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  const matcher = new Matcher(loadPatternLayers(patternLayers(globals.patterns, config.patterns.localDir)));

  // Same hard deadline as `check`: a hanging database makes the health unknown, not the report late.
  const budgetMs = config.probes.timeoutMs + 2000;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), budgetMs);
  });
  const [health, history, attempts] = await Promise.all([
    Promise.race<HealthReport | null>([checkHealth({ config, odoo, matcher, budgetMs }), deadline]).finally(() => clearTimeout(timer)),
    readIncidentHistory(config.paths.stateDir),
    listAttempts(config.paths.stateDir),
  ]);

  const notes = [...warnings, ...attempts.warnings];
  if (history.warning) notes.push(history.warning);
  if (!health) notes.push(`health check did not finish within ${budgetMs} ms`);
  const report = buildReport({
    now,
    since,
    health,
    incidents: mergeIncidents(history.incidents, health?.incidents ?? []),
    attempts: attempts.attempts,
    warnings: notes,
  });
  const safe = redactReport(report, config, odoo);
  if (opts.json) printJsonText(renderReportJSON(safe));
  else print(renderReportMarkdown(safe));
  return 0;
}
