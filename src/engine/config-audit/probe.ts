// The odoo_conf probe: the odoo.conf audit as findings (one incident of category `config` per rule,
// its severity by the finding's). In the console and --auto it runs at start and when odoo.conf
// changes, not every round.
import type { Finding } from '../core/types.js';
import { errorMessage } from '../core/errors.js';
import { statusOfFindings, type Probe, type ProbeContext, type ProbeOutput } from '../probes/types.js';
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

async function audit(ctx: ProbeContext): Promise<ProbeOutput<OdooConfData>> {
  const list = await auditConfig(ctx.config, ctx.odoo);
  const findings = auditFindings(list, ctx.odoo.path);
  const errors = list.filter((f) => f.severity === 'error').length;
  const summary = list.length === 0 ? 'odoo.conf: no finding' : `odoo.conf: ${errors} error(s), ${list.length - errors} warning(s)`;
  return { status: statusOfFindings(findings), summary, findings, data: { path: ctx.odoo.path, findings: list } };
}

export function createOdooConfProbe(opts: OdooConfProbeOptions): OdooConfProbe {
  if (opts.when === 'every-run') return { name: 'odoo_conf', invalidate() {}, run: (ctx) => audit(ctx) };
  // on-change: the audit runs beside the rounds, not in them. A round waits for it briefly, then
  // goes on with the last result (the previous file's until the new audit lands: no incident
  // flaps closed meanwhile); a slow audit finishes in the background and is never restarted by the
  // round's timeout.
  let last: ProbeOutput<OdooConfData> | null = null;
  let generation = 0;
  let audited = -1;
  let inflight: Promise<void> | null = null;
  return {
    name: 'odoo_conf',
    invalidate() {
      generation++;
    },
    async run(ctx) {
      if (audited !== generation && !inflight) {
        const started = generation;
        inflight = audit(ctx)
          .then((out) => {
            last = out;
            audited = started;
          })
          .catch((err: unknown) => {
            last = { status: 'unknown', summary: `odoo.conf audit failed: ${errorMessage(err).split('\n', 1)[0]}`, findings: last?.findings ?? [], data: last?.data ?? null };
            audited = started;
          })
          .finally(() => {
            inflight = null;
          });
      }
      if (inflight) await Promise.race([inflight, new Promise((r) => setTimeout(r, Math.min(2000, ctx.config.probes.timeoutMs / 2)).unref?.())]);
      return last ?? { status: 'unknown', summary: 'odoo.conf audit in progress', findings: [], data: null };
    },
  };
}
