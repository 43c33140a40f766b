// Fix: restart a service (PostgreSQL down, Odoo's dead cron threads in threaded mode, Redis, nginx)
// via the configured command (fixes.restart.<service>) if any, else `systemctl restart <unit>` when systemd runs; verified by
// re-running the service's probe until it is healthy or the time budget runs out.
import type { Incident, ProbeName, ProbeResult } from '../engine/core/types.js';
import { formatArgv, incidentParam, pollProbe } from './fix-util.js';
import { type Confirmation, confirmationLine, findingWith, originStillHolds, probeConfirms } from './lib/confirm.js';
import { confirmCronsNotRunning } from '../engine/probes/odoo-db/probe.js';
import { describeJob } from '../engine/probes/odoo-db/cron.js';
import { auditConfig, auditLine } from '../engine/config-audit/audit.js';
import { CRON_FOLLOW_UP_KEY } from '../engine/correlation/follow-ups.js';
import type { Applied, DetectResult, Fix, FixContext, FixPlan, Verification } from './types.js';

export const RESTARTABLE = ['postgresql', 'odoo', 'redis', 'nginx'] as const;
export type Restartable = (typeof RESTARTABLE)[number];

const DEFAULT_UNITS: Record<Restartable, string> = {
  postgresql: 'postgresql',
  odoo: 'odoo',
  redis: 'redis-server',
  nginx: 'nginx',
};

export interface RestartParams {
  service: Restartable;
}

export interface RestartData {
  service: Restartable;
  /** What the plan relied on: the probe that saw the service down at plan time. */
  confirmation?: Confirmation;
  argv: string[];
  probe: ProbeName;
  verifyBudgetMs: number;
}

function isRestartable(s: string): s is Restartable {
  return (RESTARTABLE as readonly string[]).includes(s);
}

function unitFor(service: Restartable, ctx: FixContext): string {
  if (service === 'odoo') return ctx.config.odoo.unit;
  return ctx.config.services.find((s) => s.name === service)?.unit ?? DEFAULT_UNITS[service];
}

/** The probe that says whether the service works again. */
function probeFor(service: Restartable, ctx: FixContext): ProbeName {
  if (service === 'postgresql') return 'database';
  // Odoo answers /web/health when it serves; without a known URL or port, the process probe.
  if (service === 'odoo') return ctx.config.odoo.url || ctx.odoo.httpPort ? 'odoo_http' : 'process';
  return 'services';
}

/** Healthy for this service: the probe ran and found nothing about it. */
export function serviceHealthy(service: Restartable, r: ProbeResult): boolean {
  if (r.status === 'unknown') return false;
  if (r.probe !== 'services') return r.status === 'ok' || r.status === 'warning';
  const names = [service, DEFAULT_UNITS[service]];
  return !r.findings.some((f) => f.severity !== 'info' && names.some((n) => `${f.key} ${f.title}`.toLowerCase().includes(n)));
}

/** Odoo's scheduled actions overdue in its database (the odoo_db probe's verdict, queried now). */
async function cronsNotRunning(ctx: FixContext): Promise<Confirmation> {
  const checkedAt = Date.now();
  const r = await confirmCronsNotRunning(ctx.config, ctx.odoo);
  const observed = r.confirmed
    ? `${r.overdue.length} active scheduled action(s) overdue (${r.overdue.slice(0, 3).map(describeJob).join(', ')}); ${r.detail}`
    : r.read
      ? `no active scheduled action is overdue; ${r.detail}`
      : `cannot tell whether scheduled actions run: ${r.detail}`;
  return { confirmed: r.confirmed, check: 'scheduled-actions check (ir_cron.nextcall)', observed, checkedAt };
}

/**
 * Whether the service is really down now (docs/security.md, "Probe-confirmed actions"): a probe-born
 * incident by its own probe; a log-born one by the service's probe — PostgreSQL refusing connections,
 * Odoo not running or its scheduled actions overdue, the unit stopped or failing.
 */
