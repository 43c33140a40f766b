// `odoo-heal history`: the fix attempts persisted in the state dir, oldest first.
import { loadConfig } from '../../engine/config/load.js';
import { listAttempts, summarize } from '../../fixes/attempts.js';
import type { GlobalOptions } from '../global-options.js';
import { renderTable } from '../table.js';
import { print, printErr, printJson } from '../output.js';

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

export async function run(globals: GlobalOptions, opts: { json?: boolean }): Promise<number> {
  const { config, warnings } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  const { attempts, warnings: damaged } = await listAttempts(config.paths.stateDir);
  for (const w of [...warnings, ...damaged]) printErr(`odoo-heal: ${w}\n`);
  if (opts.json) {
    printJson(attempts.map(summarize));
    return 0;
  }
  if (attempts.length === 0) {
    print(`no fix attempts yet (${config.paths.stateDir}/attempts)\n`);
    return 0;
  }
  const rows = attempts.map((a) => [a.id, when(a.startedAt), a.outcome, a.fixId, a.incidentId, a.who, a.message.split('\n', 1)[0] ?? '']);
  print(`${renderTable(['ATTEMPT', 'STARTED (UTC)', 'OUTCOME', 'FIX', 'INCIDENT', 'WHO', 'MESSAGE'], rows)}\n`);
  return 0;
}
