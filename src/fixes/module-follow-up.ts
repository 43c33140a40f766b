// The module follow-up after a fix to an addon's files (fixes.moduleUpdate): `odoo-bin -u` only
// upgrades a module that is installed and silently does nothing for one that is not, so the flag is
// chosen from the module's state in Odoo's database (`-i` to install, `-u` to upgrade), its log is
// brought to our pipe (`--logfile=` sends Odoo's records to stdout) and read for ERROR/CRITICAL
// records, and success means ir_module_module says `installed` afterwards: Odoo agrees, not only the
// exit code.
import { dbNames, withPgClient } from '../engine/probes/pg-connect.js';
import type { CommandResult, FixContext } from './types.js';

/** ir_module_module.state values (Odoo 12–19). */
export type ModuleState = 'installed' | 'uninstalled' | 'to install' | 'to upgrade' | 'to remove' | 'uninstallable';

const UPDATE_FLAGS = new Set(['-u', '--update']);
const INIT_FLAGS = new Set(['-i', '--init']);

/**
 * Points the follow-up at the module's state: `-u`/`--update` becomes `-i`/`--init` for a module not
 * installed, and the reverse for an installed one (`-i` does nothing for it either). Only the flag
 * whose value carries the module is changed; `state` null (unknown) leaves the argv as configured.
 */
export function chooseInstallFlag(argv: readonly string[], module: string, state: ModuleState | null): string[] {
  const out = [...argv];
  if (state === null) return out;
  const wantInit = state === 'uninstalled' || state === 'to install' || state === 'uninstallable';
  const swap = (flag: string): string => {
    if (wantInit && UPDATE_FLAGS.has(flag)) return flag === '-u' ? '-i' : '--init';
    if (!wantInit && INIT_FLAGS.has(flag)) return flag === '-i' ? '-u' : '--update';
    return flag;
  };
  const names = (value: string): boolean => value.split(',').map((s) => s.trim()).includes(module);
  for (let i = 0; i < out.length; i++) {
    const arg = out[i]!;
    const eq = /^(--update|--init)=(.*)$/.exec(arg);
    if (eq && names(eq[2]!)) out[i] = `${swap(eq[1]!)}=${eq[2]}`;
    else if ((UPDATE_FLAGS.has(arg) || INIT_FLAGS.has(arg)) && i + 1 < out.length && names(out[i + 1]!)) out[i] = swap(arg);
  }
  return out;
}

/**
 * An `odoo-bin ... --stop-after-init` run writes its records into odoo.conf's logfile, mixed with the
 * server's; `--logfile=` (empty) sends them to stdout, where the runner keeps them for us and the
 * audit log. Left alone when the admin already chose a logfile or it is not such a run.
 */
export function withOwnLog(argv: readonly string[]): string[] {
  const out = [...argv];
  if (!out.includes('--stop-after-init')) return out;
  if (out.some((a) => a === '--logfile' || a.startsWith('--logfile=') || a === '--syslog')) return out;
  out.push('--logfile=');
  return out;
}

/** An Odoo log record header at ERROR or CRITICAL: `2026-11-28 20:01:03,399 9523 ERROR db logger: ...`. */
const ERROR_RECORD = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (ERROR|CRITICAL) \S+ [^\s:]+: ?(.*)$/;

/** The ERROR/CRITICAL records of the follow-up's own output (stdout, then stderr), first lines only. */
export function errorRecords(result: Pick<CommandResult, 'stdout' | 'stderr'>): string[] {
  const found: string[] = [];
  for (const text of [result.stdout, result.stderr]) {
    for (const line of text.split('\n')) {
      const m = ERROR_RECORD.exec(line);
      if (m) found.push(`${m[1]} ${m[2]!.slice(0, 200)}`);
    }
  }
  return found;
}

const PG_BUDGET_MS = 5000;

/** The module's state in Odoo's database; null when it cannot be read (no single db_name, PG down). */
export async function readModuleState(ctx: FixContext, module: string): Promise<{ state: ModuleState | null; error: string | null }> {
  const names = dbNames(ctx.odoo.dbName);
  if (names.length !== 1) return { state: null, error: names.length ? 'db_name lists several databases' : 'db_name is not set in odoo.conf' };
  try {
    const state = await withPgClient(ctx.odoo, { budgetMs: PG_BUDGET_MS, applicationName: 'odoo-heal module state' }, async (client) => {
      const res = await client.query<{ state: string }>('SELECT state FROM ir_module_module WHERE name = $1', [module]);
      return res.rows[0]?.state ?? null;
    });
    // A module Odoo has not listed yet (new addon, no update_list) is as good as uninstalled.
    return { state: (state ?? 'uninstalled') as ModuleState, error: null };
  } catch (err) {
    return { state: null, error: err instanceof Error ? err.message : String(err) };
  }
}