async function confirmDown(service: Restartable, incident: Incident, ctx: FixContext): Promise<Confirmation> {
  const own = await originStillHolds(incident, ctx);
  if (own) return own;
  // The engine's own follow-up (no log text): the threaded process that lived through the database
  // outage, named by its pid from the process probe then, must still be the one running now.
  if (service === 'odoo' && incident.origin.kind === 'engine' && incident.origin.key === CRON_FOLLOW_UP_KEY) {
    const pid = Number(incident.fix?.params.pid);
    return probeConfirms(ctx, 'process', (r) => {
      const main = (r.data as { mode?: string; main?: { pid?: number } } | null)?.main;
      return Number.isInteger(pid) && main?.pid === pid ? `threaded Odoo pid ${pid} that lived through the PostgreSQL outage still runs (its cron threads are gone)` : null;
    });
  }
  if (service === 'postgresql') return probeConfirms(ctx, 'database', findingWith((f) => f.key === 'down'));
  if (service === 'odoo') {
    const proc = await probeConfirms(ctx, 'process', findingWith((f) => f.key === 'down' || f.key === 'cron-workers'));
    if (proc.confirmed) return proc;
    const cron = await cronsNotRunning(ctx);
    return cron.confirmed ? cron : { ...cron, observed: `${cron.observed}; process probe: ${proc.observed}` };
  }
  const names = [service, DEFAULT_UNITS[service]];
  return probeConfirms(ctx, 'services', findingWith((f) => names.some((n) => f.key === `service:${n}`)));
}

