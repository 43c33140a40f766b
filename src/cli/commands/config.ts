// `odoo-heal config`: the effective configuration (defaults, the YAML file and odoo.conf merged),
// secrets masked, so an admin can see what odoo-heal will do before it does it.
import { loadConfig } from '../../engine/config/load.js';
import { describeConfig, maskedConfig } from '../../engine/config/print.js';
import type { GlobalOptions } from '../main.js';

export async function run(globals: GlobalOptions, opts: { json?: boolean }): Promise<number> {
  const { config, odoo, warnings } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ format: 'odoo-heal/config@1', ...maskedConfig(config, odoo), warnings }, null, 2)}\n`);
  } else {
    for (const w of warnings) process.stderr.write(`odoo-heal: ${w}\n`);
    process.stdout.write(`${describeConfig(config, odoo)}\n`);
  }
  return 0;
}
