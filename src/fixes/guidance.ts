// Guidance-only "fix" for what must not be automated: a missing module or Python library, a syntax
// error in an addon, worker limits too low for the workload, a port already in use. The plan is never
// applicable; it gives the human the exact steps and commands, filled from the incident's captures.
//
// Params (from the pattern's fix.params, templates substituted): `topic` (see TOPICS) plus the captures
// the topic uses: module, lib, dep, file, line, port, limit, value. Without `topic`, it is inferred from
// the pattern id.
import type { Incident } from '../engine/core/types.js';
import { incidentParam } from './fix-util.js';
import type { DetectResult, Fix, FixContext, FixPlan } from './types.js';

export const TOPICS = ['module-not-found', 'external-dependency', 'module-dependency', 'syntax-error', 'worker-limits', 'port-in-use', 'generic'] as const;
export type Topic = (typeof TOPICS)[number];

export interface GuidanceParams {
  topic: Topic;
  values: Record<string, string>;
}

const KEYS = ['module', 'lib', 'dep', 'file', 'line', 'port', 'limit', 'value'] as const;

function inferTopic(incident: Incident): Topic {
  const o = incident.origin;
  const id = o.kind === 'pattern' ? o.patternId : o.kind === 'probe' ? `${o.probe}:${o.key}` : o.kind === 'engine' ? o.key : o.signature;
  if (/external|dependency-lib|no.module.named|import/i.test(id)) return 'external-dependency';
  if (/depends|module-dependency/i.test(id)) return 'module-dependency';
  if (/module/i.test(id)) return 'module-not-found';
  if (/syntax/i.test(id)) return 'syntax-error';
  if (/worker|limit|memory/i.test(id)) return 'worker-limits';
  if (/port|address.in.use/i.test(id)) return 'port-in-use';
  return 'generic';
}

/** Debian's package name for a Python distribution: python3-<name>, lower case, `_` as `-`. */
export function debianPackage(lib: string): string {
  return `python3-${lib.toLowerCase().replace(/_/g, '-')}`;
}

const DEFAULT_LIMITS: Record<string, number> = {
  limit_time_cpu: 60,
  limit_time_real: 120,
  limit_memory_soft: 2048 * 1024 * 1024,
  limit_memory_hard: 2560 * 1024 * 1024,
};

function limitSteps(ctx: FixContext, limitHint: string | null, conf: string): string[] {
  const o = ctx.odoo;
  const current: Record<string, number | null> = {
    limit_time_cpu: o.limitTimeCpu,
    limit_time_real: o.limitTimeReal,
    limit_memory_soft: o.limitMemorySoft,
    limit_memory_hard: o.limitMemoryHard,
  };
  const hint = (limitHint ?? '').toLowerCase();
  const keys = /cpu/.test(hint)
    ? ['limit_time_cpu']
    : /real|timeout/.test(hint)
      ? ['limit_time_real']
      : /mem|virtual/.test(hint)
        ? ['limit_memory_soft', 'limit_memory_hard']
        : Object.keys(DEFAULT_LIMITS);
  const steps = keys.map((k) => {
    const cur = current[k] ?? null;
    // At least Odoo's default, and double what proved too low.
    const next = Math.max(DEFAULT_LIMITS[k]!, cur ? cur * 2 : 0);
    return `In ${conf} [options], set ${k} = ${next} (now ${cur ?? 'unset, default ' + DEFAULT_LIMITS[k]})`;
  });
  return [
    ...steps,
    'limit_time_real must exceed your longest request and the cron poll interval (below ~4 s idle workers are killed); limit_memory_soft must exceed a worker\'s size (~450 MB) or workers respawn forever.',
    `Restart Odoo: systemctl restart ${ctx.config.odoo.unit} (or your service manager).`,
    'If one request really needs more, fix that request (report, import) rather than raising limits for all.',
  ];
}

