// Fix: Odoo 18 removed `numbercall` and `doall` from ir.cron; a module whose data XML still sets them
// fails to install/upgrade with `ParseError: while parsing <file>:<line>`. We cut those field elements
// out of that file (nothing else changes, byte for byte) and optionally run the module follow-up
// (install or upgrade, see module-follow-up.ts); with it, "verified" means Odoo lists it installed.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Incident } from '../engine/core/types.js';
import { unifiedDiff } from './diff.js';
import { formatArgv, incidentParam, readConfined, sha256Hex } from './fix-util.js';
import { isInside } from './lib/confine.js';
import type { Applied, DetectResult, Fix, FixContext, FixPlan, Verification } from './types.js';
import { chooseInstallFlag, errorRecords, readModuleState, withOwnLog, type ModuleState } from './module-follow-up.js';
import { checkCronFile, removeCronFields } from './xml-cron-edit.js';

export interface CronFixParams {
  /** Real path of the XML file (confined). */
  file: string;
  /** Line the ParseError named, for the message only. */
  line: number | null;
}

export interface CronFixData {
  file: string;
  sha256Before: string;
  sha256After: string;
  removed: Array<{ field: string; line: number }>;
  /** The addon the file belongs to (directory holding __manifest__.py), if found. */
  module: string | null;
  /**
   * Follow-up command (config.fixes.moduleUpdate with `${module}` substituted, `-i`/`-u` chosen from
   * the module's state, `--logfile=` added so its log comes to us), or null.
   */
  moduleUpdate: string[] | null;
  /** ir_module_module.state when planned; null when unknown (no follow-up, or the database unreadable). */
  moduleState?: ModuleState | null;
}

/** The addon directory: the nearest ancestor of the file holding __manifest__.py, inside the root. */
export function addonOf(file: string, root: string): string | null {
  for (let dir = dirname(file); isInside(dir, root); dir = dirname(dir)) {
    if (existsSync(join(dir, '__manifest__.py'))) return basename(dir);
    if (dir === root || dirname(dir) === dir) break;
  }
  return null;
}

/** Substitutes `${module}`, `${db}` and `${config}` in the configured follow-up; null if one is unknown. */
export function moduleUpdateArgv(template: string[] | null, vars: Record<string, string | null>): string[] | null {
  if (!template || template.length === 0) return null;
  let missing = false;
  const argv = template.map((arg) =>
    arg.replace(/\$\{(\w+)\}/g, (_m, name: string) => {
      const v = vars[name];
      if (v === null || v === undefined) {
        missing = true;
        return '';
      }
      return v;
    }),
  );
  return missing ? null : argv;
}

/**
 * Module data files live under addons_path. The data dir and the log dir hold what Odoo's user (and
 * so anyone who can write a log line) controls: a file there is never edited, even when an addons path
 * or fixes.extraRoots covers them — except inside an addons path the admin put below the log dir
 * (logfile = /opt/odoo/odoo.log with addons in /opt/odoo/addons).
 */
function notAnAddonFile(path: string, ctx: FixContext): string | null {
  const real = (p: string): string | null => {
    const c = ctx.confiner.check(p);
    return c.ok ? c.path : null;
  };
  const addons = ctx.odoo.addonsPath.map(real).filter((p): p is string => p !== null);
  const holders = addons.filter((a) => isInside(path, a));
  if (holders.length === 0) return `${path} is not under addons_path (${ctx.odoo.addonsPath.join(', ') || 'not set'}); only module files are edited`;
  const data = ctx.odoo.dataDir ? real(ctx.odoo.dataDir) : null;
  if (data && isInside(path, data)) return `${path} is inside the data dir ${data}; refusing to edit it`;
  const logDir = ctx.odoo.logfile ? real(dirname(ctx.odoo.logfile)) : null;
  if (logDir && isInside(path, logDir) && !holders.some((a) => a !== logDir && isInside(a, logDir))) {
    return `${path} is inside the log dir ${logDir}; refusing to edit it`;
  }
  return null;
}

