// A `probe(name)` for fix contexts outside the running engine (the rollback command): builds the
// named probe on demand, runs it once within the configured budget, and releases it.
import type { Config, OdooConf } from '../engine/config/types.js';
import { probeNamed, runProbe } from '../engine/probes/run.js';
import type { Probe } from '../engine/probes/types.js';
import type { ProbeName, ProbeResult } from '../engine/core/types.js';

export function probeOnce(config: Config, odoo: OdooConf): (name: ProbeName) => Promise<ProbeResult> {
  return async (name) => {
    const named = probeNamed(name);
    const probes: Probe[] = named ? [named] : [];
    const probe = probes.find((p) => p.name === name);
    if (!probe) throw new Error(`no probe named ${name}`);
    try {
      return await runProbe(probe, { config, odoo, now: Date.now }, config.probes.timeoutMs);
    } finally {
      await Promise.all(probes.map((p) => p.close?.().catch(() => undefined)));
    }
  };
}
