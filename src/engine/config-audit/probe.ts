// The odoo_conf probe: the odoo.conf audit as findings (one incident of category `config` per rule,
// its severity by the finding's). In the console and --auto it runs at start and when odoo.conf
// changes, not every round.
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

export interface OdooConfProbeOptions {
  /**
   * `every-run`: audit on every run (check). `on-change` (console, --auto): audit on the first run and
   * again only after invalidate() — the engine calls it when it re-reads odoo.conf (the file changed,
   * or Odoo restarted) — never every round: the audit opens a database connection and runs write
   * tests as Odoo's user.
   */
  when: 'every-run' | 'on-change';
}

export type OdooConfProbe = Probe<OdooConfData> & { invalidate(): void };

export function createOdooConfProbe(opts: OdooConfProbeOptions): OdooConfProbe {
  let last: ProbeOutput<OdooConfData> | null = null;
  return {
    name: 'odoo_conf',
    invalidate() {
      last = null;
    },
    async run(ctx) {
      if (opts.when === 'on-change' && last) return last;
      const list = await auditConfig(ctx.config, ctx.odoo);
      const findings = auditFindings(list, ctx.odoo.path);
      const errors = list.filter((f) => f.severity === 'error').length;
      const summary = list.length === 0 ? 'odoo.conf: no finding' : `odoo.conf: ${errors} error(s), ${list.length - errors} warning(s)`;
      last = { status: statusOfFindings(findings), summary, findings, data: { path: ctx.odoo.path, findings: list } };
      return last;
    },
  };
}