export const cronDeprecatedFields: Fix<CronFixParams, CronFixData> = {
  id: 'cron-deprecated-fields',
  title: 'Remove ir.cron fields Odoo 18 no longer has (numbercall, doall)',

  detect(incident: Incident, ctx: FixContext): DetectResult<CronFixParams> {
    const file = incidentParam(incident, 'file');
    if (!file) return { ok: false, reason: 'the incident names no XML file (no `file` capture from the ParseError)' };
    const confined = ctx.confiner.check(file);
    if (!confined.ok) return { ok: false, reason: confined.reason };
    if (!/\.xml$/i.test(confined.path)) return { ok: false, reason: `${confined.path} is not an .xml file` };
    const outside = notAnAddonFile(confined.path, ctx);
    if (outside) return { ok: false, reason: outside };
    const lineText = incidentParam(incident, 'line');
    const line = lineText && /^\d+$/.test(lineText) ? Number(lineText) : null;
    return { ok: true, params: { file: confined.path, line } };
  },

  async plan(params, incident, ctx): Promise<FixPlan<CronFixData>> {
    const { path, content } = await readConfined(ctx, params.file);
    const edit = removeCronFields(content);
    const confined = ctx.confiner.check(path);
    const module = confined.ok ? addonOf(path, confined.root) : null;
    const template = moduleUpdateArgv(ctx.config.fixes.moduleUpdate, {
      module,
      db: ctx.odoo.dbName,
      config: ctx.odoo.path,
    });
    const known = template && module ? await readModuleState(ctx, module) : { state: null, error: null };
    const moduleUpdate = template && module ? withOwnLog(chooseInstallFlag(template, module, known.state)) : template;
    const removed = edit.removed.map((r) => ({ field: r.field, line: r.line }));
    const sha256Before = sha256Hex(content);
    const diff = unifiedDiff(path, content.toString('latin1'), edit.content.toString('latin1'));
    const data: CronFixData = {
      file: path,
      sha256Before,
      sha256After: sha256Hex(edit.content),
      removed,
      module,
      moduleUpdate,
      moduleState: known.state,
    };
    if (removed.length === 0) {
      return {
        fixId: this.id,
        incidentId: incident.id,
        summary: `${path}: no numbercall/doall field left in ir.cron records; nothing to change`,
        why: 'The file named by the ParseError no longer sets the removed fields (already fixed?).',
        preview: `${path}: nothing to change`,
        actions: [],
        applicable: false,
        data,
      };
    }
    const fields = [...new Set(removed.map((r) => r.field))].join(' and ');
    const followUp = ctx.config.fixes.moduleUpdate
      ? moduleUpdate
        ? `\nThen: ${formatArgv(moduleUpdate)}  (module ${module} is ${known.state ?? `in an unknown state: ${known.error}`}; ` +
          'verified when Odoo lists it installed and its log has no ERROR)'
        : `\nModule update skipped: cannot fill ${formatArgv(ctx.config.fixes.moduleUpdate)} (module ${module ?? 'unknown'}, db ${ctx.odoo.dbName ?? 'unknown'}).`
      : '';
    return {
      fixId: this.id,
      incidentId: incident.id,
      summary: `Remove ${removed.length} deprecated ir.cron field element(s) (${fields}) from ${path}`,
      why:
        `Odoo 18 removed the ir.cron fields numbercall and doall; loading ${basename(path)}` +
        `${params.line ? ` (line ${params.line})` : ''} fails with "Invalid field ... on model 'ir.cron'". ` +
        'Removing the elements keeps the scheduled action as it was (it runs until deactivated).',
      preview: `${diff}${followUp}\nRollback restores the original file byte for byte from the backup.`,
      actions: [
        { kind: 'edit-file', path, sha256Before, diff },
        ...(moduleUpdate ? [{ kind: 'command' as const, argv: moduleUpdate }] : []),
      ],
      applicable: true,
      data,
    };
  },

  async apply(plan, ctx): Promise<Applied> {
    const { path, content } = await readConfined(ctx, plan.data.file);
    if (sha256Hex(content) !== plan.data.sha256Before) {
      throw new Error(`${path} changed since the plan was made (sha256 differs); plan again`);
    }
    const edit = removeCronFields(content);
    if (sha256Hex(edit.content) !== plan.data.sha256After) throw new Error(`${path}: the edit differs from the plan; refusing`);
    ctx.progress(`editing ${path}`);
    const backup = await ctx.writer.replaceFile(path, edit.content);
    const applied: Applied = { backups: [backup], commands: [], undo: null };
    if (plan.data.moduleUpdate) {
      ctx.progress(`running ${formatArgv(plan.data.moduleUpdate)}`);
      applied.commands.push(await ctx.runner.run(plan.data.moduleUpdate, { timeoutMs: ctx.config.fixes.commandTimeoutMs }));
    }
    return applied;
  },

  async verify(plan, applied, ctx): Promise<Verification> {
    const { content } = await readConfined(ctx, plan.data.file);
    const check = checkCronFile(content);
    if (!check.ok) return { ok: false, detail: `${plan.data.file}: ${check.detail}` };
    if (sha256Hex(content) !== plan.data.sha256After) {
      return { ok: false, detail: `${plan.data.file} is not what the fix wrote (changed by someone else?)` };
    }
    const cmd = applied.commands[0];
    if (cmd) {
      const module = plan.data.module ?? '?';
      if (cmd.timedOut || cmd.exitCode !== 0) {
        const tail = (cmd.stderr || cmd.stdout).trim().split('\n').slice(-3).join(' | ');
        const how = cmd.timedOut ? 'timed out' : cmd.signal ? `killed by ${cmd.signal}` : `exit code ${cmd.exitCode}`;
        return { ok: false, detail: `${plan.data.file} is fixed but the module follow-up failed (${how})${tail ? `: ${tail}` : ''}` };
      }
      // Exit 0 is not enough: Odoo logs a failed data file at ERROR and may still exit 0.
      const errors = errorRecords(cmd);
      if (errors.length) {
        return { ok: false, detail: `${plan.data.file} is fixed but the module follow-up logged ${errors.length} ERROR record(s): ${errors[0]}` };
      }
      const after = plan.data.module ? await readModuleState(ctx, plan.data.module) : { state: null, error: 'no module' };
      if (after.state !== 'installed') {
        const what = after.state ? `is ${after.state}` : `state unreadable (${after.error})`;
        return { ok: false, detail: `${plan.data.file} is fixed and the follow-up exited 0, but module ${module} ${what} in Odoo's database` };
      }
      return { ok: true, detail: `${check.detail}; module ${module} is installed in Odoo's database (was ${plan.data.moduleState ?? 'unknown'}), its log has no ERROR` };
    }
    return { ok: true, detail: `${plan.data.file}: ${check.detail}` };
  },

  async rollback(_plan, applied, ctx): Promise<void> {
    for (const backup of [...applied.backups].reverse()) await ctx.writer.restore(backup);
  },
};
