// `odoo-heal fleet`: the fleet view over Prometheus (console), or one snapshot as JSON/text for
// scripts. Prometheus is the source of truth; nothing here aggregates on its own.
import { UsageError } from '../../engine/core/errors.js';
import { createFleet, type FleetOptions } from '../../engine/fleet/fleet-store.js';
import { readFleet, type FleetHost, type HostHealth } from '../../engine/fleet/fleet.js';
import type { GlobalOptions } from '../global-options.js';
import { configIfAny } from '../optional-config.js';
import { defaultConfig } from '../../engine/config/defaults.js';
import type { Config } from '../../engine/config/types.js';
import { onTerminal, print, printJson } from '../output.js';
import { renderTable } from '../table.js';

export interface FleetCliOptions {
  prometheus?: string;
  job?: string;
  interval?: string;
  timeout?: string;
  json?: boolean;
  once?: boolean;
}

/** Same scale as check: 0 all OK, 1 a warning, 2 a critical or unreachable host, 3 nothing known. */
const EXIT: Record<HostHealth, number> = { ok: 0, warning: 1, unknown: 3, critical: 2, down: 2 };

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name}: expected a positive whole number of milliseconds, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Flags first, then the environment, then config.yaml's `fleet` section: a one-off look at another
 * Prometheus must not need an edited file, and tokens stay out of argv (readable in `ps`).
 */
function fleetOptions(opts: FleetCliOptions, env: NodeJS.ProcessEnv, config: Config['fleet']): FleetOptions {
  const prometheus = opts.prometheus ?? env['ODOO_HEAL_PROMETHEUS'] ?? config.prometheus;
  if (!prometheus) throw new UsageError('fleet needs Prometheus: --prometheus URL, ODOO_HEAL_PROMETHEUS, or fleet.prometheus in the config');
  if (!/^https?:\/\/[^\s/]+/.test(prometheus)) throw new UsageError(`--prometheus: expected an http(s):// URL, got ${JSON.stringify(prometheus)}`);
  return {
    prometheus,
    job: opts.job ?? config.job,
    intervalMs: opts.interval === undefined ? config.intervalMs : positive(opts.interval, 'interval'),
    timeoutMs: opts.timeout === undefined ? config.timeoutMs : positive(opts.timeout, 'timeout'),
    hostToken: env['ODOO_HEAL_HOST_TOKEN'] || config.hostToken,
    promToken: env['ODOO_HEAL_PROMETHEUS_TOKEN'] || config.prometheusToken,
  };
}

function worstExit(hosts: readonly FleetHost[]): number {
  if (hosts.length === 0) return 3;
  return hosts.reduce((worst, h) => {
    const code = EXIT[h.health];
    // 2 beats 1 beats 3 beats 0, as check's Nagios codes are read.
    const rank = (c: number) => (c === 2 ? 3 : c === 1 ? 2 : c === 3 ? 1 : 0);
    return rank(code) > rank(worst) ? code : worst;
  }, 0);
}

export async function run(globals: GlobalOptions, opts: FleetCliOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // Only a config file that exists is read: fleet runs on an admin's laptop as well as on a host.
  const loaded = await configIfAny(globals, false, false);
  const o = fleetOptions(opts, env, (loaded?.config ?? defaultConfig()).fleet);
  const tty = onTerminal();
  if (opts.json || opts.once || !tty.stdout || !tty.stdin) {
    const snapshot = await readFleet(o.prometheus, o.job, { timeoutMs: o.timeoutMs, token: o.promToken });
    if (opts.json) {
      printJson({ format: 'odoo-heal/fleet@1', ...snapshot, readAt: new Date(snapshot.readAt).toISOString() });
    } else {
      const rows = snapshot.hosts.map((h) => [
        h.instance,
        h.health.toUpperCase(),
        String(h.open.critical),
        String(h.open.warning),
        h.lastFix ? `${h.lastFix.fix} ${h.lastFix.outcome}` : '-',
        h.scrapeAgeS === null ? '-' : `${h.scrapeAgeS}s`,
        h.odooVersion ?? '-',
      ]);
      print(`${renderTable(['HOST', 'HEALTH', 'CRIT', 'WARN', 'LAST FIX', 'SCRAPED', 'ODOO'], rows)}\n`);
    }
    return worstExit(snapshot.hosts);
  }
  const fleet = createFleet(o);
  const { renderFleet } = await import('../../ui/fleet/fleet-app.js');
  const { colorWanted } = await import('../../ui/theme.js');
  const ui = renderFleet({ store: fleet.store, intents: fleet }, { color: colorWanted(process.env, globals.color) });
  void fleet.start();
  try {
    await ui.waitUntilExit();
  } finally {
    fleet.stop();
  }
  return 0;
}