export function guidanceSteps(p: GuidanceParams, ctx: FixContext): { summary: string; steps: string[] } {
  const conf = ctx.odoo.path ?? '/etc/odoo/odoo.conf';
  const db = ctx.odoo.dbName ?? '<database>';
  const v = p.values;
  const module = v.module ?? '<module>';
  const odooBin = `odoo-bin -c ${conf} -d ${db}`;
  switch (p.topic) {
    case 'module-not-found':
      return {
        summary: `Module ${module} is not available to Odoo`,
        steps: [
          `Check the name: ls -d ${ctx.odoo.addonsPath.length ? ctx.odoo.addonsPath.map((a) => `${a}/${module}`).join(' ') : `<addons path>/${module}`}`,
          `If the addon lives elsewhere, add its parent directory to addons_path in ${conf} and restart Odoo.`,
          `Then install it: ${odooBin} -i ${module} --stop-after-init`,
        ],
      };
    case 'external-dependency': {
      const lib = v.lib ?? '<library>';
      return {
        summary: `Python library ${lib} is missing${v.module ? ` (needed by ${v.module})` : ''}`,
        steps: [
          `Debian/Ubuntu package: apt install ${debianPackage(lib)}`,
          `Or in Odoo's Python environment (the one running odoo-bin): pip install ${lib}`,
          `Check: python3 -c "import ${lib}"  (the import name may differ from the package name)`,
          v.module ? `Then: ${odooBin} -i ${v.module} --stop-after-init` : `Then restart Odoo: systemctl restart ${ctx.config.odoo.unit}`,
        ],
      };
    }
    case 'module-dependency': {
      const dep = v.dep ?? '<dependency>';
      return {
        summary: `Module ${module} depends on ${dep}, which is not available`,
        steps: [
          `Make ${dep} available in addons_path (${ctx.odoo.addonsPath.join(',') || 'see ' + conf}) or remove it from ${module}/__manifest__.py 'depends' if it is not needed.`,
          `Then: ${odooBin} -i ${dep},${module} --stop-after-init`,
        ],
      };
    }
    case 'syntax-error': {
      const where = v.file ? `${v.file}${v.line ? `:${v.line}` : ''}` : `the file named in the traceback`;
      return {
        summary: `Python syntax error in ${where}`,
        steps: [
          `Open ${where} and fix the syntax (the traceback shows the line and a caret).`,
          `Check: python3 -m py_compile ${v.file ?? '<file>'}`,
          `Restart Odoo: systemctl restart ${ctx.config.odoo.unit}${v.module ? `; if models changed: ${odooBin} -u ${v.module} --stop-after-init` : ''}`,
          'odoo-heal does not edit Python code: a wrong guess would hide the real change.',
        ],
      };
    }
    case 'worker-limits':
      return { summary: `Odoo worker limits too low for the workload${v.limit ? ` (${v.limit})` : ''}`, steps: limitSteps(ctx, v.limit ?? null, conf) };
    case 'port-in-use': {
      const port = v.port ?? String(ctx.odoo.httpPort);
      return {
        summary: `Port ${port} is already in use`,
        steps: [
          `See who holds it: ss -ltnp 'sport = :${port}'`,
          'If it is another Odoo instance, stop it (systemctl stop <its unit>) or kill the stale process shown by ss.',
          `Otherwise change http_port (or gevent_port) in ${conf} and restart Odoo.`,
        ],
      };
    }
    case 'generic':
      return { summary: 'Needs a human', steps: [/* filled by the caller from the incident hint */] };
  }
}

export const guidance: Fix<GuidanceParams, { topic: Topic; steps: string[] }> = {
  id: 'guidance',
  title: 'Steps for the administrator (not automated)',

  detect(incident: Incident): DetectResult<GuidanceParams> {
    const given = incidentParam(incident, 'topic');
    if (given && !(TOPICS as readonly string[]).includes(given)) return { ok: false, reason: `unknown guidance topic ${given} (${TOPICS.join(', ')})` };
    const topic = (given as Topic | null) ?? inferTopic(incident);
    const values: Record<string, string> = {};
    for (const k of KEYS) {
      const val = incidentParam(incident, k);
      // Values go into shell commands the human copies: keep only plain names/paths/numbers.
      if (val && /^[\w@%+=:,./-]+$/.test(val)) values[k] = val;
    }
    return { ok: true, params: { topic, values } };
  },

  async plan(params, incident, ctx): Promise<FixPlan<{ topic: Topic; steps: string[] }>> {
    const g = guidanceSteps(params, ctx);
    const steps = g.steps.length ? g.steps : [incident.hint || incident.title];
    return {
      fixId: this.id,
      incidentId: incident.id,
      summary: `${g.summary === 'Needs a human' ? incident.title : g.summary}: steps for the administrator`,
      why: 'This cannot be fixed safely without a human decision (code, packages, capacity or another service).',
      preview: steps.map((s, i) => `${i + 1}. ${s}`).join('\n'),
      actions: [{ kind: 'guidance', steps }],
      applicable: false,
      data: { topic: params.topic, steps },
    };
  },

  async apply() {
    throw new Error('guidance has nothing to apply');
  },
  async verify() {
    return { ok: false, detail: 'guidance is not applied; the administrator acts' };
  },
  async rollback() {
    /* nothing was done */
  },
};
