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

    // What the admin was told: ONE root alert opened and ONE resolved for the outage, every other
    // incident it brought a symptom of that root (the log records that race the probe's round
    // included: they run the database probe at once and wait for it).
    const openedTitles = auto.lines.slice(from).filter((l: Line) => l.event === 'incident.opened').map((l) => `${String(l.title)}${l.rootId ? ' (symptom)' : ''}`);
    console.info(`postgres-stopped: ${openedTitles.length} incident(s) opened: ${openedTitles.join(' | ')}`);
    await until('the resolve alert', () => auto!.lines.slice(from).some((l) => l.event === 'alert.resolved'), 30_000);
    // A "PostgreSQL answers slowly" warning right after the restart on a loaded box is not the outage's.
    const outage = (l: Line) => !/answers slowly/.test(String(l.title));
    const told = auto.lines.slice(from).filter((l: Line) => (l.event === 'alert.opened' || l.event === 'alert.resolved' || l.event === 'alert.needs-human') && outage(l));
    const opened = told.filter((l) => l.event === 'alert.opened');
    expect(opened, JSON.stringify(told)).toHaveLength(1);
    const root = String(opened[0]!.incident);
    expect(told.filter((l) => l.event === 'alert.resolved').map((l) => l.incident), JSON.stringify(told)).toEqual([root]);
    expect(told.filter((l) => l.incident !== root), JSON.stringify(told)).toEqual([]);
    const incidents = auto.lines.slice(from).filter((l: Line) => l.event === 'incident.opened' && outage(l));
    for (const l of incidents) if (l.incident !== root) expect(l.rootId, JSON.stringify(l)).toBe(root);
    // The root was healed once, by its own fix.
    const fixes = auto.lines.slice(from).filter((l: Line) => l.event === 'fix.result');
    expect(fixes.map((l) => l.incident)).toEqual([root]);
  });
});
