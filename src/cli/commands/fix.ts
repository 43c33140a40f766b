// `odoo-heal fix`: list fixable incidents, or plan / confirm / apply / verify the fix of one.
import { existsSync } from 'node:fs';
import { currentWho } from '../../engine/state/audit.js';
import { loadConfig } from '../../engine/config/load.js';
import type { Config, OdooConf } from '../../engine/config/types.js';
import { UsageError } from '../../engine/core/errors.js';
import { checkHealth } from '../../engine/run/health.js';
import { IncidentBook } from '../../engine/incidents/incidents.js';
import { acquireLock } from '../../engine/state/lock.js';
import { readRecords } from '../../engine/logs/read-records.js';
import { loadPatternLayers, patternLayers } from '../../engine/patterns/load.js';
import { Matcher } from '../../engine/patterns/matcher.js';
import { probeNamed, runProbes } from '../../engine/probes/run.js';
import type { Incident, ProbeName, ProbeResult } from '../../engine/core/types.js';
import { runAttempt, type AttemptDeps, type AttemptRecord } from '../../fixes/attempts.js';
import { ensureReserve } from '../../engine/core/space-reserve.js';
import { getFix } from '../../fixes/registry.js';
import type { GlobalOptions } from '../global-options.js';
import { renderTable } from '../table.js';
import { ask, onTerminal, print, printErr, printJson } from '../output.js';

export const FIX_FORMAT = 'odoo-heal/fix@1';

interface FixOptions {
  log: string[];
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

async function findIncidents(
  config: Config,
  odoo: OdooConf,
  matcher: Matcher,
  logs: string[],
): Promise<Incident[]> {
  if (logs.length === 0) {
    const report = await checkHealth({ config, odoo, matcher, budgetMs: config.probes.timeoutMs + 2000 });
    return report.incidents;
  }
  const book = new IncidentBook();
  for (const file of logs) {
    for await (const record of readRecords(file)) {
      for (const m of matcher.match(record)) book.addMatch(m, Date.now());
    }
  }
  return book.list();
}

function probeRunner(config: Config, odoo: OdooConf): (name: ProbeName) => Promise<ProbeResult> {
  return async (name) => {
    const probe = probeNamed(name);
    if (!probe) throw new Error(`no probe named ${name}`);
    try {
      const [result] = await runProbes([probe], { config, odoo, now: Date.now }, config.probes.timeoutMs);
      return result!;
    } finally {
      await probe.close?.();
    }
  };
}

function outcomeExit(rec: AttemptRecord): number {
  if (rec.unsaved) return 2; // the outcome is not in the history nor the audit log (a full disk)
  if (rec.outcome === 'verified' || rec.outcome === 'planned') return 0;
  if (rec.outcome === 'refused') return 1;
  return 2;
}

export async function run(globals: GlobalOptions, ref: string | undefined, opts: FixOptions): Promise<number> {
  if (opts.dryRun && opts.yes) throw new UsageError('--dry-run and --yes exclude each other');
  const { config, odoo } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  const matcher = new Matcher(loadPatternLayers(patternLayers(globals.patterns, config.patterns.localDir)));
  const incidents = await findIncidents(config, odoo, matcher, opts.log ?? []);
  const fixable = incidents.filter((i) => i.fix && getFix(i.fix.id));

  if (!ref) {
    if (opts.json) {
      printJson({ format: FIX_FORMAT, incidents: fixable.map((i) => ({ id: i.id, fingerprint: i.fingerprint, title: i.title, severity: i.severity, count: i.count, fix: i.fix })) });
    } else if (fixable.length === 0) {
      print('No fixable incidents found.\n');
    } else {
      print(
        `${renderTable(
          ['ID', 'SEVERITY', 'COUNT', 'FIX', 'TITLE'],
          fixable.map((i) => [i.id, i.severity.toUpperCase(), String(i.count), i.fix!.id, i.title]),
        )}\n\nRun \`odoo-heal fix <ID> --dry-run\` to see a plan.\n`,
      );
    }
    return 0;
  }

  const byRef = (i: Incident): boolean =>
    i.id === ref || i.fingerprint === ref || (i.origin.kind === 'pattern' && i.origin.patternId === ref);
  const matches = incidents.filter(byRef);
  if (matches.length === 0) throw new UsageError(`no incident matches "${ref}" (run \`odoo-heal fix\` to list them)`);
  if (matches.length > 1) {
    throw new UsageError(`"${ref}" matches ${matches.length} incidents (${matches.map((i) => i.id).join(', ')}): give an incident id`);
  }
  const incident = matches[0]!;
  const fix = incident.fix ? getFix(incident.fix.id) : undefined;
  if (!fix) throw new UsageError(`incident ${incident.id} (${incident.title}) has no automatic fix; hint: ${incident.hint}`);

  // Room kept in the state dir for the lock, the attempt record and the audit entry, so a fix can
  // still be recorded if the disk fills up (or is full when the space-freeing fix runs).
  if (!opts.dryRun) await ensureReserve(config.paths.stateDir);
  const deps: AttemptDeps = {
    config,
    odoo,
    probe: probeRunner(config, odoo),
    systemd: existsSync('/run/systemd/system'),
    progress: (step) => {
      if (!opts.json) printErr(`… ${step}\n`);
    },
  };
  const who = currentWho();
  const planned = await runAttempt(fix, incident, deps, { who, dryRun: true });
  if (!planned.plan) {
    if (opts.json) printJson({ format: FIX_FORMAT, incident: incident.id, attempt: planned });
    else print(`Fix ${fix.id} does not apply: ${planned.message}\n`);
    return 1;
  }
  const plan = planned.plan;
  if (!opts.json) {
    print(`Incident ${incident.id}: ${incident.title}\nFix: ${fix.id} — ${plan.summary}\nWhy: ${plan.why}\n\n${plan.preview}\n\n`);
  }
  if (opts.dryRun || !plan.applicable) {
    if (opts.json) printJson({ format: FIX_FORMAT, incident: incident.id, dryRun: true, plan });
    else if (!plan.applicable) print('Guidance only: nothing to apply automatically.\n');
    return 0;
  }
  if (!opts.yes) {
    if (!onTerminal().stdin) throw new UsageError('not on a terminal: pass --yes to apply, or --dry-run to only see the plan');
    if (!(await ask(`Apply this fix? [y/N] `))) {
      print('Cancelled; nothing changed.\n');
      return 1;
    }
  }
  const lock = await acquireLock(config.paths.stateDir);
  let rec: AttemptRecord;
  try {
    rec = await runAttempt(fix, incident, deps, { who });
  } finally {
    await lock.release();
  }
  if (opts.json) {
    printJson({ format: FIX_FORMAT, incident: incident.id, attempt: rec });
  } else {
    print(`Attempt ${rec.id}: ${rec.outcome.replace('_', ' ')} — ${rec.message}\n`);
    if (rec.outcome === 'verified') print(`Undo with: odoo-heal rollback ${rec.id}\n`);
  }
  return outcomeExit(rec);
}
