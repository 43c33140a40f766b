// `odoo-heal config`: the effective configuration (defaults, the YAML file and odoo.conf merged),
// secrets masked, so an admin can see what odoo-heal will do before it does it.
import { loadConfig } from '../../engine/config/load.js';
import { describeConfig, maskedConfig } from '../../engine/config/print.js';
import type { GlobalOptions } from '../global-options.js';
import { print, printErr, printJson } from '../output.js';

export async function run(globals: GlobalOptions, opts: { json?: boolean; audit?: boolean }): Promise<number> {
  const { config, odoo, warnings } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  if (opts.audit) {
    const { auditConfig, auditLine } = await import('../../engine/config-audit/audit.js');
    const list = await auditConfig(config, odoo);
    const code = list.some((f) => f.severity === 'error') ? 2 : list.length > 0 ? 1 : 0;
    if (opts.json) {
      printJson({ format: 'odoo-heal/config-audit@1', odooConf: odoo.path, exitCode: code, findings: list });
    } else {
      for (const w of warnings) printErr(`odoo-heal: ${w}\n`);
      if (list.length === 0) print(`${odoo.path ?? 'odoo.conf'}: no finding\n`);
      for (const f of list) {
        print(`${f.severity.toUpperCase()} ${auditLine(f, odoo.path)}\n  why: ${f.why}\n  change to: ${f.suggest}\n`);
      }
    }
    return code;
  }
  if (opts.json) {
    printJson({ format: 'odoo-heal/config@1', ...maskedConfig(config, odoo), warnings });
  } else {
    for (const w of warnings) printErr(`odoo-heal: ${w}\n`);
    print(`${describeConfig(config, odoo)}\n`);
  }
  return 0;
}
