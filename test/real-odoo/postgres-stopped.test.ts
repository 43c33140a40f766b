// PostgreSQL stopped under the real Odoo 18 (prefork): `--auto` must report the outage, restart the
// cluster through the configured command (the default ladder: wait one round, then restart
// PostgreSQL), and the fix counts only when Odoo itself answers /web/health with its database again.
import { afterAll, describe, expect, it } from 'vitest';
import type { AutoProcess, Line } from '../helpers/auto-sandbox.js';
import { realOdoo, skipReason } from '../helpers/real-odoo.js';

const odoo = realOdoo();
let auto: AutoProcess | null = null;
afterAll(() => {
  auto?.kill('SIGKILL');
  odoo?.ensureUp();
});

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe.skipIf(!odoo)(`PostgreSQL stopped under the real Odoo${odoo ? '' : ` (skipped: ${skipReason()})`}`, () => {
  it('one outage is reported, the restart fix brings PostgreSQL back and Odoo answers health again', async () => {
    const o = odoo!;
    o.ensureUp();
    o.freshLogs();
    auto = o.startAuto();
    await auto.waitFor((l) => l.event === 'ready', 'ready', 30_000);
    // A few rounds on the healthy server first; only what this outage brings counts below.
    await new Promise((r) => setTimeout(r, 3000));
    const from = auto.lines.length;
    const after = (l: Line) => auto!.lines.indexOf(l) >= from;

    o.stopPg();
    expect(await o.health()).toBe(false);

    const fixed = await auto.waitFor((l) => after(l) && l.event === 'fix.result' && l.fix === 'restart-service', 'the PostgreSQL restart', 120_000);
    expect(fixed.outcome, String(fixed.message)).toBe('verified');
    expect(String(fixed.message)).toMatch(/postgresql/i);
    expect(o.pgRunning()).toBe(true);
    await until('Odoo /web/health with db_server_status passes', () => o.health(), 60_000);

    // What the admin was told during the outage: every incident opened, for the record of the run.
    const openedTitles = auto.lines.slice(from).filter((l: Line) => l.event === 'incident.opened').map((l) => String(l.title));
    console.warn(`postgres-stopped: ${openedTitles.length} incident(s) opened: ${openedTitles.join(' | ')}`);
    const alerts = auto.lines.slice(from).filter((l: Line) => l.event === 'alert.opened' && l.severity === 'critical');
    const roots = alerts.filter((l) => Array.isArray(l.symptoms));
    // The outage ends with ONE root that owns every other alert as a symptom. Known race (issue 12,
    // left open): a log record acted on before the database probe's next round can be alerted as a
    // root of its own first; it is then linked under the probe's root, as checked here. When the fix
    // heals PostgreSQL before any probe round, nothing is alerted as opened (the fix result says it).
    if (new Set(roots.map((l) => l.incident)).size > 1) console.warn(`postgres-stopped: ${roots.length} root alerts: ${JSON.stringify(roots)}`);
    const last = roots.at(-1);
    if (last) {
      const symptoms = new Set((last.symptoms as string[]).map(String));
      const others = [...new Set(alerts.map((l) => String(l.incident)))].filter((id) => id !== last.incident);
      expect(others.filter((id) => !symptoms.has(id)), JSON.stringify(alerts)).toEqual([]);
    }
  });
});