export const restartService: Fix<RestartParams, RestartData> = {
  id: 'restart-service',
  title: 'Restart a service (PostgreSQL, Odoo, Redis, nginx)',

  detect(incident: Incident): DetectResult<RestartParams> {
    const service = incidentParam(incident, 'service');
    if (!service) return { ok: false, reason: 'no service named (params.service)' };
    if (!isRestartable(service)) return { ok: false, reason: `${service}: not a service this fix restarts (${RESTARTABLE.join(', ')})` };
    return { ok: true, params: { service } };
  },

  async plan(params, incident, ctx): Promise<FixPlan<RestartData>> {
    const { service } = params;
    const probe = probeFor(service, ctx);
    // Restarts can be slow (PostgreSQL recovery, Odoo loading its registry): the command timeout is the
    // budget for coming back too.
    const verifyBudgetMs = Math.max(ctx.config.fixes.commandTimeoutMs, 2000);
    const configured = ctx.config.fixes.restart[service];
    // A configured command wins, also under systemd: the admin knows best how this host restarts it
    // (a cluster outside systemd, a wrapper script).
    const argv = configured && configured.length > 0 ? [...configured] : ctx.systemd ? ['systemctl', 'restart', unitFor(service, ctx)] : null;
    const base = { fixId: this.id, incidentId: incident.id };
    const confirmation = await confirmDown(service, incident, ctx);
    const seen = confirmationLine(confirmation);
    if (!confirmation.confirmed) {
      return {
        ...base,
        summary: `Not restarting ${service}: the ${confirmation.check} does not confirm it is down`,
        why: 'A restart only runs when a probe sees the service down at that moment: a log record alone can be forged by anyone who reaches Odoo.',
        preview: `${seen}\nNothing to apply. If the service is really failing, its probe will report it and the fix will be offered again.`,
        actions: [],
        applicable: false,
        data: { service, argv: [], probe, verifyBudgetMs, confirmation },
      };
    }
    if (service === 'odoo') {
      // Restarting into a config Odoo cannot work with turns a degraded server into a dead one.
      const hard = (await auditConfig(ctx.config, ctx.odoo).catch(() => [])).filter((f) => f.severity === 'error');
      if (hard.length > 0) {
        return {
          ...base,
          summary: `Refusing to restart Odoo: odoo.conf has ${hard.length} hard error${hard.length > 1 ? 's' : ''} (odoo-heal config --audit)`,
          why: 'Odoo would come back into a respawn loop or fail to serve: fix odoo.conf first.',
          preview: `${seen}\n${hard.map((f) => `${auditLine(f, ctx.odoo.path)}\n  why: ${f.why}\n  change to: ${f.suggest}`).join('\n')}`,
          actions: [],
          applicable: false,
          data: { service, argv: [], probe, verifyBudgetMs, confirmation },
        };
      }
    }
    if (!argv) {
      const steps = [
        `systemd is not running here and fixes.restart.${service} is not configured.`,
        `Restart ${service} by hand, or set fixes.restart.${service} to the command (an argv list), e.g. ` +
          (service === 'postgresql' ? `[runuser, -u, postgres, --, pg_ctl, -D, <data dir>, -w, restart]` : `[service, ${unitFor(service, ctx)}, restart]`),
        `and add its executable to fixes.allowCommands.`,
      ];
      return {
        ...base,
        summary: `Cannot restart ${service}: no restart command configured`,
        why: 'odoo-heal only runs commands it was configured with.',
        preview: `${seen}\n${steps.join('\n')}`,
        actions: [{ kind: 'guidance', steps }],
        applicable: false,
        data: { service, argv: [], probe, verifyBudgetMs, confirmation },
      };
    }
    return {
      ...base,
      summary: `Restart ${service}: ${formatArgv(argv)}`,
      why:
        service === 'postgresql'
          ? 'PostgreSQL does not answer; Odoo cannot serve or run scheduled actions without it.'
          : service === 'odoo'
            ? 'In threaded mode Odoo\'s cron threads die when the database goes away and only a restart brings scheduled actions back.'
            : `${service} is not working.`,
      preview:
        `${seen}\n` +
        `Run: ${formatArgv(argv)}\n` +
        `Verify: the ${probe} probe reports ${service} healthy within ${Math.round(verifyBudgetMs / 1000)} s.\n` +
        'Rollback: nothing to undo (a restart changes no file or setting).',
      actions: [{ kind: 'command', argv }],
      applicable: true,
      data: { service, argv, probe, verifyBudgetMs, confirmation },
    };
  },

  async apply(plan, ctx): Promise<Applied> {
    ctx.progress(`running ${formatArgv(plan.data.argv)}`);
    const result = await ctx.runner.run(plan.data.argv, { timeoutMs: ctx.config.fixes.commandTimeoutMs });
    return { backups: [], commands: [result], undo: null };
  },

  async verify(plan, applied, ctx): Promise<Verification> {
    const cmd = applied.commands[0];
    if (cmd && (cmd.timedOut || cmd.exitCode !== 0)) {
      // pg_ctl start on a running server exits 1; the probe below is the real judge, so only report.
      ctx.progress(`${formatArgv(cmd.argv)} ${cmd.timedOut ? 'timed out' : `exited ${cmd.exitCode ?? cmd.signal}`}`);
    }
    ctx.progress(`waiting for the ${plan.data.probe} probe`);
    const res = await pollProbe(ctx, plan.data.probe, (r) => serviceHealthy(plan.data.service, r), plan.data.verifyBudgetMs);
    if (res.ok) return { ok: true, detail: `${plan.data.service} is back: ${res.last?.summary ?? ''}`.trim() };
    const cmdNote =
      cmd && (cmd.timedOut || cmd.exitCode !== 0)
        ? `; the command ${cmd.timedOut ? 'timed out' : `exited ${cmd.exitCode ?? cmd.signal}`}: ${(cmd.stderr || cmd.stdout).trim().split('\n').slice(-2).join(' | ')}`
        : '';
    return {
      ok: false,
      detail: `${plan.data.service} still unhealthy after ${Math.round(plan.data.verifyBudgetMs / 1000)} s (${res.last?.summary ?? res.error ?? 'no probe result'})${cmdNote}`,
    };
  },

  async rollback(): Promise<void> {
    // A restart changes no file or setting: there is nothing to restore.
  },
};
