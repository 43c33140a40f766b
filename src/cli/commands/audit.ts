// `odoo-heal audit verify`: checks the hash chain of the audit log. Exit 0 intact, 2 tampered; one line.
import { existsSync } from 'node:fs';
import { verifyAudit } from '../../engine/state/audit.js';
import { loadConfig } from '../../engine/config/load.js';
import { UsageError } from '../../engine/core/errors.js';
import type { GlobalOptions } from '../global-options.js';
import { print } from '../output.js';

export async function verify(globals: GlobalOptions, opts: { file?: string }): Promise<number> {
  let path = opts.file;
  if (path) {
    if (!existsSync(path)) throw new UsageError(`--file: ${path} does not exist`);
  } else {
    const { config } = await loadConfig({ configPath: globals.config, odooConfigPath: globals.odooConfig });
    path = config.paths.auditLog;
  }
  const res = await verifyAudit(path);
  if (res.ok) {
    print(`audit log ${path}: intact, ${res.entries} ${res.entries === 1 ? 'entry' : 'entries'}\n`);
    return 0;
  }
  print(`audit log ${path}: TAMPERED at line ${res.line}: ${res.reason}\n`);
  return 2;
}
