// The odoo_conf probe: the odoo.conf audit as findings (one incident per rule), re-run at most every
// probes.odooDbIntervalMs in the console and --auto (it opens a database connection).
import type { Finding } from '../core/types.js';
import { statusOfFindings, type Probe, type ProbeOutput } from '../probes/types.js';
import { auditConfig, auditLine, type AuditFinding } from './audit.js';

export interface OdooConfData {
  path: string | null;
  findings: AuditFinding[];
}

export function auditFindings(list: readonly AuditFinding[], path: string | null): Finding[] {
  return list.map((f) => ({
    key: `audit-${f.key}`,
    severity: f.severity === 'error' ? 'critical' : 'warning',
    category: 'config',
    title: auditLine(f, path),
    detail: f.why,
    hint: `Change it to: ${f.suggest} — then restart Odoo.`,
  }));
}

export function createOdooConfProbe(opts: { everyRun?: boolean } = {}): Probe<OdooConfData> {
  let last: ProbeOutput<OdooConfData> | null = null;
  let lastAt = -Infinity;
  return {
    name: 'odoo_conf',
    async run(ctx) {
      const now = Date.now();
      if (!opts.everyRun && last && now - lastAt < ctx.config.probes.odooDbIntervalMs) return last;
      const list = await auditConfig(ctx.config, ctx.odoo);
      const findings = auditFindings(list, ctx.odoo.path);
      const errors = list.filter((f) => f.severity === 'error').length;
      const summary = list.length === 0 ? 'odoo.conf: no finding' : `odoo.conf: ${errors} error(s), ${list.length - errors} warning(s)`;
      last = { status: statusOfFindings(findings), summary, findings, data: { path: ctx.odoo.path, findings: list } };
      lastAt = now;
      return last;
    },
  };
}
