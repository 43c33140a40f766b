// The configuration for commands that work without one (detect, patterns): loaded when a file says
// something (--config, $ODOO_HEAL_CONFIG, /etc/odoo-heal/config.yaml) or the command needs the
// configured log sources; otherwise null, without the cost of discovering odoo.conf.
import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE } from '../engine/config/defaults.js';
import type { LoadedConfig } from '../engine/config/load.js';
import type { GlobalOptions } from './global-options.js';
import { printErr } from './output.js';

/** `watchesOdoo: false` (fleet): odoo.conf is not looked for, so no warning about Odoo instances. */
export async function configIfAny(globals: GlobalOptions, needed: boolean, watchesOdoo = true): Promise<LoadedConfig | null> {
  // Decided before loading the config module: YAML parsing and odoo.conf discovery cost start-up.
  if (!needed && !globals.config && !process.env.ODOO_HEAL_CONFIG && !existsSync(DEFAULT_CONFIG_FILE)) return null;
  const { loadConfig } = await import('../engine/config/load.js');
  const loaded = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig, odoo: watchesOdoo });
  for (const w of loaded.warnings) printErr(`odoo-heal: warning: ${w}\n`);
  return loaded;
}

/** The log files of the configuration: odoo.conf's logfile plus config logs.files. */
export function configuredSources(loaded: LoadedConfig): string[] {
  const files = [loaded.odoo.logfile, ...loaded.config.logs.files].filter((f): f is string => !!f);
  return [...new Set(files)];
}
