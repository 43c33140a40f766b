// `odoo-heal config`: the effective configuration (defaults, the YAML file and odoo.conf merged),
// secrets masked, so an admin can see what odoo-heal will do before it does it.
import { loadConfig } from '../../engine/config/load.js';
import { describeConfig, maskedConfig } from '../../engine/config/print.js';
import type { GlobalOptions } from '../main.js';
import { print, printErr, printJson } from '../output.js';

export async function run(globals: GlobalOptions, opts: { json?: boolean }): Promise<number> {
  const { config, odoo, warnings } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  if (opts.json) {
    printJson({ format: 'odoo-heal/config@1', ...maskedConfig(config, odoo), warnings });
  } else {
    for (const w of warnings) printErr(`odoo-heal: ${w}\n`);
    print(`${describeConfig(config, odoo)}\n`);
  }
  return 0;
}
