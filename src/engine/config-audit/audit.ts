// The odoo.conf audit end to end: read the file's text (line numbers), gather the facts, apply the
// rules. Used by `config --audit`, by the odoo_conf probe (check, console) and before restarting Odoo.
import { readFile } from 'node:fs/promises';
import type { Config, OdooConf } from '../config/types.js';
import { gatherAuditFacts } from './facts.js';
import { auditOdooConf, optionLines, type AuditFinding } from './rules.js';

export type { AuditFinding } from './rules.js';

export async function auditConfig(config: Config, odoo: OdooConf): Promise<AuditFinding[]> {
  const text = odoo.path ? await readFile(odoo.path, 'utf8').catch(() => '') : '';
  return auditOdooConf(odoo, optionLines(text), await gatherAuditFacts(config, odoo));
}

/** `odoo.conf line 12: db_maxconn = 64 lets ...` */
export function auditLine(f: AuditFinding, path: string | null): string {
  const where = f.line !== null ? `${path ?? 'odoo.conf'} line ${f.line}` : `${path ?? 'odoo.conf'} (${f.option} not set)`;
  return `${where}: ${f.title}`;
}
